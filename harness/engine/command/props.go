package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

// unmarshal decodes a property struct from the engine. keepSecrets keeps the
// secret wrappers (needed to return outputs with the same secrecy as the
// inputs); without it secrets are replaced by their plain values. Unknowns
// (only seen during previews) are always kept.
func unmarshal(s *structpb.Struct, keepSecrets, computeHashes bool) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		KeepUnknowns:       true,
		KeepSecrets:        keepSecrets,
		SkipNulls:          true,
		ComputeAssetHashes: computeHashes,
	})
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		KeepUnknowns: true,
		KeepSecrets:  true,
	})
}

// reveal returns v without any secret wrappers (recursively); unknown output
// values become plain computed values.
func reveal(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return reveal(v.SecretValue().Element)
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return reveal(o.Element)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			out[i] = reveal(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		return resource.NewObjectProperty(revealMap(v.ObjectValue()))
	}
	return v
}

func revealMap(m resource.PropertyMap) resource.PropertyMap {
	out := make(resource.PropertyMap, len(m))
	for k, v := range m {
		out[k] = reveal(v)
	}
	return out
}

func isSecret(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && v.ContainsSecrets()
}

func isUnknown(v resource.PropertyValue) bool {
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

// failures collects input validation problems, reported by Check.
type failures []*failure

type failure struct{ property, reason string }

func (f *failures) add(property, format string, args ...any) {
	*f = append(*f, &failure{property, fmt.Sprintf(format, args...)})
}

func (f failures) err() error {
	if len(f) == 0 {
		return nil
	}
	msg := ""
	for i, x := range f {
		if i > 0 {
			msg += "; "
		}
		msg += x.property + ": " + x.reason
	}
	return fmt.Errorf("invalid inputs: %s", msg)
}

// reader reads typed fields of a revealed property map. Unknown values read
// as absent (they only occur during previews, when nothing runs).
type reader struct {
	m      resource.PropertyMap
	prefix string
	fails  *failures
}

func (r reader) path(key string) string {
	if r.prefix == "" {
		return key
	}
	return r.prefix + "." + key
}

func (r reader) value(key string) (resource.PropertyValue, bool) {
	v, ok := r.m[resource.PropertyKey(key)]
	if !ok || v.IsNull() || isUnknown(v) {
		return resource.PropertyValue{}, false
	}
	return v, true
}

func (r reader) has(key string) bool {
	v, ok := r.m[resource.PropertyKey(key)]
	return ok && !v.IsNull()
}

func (r reader) str(key string) *string {
	v, ok := r.value(key)
	if !ok {
		return nil
	}
	if !v.IsString() {
		r.fails.add(r.path(key), "must be a string, got %s", v.TypeString())
		return nil
	}
	s := v.StringValue()
	return &s
}

func (r reader) boolean(key string) *bool {
	v, ok := r.value(key)
	if !ok {
		return nil
	}
	if !v.IsBool() {
		r.fails.add(r.path(key), "must be a boolean, got %s", v.TypeString())
		return nil
	}
	b := v.BoolValue()
	return &b
}

func (r reader) integer(key string) *int {
	v, ok := r.value(key)
	if !ok {
		return nil
	}
	if !v.IsNumber() {
		r.fails.add(r.path(key), "must be a number, got %s", v.TypeString())
		return nil
	}
	n := v.NumberValue()
	if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
		r.fails.add(r.path(key), "must be a whole number, got %v", n)
		return nil
	}
	i := int(n)
	return &i
}

func (r reader) object(key string) (reader, bool) {
	v, ok := r.value(key)
	if !ok {
		return reader{}, false
	}
	if !v.IsObject() {
		r.fails.add(r.path(key), "must be an object, got %s", v.TypeString())
		return reader{}, false
	}
	return reader{m: v.ObjectValue(), prefix: r.path(key), fails: r.fails}, true
}

func (r reader) stringMap(key string) map[string]string {
	o, ok := r.object(key)
	if !ok {
		return nil
	}
	out := map[string]string{}
	keys := make([]string, 0, len(o.m))
	for k := range o.m {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	for _, k := range keys {
		if s := o.str(k); s != nil {
			out[k] = *s
		}
	}
	return out
}

// setDefaults fills in the absent keys of the object property key of m,
// keeping the object's secret wrapper, if any.
func setDefaults(m resource.PropertyMap, key string, defaults resource.PropertyMap) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return
	}
	secret := false
	if v.IsSecret() {
		secret = true
		v = v.SecretValue().Element
	}
	if !v.IsObject() {
		return
	}
	obj := v.ObjectValue().Copy()
	for k, d := range defaults {
		if cur, ok := obj[k]; !ok || cur.IsNull() {
			obj[k] = d
		}
	}
	nv := resource.NewObjectProperty(obj)
	if secret {
		nv = resource.MakeSecret(nv)
	}
	m[resource.PropertyKey(key)] = nv
}
