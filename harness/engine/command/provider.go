package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	typeCommand = "command:remote:Command"
	typeCopy    = "command:remote:CopyToRemote"
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

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	host *provider.HostClient // nil when not started by the engine

	// cancel is closed by Cancel; running operations stop.
	cancelOnce sync.Once
	cancelCh   chan struct{}

	// kept holds what the real provider opens and never closes: the SSH
	// client of every remote.Command step, every proxy client and SSH agent
	// connection. They stay open until the provider process exits, so that
	// hosts see as many open logins as with the real provider.
	keptMu sync.Mutex
	kept   []io.Closer

	testLog logger // tests: receives what would go to the engine
}

// keep holds c open until the process exits.
func (p *commandProvider) keep(c io.Closer) {
	p.keptMu.Lock()
	defer p.keptMu.Unlock()
	p.kept = append(p.kept, c)
}

func newProvider(host *provider.HostClient) *commandProvider {
	return &commandProvider{host: host, cancelCh: make(chan struct{})}
}

// opContext is ctx, also cancelled when the engine calls Cancel.
func (p *commandProvider) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
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

// resourceLogger logs about one resource through the engine.
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

func (p *commandProvider) logger(ctx context.Context, urn string) logger {
	if p.testLog != nil {
		return p.testLog
	}
	return resourceLogger{ctx: ctx, host: p.host, urn: resource.URN(urn)}
}

func resourceType(urn, typ string) string {
	if typ != "" {
		return typ
	}
	return string(resource.URN(urn).Type())
}

func resourceName(urn, name string) string {
	if name != "" {
		return name
	}
	return resource.URN(urn).Name()
}

func unsupportedType(t string) error {
	return fmt.Errorf("resource type %q is not supported by this stand-in command provider"+
		" (it implements %s and %s only)", t, typeCommand, typeCopy)
}

// --- plugin information and configuration ------------------------------------

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: providerVersion}, nil
}

func (p *commandProvider) GetSchema(_ context.Context, req *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	if req.GetSubpackageName() != "" {
		return nil, fmt.Errorf("unknown subpackage %q", req.GetSubpackageName())
	}
	schema, err := schemaOnce()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: schema}, nil
}

// The command provider has no configuration.
func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{
		AcceptSecrets:   true,
		SupportsPreview: true,
	}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancelOnce.Do(func() { close(p.cancelCh) })
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("function %q is not supported by this stand-in command provider", req.GetTok())
}

// --- Check -------------------------------------------------------------------

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	t := resourceType(req.GetUrn(), req.GetType())
	if t != typeCommand && t != typeCopy {
		return nil, unsupportedType(t)
	}
	// Asset hashes are computed here so that a changed file shows up as a diff.
	news, err := unmarshal(req.GetNews(), true, true)
	if err != nil {
		return nil, err
	}
	applyConnectionDefaults(news)

	var fails failures
	plain := revealMap(news)
	if t == typeCommand {
		readCommandInputs(plain, &fails)
	} else {
		readCopyInputs(plain, &fails)
	}
	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.CheckResponse{Inputs: inputs}
	for _, f := range fails {
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
	}
	return resp, nil
}

// --- Diff --------------------------------------------------------------------

// outputOnly are the properties that are outputs but not inputs.
var outputOnly = map[resource.PropertyKey]bool{"stdout": true, "stderr": true}

// replaceKeys are the inputs whose change replaces the resource.
var replaceKeys = map[string]bool{"triggers": true}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	t := resourceType(req.GetUrn(), req.GetType())
	if t != typeCommand && t != typeCopy {
		return nil, unsupportedType(t)
	}
	oldStruct := req.GetOldInputs()
	if oldStruct == nil {
		oldStruct = req.GetOlds()
	}
	olds, err := unmarshal(oldStruct, false, false)
	if err != nil {
		return nil, err
	}
	for k := range outputOnly {
		delete(olds, k)
	}
	news, err := unmarshal(req.GetNews(), false, false)
	if err != nil {
		return nil, err
	}
	return diffInputs(olds, news), nil
}

func diffInputs(olds, news resource.PropertyMap) *pulumirpc.DiffResponse {
	detailed := plugin.NewDetailedDiffFromObjectDiff(olds.Diff(news), true)
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		HasDetailedDiff: true,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
	}
	top := map[string]bool{}
	replaces := map[string]bool{}
	for path, d := range detailed {
		key := path
		if pp, err := resource.ParsePropertyPath(path); err == nil && len(pp) > 0 {
			if s, ok := pp[0].(string); ok {
				key = s
			}
		}
		top[key] = true
		kind := d.Kind
		if replaceKeys[key] {
			kind = kind.AsReplace()
			replaces[key] = true
		}
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: diffKind(kind), InputDiff: true}
	}
	if len(detailed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	resp.Diffs = sortedKeys(top)
	resp.Replaces = sortedKeys(replaces)
	return resp
}

func diffKind(k plugin.DiffKind) pulumirpc.PropertyDiff_Kind {
	switch k {
	case plugin.DiffAdd:
		return pulumirpc.PropertyDiff_ADD
	case plugin.DiffAddReplace:
		return pulumirpc.PropertyDiff_ADD_REPLACE
	case plugin.DiffDelete:
		return pulumirpc.PropertyDiff_DELETE
	case plugin.DiffDeleteReplace:
		return pulumirpc.PropertyDiff_DELETE_REPLACE
	case plugin.DiffUpdateReplace:
		return pulumirpc.PropertyDiff_UPDATE_REPLACE
	default:
		return pulumirpc.PropertyDiff_UPDATE
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// --- Create, Update, Delete, Read -------------------------------------------

// decodeCommand returns the inputs both with their secrets (for the outputs)
// and decoded.
func decodeCommand(s *structpb.Struct) (resource.PropertyMap, *commandInputs, error) {
	m, err := unmarshal(s, true, false)
	if err != nil {
		return nil, nil, err
	}
	var fails failures
	in := readCommandInputs(revealMap(m), &fails)
	return m, in, fails.err()
}

func decodeCopy(s *structpb.Struct) (resource.PropertyMap, *copyInputs, error) {
	m, err := unmarshal(s, true, false)
	if err != nil {
		return nil, nil, err
	}
	var fails failures
	in := readCopyInputs(revealMap(m), &fails)
	return m, in, fails.err()
}

// commandOutputs are the inputs (secrets kept) plus stdout and stderr, which
// are secret when the command that produced them (create or update) is.
func commandOutputs(inputs resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	outs := inputs.Copy()
	for k := range outputOnly {
		delete(outs, k)
	}
	if isSecret(inputs, "create") || isSecret(inputs, "update") {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	outs["stdout"], outs["stderr"] = stdout, stderr
	return outs
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	lg := p.logger(ctx, req.GetUrn())
	t := resourceType(req.GetUrn(), req.GetType())
	var outs resource.PropertyMap
	var id string
	switch t {
	case typeCommand:
		m, in, err := decodeCommand(req.GetProperties())
		if err != nil {
			return nil, err
		}
		if req.GetPreview() {
			outs = commandOutputs(m, unknownString(), unknownString())
			break
		}
		var stdout, stderr string
		if in.Create != nil {
			stdout, stderr, err = runCommand(ctx, in, *in.Create, isSecret(m, "create"), "", "", lg, p.keep)
			if err != nil {
				return nil, err
			}
		}
		outs = commandOutputs(m, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
		if id, err = resource.NewUniqueHex(resourceName(req.GetUrn(), req.GetName()), 8, 0); err != nil {
			return nil, err
		}
	case typeCopy:
		m, in, err := decodeCopy(req.GetProperties())
		if err != nil {
			return nil, err
		}
		outs = m
		if req.GetPreview() {
			break
		}
		if err := copyToRemote(ctx, in, lg, p.keep); err != nil {
			return nil, err
		}
		if id, err = resource.NewUniqueHex("", 8, 0); err != nil {
			return nil, err
		}
	default:
		return nil, unsupportedType(t)
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	lg := p.logger(ctx, req.GetUrn())
	t := resourceType(req.GetUrn(), req.GetType())
	var outs resource.PropertyMap
	switch t {
	case typeCommand:
		m, in, err := decodeCommand(req.GetNews())
		if err != nil {
			return nil, err
		}
		if req.GetPreview() {
			outs = commandOutputs(m, unknownString(), unknownString())
			break
		}
		olds, err := unmarshal(req.GetOlds(), false, false)
		if err != nil {
			return nil, err
		}
		prevOut, prevErr := stringProp(olds, "stdout"), stringProp(olds, "stderr")
		stdout, stderr := prevOut, prevErr
		cmd, secret := in.Update, isSecret(m, "update")
		if cmd == nil {
			cmd, secret = in.Create, isSecret(m, "create")
		}
		if cmd != nil {
			stdout, stderr, err = runCommand(ctx, in, *cmd, secret, prevOut, prevErr, lg, p.keep)
			if err != nil {
				return nil, err
			}
		}
		outs = commandOutputs(m, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	case typeCopy:
		m, in, err := decodeCopy(req.GetNews())
		if err != nil {
			return nil, err
		}
		outs = m
		if req.GetPreview() {
			break
		}
		olds, err := unmarshal(req.GetOlds(), false, false)
		if err != nil {
			return nil, err
		}
		var fails failures
		old := readCopyInputs(olds, &fails)
		if fails.err() != nil || old.Hash != in.Hash || old.RemotePath != in.RemotePath ||
			old.Hash == "" || in.Hash == "" {
			if err := copyToRemote(ctx, in, lg, p.keep); err != nil {
				return nil, err
			}
		}
	default:
		return nil, unsupportedType(t)
	}
	props, err := marshal(outs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func stringProp(m resource.PropertyMap, key string) string {
	if v, ok := m[resource.PropertyKey(key)]; ok && v.IsString() {
		return v.StringValue()
	}
	return ""
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	ctx, cancel := p.opContext(ctx)
	defer cancel()
	t := resourceType(req.GetUrn(), req.GetType())
	switch t {
	case typeCommand:
		m, in, err := decodeCommand(req.GetProperties())
		if err != nil {
			return nil, err
		}
		if in.Delete != nil {
			plain := revealMap(m)
			_, _, err := runCommand(ctx, in, *in.Delete, isSecret(m, "delete"),
				stringProp(plain, "stdout"), stringProp(plain, "stderr"), p.logger(ctx, req.GetUrn()), p.keep)
			if err != nil {
				return nil, err
			}
		}
	case typeCopy:
		// Like the real provider: the copied file stays.
	default:
		return nil, unsupportedType(t)
	}
	return &emptypb.Empty{}, nil
}

// Read (refresh) returns the recorded state: what a command did cannot be read back.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	t := resourceType(req.GetUrn(), req.GetType())
	if t != typeCommand && t != typeCopy {
		return nil, unsupportedType(t)
	}
	if req.GetProperties() == nil || len(req.GetProperties().GetFields()) == 0 {
		return nil, fmt.Errorf("%s cannot be imported: it has no state to read (id %q)", t, req.GetId())
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}
