package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// testServer is a minimal SSH server: exec runs the command with the local
// /bin/sh, "sftp" serves the local file system, and only the LANG environment
// variable is accepted (like a stock sshd's AcceptEnv).
type testServer struct {
	addr       string
	host       string
	port       int
	hostKey    string // authorized_keys format
	clientKey  string // PEM
	clientPriv ed25519.PrivateKey
	mu         sync.Mutex
	execs      []string
	envs       map[string]string
	listener   net.Listener
	refuseN    int // refuse this many connections before accepting
	acceptedN  int
	refusedAll bool
	open       int // SSH connections currently open (handshake done)
	forwards   int // direct-tcpip channels opened (the server as a proxy)
	// leaveStdin: exec never reads the channel's data (a command that does not
	// read its stdin, with nothing between it and the channel).
	leaveStdin bool
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServerWithHostKey(t, hostSigner)
}

// newTestServerWithHostKey starts a server with hostSigner as its only host
// key; its client key is a new ed25519 key.
func newTestServerWithHostKey(t *testing.T, hostSigner ssh.Signer) *testServer {
	t.Helper()
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	authorized, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{
		addr:       l.Addr().String(),
		hostKey:    string(ssh.MarshalAuthorizedKey(hostSigner.PublicKey())),
		clientKey:  string(pem.EncodeToMemory(block)),
		clientPriv: clientPriv,
		envs:       map[string]string{},
		listener:   l,
	}
	host, port, _ := net.SplitHostPort(s.addr)
	s.host = host
	s.port, _ = strconv.Atoi(port)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			refuse := s.refusedAll || s.acceptedN < s.refuseN
			s.acceptedN++
			s.mu.Unlock()
			if refuse {
				_ = c.Close()
				continue
			}
			go s.serve(c, cfg)
		}
	}()
	return s
}

// counts returns the number of connections accepted so far and of commands run.
func (s *testServer) counts() (conns, execs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acceptedN, len(s.execs)
}

// refuse makes the server drop the next n connections (n < 0: all of them).
func (s *testServer) refuse(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acceptedN = 0
	s.refuseN = n
	s.refusedAll = n < 0
}

// openConns returns the number of SSH connections currently open.
func (s *testServer) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// waitOpen waits up to 5 s for the number of open SSH connections to be want
// and returns the last count seen.
func (s *testServer) waitOpen(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := s.openConns()
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *testServer) serve(c net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.open++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.open--
		s.mu.Unlock()
	}()
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() == "direct-tcpip" {
			go s.forward(nc)
			continue
		}
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go s.session(ch, creqs)
	}
}

// forward serves a direct-tcpip channel (the server used as a proxy).
func (s *testServer) forward(nc ssh.NewChannel) {
	var p struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip request")
		return
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	if err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		_ = conn.Close()
		return
	}
	s.mu.Lock()
	s.forwards++
	s.mu.Unlock()
	go ssh.DiscardRequests(reqs)
	go func() {
		_, _ = io.Copy(ch, conn)
		_ = ch.CloseWrite()
	}()
	_, _ = io.Copy(conn, ch)
	_ = conn.Close()
	_ = ch.Close()
}

func (s *testServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	env := []string{"PATH=/usr/bin:/bin"}
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			if err := ssh.Unmarshal(req.Payload, &kv); err != nil || kv.Name != "LANG" {
				_ = req.Reply(false, nil)
				continue
			}
			s.mu.Lock()
			s.envs[kv.Name] = kv.Value
			s.mu.Unlock()
			env = append(env, kv.Name+"="+kv.Value)
			_ = req.Reply(true, nil)
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			s.mu.Lock()
			s.execs = append(s.execs, p.Command)
			s.mu.Unlock()
			cmd := exec.Command("/bin/sh", "-c", p.Command)
			cmd.Env = env
			if !s.leaveStdin {
				cmd.Stdin = ch
			}
			cmd.Stdout = ch
			cmd.Stderr = ch.Stderr()
			status := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					status = 255
				} else {
					status = ee.ExitCode()
				}
			}
			b := make([]byte, 4)
			binary.BigEndian.PutUint32(b, uint32(status))
			_, _ = ch.SendRequest("exit-status", false, b)
			return
		case "subsystem":
			var p struct{ Name string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil || p.Name != "sftp" {
				_ = req.Reply(false, nil)
				return
			}
			_ = req.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err != nil {
				return
			}
			if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
				return
			}
			_ = srv.Close()
			return
		default:
			_ = req.Reply(false, nil)
		}
	}
}
