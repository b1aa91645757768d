package main

// docker:index/remoteImage:RemoteImage: kreuzwerker's docker_image
// (internal/provider/resource_docker_image.go and _funcs.go), bridged.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var remoteImageSchema = &resSchema{
	token: typeRemoteImage,
	attrs: map[string]*attr{
		"name":         {kind: kString, required: true, forceNew: true, impl: true},
		"keepLocally":  {kind: kBool, impl: true},
		"forceRemove":  {kind: kBool, impl: true},
		"triggers":     {kind: kMap, forceNew: true, impl: true},
		"pullTriggers": {kind: kSet, elem: kString, forceNew: true, impl: true},
		"platform":     {kind: kString, forceNew: true, def: defVal(strProp("")), impl: true},
		"build":        {kind: kObject, fields: map[string]*attr{}}, // not implemented
		"imageId":      {kind: kString, output: true},
		"repoDigest":   {kind: kString, output: true},
	},
}

type remoteImageResource struct{}

func (remoteImageResource) schema() *resSchema             { return remoteImageSchema }
func (remoteImageResource) diffHooks() map[string]diffHook { return nil }

type localImages map[string]*image.Summary

// fetchLocalImages is kreuzwerker's: every image under its short and long
// ID, tags and digests.
func fetchLocalImages(ctx context.Context, cli *client.Client) (localImages, error) {
	images, err := cli.ImageList(ctx, image.ListOptions{All: false})
	if err != nil {
		return nil, fmt.Errorf("unable to list Docker images: %w", err)
	}
	data := localImages{}
	for i, img := range images {
		if len(img.ID) >= 12 {
			data[img.ID[:12]] = &images[i]
		}
		data[img.ID] = &images[i]
		for _, t := range img.RepoTags {
			data[t] = &images[i]
		}
		for _, d := range img.RepoDigests {
			data[d] = &images[i]
		}
	}
	return data, nil
}

// searchLocalImages: inspect the name, then find its ID in the list.
func searchLocalImages(ctx context.Context, cli *client.Client, data localImages, name string) (*image.Summary, error) {
	inspect, err := cli.ImageInspect(ctx, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("unable to inspect image %s: %w", name, err)
	}
	if img, ok := data[inspect.ID]; ok {
		return img, nil
	}
	return nil, nil
}

// findImage is kreuzwerker's: the local image, else a pull.
func findImage(ctx context.Context, cli *client.Client, name, platform string) (*image.Summary, error) {
	if name == "" {
		return nil, fmt.Errorf("empty image name is not allowed")
	}
	data, err := fetchLocalImages(ctx, cli)
	if err != nil {
		return nil, err
	}
	found, err := searchLocalImages(ctx, cli, data, name)
	if err != nil {
		return nil, fmt.Errorf("findImage1: error looking up local image %q: %w", name, err)
	}
	if found != nil {
		return found, nil
	}
	if err := pullImage(ctx, cli, name, platform); err != nil {
		return nil, fmt.Errorf("unable to pull image %s: %s", name, err)
	}
	if data, err = fetchLocalImages(ctx, cli); err != nil {
		return nil, err
	}
	found, err = searchLocalImages(ctx, cli, data, name)
	if err != nil {
		return nil, fmt.Errorf("findImage2: error looking up local image %q: %w", name, err)
	}
	if found != nil {
		return found, nil
	}
	return nil, fmt.Errorf("unable to find or pull image %s", name)
}

// pullImage is kreuzwerker's: the pull's output is read and not looked at
// (a failed pull shows up as an image that is still missing).
func pullImage(ctx context.Context, cli *client.Client, name, platform string) error {
	// No registry credentials (kreuzwerker uses those of the provider's
	// registryAuth configuration, which the stand-in does not implement).
	encoded, err := json.Marshal(registry.AuthConfig{})
	if err != nil {
		return fmt.Errorf("error creating auth config: %w", err)
	}
	out, err := cli.ImagePull(ctx, name, image.PullOptions{
		RegistryAuth: base64.URLEncoding.EncodeToString(encoded),
		Platform:     platform,
	})
	if err != nil {
		return fmt.Errorf("error pulling image %s: %w", name, err)
	}
	defer out.Close()
	var buf strings.Builder
	_, err = bufCopy(&buf, out)
	return err
}

// determineRepoDigest is kreuzwerker's.
func determineRepoDigest(name string, img *image.Summary) string {
	if len(img.RepoDigests) == 0 {
		return ""
	}
	if len(img.RepoDigests) == 1 {
		return img.RepoDigests[0]
	}
	withoutTag := name
	if i := strings.Index(name, ":"); i != -1 {
		withoutTag = name[:i]
	}
	for _, d := range img.RepoDigests {
		if strings.HasPrefix(d, withoutTag) {
			return d
		}
	}
	return img.RepoDigests[0]
}

func (r remoteImageResource) create(ctx context.Context, op *operation, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	name := getStr(inputs, "name")
	img, err := findImage(ctx, op.cli, name, getStr(inputs, "platform"))
	if err != nil {
		return "", nil, fmt.Errorf("Unable to read Docker image into resource: %s", err)
	}
	id := img.ID + name
	newID, state, err := r.read(ctx, op, id, stateFromInputs(inputs))
	if err != nil {
		return id, state, err
	}
	if newID == "" {
		return "", nil, fmt.Errorf("stand-in docker provider: image %s vanished right after it was found", name)
	}
	return newID, state, nil
}

func (remoteImageResource) read(ctx context.Context, op *operation, id string, state resource.PropertyMap) (string, resource.PropertyMap, error) {
	data, err := fetchLocalImages(ctx, op.cli)
	if err != nil {
		return "", nil, fmt.Errorf("Error reading docker image list: %s", err)
	}
	name := getStr(state, "name")
	found, err := searchLocalImages(ctx, op.cli, data, name)
	if err != nil {
		return "", nil, fmt.Errorf("resourceDockerImageRead: error looking up local image %q: %s", name, err)
	}
	if found == nil {
		return "", nil, nil
	}
	out := state.Copy()
	out["imageId"] = strProp(found.ID)
	out["repoDigest"] = strProp(determineRepoDigest(name, found))
	id = found.ID + name
	out["id"] = strProp(id)
	return id, out, nil
}

func (r remoteImageResource) update(ctx context.Context, op *operation, id string, _, planned resource.PropertyMap) (resource.PropertyMap, error) {
	name := getStr(planned, "name")
	if _, err := findImage(ctx, op.cli, name, getStr(planned, "platform")); err != nil {
		return nil, fmt.Errorf("Unable to read Docker image into resource: %s", err)
	}
	newID, state, err := r.read(ctx, op, id, planned)
	if err != nil {
		return nil, err
	}
	if newID == "" {
		return nil, fmt.Errorf("stand-in docker provider: image %s vanished during the update", name)
	}
	return state, nil
}

// delete removes the tag (unless keepLocally): ImageRemove(name, force=forceRemove).
func (remoteImageResource) delete(ctx context.Context, op *operation, _ string, state resource.PropertyMap) error {
	if getBool(state, "keepLocally") {
		return nil
	}
	err := func() error {
		data, err := fetchLocalImages(ctx, op.cli)
		if err != nil {
			return err
		}
		name := getStr(state, "name")
		if name == "" {
			return fmt.Errorf("empty image name is not allowed")
		}
		found, err := searchLocalImages(ctx, op.cli, data, name)
		if err != nil {
			return fmt.Errorf("removeImage: error looking up local image %q: %w", name, err)
		}
		if found != nil {
			if _, err := op.cli.ImageRemove(ctx, name, image.RemoveOptions{Force: getBool(state, "forceRemove")}); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("Unable to remove Docker image: %s", err)
	}
	return nil
}
