package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestMain makes the tests independent of the SSH agent of whoever runs
// them: the provider dials SSH_AUTH_SOCK, and fails when it cannot.
func TestMain(m *testing.M) {
	_ = os.Unsetenv("SSH_AUTH_SOCK")
	os.Exit(m.Run())
}

// recordingLogger keeps what the provider would send to the engine.
type recordingLogger struct {
	mu       sync.Mutex
	statuses []string
	logs     []string
}

func (r *recordingLogger) status(_ diag.Severity, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, msg)
}

func (r *recordingLogger) log(_ diag.Severity, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, msg)
}

func (r *recordingLogger) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses, r.logs = nil, nil
}

func (r *recordingLogger) statusList() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.statuses...)
}

// shortTempDir is a temporary directory with a path short enough for unix
// sockets (t.TempDir's can exceed the 108 bytes limit).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cmd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// staleSocket returns the path of a unix socket that nothing listens on
// any more (as left behind by an ssh-agent that died).
func staleSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	_ = l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAgentSocketUnusable: like the real provider, an SSH agent socket that
// cannot be dialled (from SSH_AUTH_SOCK or agentSocketPath, of the
// connection or of its proxy) fails the operation at once with the raw dial
// error, before any network I/O and without retries.
func TestAgentSocketUnusable(t *testing.T) {
	stale := staleSocket(t)
	missing := filepath.Join(shortTempDir(t), "no", "agent.sock")
	refused := "dial unix " + stale + ": connect: connection refused"
	notThere := "dial unix " + missing + ": connect: no such file or directory"
	cases := []struct {
		name  string
		env   string
		extra resource.PropertyMap
		proxy bool
		want  string
	}{
		{name: "SSH_AUTH_SOCK stale socket", env: stale, want: refused},
		{name: "SSH_AUTH_SOCK missing path", env: missing, want: notThere},
		{name: "agentSocketPath stale socket", extra: resource.PropertyMap{"agentSocketPath": str(stale)}, want: refused},
		{name: "agentSocketPath missing path", extra: resource.PropertyMap{"agentSocketPath": str(missing)}, want: notThere},
		{name: "agentSocketPath empty", extra: resource.PropertyMap{"agentSocketPath": str("")}, want: "dial unix: missing address"},
		{name: "proxy agentSocketPath stale socket", proxy: true, want: "proxy: " + refused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("SSH_AUTH_SOCK", tc.env)
			}
			s := newTestServer(t)
			extra := resource.PropertyMap{"dialErrorLimit": resource.NewNumberProperty(5)}
			for k, v := range tc.extra {
				extra[k] = v
			}
			if tc.proxy {
				proxy := newTestServer(t)
				extra["proxy"] = resource.NewObjectProperty(resource.PropertyMap{
					"host":            str(proxy.host),
					"port":            resource.NewNumberProperty(float64(proxy.port)),
					"privateKey":      str(proxy.clientKey),
					"agentSocketPath": str(stale),
				})
				defer func() {
					if conns, _ := proxy.counts(); conns != 0 {
						t.Errorf("%d connections to the proxy", conns)
					}
				}()
			}
			p := newProvider(nil)
			rec := &recordingLogger{}
			p.testLog = rec
			ins := resource.PropertyMap{"connection": connProp(s, extra), "create": str("echo ok")}
			// Check and preview do not dial the agent.
			chk, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: mustMarshal(t, ins)})
			if err != nil || len(chk.Failures) != 0 {
				t.Fatalf("check: %v %v", err, chk.GetFailures())
			}
			if _, err := create(t, p, testURN, ins, true); err != nil {
				t.Fatalf("preview: %v", err)
			}
			start := time.Now()
			_, err = create(t, p, testURN, ins, false)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v: retried?", d)
			}
			if conns, _ := s.counts(); conns != 0 {
				t.Fatalf("%d connections to the host", conns)
			}
			if st := rec.statusList(); len(st) != 0 {
				t.Fatalf("status messages (retries?) %q", st)
			}
		})
	}
}

// serveAgent serves an SSH agent holding key on a new unix socket.
func serveAgent(t *testing.T, key any) string {
	t.Helper()
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(shortTempDir(t), "agent.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(keyring, c)
			}()
		}
	}()
	return path
}

func TestAgentSocket(t *testing.T) {
	s := newTestServer(t)
	socket := serveAgent(t, s.clientPriv)
	p := newProvider(nil)
	ins := resource.PropertyMap{
		"connection": connProp(s, resource.PropertyMap{
			"privateKey":      resource.NewNullProperty(),
			"agentSocketPath": str(socket),
		}),
		"create": str("echo agent"),
	}
	resp, err := create(t, p, testURN, ins, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, resp.Properties)["stdout"].StringValue(); got != "agent" {
		t.Fatalf("stdout %q", got)
	}
	t.Setenv("SSH_AUTH_SOCK", socket)
	ins["connection"] = connProp(s, resource.PropertyMap{"privateKey": resource.NewNullProperty()})
	if _, err := create(t, p, testURN, ins, false); err != nil {
		t.Fatalf("agent from SSH_AUTH_SOCK: %v", err)
	}
}

// TestRSAHostKeyPin: with an ssh-rsa hostKey only "ssh-rsa" (SHA-1
// signatures) is offered, as in the real provider, so a server that signs
// only with rsa-sha2-256/512 (OpenSSH >= 8.8) refuses the handshake.
func TestRSAHostKeyPin(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	pin := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))

	c := &connection{User: "root", Host: "h", Port: 22, HostKey: &pin}
	config, err := c.clientConfig(func(io.Closer) {})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(config.HostKeyAlgorithms, ","); got != ssh.KeyAlgoRSA {
		t.Fatalf("HostKeyAlgorithms %q, want only %q", got, ssh.KeyAlgoRSA)
	}

	p := newProvider(nil)
	// A server that still signs with ssh-rsa (x/crypto's default) accepts it.
	legacy := newTestServerWithHostKey(t, signer)
	ins := resource.PropertyMap{
		"connection": connProp(legacy, resource.PropertyMap{"hostKey": str(pin)}),
		"create":     str("echo ok"),
	}
	if _, err := create(t, p, testURN, ins, false); err != nil {
		t.Fatalf("ssh-rsa server: %v", err)
	}

	// Like OpenSSH >= 8.8: rsa-sha2-256 and rsa-sha2-512 only.
	modern, err := ssh.NewSignerWithAlgorithms(signer.(ssh.AlgorithmSigner),
		[]string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerWithHostKey(t, modern)
	ins["connection"] = connProp(s, resource.PropertyMap{
		"hostKey":        str(pin),
		"dialErrorLimit": resource.NewNumberProperty(0),
	})
	_, err = create(t, p, testURN, ins, false)
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "ssh: handshake failed: ssh: no common algorithm for host key") {
		t.Fatalf("error %v", err)
	}
	// Without a pin any key (and algorithm) is accepted.
	ins["connection"] = connProp(s, nil)
	if _, err := create(t, p, testURN, ins, false); err != nil {
		t.Fatalf("no pin: %v", err)
	}
}

// TestKeysParsedWhenConnecting: like the real provider, hostKey and
// privateKey are parsed when a step connects, not in Check or preview.
func TestKeysParsedWhenConnecting(t *testing.T) {
	s := newTestServer(t)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(s.clientPriv, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	encrypted := string(pem.EncodeToMemory(block))
	cases := []struct {
		name  string
		extra resource.PropertyMap
		want  string
	}{
		{"malformed hostKey", resource.PropertyMap{"hostKey": str("not a key")}, "failed to parse host key: ssh: no key found"},
		{"malformed privateKey", resource.PropertyMap{"privateKey": str("not a key")}, "ssh: no key found"},
		{"encrypted privateKey without password", resource.PropertyMap{"privateKey": str(encrypted)},
			"ssh: this private key is passphrase protected"},
		{"privateKeyPassword with a key that is not encrypted", resource.PropertyMap{"privateKeyPassword": str("pw")},
			"ssh: key is not password protected"},
		{"wrong privateKeyPassword", resource.PropertyMap{"privateKey": str(encrypted), "privateKeyPassword": str("no")},
			"x509: decryption password incorrect"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(nil)
			ins := resource.PropertyMap{"connection": connProp(s, tc.extra), "create": str("echo ok")}
			chk, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: mustMarshal(t, ins)})
			if err != nil || len(chk.Failures) != 0 {
				t.Fatalf("check: %v %v", err, chk.GetFailures())
			}
			if _, err := p.Create(context.Background(), &pulumirpc.CreateRequest{
				Urn: testURN, Properties: chk.Inputs, Preview: true,
			}); err != nil {
				t.Fatalf("preview: %v", err)
			}
			s.refuse(0)
			_, err = p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: testURN, Properties: chk.Inputs})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if conns, _ := s.counts(); conns != 0 {
				t.Fatalf("%d connections", conns)
			}
		})
	}
	// The encrypted key with its password works.
	p := newProvider(nil)
	ins := resource.PropertyMap{
		"connection": connProp(s, resource.PropertyMap{"privateKey": str(encrypted), "privateKeyPassword": str("pw")}),
		"create":     str("echo ok"),
	}
	if _, err := create(t, p, testURN, ins, false); err != nil {
		t.Fatal(err)
	}
}

// TestHandshakeNotBounded: perDialTimeout bounds the TCP connect only. A
// server that accepts the connection and never answers blocks the attempt
// for good, and the context (cancel, customTimeouts) is only looked at
// between attempts, as in the real provider.
func TestHandshakeNotBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // never answered
			mu.Unlock()
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	ins := resource.PropertyMap{
		"connection": resource.MakeSecret(resource.NewObjectProperty(resource.PropertyMap{
			"host":           str(host),
			"port":           resource.NewNumberProperty(float64(mustAtoi(t, port))),
			"password":       str("x"),
			"dialErrorLimit": resource.NewNumberProperty(5),
			"perDialTimeout": resource.NewNumberProperty(1),
		})),
		"create": str("echo ok"),
	}
	p := newProvider(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: testURN, Properties: mustMarshal(t, ins)})
		errc <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	cancel() // not seen during the attempt
	select {
	case err := <-errc:
		t.Fatalf("returned during the handshake: %v", err)
	case <-time.After(1500 * time.Millisecond):
	}
	mu.Lock()
	n := len(conns)
	for _, c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	if n != 1 {
		t.Fatalf("%d connections, want 1 (one attempt, still in its handshake)", n)
	}
	select {
	case err := <-errc:
		// The attempt failed; the cancelled context stops the retries.
		t.Logf("error: %v", err)
		if err == nil || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "context canceled") ||
			!strings.Contains(err.Error(), "handshake failed") {
			t.Fatalf("error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not return after the connection was closed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		t.Fatalf("retried after the context was cancelled: %d connections", len(conns))
	}
}

// TestLongOutputLine: the real provider hangs when a logged stream has a
// line of 64 KiB or more; the stand-in fails the step instead.
func TestLongOutputLine(t *testing.T) {
	s := newTestServer(t)
	line := func(n int, stream string) string {
		redirect := ""
		if stream == "stderr" {
			redirect = " >&2"
		}
		return "{ head -c " + strconv.Itoa(n) + " /dev/zero | tr '\\0' x; echo; echo after; }" + redirect
	}
	cases := []struct {
		name, cmd, logging string
		fail               bool
	}{
		{"stdout logged", line(70000, "stdout"), "", true},
		{"exactly 64 KiB", line(65536, "stdout"), "stdout", true},
		{"just under 64 KiB", line(65535, "stdout"), "", false},
		{"stderr logged", line(70000, "stderr"), "stderr", true},
		{"stdout not logged", line(70000, "stdout"), "stderr", false},
		{"stderr not logged", line(70000, "stderr"), "stdout", false},
		{"no logging", line(70000, "stdout"), "none", false},
		{"split between stdout and stderr", "head -c 40000 /dev/zero | tr '\\0' x; head -c 40000 /dev/zero | tr '\\0' y >&2", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvider(nil)
			ins := resource.PropertyMap{"connection": connProp(s, nil), "create": str(tc.cmd)}
			if tc.logging != "" {
				ins["logging"] = str(tc.logging)
			}
			done := make(chan error, 1)
			go func() {
				_, err := create(t, p, testURN, ins, false)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("hangs")
			}
			if !tc.fail {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), "output line of 64 KiB") ||
				!strings.Contains(err.Error(), "pulumi-command v1.2.1 hangs on such a line") ||
				!strings.Contains(err.Error(), `set logging to "none"`) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

// TestCommandClientsStayOpen: like the real provider, a Command step never
// closes its SSH connection; CopyToRemote closes its own.
func TestCommandClientsStayOpen(t *testing.T) {
	s := newTestServer(t)
	p := newProvider(nil)
	ins := resource.PropertyMap{"connection": connProp(s, nil), "create": str("true")}
	for i := 0; i < 2; i++ {
		if _, err := create(t, p, testURN, ins, false); err != nil {
			t.Fatal(err)
		}
	}
	ins["create"] = str("exit 1")
	if _, err := create(t, p, testURN, ins, false); err == nil {
		t.Fatal("exit 1 succeeded")
	}
	if n := s.waitOpen(3); n != 3 {
		t.Fatalf("%d open connections after 3 Command steps, want 3", n)
	}
	txt, err := resource.NewTextAsset("text\n")
	if err != nil {
		t.Fatal(err)
	}
	cp := resource.PropertyMap{
		"connection": connProp(s, nil),
		"source":     resource.NewAssetProperty(txt),
		"remotePath": str(filepath.Join(t.TempDir(), "f")),
	}
	if _, err := create(t, p, testCopyURN, cp, false); err != nil {
		t.Fatal(err)
	}
	if conns, _ := s.counts(); conns != 4 {
		t.Fatalf("%d connections, want 4", conns)
	}
	if n := s.waitOpen(3); n != 3 {
		t.Fatalf("%d open connections after CopyToRemote, want 3 (it closes its own)", n)
	}
}

func proxyProp(proxy *testServer, extra resource.PropertyMap) resource.PropertyValue {
	m := resource.PropertyMap{
		"host":       str(proxy.host),
		"port":       resource.NewNumberProperty(float64(proxy.port)),
		"privateKey": str(proxy.clientKey),
	}
	for k, v := range extra {
		m[k] = v
	}
	return resource.NewObjectProperty(m)
}

// TestProxy: through a proxy the real provider dials the proxy, then the
// target from the proxy, then runs the handshake over that one connection,
// each retried on its own; the proxy client is never closed.
func TestProxy(t *testing.T) {
	target := newTestServer(t)
	proxy := newTestServer(t)
	other := newTestServer(t)
	p := newProvider(nil)
	ins := resource.PropertyMap{
		"connection": connProp(target, resource.PropertyMap{"proxy": proxyProp(proxy, nil)}),
		"create":     str("echo via proxy"),
	}
	resp, err := create(t, p, testURN, ins, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, resp.Properties)["stdout"].StringValue(); got != "via proxy" {
		t.Fatalf("stdout %q", got)
	}
	if n := proxy.waitOpen(1); n != 1 {
		t.Fatalf("%d open connections to the proxy, want 1", n)
	}
	if n := target.waitOpen(1); n != 1 {
		t.Fatalf("%d open connections to the target, want 1", n)
	}

	// A host key mismatch behind the proxy: the handshake is retried over
	// the same (closed) connection, so one TCP connection reaches the target.
	ins["connection"] = connProp(target, resource.PropertyMap{
		"proxy":          proxyProp(proxy, nil),
		"hostKey":        str(strings.TrimSpace(other.hostKey)),
		"dialErrorLimit": resource.NewNumberProperty(2),
	})
	target.refuse(0)
	_, err = create(t, p, testURN, ins, false)
	t.Logf("error: %v", err)
	if err == nil || !strings.HasPrefix(err.Error(), "proxy: ") || !strings.Contains(err.Error(), "after 2 failed attempts") ||
		!strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("error %v", err)
	}
	if conns, _ := target.counts(); conns != 1 {
		t.Fatalf("%d connections to the target, want 1", conns)
	}
	if n := proxy.waitOpen(2); n != 2 {
		t.Fatalf("%d open connections to the proxy, want 2 (never closed)", n)
	}

	// The proxy's own key problems show when connecting, prefixed.
	ins["connection"] = connProp(target, resource.PropertyMap{
		"proxy": proxyProp(proxy, resource.PropertyMap{"hostKey": str("nope")}),
	})
	if _, err := create(t, p, testURN, ins, false); err == nil ||
		!strings.HasPrefix(err.Error(), "proxy: failed to parse host key: ssh: no key found") {
		t.Fatalf("error %v", err)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStdinNotReadFailsWithEOF: like the real provider (x/crypto's
// session.Run), a command that ends without its stdin having been read can
// fail the step with a bare EOF: the provider's write of stdin, not the
// command, fails when the server closes the channel. Whether it does is a race
// inside x/crypto (the exit status may arrive first and end the write
// quietly): here, with a server that never reads the channel (leaveStdin) and
// a stdin larger than the channel's window, about four attempts in five fail,
// so at least one of ten must, and every failure must be that EOF. A command
// whose stdin is read to the end always succeeds. The stand-in must never be
// more forgiving here: the project's steps rely on reading all of their stdin
// (src/host/script.ts, readingAllStdin).
func TestStdinNotReadFailsWithEOF(t *testing.T) {
	big := strings.Repeat("x", 4<<20) // more than the 2 MiB window of an SSH channel
	s := newTestServer(t)
	s.leaveStdin = true
	p := newProvider(nil)
	ins := resource.PropertyMap{"connection": connProp(s, nil), "create": str("true"), "stdin": str(big)}
	eofs := 0
	for i := 0; i < 10; i++ {
		_, err := create(t, p, testURN, ins, false)
		switch {
		case err == nil:
		case strings.HasPrefix(err.Error(), "EOF: running \"true\""):
			eofs++
		default:
			t.Fatalf("a command that does not read its stdin: got %v, want EOF: running \"true\" or success", err)
		}
	}
	if eofs == 0 {
		t.Fatalf("a command that does not read its stdin: 10 attempts, no EOF (the real provider fails most of them)")
	}
	s = newTestServer(t)
	ins = resource.PropertyMap{"connection": connProp(s, nil), "create": str("cat >/dev/null; true"), "stdin": str(big)}
	for i := 0; i < 10; i++ {
		if _, err := create(t, p, testURN, ins, false); err != nil {
			t.Fatalf("a command that reads all of its stdin: %v", err)
		}
	}
}
