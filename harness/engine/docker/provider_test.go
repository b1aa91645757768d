package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	urnImage     = "urn:pulumi:dev::proj::docker:index/image:Image::img"
	urnRemote    = "urn:pulumi:dev::proj::docker:index/remoteImage:RemoteImage::remote"
	urnNetwork   = "urn:pulumi:dev::proj::docker:index/network:Network::net"
	urnVolume    = "urn:pulumi:dev::proj::docker:index/volume:Volume::vol"
	urnContainer = "urn:pulumi:dev::proj::docker:index/container:Container::host"
)

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

var fastTimings = timings{
	networkReadDelay: time.Millisecond, networkRemoveDelay: time.Millisecond,
	networkRemoveMinTimeout: 5 * time.Millisecond, networkRemoveTimeout: 200 * time.Millisecond,
	volumeRemoveDelay: time.Millisecond, volumeRemoveMinTimeout: 5 * time.Millisecond, volumeRemoveTimeout: 200 * time.Millisecond,
	containerReadDelay: time.Millisecond, containerReadMinTimeout: time.Millisecond, healthPoll: 5 * time.Millisecond,
}

func testProvider(t *testing.T) (*dockerProvider, *recordingLogger) {
	t.Helper()
	p := newProvider(nil)
	lg := &recordingLogger{}
	p.testLog = lg
	p.timing = fastTimings
	p.randomHex = func(prefix string) (string, error) { return prefix + "abc1234", nil }
	return p, lg
}

// fakeProvider is a provider configured against a fresh fake daemon.
func fakeProvider(t *testing.T) (*dockerProvider, *fakeDocker, *recordingLogger) {
	t.Helper()
	f := newFakeDocker(t)
	p, lg := testProvider(t)
	if _, err := p.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		Variables: map[string]string{"docker:config:host": f.host()},
	}); err != nil {
		t.Fatal(err)
	}
	return p, f, lg
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func obj(m resource.PropertyMap) resource.PropertyValue { return resource.NewObjectProperty(m) }

func arr(vs ...resource.PropertyValue) resource.PropertyValue { return resource.NewArrayProperty(vs) }

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
	m, err := unmarshal(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func check(t *testing.T, p *dockerProvider, urn string, news, olds resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	t.Helper()
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn, News: mustMarshal(t, news), Olds: mustMarshal(t, olds)})
	if err != nil {
		t.Fatal(err)
	}
	return mustUnmarshal(t, resp.Inputs), resp.Failures
}

func mustCheck(t *testing.T, p *dockerProvider, urn string, news resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	in, fails := check(t, p, urn, news, nil)
	if len(fails) > 0 {
		t.Fatalf("unexpected failures: %v", fails)
	}
	return in
}

func failureText(fails []*pulumirpc.CheckFailure) string {
	var out []string
	for _, f := range fails {
		out = append(out, f.Property+": "+f.Reason)
	}
	return strings.Join(out, "\n")
}

func diff(t *testing.T, p *dockerProvider, urn string, olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	t.Helper()
	resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: urn, Olds: mustMarshal(t, olds), News: mustMarshal(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func create(t *testing.T, p *dockerProvider, urn string, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	t.Helper()
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urn, Properties: mustMarshal(t, inputs)})
	if err != nil {
		return "", nil, err
	}
	return resp.Id, mustUnmarshal(t, resp.Properties), nil
}

func mustCreate(t *testing.T, p *dockerProvider, urn string, inputs resource.PropertyMap) (string, resource.PropertyMap) {
	t.Helper()
	id, outs, err := create(t, p, urn, inputs)
	if err != nil {
		t.Fatalf("create %s: %v", urn, err)
	}
	return id, outs
}

func read(t *testing.T, p *dockerProvider, urn, id string, state resource.PropertyMap) (*pulumirpc.ReadResponse, error) {
	t.Helper()
	return p.Read(context.Background(), &pulumirpc.ReadRequest{Urn: urn, Id: id, Properties: mustMarshal(t, state)})
}

func del(t *testing.T, p *dockerProvider, urn, id string, state resource.PropertyMap) error {
	t.Helper()
	_, err := p.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urn, Id: id, Properties: mustMarshal(t, state)})
	return err
}

// --- plugin information, configuration, invokes ------------------------------------

func TestSchemaAndInfo(t *testing.T) {
	p, _ := testProvider(t)
	info, err := p.GetPluginInfo(context.Background(), nil)
	if err != nil || info.Version != providerVersion {
		t.Fatalf("plugin info: %v %v", info, err)
	}
	resp, err := p.GetSchema(context.Background(), &pulumirpc.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Name      string                    `json:"name"`
		Version   string                    `json:"version"`
		Resources map[string]map[string]any `json:"resources"`
	}
	if err := json.Unmarshal([]byte(resp.Schema), &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Name != "docker" || schema.Version != providerVersion {
		t.Fatalf("schema name/version: %q %q", schema.Name, schema.Version)
	}
	for _, tok := range []string{typeImage, typeRemoteImage, typeNetwork, typeVolume, typeContainer} {
		if _, ok := schema.Resources[tok]; !ok {
			t.Errorf("schema lacks %s", tok)
		}
	}
	// Every implemented input of a bridged resource is in the schema.
	for tok, s := range map[string]*resSchema{typeRemoteImage: remoteImageSchema, typeNetwork: networkSchema,
		typeVolume: volumeSchema, typeContainer: containerSchema} {
		ins, _ := schema.Resources[tok]["inputProperties"].(map[string]any)
		for k, a := range s.attrs {
			if _, ok := ins[k]; (a.impl || a.def != nil) && !ok {
				t.Errorf("schema of %s lacks input %s", tok, k)
			}
		}
	}
}

func TestConfigAndInvokes(t *testing.T) {
	p, _ := testProvider(t)
	resp, err := p.CheckConfig(context.Background(), &pulumirpc.CheckRequest{News: mustMarshal(t, resource.PropertyMap{
		"host": str("unix:///x.sock"), "version": str("5.2.0"), "caMaterial": str("pem"),
	})})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) != 1 || resp.Failures[0].Property != "caMaterial" ||
		!strings.Contains(resp.Failures[0].Reason, "not implemented") {
		t.Fatalf("caMaterial not refused: %v", resp.Failures)
	}
	_, err = p.Configure(context.Background(), &pulumirpc.ConfigureRequest{Variables: map[string]string{"docker:config:sshOpts": "[]"}})
	if err == nil || !strings.Contains(err.Error(), "sshOpts") {
		t.Fatalf("sshOpts not refused: %v", err)
	}
	// A host that does not answer fails Configure, like the real provider.
	dir := t.TempDir()
	_, err = p.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		Variables: map[string]string{"docker:config:host": "unix://" + filepath.Join(dir, "none.sock")}})
	if err == nil || err.Error() != "failed to connect to any docker daemon" {
		t.Fatalf("unreachable host: %v", err)
	}
	if _, err := p.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "docker:index/getNetwork:getNetwork"}); err == nil ||
		!strings.Contains(err.Error(), "not implemented") {
		t.Fatalf("invoke not refused: %v", err)
	}
	if _, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:dev::proj::docker:index/service:Service::s",
		News: mustMarshal(t, resource.PropertyMap{})}); err == nil || !strings.Contains(err.Error(), "not implemented") {
		t.Fatalf("unsupported type not refused: %v", err)
	}
}

// --- bridged Check and Diff ------------------------------------------------------------

func containerInputs() resource.PropertyMap {
	return resource.PropertyMap{
		"name":    str("h1"),
		"image":   str("sha256:" + strings.Repeat("b", 64)),
		"command": arr(str("/sbin/init")),
		"capabilities": obj(resource.PropertyMap{
			"adds": arr(str("ALL")), "drops": arr(str("CAP_SYS_RESOURCE")),
		}),
		"securityOpts":     arr(str("seccomp=unconfined"), str("apparmor=unconfined")),
		"cgroupnsMode":     str("host"),
		"volumes":          arr(obj(resource.PropertyMap{"hostPath": str("/sys/fs/cgroup"), "containerPath": str("/sys/fs/cgroup")})),
		"tmpfs":            obj(resource.PropertyMap{"/run": str(""), "/run/lock": str("")}),
		"networksAdvanced": arr(obj(resource.PropertyMap{"name": str("net1"), "ipv4Address": str("198.18.9.11")})),
		"uploads":          arr(obj(resource.PropertyMap{"file": str("/root/.ssh/authorized_keys"), "content": str("ssh-ed25519 AAAA test\n")})),
	}
}

func TestContainerCheckDefaults(t *testing.T) {
	p, _ := testProvider(t)
	in := containerInputs()
	delete(in, "name")
	got := mustCheck(t, p, urnContainer, in)
	want := map[string]any{"mustRun": true, "start": true, "restart": "no", "rm": false, "attach": false, "logs": false,
		"wait": false, "waitTimeout": float64(60), "removeVolumes": true, "networkMode": "bridge",
		"containerReadRefreshTimeoutMilliseconds": float64(15000), "readOnly": false, "tty": false, "stdinOpen": false,
		"name": "host-abc1234"}
	for k, v := range want {
		if got[resource.PropertyKey(k)].V != v {
			t.Errorf("%s = %v, want %v", k, got[resource.PropertyKey(k)].V, v)
		}
	}
	defaults := getStrings(got, "__defaults")
	if !contains(defaults, "mustRun") || !contains(defaults, "name") || contains(defaults, "image") {
		t.Errorf("__defaults = %v", defaults)
	}
	up := getObjects(got, "uploads")[0]
	if up["executable"].V != false {
		t.Errorf("nested default executable missing: %v", up)
	}
	// The autoname is kept from the previous inputs.
	got, _ = check(t, p, urnContainer, in, resource.PropertyMap{"name": str("host-0000000")})
	if getStr(got, "name") != "host-0000000" {
		t.Errorf("autoname not kept: %v", got["name"])
	}
}

func TestContainerCheckRefusals(t *testing.T) {
	p, _ := testProvider(t)
	cases := []struct {
		name   string
		modify func(resource.PropertyMap)
		want   string
	}{
		{"unimplemented property", func(m resource.PropertyMap) { m["cpuShares"] = resource.NewNumberProperty(512) },
			"property cpuShares of docker:index/container:Container is not implemented"},
		{"unimplemented nested property", func(m resource.PropertyMap) {
			m["networksAdvanced"] = arr(obj(resource.PropertyMap{"name": str("n"), "gwPriority": resource.NewNumberProperty(1)}))
		}, "property networksAdvanced[0].gwPriority of docker:index/container:Container is not implemented"},
		{"upload permissions", func(m resource.PropertyMap) {
			m["uploads"] = arr(obj(resource.PropertyMap{"file": str("/f"), "content": str("x"), "permissions": str("0600")}))
		}, "uploads[0].permissions"},
		{"readOnly true", func(m resource.PropertyMap) { m["readOnly"] = resource.NewBoolProperty(true) },
			"property readOnly of docker:index/container:Container is not implemented"},
		{"restart pattern", func(m resource.PropertyMap) { m["restart"] = str("sometimes") }, "doesn't match the pattern"},
		{"relative host path", func(m resource.PropertyMap) {
			m["volumes"] = arr(obj(resource.PropertyMap{"hostPath": str("rel"), "containerPath": str("/x")}))
		}, "rel must be an absolute path"},
		{"missing image", func(m resource.PropertyMap) { delete(m, "image") }, "Missing required property 'image'"},
		{"bad type", func(m resource.PropertyMap) { m["privileged"] = str("yes") }, "privileged: must be a boolean"},
		{"bad base64", func(m resource.PropertyMap) {
			m["uploads"] = arr(obj(resource.PropertyMap{"file": str("/f"), "contentBase64": str("%%%")}))
		}, "must be base64-encoded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := containerInputs()
			c.modify(in)
			_, fails := check(t, p, urnContainer, in, nil)
			if !strings.Contains(failureText(fails), c.want) {
				t.Fatalf("failures %q do not mention %q", failureText(fails), c.want)
			}
		})
	}
	// readOnly at its default is accepted.
	in := containerInputs()
	in["readOnly"] = resource.NewBoolProperty(false)
	if _, fails := check(t, p, urnContainer, in, nil); len(fails) != 0 {
		t.Fatalf("readOnly false refused: %v", fails)
	}
	// A network's checkDuplicate does not exist in 5.2.0.
	_, fails := check(t, p, urnNetwork, resource.PropertyMap{"name": str("n"), "checkDuplicate": resource.NewBoolProperty(true)}, nil)
	if !strings.Contains(failureText(fails), "checkDuplicate") {
		t.Fatalf("checkDuplicate accepted: %v", fails)
	}
}

// stateOf is a container state as create would record it: the checked
// inputs, with what the read sets from the daemon.
func stateOf(t *testing.T, p *dockerProvider, in resource.PropertyMap) resource.PropertyMap {
	state := stateFromInputs(mustCheck(t, p, urnContainer, in))
	state["image"] = str("sha256:" + strings.Repeat("b", 64))
	state["hostname"] = str("0123456789ab")
	state["entrypoints"] = arr()
	state["stopSignal"] = str("")
	state["stopTimeout"] = resource.NewNumberProperty(0)
	state["ports"] = arr()
	return state
}

func TestContainerDiff(t *testing.T) {
	p, _ := testProvider(t)
	base := containerInputs()
	state := stateOf(t, p, base)

	if d := diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, base)); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unchanged inputs diff: %v", d)
	}
	// The state holds the image ID: an image name replaces the container.
	in := containerInputs()
	in["image"] = str("app:1")
	d := diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in))
	if len(d.Replaces) != 1 || d.Replaces[0] != "image" || !d.DeleteBeforeReplace {
		t.Fatalf("image name vs ID: %v", d)
	}
	// The daemon records dropped capabilities with the CAP_ prefix.
	in = containerInputs()
	in["capabilities"] = obj(resource.PropertyMap{"adds": arr(str("ALL")), "drops": arr(str("SYS_RESOURCE"))})
	d = diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in))
	if len(d.Replaces) != 1 || d.Replaces[0] != "capabilities" {
		t.Fatalf("capabilities without CAP_: %v", d)
	}
	// Sets are compared without order.
	in = containerInputs()
	in["securityOpts"] = arr(str("apparmor=unconfined"), str("seccomp=unconfined"))
	if d := diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in)); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("reordered set: %v", d)
	}
	// tmpfs and restart update in place.
	in = containerInputs()
	in["tmpfs"] = obj(resource.PropertyMap{"/run": str("")})
	in["restart"] = str("always")
	d = diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in))
	if len(d.Replaces) != 0 || strings.Join(d.Diffs, ",") != "restart,tmpfs" {
		t.Fatalf("tmpfs/restart: %v", d)
	}
	// Optional+Computed inputs left unset keep the state (hostname, command).
	in = containerInputs()
	delete(in, "command")
	if d := diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in)); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unset computed input: %v", d)
	}
	// Removing a non-computed input replaces (cgroupnsMode is ForceNew).
	in = containerInputs()
	delete(in, "cgroupnsMode")
	d = diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in))
	if len(d.Replaces) != 1 || d.Replaces[0] != "cgroupnsMode" {
		t.Fatalf("removed cgroupnsMode: %v", d)
	}
	// An unknown ForceNew input (preview) replaces.
	in = mustCheck(t, p, urnContainer, containerInputs())
	in["image"] = resource.MakeComputed(str(""))
	d = diff(t, p, urnContainer, state, in)
	if len(d.Replaces) != 1 || d.Replaces[0] != "image" {
		t.Fatalf("unknown image: %v", d)
	}
}

func TestPortsDiff(t *testing.T) {
	p, _ := testProvider(t)
	in := containerInputs()
	in["ports"] = arr(obj(resource.PropertyMap{"internal": resource.NewNumberProperty(22)}))
	checked := mustCheck(t, p, urnContainer, in)
	port := getObjects(checked, "ports")[0]
	if getStr(port, "ip") != "0.0.0.0" || getStr(port, "protocol") != "tcp" {
		t.Fatalf("port defaults: %v", port)
	}
	state := stateOf(t, p, in)
	state["ports"] = arr(obj(resource.PropertyMap{"internal": resource.NewNumberProperty(22),
		"external": resource.NewNumberProperty(32768), "ip": str("0.0.0.0"), "protocol": str("tcp")}))
	if d := diff(t, p, urnContainer, state, checked); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("assigned external port is a diff: %v", d)
	}
	in["ports"] = arr(obj(resource.PropertyMap{"internal": resource.NewNumberProperty(22), "protocol": str("udp")}))
	if d := diff(t, p, urnContainer, state, mustCheck(t, p, urnContainer, in)); len(d.Replaces) != 1 {
		t.Fatalf("protocol change: %v", d)
	}
}

func TestNetworkAndVolumeDiff(t *testing.T) {
	p, _ := testProvider(t)
	in := resource.PropertyMap{"name": str("sd-net"), "ipamConfigs": arr(obj(resource.PropertyMap{
		"subnet": str("198.18.9.0/24"), "gateway": str("198.18.9.1")}))}
	checked := mustCheck(t, p, urnNetwork, in)
	if getStr(checked, "ipamDriver") != "default" {
		t.Fatalf("ipamDriver default: %v", checked)
	}
	state := stateFromInputs(checked)
	// What the read records: driver, options, empty labels, full ipam configs.
	state["driver"], state["options"], state["labels"], state["scope"] = str("bridge"), obj(resource.PropertyMap{}), arr(), str("local")
	state["ipamConfigs"] = arr(obj(resource.PropertyMap{"subnet": str("198.18.9.0/24"), "gateway": str("198.18.9.1"),
		"ipRange": str(""), "auxAddress": obj(resource.PropertyMap{})}))
	state["internal"], state["attachable"], state["ingress"], state["ipv6"] = resource.NewBoolProperty(false),
		resource.NewBoolProperty(false), resource.NewBoolProperty(false), resource.NewBoolProperty(false)
	if d := diff(t, p, urnNetwork, state, checked); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("network unchanged: %v", d)
	}
	in["ipamConfigs"] = arr(obj(resource.PropertyMap{"subnet": str("198.18.10.0/24")}))
	if d := diff(t, p, urnNetwork, state, mustCheck(t, p, urnNetwork, in)); len(d.Replaces) != 1 {
		t.Fatalf("network subnet change: %v", d)
	}
	// Volume name is autonamed.
	v := mustCheck(t, p, urnVolume, resource.PropertyMap{})
	if getStr(v, "name") != "vol-abc1234" {
		t.Fatalf("volume autoname: %v", v)
	}
}

// --- Image Check and Diff ---------------------------------------------------------------

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(old) })
}

func imgArgs(extra resource.PropertyMap) resource.PropertyMap {
	b := resource.PropertyMap{
		"context": str("app"), "dockerfile": str("app/Dockerfile"), "builderVersion": str("BuilderV1"),
		"args": obj(resource.PropertyMap{"BASE": str("base:1")}), "network": str("none"),
	}
	for k, v := range extra {
		b[k] = v
	}
	return resource.PropertyMap{"imageName": str("app:test"), "skipPush": resource.NewBoolProperty(true), "build": obj(b)}
}

func TestImageCheck(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	writeFiles(t, dir, map[string]string{
		"app/Dockerfile": "ARG BASE\nFROM $BASE\nRUN true\n", "app/.dockerignore": "secret.txt\n",
		"app/secret.txt": "1", "app/data.txt": "a",
	})
	p, lg := testProvider(t)
	in := mustCheck(t, p, urnImage, imgArgs(nil))
	b, _ := getObject(in, "build")
	digest := getStr(b, "contextDigest")
	if len(digest) != 64 || getStr(b, "platform") != "linux/amd64" && !strings.HasPrefix(getStr(b, "platform"), "linux/") {
		t.Fatalf("checked build: %v", b)
	}
	if !getBool(in, "skipPush") || getBool(in, "buildOnPreview") || !has(in, "buildOnPreview") {
		t.Fatalf("checked inputs: %v", in)
	}
	if len(lg.logs) != 1 || !strings.Contains(lg.logs[0], "Building your image for linux/") {
		t.Fatalf("platform message: %v", lg.logs)
	}
	digestAfter := func(file, content string) string {
		writeFiles(t, dir, map[string]string{file: content})
		in := mustCheck(t, p, urnImage, imgArgs(nil))
		b, _ := getObject(in, "build")
		return getStr(b, "contextDigest")
	}
	if d := digestAfter("app/secret.txt", "2"); d != digest {
		t.Errorf("an ignored file changed the digest")
	}
	if d := digestAfter("app/Dockerfile", "ARG BASE\nFROM $BASE\nRUN true\nRUN true\n"); d == digest {
		t.Errorf("a changed Dockerfile did not change the digest")
	}

	// Refusals and the real Check's errors.
	_, fails := check(t, p, urnImage, imgArgs(resource.PropertyMap{"builderVersion": str("BuilderBuildKit")}), nil)
	if !strings.Contains(failureText(fails), "BuildKit builder") {
		t.Fatalf("BuildKit accepted: %v", fails)
	}
	noVersion := imgArgs(nil)
	delete(noVersion["build"].ObjectValue(), "builderVersion")
	if _, fails = check(t, p, urnImage, noVersion, nil); !strings.Contains(failureText(fails), "BuildKit builder") {
		t.Fatalf("default BuildKit accepted: %v", fails)
	}
	reg := imgArgs(nil)
	reg["registry"] = obj(resource.PropertyMap{"server": str("r.example")})
	if _, fails = check(t, p, urnImage, reg, nil); !strings.Contains(failureText(fails), "property registry of docker:index/image:Image is not implemented") {
		t.Fatalf("registry accepted: %v", fails)
	}
	cache := imgArgs(resource.PropertyMap{"cacheFrom": obj(resource.PropertyMap{"images": arr(str("x"))})})
	if _, fails = check(t, p, urnImage, cache, nil); !strings.Contains(failureText(fails), "build.cacheFrom") {
		t.Fatalf("cacheFrom accepted: %v", fails)
	}
	push := imgArgs(nil)
	push["skipPush"] = resource.NewBoolProperty(false)
	_, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnImage, News: mustMarshal(t, push)})
	if err == nil || !strings.Contains(err.Error(), "requires all image names to be fully qualified") {
		t.Fatalf("pushing a short name: %v", err)
	}
	missing := imgArgs(resource.PropertyMap{"dockerfile": str("Dockerfile")})
	_, err = p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnImage, News: mustMarshal(t, missing)})
	if err == nil || !strings.Contains(err.Error(), `Try setting `+"`dockerfile`"+` to "app/Dockerfile"`) {
		t.Fatalf("misplaced Dockerfile: %v", err)
	}
	badVersion := imgArgs(resource.PropertyMap{"builderVersion": str("V3")})
	_, err = p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnImage, News: mustMarshal(t, badVersion)})
	if err == nil || err.Error() != "invalid Docker Builder version" {
		t.Fatalf("invalid builder version: %v", err)
	}
}

func TestImageDiffUsesRecordedInputs(t *testing.T) {
	p, _ := testProvider(t)
	inputs := resource.PropertyMap{"imageName": str("a:1"), "build": obj(resource.PropertyMap{"contextDigest": str("x")})}
	state := resource.PropertyMap{"imageName": str("a:1"), "repoDigest": str("sha256:1"),
		"__inputs": resource.MakeSecret(obj(inputs))}
	if d := diff(t, p, urnImage, state, inputs); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("unchanged: %v", d)
	}
	changed := resource.PropertyMap{"imageName": str("a:1"), "build": obj(resource.PropertyMap{"contextDigest": str("y")})}
	d := diff(t, p, urnImage, state, changed)
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || d.DetailedDiff["build"].GetKind() != pulumirpc.PropertyDiff_UPDATE ||
		len(d.Replaces) != 0 {
		t.Fatalf("changed context: %v", d)
	}
}

// --- flows against the fake daemon ------------------------------------------------------

func TestImageBuildFlow(t *testing.T) {
	dir := t.TempDir()
	chdir(t, dir)
	writeFiles(t, dir, map[string]string{
		"app/Dockerfile": "ARG BASE\nFROM $BASE\nRUN true\n", "app/.dockerignore": "secret.txt\n",
		"app/secret.txt": "1", "app/data.txt": "a", "Dockerfile.outside": "FROM base:1\n",
	})
	p, f, lg := fakeProvider(t)
	in := mustCheck(t, p, urnImage, imgArgs(nil))
	id, outs := mustCreate(t, p, urnImage, in)
	if id != "app:test" || getStr(outs, "imageName") != "app:test" || getStr(outs, "dockerfile") != "Dockerfile" ||
		getStr(outs, "context") != "app" || getStr(outs, "baseImageName") != "app:test" || !has(outs, "registryServer") {
		t.Fatalf("outputs: %v", outs)
	}
	if !strings.HasPrefix(getStr(outs, "repoDigest"), "sha256:") || !outs["__inputs"].IsObject() {
		t.Fatalf("repoDigest/__inputs: %v", outs)
	}
	ctxFiles := f.builds[0]
	if _, ok := ctxFiles["secret.txt"]; ok {
		t.Errorf("ignored file sent: %v", sortedFileNames(ctxFiles))
	}
	if _, ok := ctxFiles["Dockerfile"]; !ok || ctxFiles["data.txt"] != "a" {
		t.Errorf("context: %v", sortedFileNames(ctxFiles))
	}
	q := f.buildQuery[0]
	for _, want := range []string{"version=1", "networkmode=none", "t=app%3Atest", "buildargs=", "rm=0"} {
		if !strings.Contains(q, want) {
			t.Errorf("build query %q lacks %q", q, want)
		}
	}
	if !containsPrefix(lg.statuses, "Building the image") || !containsPrefix(lg.statuses, "Step 1/2") {
		t.Errorf("status lines: %v", lg.statuses)
	}
	// Delete leaves the image and its tag.
	if err := del(t, p, urnImage, id, outs); err != nil || len(f.requests) == 0 {
		t.Fatal(err)
	}
	if f.findImage("app:test") == nil {
		t.Errorf("delete removed the tag")
	}

	// A Dockerfile outside the context goes in under a random name.
	out := imgArgs(resource.PropertyMap{"dockerfile": str("Dockerfile.outside")})
	mustCreate(t, p, urnImage, mustCheck(t, p, urnImage, out))
	files := f.builds[1]
	var random string
	for name := range files {
		if strings.HasPrefix(name, ".dockerfile.") {
			random = name
		}
	}
	if random == "" || files[random] != "FROM base:1\n" || !strings.Contains(files[".dockerignore"], random) ||
		!strings.Contains(f.buildQuery[1], "dockerfile=.dockerfile.") {
		t.Errorf("outside Dockerfile: %v %q", sortedFileNames(files), f.buildQuery[1])
	}

	// A failing RUN fails the create with the daemon's message.
	writeFiles(t, dir, map[string]string{"app/Dockerfile": "ARG BASE\nFROM $BASE\nRUN false\n"})
	_, _, err := create(t, p, urnImage, mustCheck(t, p, urnImage, imgArgs(nil)))
	if err == nil || err.Error() != "The command '/bin/sh -c false' returned a non-zero code: 1" {
		t.Fatalf("failing RUN: %v", err)
	}

	// Previews build nothing unless buildOnPreview.
	builds := len(f.builds)
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urnImage, Preview: true,
		Properties: mustMarshal(t, mustCheck(t, p, urnImage, imgArgs(nil)))})
	if err != nil || resp.Id != "" || len(f.builds) != builds {
		t.Fatalf("preview built: %v %v", resp, err)
	}
}

func sortedFileNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestRemoteImageFlow(t *testing.T) {
	p, f, _ := fakeProvider(t)
	in := mustCheck(t, p, urnRemote, resource.PropertyMap{"name": str("base:1")})
	id, outs := mustCreate(t, p, urnRemote, in)
	imageID := "sha256:" + strings.Repeat("b", 64)
	if id != imageID+"base:1" || getStr(outs, "imageId") != imageID || getStr(outs, "repoDigest") != "" {
		t.Fatalf("remote image: %q %v", id, outs)
	}
	if f.count("POST /images/create") != 0 {
		t.Fatalf("pulled an image that was there")
	}
	// Delete removes the tag (keepLocally false).
	if err := del(t, p, urnRemote, id, outs); err != nil {
		t.Fatal(err)
	}
	if f.findImage("base:1") != nil || f.count("DELETE /images/base:1") != 1 {
		t.Fatalf("tag not removed")
	}
	// Read of a removed image drops it from the state.
	resp, err := read(t, p, urnRemote, id, outs)
	if err != nil || resp.Id != "" {
		t.Fatalf("read of removed image: %v %v", resp, err)
	}
	// An image that is not there is pulled, and here no registry answers.
	_, _, err = create(t, p, urnRemote, mustCheck(t, p, urnRemote, resource.PropertyMap{"name": str("nginx:1")}))
	if err == nil || !strings.HasPrefix(err.Error(), "Unable to read Docker image into resource: unable to pull image nginx:1: error pulling image nginx:1:") ||
		!strings.Contains(err.Error(), "no such host") {
		t.Fatalf("pull: %v", err)
	}
	// keepLocally leaves the tag.
	f.images = append(f.images, &fakeImage{ID: "sha256:" + strings.Repeat("c", 64), Tags: []string{"keep:1"}})
	in = mustCheck(t, p, urnRemote, resource.PropertyMap{"name": str("keep:1"), "keepLocally": resource.NewBoolProperty(true)})
	id, outs = mustCreate(t, p, urnRemote, in)
	if err := del(t, p, urnRemote, id, outs); err != nil || f.findImage("keep:1") == nil {
		t.Fatalf("keepLocally: %v", err)
	}
	// triggers replace.
	d := diff(t, p, urnRemote, outs, mustCheck(t, p, urnRemote, resource.PropertyMap{"name": str("keep:1"),
		"keepLocally": resource.NewBoolProperty(true), "triggers": obj(resource.PropertyMap{"a": str("1")})}))
	if len(d.Replaces) != 1 || d.Replaces[0] != "triggers" {
		t.Fatalf("triggers: %v", d)
	}
}

func TestNetworkAndVolumeFlow(t *testing.T) {
	p, f, _ := fakeProvider(t)
	in := mustCheck(t, p, urnNetwork, resource.PropertyMap{"name": str("sd-net"), "ipamConfigs": arr(obj(resource.PropertyMap{
		"subnet": str("198.18.9.0/24"), "gateway": str("198.18.9.1")}))})
	id, outs := mustCreate(t, p, urnNetwork, in)
	if getStr(outs, "scope") != "local" || getStr(outs, "driver") != "bridge" || getStr(outs, "id") != id {
		t.Fatalf("network outputs: %v", outs)
	}
	if d := diff(t, p, urnNetwork, outs, in); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("network diff after create: %v", d)
	}
	// A network with endpoints is retried until the timeout.
	f.networks[id].Endpoints = 1
	err := del(t, p, urnNetwork, id, outs)
	if err == nil || !strings.Contains(err.Error(), "timeout while waiting for state to become 'removed'") {
		t.Fatalf("delete with endpoints: %v", err)
	}
	f.networks[id].Endpoints = 0
	if err := del(t, p, urnNetwork, id, outs); err != nil || len(f.networks) != 0 {
		t.Fatalf("delete: %v", err)
	}
	if resp, err := read(t, p, urnNetwork, id, outs); err != nil || resp.Id != "" {
		t.Fatalf("read of a removed network: %v %v", resp, err)
	}

	vin := mustCheck(t, p, urnVolume, resource.PropertyMap{"name": str("sd-vol")})
	vid, vouts := mustCreate(t, p, urnVolume, vin)
	if vid != "sd-vol" || getStr(vouts, "mountpoint") == "" || getStr(vouts, "driver") != "local" {
		t.Fatalf("volume: %q %v", vid, vouts)
	}
	if d := diff(t, p, urnVolume, vouts, vin); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("volume diff after create: %v", d)
	}
	if err := del(t, p, urnVolume, vid, vouts); err != nil || len(f.volumes) != 0 {
		t.Fatalf("volume delete: %v", err)
	}
	if resp, err := read(t, p, urnVolume, vid, vouts); err != nil || resp.Id != "" {
		t.Fatalf("read of a removed volume: %v %v", resp, err)
	}
}

func TestContainerFlow(t *testing.T) {
	p, f, _ := fakeProvider(t)
	f.networks["n1"] = &fakeNetwork{ID: "n1", Name: "net1", Driver: "bridge", Subnet: "198.18.9.0/24", Gateway: "198.18.9.1"}
	in := mustCheck(t, p, urnContainer, containerInputs())
	id, outs := mustCreate(t, p, urnContainer, in)
	c := f.containers[id]
	if c == nil || !c.Running {
		t.Fatalf("container not running: %v", f.containerNames())
	}
	// Requests as kreuzwerker makes them.
	body := f.createBody[0]
	hc := body["HostConfig"].(map[string]any)
	if hc["NetworkMode"] != "bridge" || hc["CgroupnsMode"] != "host" || hc["Init"] != false ||
		strings.Join(toStrings(hc["Binds"]), ",") != "/sys/fs/cgroup:/sys/fs/cgroup:rw" ||
		strings.Join(toStrings(hc["CapAdd"]), ",") != "ALL" || hc["RestartPolicy"].(map[string]any)["Name"] != "no" {
		t.Errorf("host config: %v", hc)
	}
	if f.count("POST /networks/bridge/disconnect") != 1 || len(f.connects) != 1 {
		t.Errorf("network connect: %v", f.requests)
	}
	ipam := f.connects[0]["EndpointConfig"].(map[string]any)["IPAMConfig"].(map[string]any)
	if ipam["IPv4Address"] != "198.18.9.11" {
		t.Errorf("connect: %v", f.connects[0])
	}
	if c.Files["/root/.ssh/authorized_keys"] != "ssh-ed25519 AAAA test\n" || c.FileModes["/root/.ssh/authorized_keys"] != 0o644 {
		t.Errorf("upload: %v %v", c.Files, c.FileModes)
	}
	nd := getObjects(outs, "networkDatas")
	if len(nd) != 1 || getStr(nd[0], "networkName") != "net1" || getStr(nd[0], "ipAddress") != "198.18.9.11" ||
		getInt(nd[0], "ipPrefixLength") != 24 || getStr(nd[0], "gateway") != "198.18.9.1" {
		t.Fatalf("networkDatas: %v", outs["networkDatas"])
	}
	if getStr(outs, "image") != "sha256:"+strings.Repeat("b", 64) || has(outs, "exitCode") {
		t.Fatalf("outputs: %v", outs)
	}
	// No diff against the recorded state, and a refresh changes nothing.
	if d := diff(t, p, urnContainer, outs, in); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("diff after create: %v", d)
	}
	resp, err := read(t, p, urnContainer, id, outs)
	if err != nil || resp.Id != id {
		t.Fatalf("refresh: %v %v", resp, err)
	}
	if d := diff(t, p, urnContainer, mustUnmarshal(t, resp.Properties), in); d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("diff after refresh: %v", d)
	}
	// A restart change updates the container in place.
	in2 := containerInputs()
	in2["restart"] = str("always")
	upd, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{Urn: urnContainer, Id: id,
		Olds: mustMarshal(t, outs), News: mustMarshal(t, mustCheck(t, p, urnContainer, in2))})
	if err != nil || f.containers[id].HostConfig.RestartPolicy.Name != "always" ||
		getStr(mustUnmarshal(t, upd.Properties), "restart") != "always" {
		t.Fatalf("update: %v", err)
	}
	// Delete stops, removes and waits.
	if err := del(t, p, urnContainer, id, outs); err != nil {
		t.Fatal(err)
	}
	if len(f.containers) != 0 || f.count("POST /containers/"+id+"/stop") != 1 || f.count("POST /containers/"+id+"/wait") != 1 {
		t.Fatalf("delete: %v", f.requests)
	}
	// A container that is gone leaves the state on refresh; deleting it again fails (stop: no such container).
	if resp, err := read(t, p, urnContainer, id, outs); err != nil || resp.Id != "" {
		t.Fatalf("refresh of a removed container: %v %v", resp, err)
	}
	if err := del(t, p, urnContainer, id, outs); err == nil || !strings.Contains(err.Error(), "Error stopping container") {
		t.Fatalf("delete of a removed container: %v", err)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func TestContainerFailures(t *testing.T) {
	p, f, _ := fakeProvider(t)
	// mustRun with a container that exits at once: the create fails and the
	// container is removed.
	in := containerInputs()
	delete(in, "networksAdvanced")
	in["command"] = arr(str("/bin/sh"), str("-c"), str("exit-now"))
	_, _, err := create(t, p, urnContainer, mustCheck(t, p, urnContainer, in))
	if err == nil || err.Error() != "container exited immediately" {
		t.Fatalf("exiting container: %v", err)
	}
	if len(f.containers) != 0 {
		t.Fatalf("exited container left behind: %v", f.containerNames())
	}
	// Without mustRun it is kept, with its exit code.
	in["mustRun"] = resource.NewBoolProperty(false)
	id, outs := mustCreate(t, p, urnContainer, mustCheck(t, p, urnContainer, in))
	if getInt(outs, "exitCode") != 1 || f.containers[id] == nil {
		t.Fatalf("mustRun false: %v", outs)
	}
	// On a refresh by a provider that started no container, a stopped
	// container that must run is deleted and leaves the state.
	outs["mustRun"] = resource.NewBoolProperty(true)
	p2, _ := testProvider(t)
	if _, err := p2.Configure(context.Background(), &pulumirpc.ConfigureRequest{
		Variables: map[string]string{"docker:config:host": f.host()}}); err != nil {
		t.Fatal(err)
	}
	resp, err := read(t, p2, urnContainer, id, outs)
	if err != nil || resp.Id != "" || len(f.containers) != 0 {
		t.Fatalf("refresh of a stopped container: %v %v %v", resp, err, f.containerNames())
	}
	// An image that is not there and cannot be pulled.
	in = containerInputs()
	in["image"] = str("missing:1")
	_, _, err = create(t, p, urnContainer, mustCheck(t, p, urnContainer, in))
	if err == nil || !strings.HasPrefix(err.Error(), "Unable to create container with image missing:1: unable to pull image missing:1") {
		t.Fatalf("missing image: %v", err)
	}
	// A network that does not exist: the container exists, the create fails
	// partially (the engine keeps it in the state).
	in = containerInputs()
	_, _, err = create(t, p, urnContainer, mustCheck(t, p, urnContainer, in))
	st, _ := status.FromError(err)
	if err == nil || !strings.Contains(err.Error(), "Unable to connect to network 'net1'") || len(st.Details()) != 1 {
		t.Fatalf("missing network: %v", err)
	}
	if d, ok := st.Details()[0].(*pulumirpc.ErrorResourceInitFailed); !ok || d.Id == "" {
		t.Fatalf("not a partial failure: %v", st.Details())
	}
	// wait without a healthcheck fails (the real provider crashes there).
	in = containerInputs()
	delete(in, "networksAdvanced")
	in["name"] = str("h2")
	in["wait"] = resource.NewBoolProperty(true)
	_, _, err = create(t, p, urnContainer, mustCheck(t, p, urnContainer, in))
	if err == nil || !strings.Contains(err.Error(), "no healthcheck") {
		t.Fatalf("wait without healthcheck: %v", err)
	}
	// An empty command value.
	in = containerInputs()
	in["name"] = str("h3")
	in["command"] = arr(str("/sbin/init"), str(""))
	if _, _, err = create(t, p, urnContainer, mustCheck(t, p, urnContainer, in)); err == nil ||
		err.Error() != "values for command may not be empty" {
		t.Fatalf("empty command value: %v", err)
	}
}

func TestCreatePreview(t *testing.T) {
	p, _ := testProvider(t)
	in := mustCheck(t, p, urnContainer, containerInputs())
	resp, err := p.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urnContainer, Preview: true, Properties: mustMarshal(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := unmarshal(resp.Properties, false)
	if err != nil {
		t.Fatal(err)
	}
	if !outs["networkDatas"].IsComputed() || !outs["hostname"].IsComputed() || getStr(outs, "name") != "h1" {
		t.Fatalf("preview outputs: %v", outs)
	}
}

func TestWaitForState(t *testing.T) {
	n := 0
	_, err := waitForState(context.Background(), 0, time.Millisecond, time.Second, []string{"pending"}, []string{"done"},
		func() (any, string, error) {
			n++
			if n < 3 {
				return nil, "pending", nil
			}
			return nil, "done", nil
		})
	if err != nil || n != 3 {
		t.Fatalf("waitForState: %v after %d", err, n)
	}
}
