package main

// docker:index/network:Network: kreuzwerker's docker_network
// (internal/provider/resource_docker_network.go and _funcs.go), bridged.
// It has no Update: every input replaces.

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/network"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var labelFields = map[string]*attr{
	"label": {kind: kString, required: true, forceNew: true, impl: true},
	"value": {kind: kString, required: true, forceNew: true, impl: true},
}

var networkSchema = &resSchema{
	token:    typeNetwork,
	autoname: true,
	attrs: map[string]*attr{
		"name":        {kind: kString, required: true, forceNew: true, impl: true},
		"labels":      {kind: kSet, fields: labelFields, forceNew: true, impl: true},
		"driver":      {kind: kString, computed: true, forceNew: true, impl: true},
		"options":     {kind: kMap, computed: true, forceNew: true, impl: true},
		"internal":    {kind: kBool, computed: true, forceNew: true, impl: true},
		"attachable":  {kind: kBool, forceNew: true, impl: true},
		"ingress":     {kind: kBool, forceNew: true, impl: true},
		"ipv6":        {kind: kBool, forceNew: true, impl: true},
		"ipamDriver":  {kind: kString, forceNew: true, def: defVal(strProp("default")), impl: true},
		"ipamOptions": {kind: kMap, forceNew: true, impl: true},
		"ipamConfigs": {kind: kSet, computed: true, forceNew: true, impl: true, fields: map[string]*attr{
			"subnet":     {kind: kString, forceNew: true, impl: true},
			"ipRange":    {kind: kString, forceNew: true, impl: true},
			"gateway":    {kind: kString, forceNew: true, impl: true},
			"auxAddress": {kind: kMap, forceNew: true, impl: true},
		}},
		"scope": {kind: kString, output: true},
	},
}

type networkResource struct{}

func (networkResource) schema() *resSchema             { return networkSchema }
func (networkResource) diffHooks() map[string]diffHook { return nil }

func (r networkResource) create(ctx context.Context, op *operation, inputs resource.PropertyMap) (string, resource.PropertyMap, error) {
	opts := network.CreateOptions{}
	if _, ok := getOk(inputs, "labels"); ok {
		opts.Labels = labelSetToMap(getObjects(inputs, "labels"))
	}
	if v, ok := getOk(inputs, "driver"); ok {
		opts.Driver = v.StringValue()
	}
	if _, ok := getOk(inputs, "options"); ok {
		opts.Options = getStringMap(inputs, "options")
	}
	if v, ok := getOk(inputs, "internal"); ok {
		opts.Internal = v.BoolValue()
	}
	if v, ok := getOk(inputs, "attachable"); ok {
		opts.Attachable = v.BoolValue()
	}
	if v, ok := getOk(inputs, "ingress"); ok {
		opts.Ingress = v.BoolValue()
	}
	if v, ok := getOk(inputs, "ipv6"); ok {
		b := v.BoolValue()
		opts.EnableIPv6 = &b
	}
	ipam := &network.IPAM{}
	ipamSet := false
	if v, ok := getOk(inputs, "ipamDriver"); ok {
		ipam.Driver = v.StringValue()
		ipamSet = true
	}
	if _, ok := getOk(inputs, "ipamConfigs"); ok {
		for _, c := range getObjects(inputs, "ipamConfigs") {
			aux := getStringMap(c, "auxAddress")
			if aux == nil {
				aux = map[string]string{}
			}
			ipam.Config = append(ipam.Config, network.IPAMConfig{
				Subnet:     getStr(c, "subnet"),
				IPRange:    getStr(c, "ipRange"),
				Gateway:    getStr(c, "gateway"),
				AuxAddress: aux,
			})
		}
		ipamSet = true
	}
	if _, ok := getOk(inputs, "ipamOptions"); ok {
		ipam.Options = getStringMap(inputs, "ipamOptions")
		ipamSet = true
	}
	if ipamSet {
		opts.IPAM = ipam
	}
	created, err := op.cli.NetworkCreate(ctx, getStr(inputs, "name"), opts)
	if err != nil {
		return "", nil, fmt.Errorf("Unable to create network: %s", err)
	}
	id, state, err := r.read(ctx, op, created.ID, stateFromInputs(inputs))
	if err != nil {
		return created.ID, stateFromInputs(inputs), err
	}
	return id, state, nil
}

// read waits networkReadDelay (kreuzwerker: StateChangeConf Delay 2s), then
// inspects; a network that cannot be inspected is gone.
func (networkResource) read(ctx context.Context, op *operation, id string, state resource.PropertyMap) (string, resource.PropertyMap, error) {
	var out resource.PropertyMap
	gone := false
	_, err := waitForState(ctx, op.p.timing.networkReadDelay, op.p.timing.networkRemoveMinTimeout, op.p.timing.networkRemoveTimeout,
		[]string{"pending"}, []string{"all_fields", "removed"}, func() (any, string, error) {
			n, _, err := op.cli.NetworkInspectWithRaw(ctx, id, network.InspectOptions{})
			if err != nil {
				gone = true
				return id, "removed", nil
			}
			out = state.Copy()
			out["id"] = strProp(id)
			out["name"] = strProp(n.Name)
			out["labels"] = labelSetProp(n.Labels)
			out["driver"] = strProp(n.Driver)
			out["internal"] = boolProp(n.Internal)
			out["attachable"] = boolProp(n.Attachable)
			out["ingress"] = boolProp(n.Ingress)
			out["ipv6"] = boolProp(n.EnableIPv6)
			out["ipamDriver"] = strProp(n.IPAM.Driver)
			out["ipamOptions"] = strMapProp(n.IPAM.Options)
			out["scope"] = strProp(n.Scope)
			if n.Scope == "overlay" && len(n.Options) == 0 {
				return id, "pending", nil
			}
			out["options"] = strMapProp(n.Options)
			out["ipamConfigs"] = flattenIpamConfigs(n.IPAM.Config)
			return id, "all_fields", nil
		})
	if err != nil {
		return "", nil, err
	}
	if gone {
		return "", nil, nil
	}
	return id, out, nil
}

func flattenIpamConfigs(cfgs []network.IPAMConfig) resource.PropertyValue {
	arr := make([]resource.PropertyValue, 0, len(cfgs))
	for _, c := range cfgs {
		aux := c.AuxAddress
		if aux == nil {
			aux = map[string]string{}
		}
		arr = append(arr, resource.NewObjectProperty(resource.PropertyMap{
			"subnet":     strProp(c.Subnet),
			"ipRange":    strProp(c.IPRange),
			"gateway":    strProp(c.Gateway),
			"auxAddress": strMapProp(aux),
		}))
	}
	return resource.NewArrayProperty(arr)
}

func (networkResource) update(context.Context, *operation, string, resource.PropertyMap, resource.PropertyMap) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("stand-in docker provider: %s has no update (every input replaces it)", typeNetwork)
}

// delete waits networkRemoveDelay, then removes the network, retrying while
// it "has active endpoints" (MinTimeout 5s, Timeout 30s).
func (networkResource) delete(ctx context.Context, op *operation, id string, _ resource.PropertyMap) error {
	t := op.p.timing
	_, err := waitForState(ctx, t.networkRemoveDelay, t.networkRemoveMinTimeout, t.networkRemoveTimeout,
		[]string{"pending"}, []string{"removed"}, func() (any, string, error) {
			if _, _, err := op.cli.NetworkInspectWithRaw(ctx, id, network.InspectOptions{}); err != nil {
				return id, "removed", nil
			}
			if err := op.cli.NetworkRemove(ctx, id); err != nil {
				if containsIgnorableErrorMessage(err.Error(), "has active endpoints") {
					return id, "pending", nil
				}
				return id, "other", err
			}
			return id, "removed", nil
		})
	return err
}

// bufCopy copies r to w (used to drain streams the real provider reads and ignores).
func bufCopy(w io.Writer, r io.Reader) (int64, error) { return io.Copy(w, r) }
