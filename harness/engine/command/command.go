package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"golang.org/x/crypto/ssh"
)

// Environment variables with the previous stdout/stderr (addPreviousOutputInEnv).
const (
	envPrevStdout = "PULUMI_COMMAND_STDOUT"
	envPrevStderr = "PULUMI_COMMAND_STDERR"
)

// Values of the remote.Logging enum.
var loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// commandInputs are the decoded inputs of command:remote:Command.
type commandInputs struct {
	Connection             *connection
	Create, Update, Delete *string
	Stdin                  *string
	Environment            map[string]string
	Logging                string // "" means the default, stdoutAndStderr
	AddPreviousOutputInEnv bool
}

// readCommandInputs decodes a revealed (secret-free) property map.
func readCommandInputs(m resource.PropertyMap, fails *failures) *commandInputs {
	r := reader{m: m, fails: fails}
	in := &commandInputs{AddPreviousOutputInEnv: true}
	in.Connection = readConnection(r, "connection", true)
	in.Create = r.str("create")
	in.Update = r.str("update")
	in.Delete = r.str("delete")
	in.Stdin = r.str("stdin")
	in.Environment = r.stringMap("environment")
	if l := r.str("logging"); l != nil {
		in.Logging = *l
		ok := false
		for _, v := range loggingValues {
			ok = ok || v == *l
		}
		if !ok {
			fails.add("logging", "must be one of %s, got %q", strings.Join(loggingValues, ", "), *l)
		}
	}
	if b := r.boolean("addPreviousOutputInEnv"); b != nil {
		in.AddPreviousOutputInEnv = *b
	}
	if v, ok := m["triggers"]; ok && !v.IsNull() && !isUnknown(v) && !v.IsArray() {
		fails.add("triggers", "must be an array, got %s", v.TypeString())
	}
	return in
}

func (in *commandInputs) logStdout() bool {
	return in.Logging == "" || in.Logging == "stdout" || in.Logging == "stdoutAndStderr"
}

func (in *commandInputs) loggingName() string {
	if in.Logging == "" {
		return "stdoutAndStderr"
	}
	return in.Logging
}

func (in *commandInputs) logStderr() bool {
	return in.Logging == "" || in.Logging == "stderr" || in.Logging == "stdoutAndStderr"
}

// logger sends messages about one resource to the engine.
type logger interface {
	status(sev diag.Severity, msg string) // ephemeral (progress display)
	log(sev diag.Severity, msg string)    // kept in the diagnostics
}

// lockedWriter serialises writes coming from the stdout and stderr copiers.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// commandError is a failed remote command. The command text is left out of
// the message when it is a secret.
func commandError(err error, cmd string, cmdSecret bool, output string) error {
	shown := fmt.Sprintf("%q", cmd)
	if cmdSecret {
		shown = "[secret]"
	}
	return fmt.Errorf("%w: running %s:\n%s", err, shown, output)
}

// maxLoggedLine is bufio.MaxScanTokenSize, the line limit of the scanner
// with which the real provider logs output lines.
const maxLoggedLine = bufio.MaxScanTokenSize

// runCommand runs cmd on the host of in.Connection in one SSH session and
// returns its stdout and stderr, each without one trailing newline. prevStdout
// and prevStderr are the outputs of the previous run (update and delete),
// passed as PULUMI_COMMAND_STDOUT/STDERR when in.AddPreviousOutputInEnv.
//
// Like the real provider, it never closes the SSH client (keep receives it):
// every Command step leaves its connection open until the provider exits.
func runCommand(ctx context.Context, in *commandInputs, cmd string, cmdSecret bool,
	prevStdout, prevStderr string, lg logger, keep keeper,
) (string, string, error) {
	cl, err := dial(ctx, in.Connection, func(msg string) { lg.status(diag.Info, msg) }, keep)
	if err != nil {
		return "", "", err
	}
	keep(cl)

	session, err := cl.NewSession()
	if err != nil {
		return "", "", fmt.Errorf("ssh %s: opening a session: %w", in.Connection.address(), err)
	}
	defer session.Close()

	keys := make([]string, 0, len(in.Environment))
	for k := range in.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := session.Setenv(k, in.Environment[k]); err != nil {
			lg.log(diag.Error, setenvHint(k))
			return "", "", fmt.Errorf("could not set environment variable %q: %w", k, err)
		}
	}
	if in.AddPreviousOutputInEnv {
		for _, kv := range [][2]string{{envPrevStdout, prevStdout}, {envPrevStderr, prevStderr}} {
			if kv[1] == "" {
				continue
			}
			if err := session.Setenv(kv[0], kv[1]); err != nil {
				// Optimistic, like the real provider: warn and go on.
				lg.log(diag.Warning, setenvHint(kv[0]))
			}
		}
	}
	if in.Stdin != nil && *in.Stdin != "" {
		session.Stdin = strings.NewReader(*in.Stdin)
	}

	var mu sync.Mutex
	var stdout, stderr, combined bytes.Buffer
	pr, pw := io.Pipe()
	outWriters := []io.Writer{&stdout, lockedWriter{&mu, &combined}}
	if in.logStdout() {
		outWriters = append(outWriters, lockedWriter{&mu, pw})
	}
	errWriters := []io.Writer{&stderr, lockedWriter{&mu, &combined}}
	if in.logStderr() {
		errWriters = append(errWriters, lockedWriter{&mu, pw})
	}
	session.Stdout = io.MultiWriter(outWriters...)
	session.Stderr = io.MultiWriter(errWriters...)

	// The real provider logs the lines of the logged streams with a
	// bufio.Scanner of the default size and nothing reads the pipe once the
	// scanner gives up on a line of 64 KiB or more: the command's output
	// then blocks and the step hangs forever. Here the same scanner reports
	// such a line (tooLong) and the step fails instead.
	logged := make(chan struct{})
	tooLong := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lg.status(diag.Info, sc.Text())
		}
		if errors.Is(sc.Err(), bufio.ErrTooLong) {
			close(tooLong)
		}
		_, _ = io.Copy(io.Discard, pr) // so that nothing blocks while the command is stopped
	}()

	done := make(chan error, 1)
	go func() { done <- session.Run(cmd) }()
	select {
	case err = <-done:
	case <-tooLong:
		// Stop the command: with the real provider it would not get any further.
		_ = session.Signal(ssh.SIGTERM)
		_ = session.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second): // the server does not close the channel
		}
	case <-ctx.Done():
		_ = session.Signal(ssh.SIGTERM)
		_ = cl.Close()
		err = <-done
		if err == nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
	}
	_ = pw.Close()
	<-logged

	select {
	case <-tooLong:
		shown := fmt.Sprintf("%q", cmd)
		if cmdSecret {
			shown = "[secret]"
		}
		return "", "", fmt.Errorf("running %s: an output line of 64 KiB (%d bytes) or more on a logged stream "+
			"(logging %q): pulumi-command v1.2.1 hangs on such a line (its log scanner gives up and the command's "+
			"output blocks forever), so this stand-in stopped the command and fails the step; set logging to "+
			"\"none\" (or to the other stream) for this step or shorten the line",
			shown, maxLoggedLine, in.loggingName())
	default:
	}
	if err != nil {
		return "", "", commandError(err, cmd, cmdSecret, combined.String())
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}

func setenvHint(key string) string {
	return fmt.Sprintf("Unable to set '%s'. This only works if your SSH server is configured to accept "+
		"these variables via AcceptEnv. Alternatively, if a Bash-like shell runs the command on the remote host, "+
		"you could prefix the command itself with the variables in the form 'VAR=value command'", key)
}
