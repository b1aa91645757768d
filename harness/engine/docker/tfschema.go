package main

// The bridged resources (RemoteImage, Network, Volume, Container) are served
// by pulumi-terraform-bridge on top of kreuzwerker/terraform-provider-docker
// in the real provider. This file imitates the parts of the bridge and of the
// Terraform plugin SDK that decide what the engine sees: Check (schema
// defaults, required properties, type checks, autonaming, __defaults) and
// Diff (ForceNew properties replace, Optional+Computed properties that the
// program leaves unset keep their state, null equals the zero value, sets are
// compared without order).

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type kind int

const (
	kString kind = iota
	kBool
	kInt
	kList   // TypeList of elem
	kSet    // TypeSet of elem
	kMap    // TypeMap of strings
	kObject // a block with MaxItems 1, flattened to an object by the bridge
)

// attr describes one Terraform attribute under its Pulumi name.
type attr struct {
	kind     kind
	elem     kind             // for kList/kSet of primitives
	fields   map[string]*attr // for kObject and for kList/kSet of blocks
	required bool
	computed bool // Optional+Computed: unset in the program keeps the state value
	output   bool // Computed only: never an input
	forceNew bool
	def      *resource.PropertyValue // TF Default
	// impl says the stand-in implements this input. Unimplemented inputs
	// are refused by Check, except when set to their TF default (the
	// stand-in behaves like the real provider then).
	impl     bool
	validate func(path string, v resource.PropertyValue, f *failures)
}

func (a *attr) isBlock() bool { return a.fields != nil }

// resSchema is a bridged resource.
type resSchema struct {
	token               string
	attrs               map[string]*attr
	autoname            bool // prov.SetAutonaming(255, "-") applies to "name"
	deleteBeforeReplace bool
}

func defVal(v resource.PropertyValue) *resource.PropertyValue { return &v }

func notImplemented(token, path string) string {
	return fmt.Sprintf("stand-in docker provider: property %s of %s is not implemented", path, token)
}

// --- Check ----------------------------------------------------------------------

// check validates news (secrets kept) and returns them with the schema
// defaults filled in, as the bridge's Check does.
func (s *resSchema) check(urn string, news, olds resource.PropertyMap, randomHex func(string) (string, error)) (resource.PropertyMap, failures, error) {
	var fails failures
	out := news.Copy()
	delete(out, "__defaults")
	plain := revealMap(out)

	keys := make([]string, 0, len(plain))
	for k := range plain {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := plain[resource.PropertyKey(k)]
		if v.IsNull() {
			continue
		}
		a, ok := s.attrs[k]
		if !ok || a.output {
			fails.add(k, "%s", notImplemented(s.token, k))
			continue
		}
		s.checkValue(k, a, v, &fails)
	}

	var defaulted []string
	if s.autoname {
		if v, ok := plain["name"]; !ok || v.IsNull() {
			if old, ok := olds["name"]; ok && old.IsString() && old.StringValue() != "" {
				out["name"] = old
			} else {
				name, err := randomHex(resource.URN(urn).Name() + "-")
				if err != nil {
					return nil, nil, err
				}
				out["name"] = resource.NewStringProperty(name)
			}
			defaulted = append(defaulted, "name")
		}
	}
	for k, a := range s.attrs {
		if a.output {
			continue
		}
		v, ok := out[resource.PropertyKey(k)]
		if (!ok || v.IsNull()) && a.def != nil {
			out[resource.PropertyKey(k)] = *a.def
			defaulted = append(defaulted, k)
			continue
		}
		if (!ok || v.IsNull()) && a.required && !(s.autoname && k == "name") {
			fails.add(k, "Missing required property '%s'", k)
			continue
		}
		if ok && a.isBlock() {
			out[resource.PropertyKey(k)] = applyNestedDefaults(a, v)
		}
	}
	sort.Strings(defaulted)
	out["__defaults"] = strListProp(defaulted)
	if out["__defaults"].ArrayValue() == nil {
		out["__defaults"] = resource.NewArrayProperty([]resource.PropertyValue{})
	}
	return out, fails, nil
}

// applyNestedDefaults fills the defaults of the fields of block elements,
// keeping secret wrappers and unknowns as they are.
func applyNestedDefaults(a *attr, v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return resource.MakeSecret(applyNestedDefaults(a, v.SecretValue().Element))
	case a.kind == kObject && v.IsObject():
		return resource.NewObjectProperty(fillFieldDefaults(a, v.ObjectValue()))
	case (a.kind == kList || a.kind == kSet) && v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			if e.IsObject() {
				e = resource.NewObjectProperty(fillFieldDefaults(a, e.ObjectValue()))
			}
			out[i] = e
		}
		return resource.NewArrayProperty(out)
	}
	return v
}

func fillFieldDefaults(a *attr, m resource.PropertyMap) resource.PropertyMap {
	out := m.Copy()
	for k, f := range a.fields {
		if v, ok := out[resource.PropertyKey(k)]; (!ok || v.IsNull()) && f.def != nil {
			out[resource.PropertyKey(k)] = *f.def
		}
	}
	return out
}

func (s *resSchema) checkValue(path string, a *attr, v resource.PropertyValue, fails *failures) {
	if isUnknown(v) {
		return
	}
	if !a.impl {
		if a.def == nil || !v.DeepEquals(*a.def) {
			fails.add(path, "%s", notImplemented(s.token, path))
			return
		}
	}
	typeName := map[kind]string{kString: "a string", kBool: "a boolean", kInt: "a number",
		kList: "a list", kSet: "a list", kMap: "a map", kObject: "an object"}[a.kind]
	okType := false
	switch a.kind {
	case kString:
		okType = v.IsString()
	case kBool:
		okType = v.IsBool()
	case kInt:
		okType = v.IsNumber()
		if okType && !isWhole(v.NumberValue()) {
			fails.add(path, "must be a whole number, got %v", v.NumberValue())
			return
		}
	case kList, kSet:
		okType = v.IsArray()
	case kMap, kObject:
		okType = v.IsObject()
	}
	if !okType {
		fails.add(path, "must be %s, got %s", typeName, v.TypeString())
		return
	}
	if a.validate != nil {
		a.validate(path, v, fails)
	}
	switch a.kind {
	case kMap:
		for k, e := range v.ObjectValue() {
			if !isUnknown(e) && !e.IsString() {
				fails.add(path+"."+string(k), "must be a string, got %s", e.TypeString())
			}
		}
	case kObject:
		s.checkFields(path, a, v.ObjectValue(), fails)
	case kList, kSet:
		for i, e := range v.ArrayValue() {
			ep := fmt.Sprintf("%s[%d]", path, i)
			if isUnknown(e) {
				continue
			}
			if a.isBlock() {
				if !e.IsObject() {
					fails.add(ep, "must be an object, got %s", e.TypeString())
					continue
				}
				s.checkFields(ep, a, e.ObjectValue(), fails)
				continue
			}
			s.checkValue(ep, &attr{kind: a.elem, impl: true}, e, fails)
		}
	}
}

func (s *resSchema) checkFields(path string, a *attr, m resource.PropertyMap, fails *failures) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[resource.PropertyKey(k)]
		if v.IsNull() {
			continue
		}
		f, ok := a.fields[k]
		if !ok {
			fails.add(path+"."+k, "%s", notImplemented(s.token, path+"."+k))
			continue
		}
		s.checkValue(path+"."+k, f, v, fails)
	}
	for k, f := range a.fields {
		if v, ok := m[resource.PropertyKey(k)]; f.required && (!ok || v.IsNull()) {
			fails.add(path+"."+k, "Missing required property '%s'", k)
		}
	}
}

// --- Diff -----------------------------------------------------------------------

// diffHook lets a resource replace the comparison of one attribute (the
// port list's DiffSuppressFunc).
type diffHook func(olds, news resource.PropertyMap) (handled, changed bool)

// diff compares the planned inputs with the state as the Terraform SDK does.
func (s *resSchema) diff(olds, news resource.PropertyMap, hooks map[string]diffHook) *pulumirpc.DiffResponse {
	olds, news = revealMap(olds), revealMap(news)
	resp := &pulumirpc.DiffResponse{
		Changes:             pulumirpc.DiffResponse_DIFF_NONE,
		HasDetailedDiff:     true,
		DetailedDiff:        map[string]*pulumirpc.PropertyDiff{},
		DeleteBeforeReplace: false,
	}
	changed := map[string]bool{}
	replaces := map[string]bool{}
	for k, a := range s.attrs {
		if a.output {
			continue
		}
		key := resource.PropertyKey(k)
		nv, nok := news[key]
		nok = nok && !nv.IsNull()
		ov := olds[key]
		var kind pulumirpc.PropertyDiff_Kind
		if hook := hooks[k]; hook != nil {
			handled, ch := hook(olds, news)
			if handled {
				if !ch {
					continue
				}
				kind = pulumirpc.PropertyDiff_UPDATE
				goto record
			}
		}
		switch {
		case nok && containsUnknowns(nv):
			kind = pulumirpc.PropertyDiff_UPDATE
		case !nok:
			if a.computed || isZeroFor(a, ov) {
				continue
			}
			kind = pulumirpc.PropertyDiff_DELETE
		default:
			if equalFor(a, ov, nv) {
				continue
			}
			kind = pulumirpc.PropertyDiff_UPDATE
			if isZeroFor(a, ov) {
				kind = pulumirpc.PropertyDiff_ADD
			}
		}
	record:
		changed[k] = true
		if a.forceNew {
			replaces[k] = true
			kind = map[pulumirpc.PropertyDiff_Kind]pulumirpc.PropertyDiff_Kind{
				pulumirpc.PropertyDiff_ADD:    pulumirpc.PropertyDiff_ADD_REPLACE,
				pulumirpc.PropertyDiff_DELETE: pulumirpc.PropertyDiff_DELETE_REPLACE,
				pulumirpc.PropertyDiff_UPDATE: pulumirpc.PropertyDiff_UPDATE_REPLACE,
			}[kind]
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(changed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	resp.Diffs = sortedKeys(changed)
	resp.Replaces = sortedKeys(replaces)
	if len(replaces) > 0 && s.deleteBeforeReplace {
		resp.DeleteBeforeReplace = true
	}
	return resp
}

func containsUnknowns(v resource.PropertyValue) bool {
	return v.ContainsUnknowns()
}

// canon turns a value into a canonical Go value for comparison, with null as
// the zero value of the attribute's type (the SDK does not tell them apart).
func canon(a *attr, v resource.PropertyValue) any {
	switch a.kind {
	case kString:
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	case kBool:
		if v.IsBool() {
			return v.BoolValue()
		}
		return false
	case kInt:
		if v.IsNumber() {
			return v.NumberValue()
		}
		return float64(0)
	case kMap:
		m := map[string]string{}
		if v.IsObject() {
			for k, e := range v.ObjectValue() {
				if e.IsString() {
					m[string(k)] = e.StringValue()
				}
			}
		}
		return m
	case kObject:
		var m resource.PropertyMap
		if v.IsObject() {
			m = v.ObjectValue()
		}
		return canonFields(a, m)
	case kList, kSet:
		var elems []any
		if v.IsArray() {
			for _, e := range v.ArrayValue() {
				if a.isBlock() {
					var m resource.PropertyMap
					if e.IsObject() {
						m = e.ObjectValue()
					}
					elems = append(elems, canonFields(a, m))
				} else {
					elems = append(elems, canon(&attr{kind: a.elem}, e))
				}
			}
		}
		if a.kind == kSet {
			strs := make([]string, len(elems))
			for i, e := range elems {
				b, _ := json.Marshal(e)
				strs[i] = string(b)
			}
			sort.Strings(strs)
			out := make([]any, len(strs))
			for i, s := range strs {
				out[i] = s
			}
			return out
		}
		if elems == nil {
			elems = []any{}
		}
		return elems
	}
	return nil
}

func canonFields(a *attr, m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, f := range a.fields {
		if f.output {
			continue
		}
		out[k] = canon(f, m[resource.PropertyKey(k)])
	}
	return out
}

func equalFor(a *attr, o, n resource.PropertyValue) bool {
	bo, _ := json.Marshal(canon(a, o))
	bn, _ := json.Marshal(canon(a, n))
	return string(bo) == string(bn)
}

func isZeroFor(a *attr, v resource.PropertyValue) bool {
	return equalFor(a, v, resource.NewNullProperty())
}

// --- outputs -----------------------------------------------------------------------

// stateFromInputs is the state Terraform records from the configuration:
// the checked inputs without the bridge's bookkeeping.
func stateFromInputs(inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	delete(out, "__defaults")
	return out
}

// previewOutputs are the outputs of a create preview: the inputs, with the
// Optional+Computed inputs the program left unset and the outputs unknown.
func (s *resSchema) previewOutputs(inputs resource.PropertyMap) resource.PropertyMap {
	out := stateFromInputs(inputs)
	for k, a := range s.attrs {
		key := resource.PropertyKey(k)
		if v, ok := out[key]; (!ok || v.IsNull()) && (a.computed || a.output) {
			out[key] = unknownValue()
		}
	}
	out["id"] = unknownValue()
	return out
}

// updateOutputs is the planned state of an in-place update: the old state,
// with every input the program sets (or unsets, for non-computed inputs)
// taken from the new inputs.
func (s *resSchema) updateOutputs(olds, news resource.PropertyMap) resource.PropertyMap {
	out := olds.Copy()
	for k, a := range s.attrs {
		if a.output {
			continue
		}
		key := resource.PropertyKey(k)
		if v, ok := news[key]; ok && !v.IsNull() {
			out[key] = v
		} else if !a.computed {
			delete(out, key)
		}
	}
	return out
}
