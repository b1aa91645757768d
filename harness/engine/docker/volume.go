package main

// docker:index/volume:Volume: kreuzwerker's docker_volume
// (internal/provider/resource_docker_volume.go), bridged.

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var volumeSchema = &resSchema{
	token:    typeVolume,
	autoname: true,
	attrs: map[string]*attr{
		"name":       {kind: kString, computed: true, forceNew: true, impl: true},
		"labels":     {kind: kSet, fields: labelFields, forceNew: true, impl: true},
		"driver":     {kind: kString, computed: true, forceNew: true, impl: true},
		"driverOpts": {kind: kMap, forceNew: true, impl: true},
		"cluster":    {kind: kObject, fields: map[string]*attr{}}, // swarm cluster volumes: not implemented
		"mountpoint": {kind: kString, output: true},
	},
}

type volumeResource struct{}

func (volumeResource) schema() *resSchema             { return volumeSchema }
func (volumeResource) diffHooks() map[string]diffHook { return nil }

func (r volumeResource) create(ctx context.Context, op *operation, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	opts := volume.CreateOptions{}
	if v, ok := getOk(inputs, "name"); ok {
		opts.Name = v.StringValue()
	}
	if _, ok := getOk(inputs, "labels"); ok {
		opts.Labels = labelSetToMap(getObjects(inputs, "labels"))
	}
	if v, ok := getOk(inputs, "driver"); ok {
		opts.Driver = v.StringValue()
	}
	if _, ok := getOk(inputs, "driverOpts"); ok {
		opts.DriverOpts = getStringMap(inputs, "driverOpts")
	}
	created, err := op.cli.VolumeCreate(ctx, opts)
	if err != nil {
		return "", nil, fmt.Errorf("Unable to create volume: %s", err)
	}
	id, state, err := r.read(ctx, op, created.Name, stateFromInputs(inputs))
	if err != nil {
		return created.Name, stateFromInputs(inputs), err
	}
	return id, state, nil
}

// read: a volume that is not found is gone; other errors fail.
func (volumeResource) read(ctx context.Context, op *operation, id string, state resource.PropertyMap) (string, resource.PropertyMap, error) {
	v, err := op.cli.VolumeInspect(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", nil, nil
		}
		return "", nil, fmt.Errorf("Unable to inspect volume: %s", err)
	}
	out := state.Copy()
	out["id"] = strProp(id)
	out["name"] = strProp(v.Name)
	out["labels"] = labelSetProp(v.Labels)
	out["driver"] = strProp(v.Driver)
	out["driverOpts"] = strMapProp(v.Options)
	out["mountpoint"] = strProp(v.Mountpoint)
	return id, out, nil
}

func (volumeResource) update(_ context.Context, _ *operation, _ string, _, planned resource.PropertyMap) (resource.PropertyMap, error) {
	// Only cluster.availability updates in place, and cluster is not implemented.
	return planned, nil
}

// delete waits volumeRemoveDelay, then removes the volume (force), retrying
// while it "is in use" (MinTimeout 5s, Timeout 30s).
func (volumeResource) delete(ctx context.Context, op *operation, id string, _ resource.PropertyMap) error {
	t := op.p.timing
	_, err := waitForState(ctx, t.volumeRemoveDelay, t.volumeRemoveMinTimeout, t.volumeRemoveTimeout,
		[]string{"in_use"}, []string{"removed"}, func() (any, string, error) {
			if err := op.cli.VolumeRemove(context.Background(), id, true); err != nil {
				if containsIgnorableErrorMessage(err.Error(), "volume is in use") {
					return id, "in_use", nil
				}
				return nil, "", err
			}
			return id, "removed", nil
		})
	return err
}
