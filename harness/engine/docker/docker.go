package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// dockerClient returns the daemon client of the configured host, connecting
// on first use like the real provider's configureDockerClient: an explicit
// host (docker:host or DOCKER_HOST) must answer a ping; without one, the
// default socket and then the per-user sockets of Docker Desktop are tried.
func (p *dockerProvider) dockerClient(ctx context.Context) (*client.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil || p.clientErr != nil {
		return p.client, p.clientErr
	}
	p.client, p.clientErr = connect(ctx, p.config, p.home)
	return p.client, p.clientErr
}

func newClient(host string) (*client.Client, error) {
	if strings.HasPrefix(host, "ssh://") {
		return nil, fmt.Errorf("stand-in docker provider: docker:host %q: ssh:// hosts are not implemented (unix:// and tcp:// are)", host)
	}
	return client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
}

func connect(ctx context.Context, config map[string]string, home string) (*client.Client, error) {
	host, explicit := config["host"]
	if !explicit {
		host = client.DefaultDockerHost
	}
	cli, err := newClient(host)
	if err != nil {
		return nil, err
	}
	ping := func(c *client.Client) bool {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := c.Ping(pctx)
		return err == nil
	}
	if ping(cli) {
		return cli, nil
	}
	_ = cli.Close()
	if !explicit {
		if home == "" {
			var herr error
			if home, herr = os.UserHomeDir(); herr != nil {
				return nil, herr
			}
		}
		for _, sock := range []string{
			filepath.Join(home, ".docker/run/docker.sock"),
			filepath.Join(home, ".docker/desktop/docker.sock"),
		} {
			c, err := newClient("unix://" + sock)
			if err != nil {
				return nil, err
			}
			if ping(c) {
				return c, nil
			}
			_ = c.Close()
		}
	}
	return nil, errors.New("failed to connect to any docker daemon")
}

// containsIgnorableErrorMessage is kreuzwerker's helper of the same name.
func containsIgnorableErrorMessage(errorMsg string, ignorableErrorMessages ...string) bool {
	for _, m := range ignorableErrorMessages {
		if strings.Contains(strings.ToLower(errorMsg), strings.ToLower(m)) {
			return true
		}
	}
	return false
}

// waitForState is terraform-plugin-sdk's StateChangeConf.WaitForStateContext,
// as kreuzwerker uses it: wait delay, then refresh until a target state,
// backing off from 200ms (at least minTimeout, at most 10s) between
// refreshes; an error from refresh ends the wait with that error.
func waitForState(ctx context.Context, delay, minTimeout, timeout time.Duration,
	pending, target []string, refresh func() (any, string, error)) (any, error) {
	deadline := time.Now().Add(timeout)
	sleep := func(d time.Duration) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	if err := sleep(delay); err != nil {
		return nil, err
	}
	wait := 100 * time.Millisecond
	lastState := ""
	for {
		res, state, err := refresh()
		if err != nil {
			return res, err
		}
		lastState = state
		if slices.Contains(target, state) {
			return res, nil
		}
		if !slices.Contains(pending, state) {
			return res, fmt.Errorf("unexpected state '%s', wanted target '%s'. last error: %s",
				state, strings.Join(target, ", "), "%!s(<nil>)")
		}
		wait *= 2
		if wait < minTimeout {
			wait = minTimeout
		} else if wait > 10*time.Second {
			wait = 10 * time.Second
		}
		if time.Now().Add(wait).After(deadline) {
			if rest := time.Until(deadline); rest > 0 {
				if err := sleep(rest); err != nil {
					return nil, err
				}
			}
			return nil, fmt.Errorf("timeout while waiting for state to become '%s' (last state: '%s', timeout: %s)",
				strings.Join(target, ", "), lastState, timeout)
		}
		if err := sleep(wait); err != nil {
			return nil, err
		}
	}
}
