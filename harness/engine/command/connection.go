package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Defaults of the real provider (and of the SDKs' connectionArgsProvideDefaults).
const (
	defaultUser           = "root"
	defaultPort           = 22
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15 // seconds
)

// connection is the decoded `connection` input (remote.ConnectionArgs), or
// its `proxy` (remote.ProxyConnectionArgs, which has no proxy of its own).
type connection struct {
	Host               string
	Port               int
	User               string
	Password           *string
	PrivateKey         *string
	PrivateKeyPassword *string
	AgentSocketPath    *string
	HostKey            *string
	DialErrorLimit     int // errors allowed before giving up; -1: no limit
	PerDialTimeout     int // seconds per attempt; 0: no limit
	Proxy              *connection
}

func connectionDefaults() resource.PropertyMap {
	return resource.PropertyMap{
		"user":           resource.NewStringProperty(defaultUser),
		"port":           resource.NewNumberProperty(defaultPort),
		"dialErrorLimit": resource.NewNumberProperty(defaultDialErrorLimit),
		"perDialTimeout": resource.NewNumberProperty(defaultPerDialTimeout),
	}
}

// applyConnectionDefaults fills in the defaults of connection and
// connection.proxy, like the real provider's Check does, so that programs in
// languages whose SDK does not add them see the same state.
func applyConnectionDefaults(inputs resource.PropertyMap) {
	setDefaults(inputs, "connection", connectionDefaults())
	v, ok := inputs["connection"]
	if !ok {
		return
	}
	secret := v.IsSecret()
	if secret {
		v = v.SecretValue().Element
	}
	if !v.IsObject() {
		return
	}
	obj := v.ObjectValue().Copy()
	if _, ok := obj["proxy"]; !ok {
		return
	}
	setDefaults(obj, "proxy", connectionDefaults())
	nv := resource.NewObjectProperty(obj)
	if secret {
		nv = resource.MakeSecret(nv)
	}
	inputs["connection"] = nv
}

// readConnection decodes the connection object at key; problems go to r.fails.
func readConnection(r reader, key string, allowProxy bool) *connection {
	if !r.has(key) {
		r.fails.add(r.path(key), "missing required property %q", key)
		return nil
	}
	o, ok := r.object(key)
	if !ok {
		return nil // unknown (preview) or wrong type (reported)
	}
	c := &connection{
		User:           defaultUser,
		Port:           defaultPort,
		DialErrorLimit: defaultDialErrorLimit,
		PerDialTimeout: defaultPerDialTimeout,
	}
	if h := o.str("host"); h != nil {
		c.Host = *h
		if c.Host == "" {
			o.fails.add(o.path("host"), "must not be empty")
		}
	} else if !o.has("host") {
		o.fails.add(o.path("host"), "missing required property \"host\"")
	}
	if u := o.str("user"); u != nil {
		c.User = *u
	}
	if p := o.integer("port"); p != nil {
		c.Port = *p
		if c.Port < 1 || c.Port > 65535 {
			o.fails.add(o.path("port"), "must be between 1 and 65535, got %d", c.Port)
		}
	}
	c.Password = o.str("password")
	c.PrivateKey = o.str("privateKey")
	c.PrivateKeyPassword = o.str("privateKeyPassword")
	c.AgentSocketPath = o.str("agentSocketPath")
	// hostKey and privateKey are parsed when an operation connects, not here:
	// the real provider accepts malformed ones in Check and preview and fails
	// the step that connects (see clientConfig).
	c.HostKey = o.str("hostKey")
	if n := o.integer("dialErrorLimit"); n != nil {
		c.DialErrorLimit = *n
		if c.DialErrorLimit < -1 {
			o.fails.add(o.path("dialErrorLimit"), "must be -1 (no limit) or more, got %d", c.DialErrorLimit)
		}
	}
	if n := o.integer("perDialTimeout"); n != nil {
		c.PerDialTimeout = *n
		if c.PerDialTimeout < 0 {
			o.fails.add(o.path("perDialTimeout"), "must be 0 (no limit) or more, got %d", c.PerDialTimeout)
		}
	}
	if o.has("proxy") {
		if allowProxy {
			c.Proxy = readConnection(o, "proxy", false)
		} else {
			// ProxyConnectionArgs has no proxy property.
			o.fails.add(o.path("proxy"), "a proxy connection cannot have a proxy of its own")
		}
	}
	return c
}

func (c *connection) address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

func parsePrivateKey(key string, passphrase *string) (ssh.Signer, error) {
	if passphrase != nil {
		return ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(*passphrase))
	}
	return ssh.ParsePrivateKey([]byte(key))
}

// keeper receives what an operation opens and must not close: the real
// provider never closes the agent connections, the proxy client, nor (for
// remote.Command) the SSH client itself. See commandProvider.keep.
type keeper func(io.Closer)

// hostKeyCallback accepts only the pinned key, like ssh.FixedHostKey, with a
// message that says which keys were compared.
func hostKeyCallback(addr string, expected ssh.PublicKey) ssh.HostKeyCallback {
	want := expected.Marshal()
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		if bytes.Equal(key.Marshal(), want) {
			return nil
		}
		return fmt.Errorf("ssh: host key mismatch for %s: expected %s %s (connection.hostKey), the server offered %s %s",
			addr, expected.Type(), ssh.FingerprintSHA256(expected), key.Type(), ssh.FingerprintSHA256(key))
	}
}

// clientConfig builds the SSH client configuration the way the real
// provider's SShConfig does, when an operation connects (never in Check):
//
//   - hostKey: parsed here ("failed to parse host key: ..."); only that key
//     is accepted and only its type (Type(), so "ssh-rsa", SHA-1, for an RSA
//     pin) is offered as host key algorithm;
//   - privateKey: parsed here, with ParsePrivateKeyWithPassphrase whenever
//     privateKeyPassword is set (which fails for a key that is not
//     encrypted); the x/crypto error is returned as is;
//   - the SSH agent: agentSocketPath when set (even ""), else SSH_AUTH_SOCK
//     when not empty, is dialled here, before any network I/O; a failure is
//     the operation's error (the raw net error), not retried. The agent
//     connection is handed to keep: the real provider never closes it;
//   - perDialTimeout: ssh.ClientConfig.Timeout, which bounds the TCP connect
//     only, never the SSH handshake.
func (c *connection) clientConfig(keep keeper) (*ssh.ClientConfig, error) {
	config := &ssh.ClientConfig{
		User:            c.User,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // like the real provider when hostKey is unset
		Timeout:         time.Duration(c.PerDialTimeout) * time.Second,
	}
	if c.HostKey != nil {
		expected, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.HostKey))
		if err != nil {
			return nil, fmt.Errorf("failed to parse host key: %w", err)
		}
		config.HostKeyCallback = hostKeyCallback(c.address(), expected)
		config.HostKeyAlgorithms = []string{expected.Type()}
	}
	if c.PrivateKey != nil {
		signer, err := parsePrivateKey(*c.PrivateKey, c.PrivateKeyPassword)
		if err != nil {
			return nil, err
		}
		config.Auth = append(config.Auth, ssh.PublicKeys(signer))
	}
	if c.Password != nil {
		password := *c.Password
		config.Auth = append(config.Auth,
			ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	var socket *string
	if c.AgentSocketPath != nil {
		socket = c.AgentSocketPath
	} else if env := os.Getenv("SSH_AUTH_SOCK"); env != "" {
		socket = &env
	}
	if socket != nil {
		conn, err := net.Dial("unix", *socket)
		if err != nil {
			return nil, err
		}
		keep(conn)
		config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return config, nil
}

// retryDial calls f until it succeeds, like the real provider's dialWithRetry
// (retry.Until with its defaults): a limit of N allows N+1 attempts (-1: no
// limit), with waits of 100 ms, x1.5, at most 5 s in between; the context is
// checked only while waiting, never during an attempt. Every failure,
// whatever it is (a host key mismatch too), is retried. The final error is
// "after N failed attempts: <last error>", N being the limit as in the real
// provider (which counts the retries, not the dials).
func retryDial[T any](ctx context.Context, what string, limit int, status func(string), f func() (T, error)) (T, error) {
	var zero T
	var first error
	delay := 100 * time.Millisecond
	for try := 0; ; try++ {
		v, err := f()
		if err == nil {
			return v, nil
		}
		if first == nil {
			first = err
		}
		dials := try + 1
		if limit > -1 && dials > limit {
			if first.Error() != err.Error() {
				return zero, fmt.Errorf("%s: after %d failed attempts: %w (first error: %v)", what, try, err, first)
			}
			return zero, fmt.Errorf("%s: after %d failed attempts: %w", what, try, err)
		}
		lim := "inf"
		if limit > -1 {
			lim = strconv.Itoa(limit)
		}
		status(fmt.Sprintf("%s %d/%s failed: retrying (%v)", what, dials, lim, err))
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(time.Duration(float64(delay)*1.5), 5*time.Second)
	}
}

// dial connects to c like the real provider's Connection.Dial. Directly:
// ssh.Dial (TCP connect bounded by perDialTimeout, handshake unbounded),
// retried. Through c.Proxy: ssh.Dial to the proxy (its own limit and
// timeout), then, with c's limit, the TCP connection from the proxy (retried
// on its own, no timeout) and the SSH handshake over that one connection
// (retried on the same connection, which the first failure has closed, so a
// failed handshake through a proxy is not recovered by the retries); errors
// are prefixed with "proxy: ". keep receives the agent connections and the
// proxy client, which are never closed.
func dial(ctx context.Context, c *connection, status func(string), keep keeper) (*ssh.Client, error) {
	config, err := c.clientConfig(keep)
	if err != nil {
		return nil, err
	}
	target := fmt.Sprintf("ssh %s@%s", c.User, c.address())
	if c.Proxy == nil {
		return retryDial(ctx, target, c.DialErrorLimit, status, func() (*ssh.Client, error) {
			return ssh.Dial("tcp", c.address(), config)
		})
	}

	p := c.Proxy
	proxyConfig, err := p.clientConfig(keep)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	proxy, err := retryDial(ctx, fmt.Sprintf("ssh proxy %s@%s", p.User, p.address()), p.DialErrorLimit, status,
		func() (*ssh.Client, error) {
			return ssh.Dial("tcp", p.address(), proxyConfig)
		})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	keep(proxy)
	via := target + " via " + p.address()
	conn, err := retryDial(ctx, "tcp "+c.address()+" from proxy "+p.address(), c.DialErrorLimit, status,
		func() (net.Conn, error) {
			return proxy.Dial("tcp", c.address())
		})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	var chans <-chan ssh.NewChannel
	var reqs <-chan *ssh.Request
	sc, err := retryDial(ctx, via, c.DialErrorLimit, status, func() (ssh.Conn, error) {
		sc, ch, r, err := ssh.NewClientConn(conn, c.address(), config)
		chans, reqs = ch, r
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	return ssh.NewClient(sc, chans, reqs), nil
}
