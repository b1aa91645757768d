package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	typeImage       = "docker:index/image:Image"
	typeRemoteImage = "docker:index/remoteImage:RemoteImage"
	typeNetwork     = "docker:index/network:Network"
	typeVolume      = "docker:index/volume:Volume"
	typeContainer   = "docker:index/container:Container"
)

// schemaJSON is the package schema of the part implemented here; its
// version is filled in from providerVersion.
//
//go:embed schema.json
var schemaJSON []byte

var schemaOnce = sync.OnceValues(func() (string, error) {
	var m map[string]any
	if err := json.Unmarshal(schemaJSON, &m); err != nil {
		return "", fmt.Errorf("embedded schema: %w", err)
	}
	m["version"] = providerVersion
	b, err := json.Marshal(m)
	return string(b), err
})

// timings are the fixed waits of the real provider (kreuzwerker's
// StateChangeConf settings and polls). Tests shorten them.
type timings struct {
	networkReadDelay        time.Duration // resourceDockerNetworkRead: Delay 2s
	networkRemoveDelay      time.Duration // resourceDockerNetworkDelete: Delay 2s
	networkRemoveMinTimeout time.Duration // MinTimeout 5s
	networkRemoveTimeout    time.Duration // Timeout 30s
	volumeRemoveDelay       time.Duration // resourceDockerVolumeDelete: Delay 2s
	volumeRemoveMinTimeout  time.Duration // MinTimeout 5s
	volumeRemoveTimeout     time.Duration // Timeout 30s
	containerReadDelay      time.Duration // resourceDockerContainerRead: Delay 100ms
	containerReadMinTimeout time.Duration // MinTimeout 100ms
	healthPoll              time.Duration // wait: one inspect per second
}

var realTimings = timings{
	networkReadDelay:        2 * time.Second,
	networkRemoveDelay:      2 * time.Second,
	networkRemoveMinTimeout: 5 * time.Second,
	networkRemoveTimeout:    30 * time.Second,
	volumeRemoveDelay:       2 * time.Second,
	volumeRemoveMinTimeout:  5 * time.Second,
	volumeRemoveTimeout:     30 * time.Second,
	containerReadDelay:      100 * time.Millisecond,
	containerReadMinTimeout: 100 * time.Millisecond,
	healthPoll:              time.Second,
}

type dockerProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	host *provider.HostClient // nil when not started by the engine

	cancelOnce sync.Once
	cancelCh   chan struct{}

	mu        sync.Mutex
	config    map[string]string // provider configuration, without the "docker:config:" prefix
	client    *client.Client
	clientErr error

	// creationTime is kreuzwerker's package-global creationTime: the time of
	// the last container start made by this provider process.
	creationMu   sync.Mutex
	creationTime time.Time

	timing    timings
	randomHex func(prefix string) (string, error)
	testLog   logger // tests: receives what would go to the engine
	home      string // tests: replaces the user's home directory
}

func newProvider(host *provider.HostClient) *dockerProvider {
	return &dockerProvider{
		host:     host,
		cancelCh: make(chan struct{}),
		config:   map[string]string{},
		timing:   realTimings,
		randomHex: func(prefix string) (string, error) {
			// The bridge's autonaming: <logical name>-<7 random hex digits>.
			return resource.NewUniqueHex(prefix, 7, 255)
		},
	}
}

func (p *dockerProvider) setCreationTime(t time.Time) {
	p.creationMu.Lock()
	defer p.creationMu.Unlock()
	p.creationTime = t
}

func (p *dockerProvider) getCreationTime() time.Time {
	p.creationMu.Lock()
	defer p.creationMu.Unlock()
	return p.creationTime
}

// opContext is ctx, also cancelled when the engine calls Cancel.
func (p *dockerProvider) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-p.cancelCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// --- logging ------------------------------------------------------------------------

type logger interface {
	status(sev diag.Severity, msg string) // ephemeral status line of the resource
	log(sev diag.Severity, msg string)    // a diagnostic message of the resource
}

type resourceLogger struct {
	ctx  context.Context
	host *provider.HostClient
	urn  resource.URN
}

func (l resourceLogger) status(sev diag.Severity, msg string) {
	if l.host != nil {
		_ = l.host.LogStatus(l.ctx, sev, l.urn, msg)
	}
}

func (l resourceLogger) log(sev diag.Severity, msg string) {
	if l.host != nil {
		_ = l.host.Log(l.ctx, sev, l.urn, msg)
	}
}

func (p *dockerProvider) logger(ctx context.Context, urn string) logger {
	if p.testLog != nil {
		return p.testLog
	}
	return resourceLogger{ctx: ctx, host: p.host, urn: resource.URN(urn)}
}

// --- types ------------------------------------------------------------------------

func resourceType(urn, typ string) string {
	if typ != "" {
		return typ
	}
	return string(resource.URN(urn).Type())
}

func unsupportedType(t string) error {
	return fmt.Errorf("stand-in docker provider: resource type %q is not implemented (it implements %s)",
		t, strings.Join([]string{typeImage, typeRemoteImage, typeNetwork, typeVolume, typeContainer}, ", "))
}

// bridged is a resource that the real provider serves through
// pulumi-terraform-bridge.
type bridged interface {
	schema() *resSchema
	diffHooks() map[string]diffHook
	// create returns the ID ("" if nothing was left behind) and the state;
	// an error with an ID is a partial failure (the resource exists).
	create(ctx context.Context, op *operation, inputs resource.PropertyMap) (string, resource.PropertyMap, error)
	// read returns "" as the ID when the resource is gone.
	read(ctx context.Context, op *operation, id string, state resource.PropertyMap) (string, resource.PropertyMap, error)
	update(ctx context.Context, op *operation, id string, olds, planned resource.PropertyMap) (resource.PropertyMap, error)
	delete(ctx context.Context, op *operation, id string, state resource.PropertyMap) error
}

func (p *dockerProvider) bridgedFor(t string) (bridged, bool) {
	switch t {
	case typeRemoteImage:
		return remoteImageResource{}, true
	case typeNetwork:
		return networkResource{}, true
	case typeVolume:
		return volumeResource{}, true
	case typeContainer:
		return containerResource{}, true
	}
	return nil, false
}

// operation is one resource operation: the daemon client, the logger and
// the provider's state.
type operation struct {
	p   *dockerProvider
	cli *client.Client
	log logger
	urn string
}

func (p *dockerProvider) operation(ctx context.Context, urn string) (*operation, error) {
	cli, err := p.dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	return &operation{p: p, cli: cli, log: p.logger(ctx, urn), urn: urn}, nil
}

// --- plugin information and configuration ------------------------------------------

func (p *dockerProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: providerVersion}, nil
}

func (p *dockerProvider) GetSchema(_ context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	if req.GetSubpackageName() != "" {
		return nil, fmt.Errorf("unknown subpackage %q", req.GetSubpackageName())
	}
	schema, err := schemaOnce()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: schema}, nil
}

// configKeys are the provider configuration keys of pulumi-docker 5.2.0; only
// host is implemented. version and pluginDownloadURL are the engine's.
var configKeys = map[string]bool{
	"host": true, "caMaterial": false, "certMaterial": false, "keyMaterial": false,
	"certPath": false, "sshOpts": false, "registryAuth": false, "context": false,
	"disableDockerDaemonCheck": false,
}

func configProblem(key string) string {
	if _, known := configKeys[key]; known {
		return fmt.Sprintf("stand-in docker provider: provider configuration %q (docker:%s) is not implemented (only host is)", key, key)
	}
	return fmt.Sprintf("stand-in docker provider: unknown provider configuration %q (docker:%s); only host is implemented", key, key)
}

func (p *dockerProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	news, err := unmarshal(req.GetNews(), true)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.CheckResponse{Inputs: req.GetNews()}
	for _, k := range news.StableKeys() {
		key := string(k)
		if key == "version" || key == "pluginDownloadURL" || strings.HasPrefix(key, "__") || configKeys[key] {
			continue
		}
		if news[k].IsNull() {
			continue
		}
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: key, Reason: configProblem(key)})
	}
	if v, ok := news["host"]; ok && !v.IsNull() && !isUnknown(reveal(v)) && !reveal(v).IsString() {
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: "host", Reason: "must be a string"})
	}
	return resp, nil
}

func (p *dockerProvider) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOldInputs(), false)
	if err != nil {
		return nil, err
	}
	if req.GetOldInputs() == nil {
		if olds, err = unmarshal(req.GetOlds(), false); err != nil {
			return nil, err
		}
	}
	news, err := unmarshal(req.GetNews(), false)
	if err != nil {
		return nil, err
	}
	// The real (native) DiffConfig reports changed keys as updates.
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	d := olds.Diff(news)
	if d == nil {
		return resp, nil
	}
	resp.DetailedDiff = map[string]*pulumirpc.PropertyDiff{}
	for k := range d.Adds {
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_ADD}
	}
	for k := range d.Deletes {
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_DELETE}
	}
	for k := range d.Updates {
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE}
	}
	if len(resp.DetailedDiff) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		resp.HasDetailedDiff = true
		for k := range resp.DetailedDiff {
			resp.Diffs = append(resp.Diffs, k)
		}
		sort.Strings(resp.Diffs)
	}
	return resp, nil
}

func (p *dockerProvider) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	cfg := map[string]string{}
	unknown := false
	for k, v := range req.GetVariables() {
		key := strings.TrimPrefix(k, "docker:config:")
		if key == "version" || key == "pluginDownloadURL" {
			continue
		}
		if !configKeys[key] {
			return nil, fmt.Errorf("%s", configProblem(key))
		}
		if v == plugin.UnknownStringValue {
			unknown = true
			continue
		}
		cfg[key] = v
	}
	if args := req.GetArgs(); args != nil && len(req.GetVariables()) == 0 {
		m, err := unmarshal(args, false)
		if err != nil {
			return nil, err
		}
		for _, k := range m.StableKeys() {
			key := string(k)
			v := m[k]
			if key == "version" || key == "pluginDownloadURL" || v.IsNull() {
				continue
			}
			if !configKeys[key] {
				return nil, fmt.Errorf("%s", configProblem(key))
			}
			if isUnknown(v) {
				unknown = true
				continue
			}
			if v.IsString() {
				cfg[key] = v.StringValue()
			}
		}
	}
	// setConfiguration: DOCKER_HOST when the stack sets no host.
	if _, ok := cfg["host"]; !ok && !unknown {
		if h := os.Getenv("DOCKER_HOST"); h != "" {
			cfg["host"] = h
		}
	}
	p.mu.Lock()
	p.config = cfg
	p.client, p.clientErr = nil, nil
	p.mu.Unlock()
	if !unknown {
		// Like the real Configure, connect (and ping) right away: a daemon that
		// does not answer fails the preview as well.
		if _, err := p.dockerClient(ctx); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		SupportsPreview: true,
	}, nil
}

func (p *dockerProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancelOnce.Do(func() { close(p.cancelCh) })
	return &emptypb.Empty{}, nil
}

func (p *dockerProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("stand-in docker provider: function %q is not implemented (no function is)", req.GetTok())
}

func (p *dockerProvider) Call(_ context.Context, req *pulumirpc.CallRequest) (*pulumirpc.CallResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "stand-in docker provider: method %q is not implemented", req.GetTok())
}

func (p *dockerProvider) Construct(_ context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	return nil, status.Errorf(codes.Unimplemented, "stand-in docker provider: component %q is not implemented", req.GetType())
}

// --- Check and Diff ----------------------------------------------------------------------

func (p *dockerProvider) Check(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	t := resourceType(req.GetUrn(), req.GetType())
	if t == typeImage {
		return p.checkImage(ctx, req)
	}
	r, ok := p.bridgedFor(t)
	if !ok {
		return nil, unsupportedType(t)
	}
	news, err := unmarshal(req.GetNews(), true)
	if err != nil {
		return nil, err
	}
	olds, err := unmarshal(req.GetOlds(), false)
	if err != nil {
		return nil, err
	}
	inputs, fails, err := r.schema().check(req.GetUrn(), news, olds, p.randomHex)
	if err != nil {
		return nil, err
	}
	s, err := marshal(inputs)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.CheckResponse{Inputs: s}
	for _, f := range fails {
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
	}
	return resp, nil
}

func (p *dockerProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	t := resourceType(req.GetUrn(), req.GetType())
	if t == typeImage {
		return diffImage(req)
	}
	r, ok := p.bridgedFor(t)
	if !ok {
		return nil, unsupportedType(t)
	}
	olds, err := unmarshal(req.GetOlds(), false)
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), false)
	if err != nil {
		return nil, err
	}
	return r.schema().diff(olds, news, r.diffHooks()), nil
}

// --- Create, Read, Update, Delete ----------------------------------------------------------

// withSecrets marks the top-level outputs secret whose inputs were.
func withSecrets(inputs, outs resource.PropertyMap) resource.PropertyMap {
	for k, v := range inputs {
		if v.ContainsSecrets() {
			if o, ok := outs[k]; ok && !o.IsSecret() && !o.IsNull() {
				outs[k] = resource.MakeSecret(o)
			}
		}
	}
	return outs
}

func initFailed(id string, props, inputs *structpb.Struct, err error) error {
	st, serr := status.New(codes.Unknown, err.Error()).WithDetails(&pulumirpc.ErrorResourceInitFailed{
		Id:         id,
		Properties: props,
		Reasons:    []string{err.Error()},
		Inputs:     inputs,
	})
	if serr != nil {
		return err
	}
	return st.Err()
}

func (p *dockerProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	t := resourceType(req.GetUrn(), req.GetType())
	if t == typeImage {
		return p.createImage(ctx, req)
	}
	r, ok := p.bridgedFor(t)
	if !ok {
		return nil, unsupportedType(t)
	}
	inputs, err := unmarshal(req.GetProperties(), true)
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		props, err := marshal(r.schema().previewOutputs(inputs))
		if err != nil {
			return nil, err
		}
		return &pulumirpc.CreateResponse{Properties: props}, nil
	}
	op, err := p.operation(ctx, req.GetUrn())
	if err != nil {
		return nil, err
	}
	id, state, cerr := r.create(ctx, op, revealMap(inputs))
	if cerr != nil && id == "" {
		return nil, cerr
	}
	props, err := marshal(withSecrets(inputs, state))
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, initFailed(id, props, req.GetProperties(), cerr)
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *dockerProvider) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	t := resourceType(req.GetUrn(), req.GetType())
	if t == typeImage {
		// Like the real Image: the recorded state, no reconciliation.
		return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
	}
	r, ok := p.bridgedFor(t)
	if !ok {
		return nil, unsupportedType(t)
	}
	if req.GetProperties() == nil || len(req.GetProperties().GetFields()) == 0 {
		return nil, fmt.Errorf("stand-in docker provider: importing %s (id %q) is not implemented", t, req.GetId())
	}
	state, err := unmarshal(req.GetProperties(), true)
	if err != nil {
		return nil, err
	}
	op, err := p.operation(ctx, req.GetUrn())
	if err != nil {
		return nil, err
	}
	id, newState, err := r.read(ctx, op, req.GetId(), revealMap(state))
	if err != nil {
		return nil, err
	}
	if id == "" {
		return &pulumirpc.ReadResponse{}, nil // gone: the engine drops it from the state
	}
	props, err := marshal(withSecrets(state, newState))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: props, Inputs: req.GetInputs()}, nil
}

func (p *dockerProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	t := resourceType(req.GetUrn(), req.GetType())
	if t == typeImage {
		return p.updateImage(ctx, req)
	}
	r, ok := p.bridgedFor(t)
	if !ok {
		return nil, unsupportedType(t)
	}
	olds, err := unmarshal(req.GetOlds(), true)
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews(), true)
	if err != nil {
		return nil, err
	}
	planned := r.schema().updateOutputs(olds, news)
	if req.GetPreview() {
		props, err := marshal(planned)
		if err != nil {
			return nil, err
		}
		return &pulumirpc.UpdateResponse{Properties: props}, nil
	}
	op, err := p.operation(ctx, req.GetUrn())
	if err != nil {
		return nil, err
	}
	state, err := r.update(ctx, op, req.GetId(), revealMap(olds), revealMap(planned))
	if err != nil {
		return nil, err
	}
	props, err := marshal(withSecrets(news, state))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *dockerProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	t := resourceType(req.GetUrn(), req.GetType())
	if t == typeImage {
		// The real Image does not delete the image or its tag (provider.go: Delete
		// only logs). Neither does the stand-in.
		return &emptypb.Empty{}, nil
	}
	r, ok := p.bridgedFor(t)
	if !ok {
		return nil, unsupportedType(t)
	}
	state, err := unmarshal(req.GetProperties(), false)
	if err != nil {
		return nil, err
	}
	op, err := p.operation(ctx, req.GetUrn())
	if err != nil {
		return nil, err
	}
	if err := r.delete(ctx, op, req.GetId(), state); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}
