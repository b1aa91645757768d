package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	c.HostKey = o.str("hostKey")
	if c.HostKey != nil {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.HostKey)); err != nil {
			o.fails.add(o.path("hostKey"),
				"must be a public key in authorized_keys format like \"ssh-ed25519 AAAA...\": %v", err)
		}
	}
	if c.PrivateKey != nil && !o.isUnknownKey("privateKeyPassword") {
		if _, err := parsePrivateKey(*c.PrivateKey, c.PrivateKeyPassword); err != nil {
			o.fails.add(o.path("privateKey"), "cannot be parsed: %v", err)
		}
	}
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

func (r reader) isUnknownKey(key string) bool {
	v, ok := r.m[resource.PropertyKey(key)]
	return ok && isUnknown(v)
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

// hostKeyMismatchError is not retried: the server will not change its key.
type hostKeyMismatchError struct {
	addr          string
	expected, got ssh.PublicKey
}

func (e *hostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key mismatch for %s: expected %s %s (from connection.hostKey), the server offered %s %s",
		e.addr, e.expected.Type(), ssh.FingerprintSHA256(e.expected), e.got.Type(), ssh.FingerprintSHA256(e.got))
}

// hostKeyAlgorithms lists the algorithms to negotiate so that a server with
// several host keys presents the pinned one.
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	switch key.Type() {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	default:
		return []string{key.Type()}
	}
}

// clientConfig builds the SSH client configuration; closers must be closed
// once the connection is no longer needed (the agent connection).
func (c *connection) clientConfig() (*ssh.ClientConfig, []func() error, error) {
	var closers []func() error
	config := &ssh.ClientConfig{
		User:            c.User,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // like the real provider when hostKey is unset
		Timeout:         time.Duration(c.PerDialTimeout) * time.Second,
	}
	if c.HostKey != nil {
		expected, _, _, _, err := ssh.ParseAuthorizedKey([]byte(*c.HostKey))
		if err != nil {
			return nil, nil, fmt.Errorf("connection.hostKey: %w", err)
		}
		config.HostKeyAlgorithms = hostKeyAlgorithms(expected)
		config.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), expected.Marshal()) {
				return nil
			}
			return &hostKeyMismatchError{addr: c.address(), expected: expected, got: key}
		}
	}
	if c.PrivateKey != nil {
		signer, err := parsePrivateKey(*c.PrivateKey, c.PrivateKeyPassword)
		if err != nil {
			return nil, nil, fmt.Errorf("connection.privateKey: %w", err)
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
	socket, explicit := "", false
	if c.AgentSocketPath != nil && *c.AgentSocketPath != "" {
		socket, explicit = *c.AgentSocketPath, true
	} else {
		socket = os.Getenv("SSH_AUTH_SOCK")
	}
	if socket != "" {
		conn, err := net.Dial("unix", socket)
		switch {
		case err == nil:
			closers = append(closers, conn.Close)
			config.Auth = append(config.Auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		case explicit:
			return nil, nil, fmt.Errorf("connection.agentSocketPath: %w", err)
		}
		// An unusable SSH_AUTH_SOCK from the environment is ignored.
	}
	return config, closers, nil
}

// client is an SSH connection, possibly through a proxy (bastion) host.
type client struct {
	*ssh.Client
	closers []func() error
}

func (c *client) Close() error {
	err := c.Client.Close()
	for i := len(c.closers) - 1; i >= 0; i-- {
		_ = c.closers[i]()
	}
	return err
}

// handshake runs the SSH handshake over conn, bounded by the per-dial timeout.
func handshake(conn net.Conn, addr string, config *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	if timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(timeout))
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, config)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// dialDirect opens one SSH connection to c (no retries).
func dialDirect(ctx context.Context, c *connection, config *ssh.ClientConfig) (*ssh.Client, error) {
	timeout := time.Duration(c.PerDialTimeout) * time.Second
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", c.address())
	if err != nil {
		return nil, err
	}
	return handshake(conn, c.address(), config, timeout)
}

// retryDial calls f until it succeeds, the error is permanent, or more than
// limit attempts failed (limit -1: no limit), with a short backoff like the
// real provider (100ms, x1.5, at most 5s).
func retryDial[T any](ctx context.Context, what string, limit int, status func(string), f func() (T, error)) (T, error) {
	var zero T
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil {
			return v, nil
		}
		var mismatch *hostKeyMismatchError
		if errors.As(err, &mismatch) {
			return zero, err
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("%s: %w (%v)", what, ctx.Err(), err)
		}
		if limit >= 0 && attempt > limit {
			return zero, fmt.Errorf("%s: after %d failed attempts: %w", what, attempt, err)
		}
		lim := "inf"
		if limit >= 0 {
			lim = strconv.Itoa(limit + 1)
		}
		status(fmt.Sprintf("%s %d/%s failed: retrying (%v)", what, attempt, lim, err))
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("%s: %w (%v)", what, ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(time.Duration(float64(delay)*1.5), 5*time.Second)
	}
}

// dial connects to c, through c.Proxy if set, retrying as configured.
func dial(ctx context.Context, c *connection, status func(string)) (*client, error) {
	config, closers, err := c.clientConfig()
	if err != nil {
		return nil, err
	}
	closeAll := func() {
		for _, f := range closers {
			_ = f()
		}
	}
	target := fmt.Sprintf("ssh %s@%s", c.User, c.address())
	if c.Proxy == nil {
		cl, err := retryDial(ctx, target, c.DialErrorLimit, status, func() (*ssh.Client, error) {
			return dialDirect(ctx, c, config)
		})
		if err != nil {
			closeAll()
			return nil, err
		}
		return &client{Client: cl, closers: closers}, nil
	}

	p := c.Proxy
	proxyConfig, proxyClosers, err := p.clientConfig()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("proxy: %w", err)
	}
	closers = append(closers, proxyClosers...)
	proxyTarget := fmt.Sprintf("ssh proxy %s@%s", p.User, p.address())
	proxy, err := retryDial(ctx, proxyTarget, p.DialErrorLimit, status, func() (*ssh.Client, error) {
		return dialDirect(ctx, p, proxyConfig)
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, proxy.Close)
	timeout := time.Duration(c.PerDialTimeout) * time.Second
	cl, err := retryDial(ctx, target+" via "+p.address(), c.DialErrorLimit, status, func() (*ssh.Client, error) {
		conn, err := proxy.DialContext(ctx, "tcp", c.address())
		if err != nil {
			return nil, err
		}
		return handshake(conn, c.address(), config, timeout)
	})
	if err != nil {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
		return nil, err
	}
	return &client{Client: cl, closers: closers}, nil
}
