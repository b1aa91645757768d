package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const testURN = "urn:pulumi:dev::proj::command:remote:Command::cmd"
const testCopyURN = "urn:pulumi:dev::proj::command:remote:CopyToRemote::cp"

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func mustMarshal(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUnmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshal(s, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func connProp(s *testServer, extra resource.PropertyMap) resource.PropertyValue {
	m := resource.PropertyMap{
		"host":           str(s.host),
		"port":           resource.NewNumberProperty(float64(s.port)),
		"user":           str("root"),
		"privateKey":     str(s.clientKey),
		"dialErrorLimit": resource.NewNumberProperty(1),
		"perDialTimeout": resource.NewNumberProperty(5),
	}
	for k, v := range extra {
		m[k] = v
	}
	return resource.MakeSecret(resource.NewObjectProperty(m))
}

func TestCheckDefaultsAndFailures(t *testing.T) {
	p := newProvider(nil)
	news := resource.PropertyMap{
		"connection": resource.MakeSecret(resource.NewObjectProperty(resource.PropertyMap{
			"host": str("example.org"),
		})),
		"create": str("true"),
	}
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: mustMarshal(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) != 0 {
		t.Fatalf("unexpected failures: %v", resp.Failures)
	}
	got := mustUnmarshal(t, resp.Inputs)
	conn := got["connection"]
	if !conn.IsSecret() {
		t.Fatalf("connection lost its secrecy: %v", conn)
	}
	c := conn.SecretValue().Element.ObjectValue()
	if c["user"].StringValue() != "root" || c["port"].NumberValue() != 22 ||
		c["dialErrorLimit"].NumberValue() != 10 || c["perDialTimeout"].NumberValue() != 15 {
		t.Fatalf("defaults not applied: %v", c)
	}

	bad := resource.PropertyMap{
		"connection": resource.NewObjectProperty(resource.PropertyMap{
			"port":    str("22"),
			"hostKey": str("not a key"),
		}),
		"logging": str("loud"),
	}
	resp, err = p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: mustMarshal(t, bad)})
	if err != nil {
		t.Fatal(err)
	}
	var props []string
	for _, f := range resp.Failures {
		props = append(props, f.Property)
	}
	// A malformed hostKey is not a Check failure (see TestKeysParsedWhenConnecting).
	want := "connection.host connection.port logging"
	if got := strings.Join(sortedStrings(props), " "); got != want {
		t.Fatalf("failures on %q, want %q (%v)", got, want, resp.Failures)
	}

	// Unknown values (previews) are not failures.
	unknown := resource.PropertyMap{"connection": resource.MakeComputed(str(""))}
	resp, err = p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testURN, News: mustMarshal(t, unknown)})
	if err != nil || len(resp.Failures) != 0 {
		t.Fatalf("unknown connection: %v %v", err, resp.GetFailures())
	}
}

func sortedStrings(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return sortedKeys(m)
}

func TestDiff(t *testing.T) {
	p := newProvider(nil)
	base := func() resource.PropertyMap {
		return resource.PropertyMap{
			"connection": resource.MakeSecret(resource.NewObjectProperty(resource.PropertyMap{"host": str("h")})),
			"create":     str("uname -m"),
			"triggers":   resource.NewArrayProperty([]resource.PropertyValue{str("t1")}),
		}
	}
	diff := func(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
		t.Helper()
		outs := olds.Copy()
		outs["stdout"] = str("x86_64")
		resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{
			Urn: testURN, Olds: mustMarshal(t, outs), OldInputs: mustMarshal(t, olds), News: mustMarshal(t, news),
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	if r := diff(base(), base()); r.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same inputs: %v", r)
	}
	// Secrecy alone is not a change.
	n := base()
	n["create"] = resource.MakeSecret(str("uname -m"))
	if r := diff(base(), n); r.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("secret-only change: %v", r)
	}
	n = base()
	n["create"] = str("uname -s")
	r := diff(base(), n)
	if r.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(r.Replaces) != 0 ||
		r.DetailedDiff["create"].GetKind() != pulumirpc.PropertyDiff_UPDATE {
		t.Fatalf("create change: %v", r)
	}
	n = base()
	n["triggers"] = resource.NewArrayProperty([]resource.PropertyValue{str("t2")})
	r = diff(base(), n)
	if r.Changes != pulumirpc.DiffResponse_DIFF_SOME || strings.Join(r.Replaces, ",") != "triggers" ||
		r.DetailedDiff["triggers[0]"].GetKind() != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("triggers change: %v", r)
	}
	n = base()
	n["connection"] = resource.MakeSecret(resource.NewObjectProperty(resource.PropertyMap{"host": str("other")}))
	r = diff(base(), n)
	if len(r.Replaces) != 0 || r.DetailedDiff["connection.host"] == nil {
		t.Fatalf("connection change: %v", r)
	}
}

func create(t *testing.T, p *commandProvider, urn string, ins resource.PropertyMap, preview bool) (*pulumirpc.CreateResponse, error) {
	t.Helper()
	return p.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urn, Properties: mustMarshal(t, ins), Preview: preview,
	})
}

func TestCommandLifecycle(t *testing.T) {
	s := newTestServer(t)
	p := newProvider(nil)
	dir := t.TempDir()
	ins := resource.PropertyMap{
		"connection": connProp(s, nil),
		"create":     str("cat > " + dir + "/in && sha256sum < " + dir + "/in | cut -c1-8; echo warn >&2"),
		"delete":     str("echo \"deleted $LANG\" > " + dir + "/deleted"),
		"stdin":      resource.MakeSecret(str("s3cret")),
		"environment": resource.NewObjectProperty(resource.PropertyMap{
			"LANG": str("C.UTF-8"),
		}),
	}

	// Preview: nothing runs, outputs unknown.
	resp, err := create(t, p, testURN, ins, true)
	if err != nil {
		t.Fatal(err)
	}
	outs := mustUnmarshal(t, resp.Properties)
	if _, execs := s.counts(); !outs["stdout"].IsComputed() || execs != 0 {
		t.Fatalf("preview ran something or has known stdout: %v, %d commands", outs, execs)
	}

	resp, err = create(t, p, testURN, ins, false)
	if err != nil {
		t.Fatal(err)
	}
	outs = mustUnmarshal(t, resp.Properties)
	if !strings.HasPrefix(resp.Id, "cmd") {
		t.Fatalf("id %q", resp.Id)
	}
	if got := outs["stdout"]; got.IsSecret() || got.StringValue() != "1ec1c26b" { // sha256("s3cret")
		t.Fatalf("stdout %v", got)
	}
	if got := outs["stderr"]; got.StringValue() != "warn" {
		t.Fatalf("stderr %v", got)
	}
	if !outs["stdin"].IsSecret() || !outs["connection"].IsSecret() {
		t.Fatalf("secrets not kept in outputs: %v", outs)
	}

	// Update without an update command runs create again; PULUMI_COMMAND_STDOUT
	// is refused by the server (a warning, not an error).
	news := ins.Copy()
	news["create"] = str("echo second")
	uresp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: testURN, Olds: resp.Properties, News: mustMarshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, uresp.Properties)["stdout"].StringValue(); got != "second" {
		t.Fatalf("update stdout %q", got)
	}
	news["update"] = resource.MakeSecret(str("echo third"))
	uresp, err = p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: testURN, Olds: uresp.Properties, News: mustMarshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, uresp.Properties)["stdout"]; !got.IsSecret() || got.SecretValue().Element.StringValue() != "third" {
		t.Fatalf("secret update command: stdout %v", got)
	}

	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Properties: uresp.Properties}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "deleted"))
	if err != nil || string(b) != "deleted C.UTF-8\n" {
		t.Fatalf("delete command: %q %v", b, err)
	}
}

// Without `create`, creating a Command runs nothing and does not even connect
// (pulumi-command 1.2.1 returns before dialling); its `update` runs on a later
// change. The deployer's rolling-restart steps rely on both.
func TestCommandWithoutCreate(t *testing.T) {
	s := newTestServer(t)
	p := newProvider(nil)
	ins := resource.PropertyMap{
		"connection": connProp(s, nil),
		"update":     str("echo updated"),
	}
	resp, err := create(t, p, testURN, ins, false)
	if err != nil {
		t.Fatal(err)
	}
	if conns, execs := s.counts(); conns != 0 || execs != 0 {
		t.Fatalf("create without a create command connected %d time(s) and ran %d command(s)", conns, execs)
	}
	if got := mustUnmarshal(t, resp.Properties)["stdout"].StringValue(); got != "" {
		t.Fatalf("stdout %q", got)
	}
	news := ins.Copy()
	news["update"] = str("echo updated again")
	uresp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: testURN, Olds: resp.Properties, News: mustMarshal(t, news),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustUnmarshal(t, uresp.Properties)["stdout"].StringValue(); got != "updated again" {
		t.Fatalf("update stdout %q", got)
	}
	if _, execs := s.counts(); execs != 1 {
		t.Fatalf("%d command(s) ran, want the update only", execs)
	}
}

func TestCommandFailure(t *testing.T) {
	s := newTestServer(t)
	p := newProvider(nil)
	ins := resource.PropertyMap{
		"connection": connProp(s, nil),
		"create":     str("echo 'install-binaries: expects version 8.2.2' >&2; exit 3"),
	}
	_, err := create(t, p, testURN, ins, false)
	if err == nil || !strings.Contains(err.Error(), "Process exited with status 3") ||
		!strings.Contains(err.Error(), "install-binaries: expects version 8.2.2") {
		t.Fatalf("error %v", err)
	}
	ins["create"] = resource.MakeSecret(str("echo boom; exit 1"))
	_, err = create(t, p, testURN, ins, false)
	if err == nil || strings.Contains(err.Error(), "echo boom") || !strings.Contains(err.Error(), "[secret]") {
		t.Fatalf("secret command in error: %v", err)
	}
	ins["create"] = str("true")
	ins["environment"] = resource.NewObjectProperty(resource.PropertyMap{"NOPE": str("x")})
	if _, err = create(t, p, testURN, ins, false); err == nil || !strings.Contains(err.Error(), `"NOPE"`) {
		t.Fatalf("refused environment variable: %v", err)
	}
}

func TestHostKey(t *testing.T) {
	s := newTestServer(t)
	other := newTestServer(t)
	p := newProvider(nil)
	ins := resource.PropertyMap{
		"connection": connProp(s, resource.PropertyMap{"hostKey": str(strings.TrimSpace(s.hostKey))}),
		"create":     str("echo ok"),
	}
	if _, err := create(t, p, testURN, ins, false); err != nil {
		t.Fatal(err)
	}
	// A mismatch is an ordinary dial error: retried up to dialErrorLimit, as
	// in the real provider.
	ins["connection"] = connProp(s, resource.PropertyMap{
		"hostKey":        str(strings.TrimSpace(other.hostKey)),
		"dialErrorLimit": resource.NewNumberProperty(2),
	})
	s.refuse(0) // resets the connection count
	_, before := s.counts()
	_, err := create(t, p, testURN, ins, false)
	if err == nil || !strings.Contains(err.Error(), "ssh: handshake failed: ssh: host key mismatch for "+s.addr) ||
		!strings.Contains(err.Error(), "after 2 failed attempts") {
		t.Fatalf("error %v", err)
	}
	if conns, execs := s.counts(); conns != 3 || execs != before {
		t.Fatalf("mismatch: %d connections (want 3: dialErrorLimit 2 + 1), %d commands (want %d)", conns, execs, before)
	}
}

func TestDialRetries(t *testing.T) {
	s := newTestServer(t)
	p := newProvider(nil)
	rec := &recordingLogger{}
	p.testLog = rec
	s.refuse(2)
	ins := resource.PropertyMap{
		"connection": connProp(s, resource.PropertyMap{"dialErrorLimit": resource.NewNumberProperty(2)}),
		"create":     str("echo ok"),
	}
	if _, err := create(t, p, testURN, ins, false); err != nil {
		t.Fatalf("third attempt should succeed: %v", err)
	}
	s.refuse(-1)
	rec.reset()
	start := time.Now()
	_, err := create(t, p, testURN, ins, false)
	// Like the real provider: limit+1 dials, "after <limit> failed attempts".
	if err == nil || !strings.Contains(err.Error(), s.addr) || !strings.Contains(err.Error(), "after 2 failed attempts") {
		t.Fatalf("error %v", err)
	}
	if conns, _ := s.counts(); conns != 3 {
		t.Fatalf("%d attempts, want 3", conns)
	}
	// Backoff: 100 ms, then 150 ms.
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("3 attempts in %v: no backoff", d)
	}
	statuses := rec.statusList()
	if len(statuses) != 2 || !strings.Contains(statuses[0], " 1/2 failed: retrying") ||
		!strings.Contains(statuses[1], " 2/2 failed: retrying") {
		t.Fatalf("status messages %q", statuses)
	}
}

func TestCopyToRemote(t *testing.T) {
	s := newTestServer(t)
	p := newProvider(nil)
	src := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(src, []byte("payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	a, err := resource.NewPathAsset(src)
	if err != nil {
		t.Fatal(err)
	}
	ins := resource.PropertyMap{
		"connection": connProp(s, nil),
		"source":     resource.NewAssetProperty(a),
		"remotePath": str(dest), // an existing directory: copied into it
	}
	chk, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: testCopyURN, News: mustMarshal(t, ins)})
	if err != nil || len(chk.Failures) != 0 {
		t.Fatalf("check: %v %v", err, chk.GetFailures())
	}
	checked := mustUnmarshal(t, chk.Inputs)
	if checked["source"].AssetValue().Hash == "" {
		t.Fatal("Check did not compute the asset hash")
	}
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: testCopyURN, Properties: chk.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "payload.bin")); err != nil || string(b) != "payload\n" {
		t.Fatalf("copied file: %q %v", b, err)
	}

	// A text asset onto a file path.
	txt, err := resource.NewTextAsset("text\n")
	if err != nil {
		t.Fatal(err)
	}
	news := checked.Copy()
	news["source"] = resource.NewAssetProperty(txt)
	news["remotePath"] = str(filepath.Join(dest, "text.txt"))
	if _, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: testCopyURN, Olds: resp.Properties, News: mustMarshal(t, news),
	}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "text.txt")); err != nil || string(b) != "text\n" {
		t.Fatalf("copied text: %q %v", b, err)
	}

	// Delete leaves the files.
	if _, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testCopyURN, Properties: resp.Properties}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dest, "payload.bin")); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaAndInfo(t *testing.T) {
	p := newProvider(nil)
	info, err := p.GetPluginInfo(context.Background(), nil)
	if err != nil || info.Version != providerVersion {
		t.Fatalf("plugin info %v %v", info, err)
	}
	resp, err := p.GetSchema(context.Background(), &pulumirpc.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"command"`, `"version":"` + providerVersion + `"`,
		`"command:remote:Command"`, `"command:remote:CopyToRemote"`} {
		if !strings.Contains(resp.Schema, want) {
			t.Errorf("schema lacks %s", want)
		}
	}
}
