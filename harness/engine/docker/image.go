package main

// docker:index/image:Image, native in the real provider (pulumi-docker
// provider/provider.go and provider/image.go). Check computes the build
// context digest (so a changed Dockerfile or context file is a diff), Diff
// compares the inputs recorded in the state's __inputs, Create and Update
// build (and push unless skipPush), Read returns the state unchanged and
// Delete does nothing: the image and its tag stay.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/jsonmessage"
	archive "github.com/moby/go-archive"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const defaultDockerfile = "Dockerfile"

// The inputs of Image the stand-in implements (the real ones are imageName,
// skipPush, registry, build, buildOnPreview).
var imageInputs = map[string]bool{"imageName": true, "skipPush": true, "build": true, "buildOnPreview": true}

// The fields of build the stand-in implements (the real ones add addHosts
// and cacheFrom); contextDigest is added by Check.
var imageBuildInputs = map[string]bool{
	"context": true, "dockerfile": true, "args": true, "builderVersion": true,
	"network": true, "platform": true, "target": true, "contextDigest": true,
}

type imageBuild struct {
	Context        string
	Dockerfile     string
	Args           map[string]*string
	Target         string
	Platform       string
	Network        string
	BuilderVersion build.BuilderVersion
}

// marshalBuilder is the real provider's: BuildKit unless BuilderV1.
func marshalBuilder(v resource.PropertyValue) (build.BuilderVersion, error) {
	if v.IsNull() {
		return "2", nil
	}
	if !v.IsString() {
		return "", errors.New("invalid Docker Builder version")
	}
	switch v.StringValue() {
	case "BuilderV1":
		return "1", nil
	case "BuilderBuildKit":
		return "2", nil
	default:
		return "", errors.New("invalid Docker Builder version")
	}
}

// marshalBuildAndApplyDefaults is the real provider's: context ".",
// dockerfile <context>/Dockerfile (unknown values are left empty).
func marshalBuildAndApplyDefaults(b resource.PropertyValue) (imageBuild, error) {
	var bld imageBuild
	if b.IsNull() {
		bld.Context = "."
		bld.Dockerfile = defaultDockerfile
		bld.BuilderVersion = "2"
		return bld, nil
	}
	if !b.IsObject() {
		return bld, nil
	}
	o := b.ObjectValue()
	if !o["context"].ContainsUnknowns() {
		if o["context"].IsNull() {
			bld.Context = "."
		} else if o["context"].IsString() {
			bld.Context = o["context"].StringValue()
		}
	}
	if !o["dockerfile"].ContainsUnknowns() {
		if o["dockerfile"].IsNull() {
			bld.Dockerfile = path.Join(bld.Context, defaultDockerfile)
		} else if o["dockerfile"].IsString() {
			bld.Dockerfile = o["dockerfile"].StringValue()
		}
	}
	version, err := marshalBuilder(o["builderVersion"])
	if err != nil {
		return bld, err
	}
	bld.BuilderVersion = version
	if a := o["args"]; a.IsObject() {
		args := map[string]*string{}
		for k, v := range a.ObjectValue() {
			if !v.ContainsUnknowns() && v.IsString() {
				s := v.StringValue()
				args[string(k)] = &s
			}
		}
		if len(args) > 0 {
			bld.Args = args
		}
	}
	if t := o["target"]; t.IsString() {
		bld.Target = t.StringValue()
	}
	if n := o["network"]; n.IsString() {
		bld.Network = n.StringValue()
	}
	if pl := o["platform"]; pl.IsString() {
		bld.Platform = pl.StringValue()
	}
	return bld, nil
}

func marshalSkipPush(v resource.PropertyValue) bool { return v.IsBool() && v.BoolValue() }

func marshalBuildOnPreview(inputs resource.PropertyMap) bool {
	v := inputs["buildOnPreview"]
	if v.IsNull() || v.ContainsUnknowns() || !v.IsBool() {
		return false
	}
	return v.BoolValue()
}

// checkImage is the real Check plus the stand-in's refusals of what it does
// not implement.
func (p *dockerProvider) checkImage(ctx context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	urn := req.GetUrn()
	// Like the real one: secrets are not kept.
	inputs, err := plugin.UnmarshalProperties(req.GetNews(), plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true})
	if err != nil {
		return nil, err
	}
	var fails failures
	for _, k := range inputs.StableKeys() {
		if !imageInputs[string(k)] && !inputs[k].IsNull() {
			fails.add(string(k), "%s", notImplemented(typeImage, string(k)))
		}
	}
	if v, ok := inputs["imageName"]; !ok || v.IsNull() {
		fails.add("imageName", "Missing required property 'imageName'")
	} else if !v.ContainsUnknowns() && !v.IsString() {
		fails.add("imageName", "must be a string, got %s", v.TypeString())
	}
	if v := inputs["skipPush"]; !v.IsNull() && !v.ContainsUnknowns() && !v.IsBool() {
		fails.add("skipPush", "must be a boolean, got %s", v.TypeString())
	}
	if b := inputs["build"]; !b.IsNull() && !b.ContainsUnknowns() {
		if !b.IsObject() {
			fails.add("build", "must be an object, got %s", b.TypeString())
		} else {
			for _, k := range b.ObjectValue().StableKeys() {
				if !imageBuildInputs[string(k)] && !b.ObjectValue()[k].IsNull() {
					fails.add("build."+string(k), "%s", notImplemented(typeImage, "build."+string(k)))
				}
			}
		}
	}
	if len(fails) > 0 {
		return checkResponse(req.GetNews(), fails), nil
	}

	inputs["buildOnPreview"] = resource.NewBoolProperty(marshalBuildOnPreview(inputs))
	bld, err := marshalBuildAndApplyDefaults(inputs["build"])
	if err != nil {
		return nil, err
	}
	if bld.BuilderVersion != "1" {
		fails.add("build.builderVersion", "stand-in docker provider: the BuildKit builder (builderVersion %q, the default) "+
			"is not implemented; set build.builderVersion to \"BuilderV1\"", "BuilderBuildKit")
		return checkResponse(req.GetNews(), fails), nil
	}

	knownDockerfile := false
	if inputs["build"].IsNull() {
		inputs["build"] = resource.NewObjectProperty(resource.PropertyMap{
			"dockerfile": resource.NewStringProperty(bld.Dockerfile),
			"context":    resource.NewStringProperty(bld.Context),
		})
		knownDockerfile = true
	} else if inputs["build"].IsObject() {
		o := inputs["build"].ObjectValue()
		if !o["dockerfile"].ContainsUnknowns() {
			o["dockerfile"] = resource.NewStringProperty(bld.Dockerfile)
			knownDockerfile = true
		}
		if !o["context"].ContainsUnknowns() {
			o["context"] = resource.NewStringProperty(bld.Context)
		}
	}

	if knownDockerfile {
		if _, statErr := os.Stat(bld.Dockerfile); statErr != nil {
			if filepath.IsAbs(bld.Dockerfile) {
				return nil, fmt.Errorf("expected a relative Dockerfile path; got %q instead: %v", bld.Dockerfile, statErr)
			}
			relPath := filepath.Join(bld.Context, bld.Dockerfile)
			if _, err := os.Stat(relPath); err != nil {
				return nil, fmt.Errorf("could not open dockerfile at relative path %q: %v", bld.Dockerfile, statErr)
			}
			return nil, fmt.Errorf("could not open dockerfile at relative path %q. "+
				"Try setting `dockerfile` to %q", bld.Dockerfile, relPath)
		}
		digest, err := hashContext(bld.Context, bld.Dockerfile)
		if err != nil {
			return nil, err
		}
		inputs["build"].ObjectValue()["contextDigest"] = resource.NewStringProperty(digest)
	}

	hostPlatform := "linux/" + runtime.GOARCH
	msg := fmt.Sprintf("Building your image for %s architecture.\n"+
		"To ensure you are building for the correct platform, consider "+
		"explicitly setting the `platform` field on ImageBuildOptions.", hostPlatform)
	if inputs["build"].IsObject() && inputs["build"].ObjectValue()["platform"].IsNull() {
		inputs["build"].ObjectValue()["platform"] = resource.NewStringProperty(hostPlatform)
		p.logger(ctx, urn).log(diag.Info, msg)
	}

	// imageName only needs to be canonical if we're pushing.
	if !marshalSkipPush(inputs["skipPush"]) && inputs["imageName"].IsString() {
		if _, err := getRegistryAddrFromImage(inputs["imageName"].StringValue()); err != nil {
			return nil, err
		}
	}

	s, err := plugin.MarshalProperties(inputs, plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: s}, nil
}

func checkResponse(news *structpb.Struct, fails failures) *pulumirpc.CheckResponse {
	resp := &pulumirpc.CheckResponse{Inputs: news}
	for _, f := range fails {
		resp.Failures = append(resp.Failures, &pulumirpc.CheckFailure{Property: f.property, Reason: f.reason})
	}
	return resp
}

// getRegistryAddrFromImage is the real provider's check that a pushed image
// name is fully qualified.
func getRegistryAddrFromImage(imgName string) (string, error) {
	named, err := reference.ParseNamed(imgName)
	if err != nil {
		return "", fmt.Errorf("%q: %w.\nThis resource requires all image names to be fully qualified.\n"+
			"For example, if you are attempting to push to Dockerhub, prefix your image name with `docker.io`:\n\n"+
			"`docker.io/repository/image:tag`", imgName, err)
	}
	return reference.Domain(named), nil
}

// --- context digest --------------------------------------------------------------

type contextHashAccumulator struct {
	input bytes.Buffer
}

// hashPath is the real provider's: the symlink target for symlinks, the
// contents for regular files, and always the name and mode.
func (acc *contextHashAccumulator) hashPath(filePath, relativeNameOfFile string, fileMode fs.FileMode) error {
	h := sha256.New()
	if fileMode.Type() == fs.ModeSymlink {
		target, err := filepath.EvalSymlinks(filePath)
		if err != nil {
			return fmt.Errorf("could not evaluate symlink at %s: %w", filePath, err)
		}
		_, _ = io.Copy(h, strings.NewReader(filepath.ToSlash(filepath.Clean(target))))
	} else if fileMode.IsRegular() {
		f, err := os.Open(filePath)
		if err != nil {
			return fmt.Errorf("could not open file %s: %w", filePath, err)
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return fmt.Errorf("could not copy file %s to hash: %w", filePath, err)
		}
	}
	acc.input.WriteString(filepath.ToSlash(path.Clean(relativeNameOfFile)))
	acc.input.WriteString(fileMode.String())
	acc.input.Write(h.Sum(nil))
	acc.input.WriteByte(0)
	return nil
}

// hashContext hashes the Dockerfile (under the name "Dockerfile") and every
// file of the context that the ignore file does not exclude.
func hashContext(contextPath, dockerfilePath string) (string, error) {
	patterns, err := getIgnorePatterns(dockerfilePath, contextPath)
	if err != nil {
		return "", err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return "", err
	}
	var acc contextHashAccumulator
	if err := acc.hashPath(dockerfilePath, defaultDockerfile, 0); err != nil {
		return "", fmt.Errorf("error hashing dockerfile %q: %w", dockerfilePath, err)
	}
	err = filepath.WalkDir(contextPath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(contextPath, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip, err := pm.MatchesOrParentMatches(rel); err != nil {
			return err
		} else if skip {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := acc.hashPath(p, rel, info.Mode()); err != nil {
			return fmt.Errorf("error while hashing %q: %w", rel, err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("unable to hash build context: %w", err)
	}
	sum := sha256.Sum256(acc.input.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// getIgnorePatterns: <Dockerfile>.dockerignore, else <context>/.dockerignore.
func getIgnorePatterns(dockerfilePath, contextRoot string) ([]string, error) {
	for _, p := range []string{dockerfilePath + ".dockerignore", filepath.Join(contextRoot, ".dockerignore")} {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", p, err)
		}
		defer f.Close()
		patterns, err := ignorefile.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("unable to parse %q: %w", p, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// --- Diff ------------------------------------------------------------------------

func diffImage(req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	opts := plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}
	oldState, err := plugin.UnmarshalProperties(req.GetOlds(), opts)
	if err != nil {
		return nil, err
	}
	oldInputs := oldState
	if in, ok := oldState["__inputs"]; ok && in.IsObject() {
		oldInputs = in.ObjectValue()
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), opts)
	if err != nil {
		return nil, err
	}
	d := oldInputs.Diff(news)
	if d == nil {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	detailed := map[string]*pulumirpc.PropertyDiff{}
	for k := range d.Adds {
		detailed[string(k)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_ADD}
	}
	for k := range d.Deletes {
		detailed[string(k)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_DELETE}
	}
	for k := range d.Updates {
		detailed[string(k)] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE}
	}
	if len(detailed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_SOME,
		DetailedDiff:    detailed,
		HasDetailedDiff: true,
	}, nil
}

// --- Create and Update --------------------------------------------------------------

func (p *dockerProvider) createImage(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	id, props, err := p.buildImageResource(ctx, req.GetUrn(), req.GetProperties(), req.GetPreview())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

func (p *dockerProvider) updateImage(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	_, props, err := p.buildImageResource(ctx, req.GetUrn(), req.GetNews(), req.GetPreview())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// buildImageResource is the shared body of the real Create and Update: skip
// previews unless buildOnPreview, build, and store the outputs with the
// inputs under __inputs (a secret).
func (p *dockerProvider) buildImageResource(ctx context.Context, urn string, props *structpb.Struct, preview bool) (string, *structpb.Struct, error) {
	inputs, err := plugin.UnmarshalProperties(props, plugin.MarshalOptions{KeepUnknowns: true, RejectAssets: true, SkipNulls: true})
	if err != nil {
		return "", nil, fmt.Errorf("malformed resource inputs: %w", err)
	}
	lg := p.logger(ctx, urn)
	if preview && !canPreview(inputs, lg) {
		return "", props, nil
	}
	id, outputs, err := p.dockerBuild(ctx, urn, inputs, preview)
	if err != nil {
		return "", nil, err
	}
	outputs["__inputs"] = resource.MakeSecret(resource.NewObjectProperty(inputs))
	s, err := plugin.MarshalProperties(outputs, plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true, SkipNulls: true})
	return id, s, err
}

func canPreview(inputs resource.PropertyMap, lg logger) bool {
	if inputs["buildOnPreview"].ContainsUnknowns() {
		lg.log(diag.Warning, "buildOnPreview is unresolved; cannot build on preview. Continuing without preview image build. "+
			"To avoid this warning, set buildOnPreview explicitly, and ensure all inputs are resolved at preview.")
		return false
	}
	if inputs["buildOnPreview"].IsBool() && !inputs["buildOnPreview"].BoolValue() {
		return false
	}
	b := inputs["build"]
	if !b.IsObject() || b.ObjectValue()["dockerfile"].ContainsUnknowns() ||
		b.ObjectValue()["context"].ContainsUnknowns() || b.ObjectValue()["args"].ContainsUnknowns() ||
		inputs["imageName"].ContainsUnknowns() {
		lg.log(diag.Warning, "Minimum inputs for build are unresolved. Continuing without preview image build. "+
			"To avoid this warning, ensure image name, dockerfile, args, and context are resolved at preview.")
		return false
	}
	return true
}

// dockerBuild builds the image through the Engine API (builder V1), as the
// real provider's dockerBuild does, and pushes it unless skipPush.
func (p *dockerProvider) dockerBuild(ctx context.Context, urn string, inputs resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	name := inputs["imageName"].StringValue()
	skipPush := marshalSkipPush(inputs["skipPush"])
	bld, err := marshalBuildAndApplyDefaults(inputs["build"])
	if err != nil {
		return "", nil, err
	}
	if bld.BuilderVersion != "1" {
		return "", nil, errors.New("stand-in docker provider: the BuildKit builder is not implemented; set build.builderVersion to \"BuilderV1\"")
	}
	op, err := p.operation(ctx, urn)
	if err != nil {
		return "", nil, err
	}
	lg := op.log
	lg.status(diag.Info, "Building the image")

	// The ignore file the real provider reads when building: .dockerignore,
	// or <Dockerfile name>.dockerignore for a Dockerfile not named Dockerfile.
	ignoreName := ".dockerignore"
	if filepath.Base(bld.Dockerfile) != defaultDockerfile {
		ignoreName = filepath.Base(bld.Dockerfile) + ignoreName
	}
	initialIgnorePatterns, err := getIgnore(filepath.Join(bld.Context, ignoreName))
	if err != nil {
		return "", nil, fmt.Errorf("error reading ignore file: %w", err)
	}
	absDockerfile, err := filepath.Abs(bld.Dockerfile)
	if err != nil {
		return "", nil, fmt.Errorf("absDockerfile error: %s", err)
	}
	absBuildpath, err := filepath.Abs(bld.Context)
	if err != nil {
		return "", nil, fmt.Errorf("absBuildPath error: %s", err)
	}
	relDockerfile, err := filepath.Rel(absBuildpath, absDockerfile)
	if err != nil {
		return "", nil, fmt.Errorf("relDockerfile error: %s", err)
	}
	relDockerfile = filepath.ToSlash(relDockerfile)
	dockerfileInContext := !strings.HasPrefix(relDockerfile, "../")

	contextDir, err := resolveAndValidateContextPath(bld.Context)
	if err != nil {
		return "", nil, fmt.Errorf("error resolving context: %w", err)
	}
	if err := validateContextDirectory(contextDir, initialIgnorePatterns); err != nil {
		return "", nil, fmt.Errorf("error validating context: %w", err)
	}
	ignorePatterns := trimBuildFilesFromExcludes(initialIgnorePatterns, relDockerfile)

	buildCtx, err := archive.TarWithOptions(contextDir, &archive.TarOptions{
		ExcludePatterns: ignorePatterns,
		ChownOpts:       &archive.ChownOpts{UID: 0, GID: 0},
	})
	if err != nil {
		return "", nil, err
	}
	replaceDockerfile := relDockerfile
	if !dockerfileInContext {
		f, err := os.Open(bld.Dockerfile)
		if err != nil {
			return "", nil, err
		}
		buildCtx, replaceDockerfile, err = addDockerfileToBuildContext(f, buildCtx)
		if err != nil {
			return "", nil, err
		}
	}

	opts := build.ImageBuildOptions{
		Dockerfile:  replaceDockerfile,
		Tags:        []string{name},
		BuildArgs:   bld.Args,
		Version:     bld.BuilderVersion,
		Platform:    bld.Platform,
		Target:      bld.Target,
		NetworkMode: bld.Network,
		AuthConfigs: map[string]registry.AuthConfig{},
	}
	resp, err := op.cli.ImageBuild(ctx, buildCtx, opts)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if err := processLog(resp.Body, lg); err != nil {
		return "", nil, err
	}

	outputs := resource.PropertyMap{
		"dockerfile":     strProp(relDockerfile),
		"context":        strProp(bld.Context),
		"baseImageName":  strProp(name),
		"registryServer": strProp(""),
		"imageName":      strProp(name),
	}
	if bld.Platform != "" {
		outputs["platform"] = strProp(bld.Platform)
	}

	if skipPush || preview {
		// A local image's repoDigest is its image ID.
		inspect, err := op.cli.ImageInspect(ctx, name)
		if err != nil {
			return "", nil, err
		}
		outputs["repoDigest"] = strProp(inspect.ID)
		return name, outputs, nil
	}

	lg.status(diag.Info, "Pushing Image to the registry")
	authJSON, _ := json.Marshal(registry.AuthConfig{})
	push, err := op.cli.ImagePush(ctx, name, image.PushOptions{RegistryAuth: base64.URLEncoding.EncodeToString(authJSON)})
	if err != nil {
		return "", nil, err
	}
	defer push.Close()
	if err := processLog(push, lg); err != nil {
		return "", nil, err
	}
	inspect, err := op.cli.ImageInspect(ctx, name)
	if err != nil {
		return "", nil, err
	}
	if len(inspect.RepoDigests) > 0 {
		outputs["repoDigest"] = strProp(inspect.RepoDigests[0])
	}
	return name, outputs, nil
}

func getIgnore(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	return ignorefile.ReadAll(f)
}

// resolveAndValidateContextPath is docker/cli's ResolveAndValidateContextPath.
func resolveAndValidateContextPath(given string) (string, error) {
	abs, err := filepath.Abs(given)
	if err != nil {
		return "", fmt.Errorf("unable to get absolute context directory of given context directory %q: %v", given, err)
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("unable to evaluate symlinks in context path: %v", err)
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return "", fmt.Errorf("unable to stat context directory %q: %v", abs, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("context must be a directory: %s", abs)
	}
	return abs, nil
}

// validateContextDirectory is docker/cli's ValidateContextDirectory: every
// file that goes into the context must be readable.
func validateContextDirectory(root string, excludes []string) error {
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return err
	}
	return filepath.Walk(root, func(p string, f os.FileInfo, err error) error {
		if err != nil {
			if os.IsPermission(err) {
				return fmt.Errorf("can't stat '%s'", p)
			}
			if os.IsNotExist(err) {
				return fmt.Errorf("file ('%s') not found or excluded by .dockerignore", p)
			}
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel = filepath.Clean(rel); rel != "." {
			if skip, err := pm.MatchesOrParentMatches(rel); err != nil {
				return err
			} else if skip {
				if f.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if f.Mode()&(os.ModeSymlink|os.ModeNamedPipe) != 0 {
			return nil
		}
		if !f.IsDir() {
			cf, err := os.Open(p)
			if err != nil && os.IsPermission(err) {
				return fmt.Errorf("no permission to read from '%s'", p)
			}
			if cf != nil {
				cf.Close()
			}
		}
		return nil
	})
}

// trimBuildFilesFromExcludes is docker/cli's: the Dockerfile and
// .dockerignore are always sent to the daemon.
func trimBuildFilesFromExcludes(excludes []string, dockerfile string) []string {
	if keep, _ := patternmatcher.Matches(".dockerignore", excludes); keep {
		excludes = append(excludes, "!.dockerignore")
	}
	dockerfile = filepath.ToSlash(dockerfile)
	if keep, _ := patternmatcher.Matches(dockerfile, excludes); keep {
		excludes = append(excludes, "!"+dockerfile)
	}
	return excludes
}

// addDockerfileToBuildContext is docker/cli's: a Dockerfile from outside the
// context goes in under a random name, which .dockerignore then lists.
func addDockerfileToBuildContext(dockerfileCtx io.ReadCloser, buildCtx io.ReadCloser) (io.ReadCloser, string, error) {
	file, err := io.ReadAll(dockerfileCtx)
	dockerfileCtx.Close()
	if err != nil {
		return nil, "", err
	}
	now := time.Now()
	rnd := make([]byte, 10)
	if _, err := rand.Read(rnd); err != nil {
		return nil, "", err
	}
	randomName := ".dockerfile." + hex.EncodeToString(rnd)
	buildCtx = archive.ReplaceFileTarWrapper(buildCtx, map[string]archive.TarModifierFunc{
		randomName: func(_ string, _ *tar.Header, _ io.Reader) (*tar.Header, []byte, error) {
			return &tar.Header{Name: randomName, Mode: 0o600, ModTime: now, Typeflag: tar.TypeReg,
				AccessTime: now, ChangeTime: now}, file, nil
		},
		".dockerignore": func(_ string, h *tar.Header, content io.Reader) (*tar.Header, []byte, error) {
			if h == nil {
				h = &tar.Header{Name: ".dockerignore", Mode: 0o600, ModTime: now, Typeflag: tar.TypeReg,
					AccessTime: now, ChangeTime: now}
			}
			b := &bytes.Buffer{}
			if content != nil {
				if _, err := b.ReadFrom(content); err != nil {
					return nil, nil, err
				}
			} else {
				b.WriteString(".dockerignore")
			}
			b.WriteString("\n" + randomName + "\n")
			return h, b.Bytes(), nil
		},
	})
	return buildCtx, randomName, nil
}

// processLog is the real provider's: every JSON message of the daemon's
// stream becomes a status line; an error message fails with its text.
func processLog(in io.Reader, lg logger) error {
	dec := json.NewDecoder(in)
	for {
		var jm jsonmessage.JSONMessage
		if err := dec.Decode(&jm); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("error parsing Docker output: %v", err)
		}
		msg, err := processLogLine(jm)
		if err != nil {
			return err
		}
		if msg != "" {
			lg.status(diag.Info, msg)
		}
	}
}

func processLogLine(jm jsonmessage.JSONMessage) (string, error) {
	if jm.Error != nil {
		if jm.Error.Code == 401 {
			return "", errors.New("authentication is required")
		}
		if jm.Error.Message == "EOF" {
			return "", fmt.Errorf("%s\n: This error is most likely due to incorrect or mismatched registry "+
				"credentials. Please double check you are using the correct credentials and registry name.", jm.Error.Message)
		}
		return "", errors.New(jm.Error.Message)
	}
	info := jm.From
	switch {
	case jm.Progress != nil:
		info += jm.Status + " " + jm.Progress.String()
	case jm.Stream != "":
		info += jm.Stream
	default:
		info += jm.Status
	}
	if jm.Aux != nil {
		var r build.Result
		if err := json.Unmarshal(*jm.Aux, &r); err != nil || r.ID == "" {
			b, _ := json.Marshal(jm.Aux)
			info += string(b)
		}
	}
	return strings.TrimSpace(info), nil
}
