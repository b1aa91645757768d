package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

// unmarshal decodes a property struct from the engine. keepSecrets keeps the
// secret wrappers; without it secrets are replaced by their plain values.
// Unknowns (only seen during previews) are always kept.
func unmarshal(s *structpb.Struct, keepSecrets bool) (resource.PropertyMap, error) {
	if s == nil {
		return resource.PropertyMap{}, nil
	}
	return plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		KeepUnknowns: true,
		KeepSecrets:  keepSecrets,
		SkipNulls:    true,
	})
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		KeepUnknowns: true,
		KeepSecrets:  true,
		SkipNulls:    true,
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

func isUnknown(v resource.PropertyValue) bool {
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

func unknownValue() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
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
	msgs := make([]string, len(f))
	for i, x := range f {
		msgs[i] = x.property + ": " + x.reason
	}
	return fmt.Errorf("invalid inputs: %s", strings.Join(msgs, "; "))
}

// --- typed getters on revealed maps ------------------------------------------
// These read values that Check has validated already; a missing, null or
// unknown value reads as the zero value (TF's d.Get semantics).

func getStr(m resource.PropertyMap, key string) string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

func getBool(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsBool() {
		return false
	}
	return v.BoolValue()
}

func getInt(m resource.PropertyMap, key string) int {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsNumber() {
		return 0
	}
	return int(v.NumberValue())
}

// has reports whether key is set to a known, non-null value (TF's d.GetOk also
// treats zero values as unset; see getOk).
func has(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && !v.IsNull() && !isUnknown(v)
}

// getOk mirrors terraform-plugin-sdk's d.GetOk: false for unset values and for
// zero values ("", 0, false, empty lists, sets and maps).
func getOk(m resource.PropertyMap, key string) (resource.PropertyValue, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || v.IsNull() || isUnknown(v) {
		return resource.PropertyValue{}, false
	}
	return v, !isZeroValue(v)
}

func isZeroValue(v resource.PropertyValue) bool {
	switch {
	case v.IsNull():
		return true
	case v.IsString():
		return v.StringValue() == ""
	case v.IsBool():
		return !v.BoolValue()
	case v.IsNumber():
		return v.NumberValue() == 0
	case v.IsArray():
		return len(v.ArrayValue()) == 0
	case v.IsObject():
		return len(v.ObjectValue()) == 0
	}
	return false
}

func getStrings(m resource.PropertyMap, key string) []string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func getStringMap(m resource.PropertyMap, key string) map[string]string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsObject() {
		return nil
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		if e.IsString() {
			out[string(k)] = e.StringValue()
		}
	}
	return out
}

func getObjects(m resource.PropertyMap, key string) []resource.PropertyMap {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsArray() {
		return nil
	}
	var out []resource.PropertyMap
	for _, e := range v.ArrayValue() {
		if e.IsObject() {
			out = append(out, e.ObjectValue())
		}
	}
	return out
}

func getObject(m resource.PropertyMap, key string) (resource.PropertyMap, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsObject() {
		return nil, false
	}
	return v.ObjectValue(), true
}

// --- constructors --------------------------------------------------------------

func strProp(s string) resource.PropertyValue  { return resource.NewStringProperty(s) }
func boolProp(b bool) resource.PropertyValue   { return resource.NewBoolProperty(b) }
func intProp(i int64) resource.PropertyValue   { return resource.NewNumberProperty(float64(i)) }
func numProp(f float64) resource.PropertyValue { return resource.NewNumberProperty(f) }

func strListProp(ss []string) resource.PropertyValue {
	arr := make([]resource.PropertyValue, len(ss))
	for i, s := range ss {
		arr[i] = resource.NewStringProperty(s)
	}
	return resource.NewArrayProperty(arr)
}

func strMapProp(m map[string]string) resource.PropertyValue {
	out := resource.PropertyMap{}
	for k, v := range m {
		out[resource.PropertyKey(k)] = resource.NewStringProperty(v)
	}
	return resource.NewObjectProperty(out)
}

// labelSetProp mirrors kreuzwerker's mapToLabelSet: [{label, value}] in
// key order.
func labelSetProp(m map[string]string) resource.PropertyValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	arr := make([]resource.PropertyValue, 0, len(keys))
	for _, k := range keys {
		arr = append(arr, resource.NewObjectProperty(resource.PropertyMap{
			"label": resource.NewStringProperty(k),
			"value": resource.NewStringProperty(m[k]),
		}))
	}
	return resource.NewArrayProperty(arr)
}

// labelSetToMap mirrors kreuzwerker's labelSetToMap.
func labelSetToMap(objs []resource.PropertyMap) map[string]string {
	out := map[string]string{}
	for _, o := range objs {
		out[getStr(o, "label")] = getStr(o, "value")
	}
	return out
}

func isWhole(n float64) bool { return n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
