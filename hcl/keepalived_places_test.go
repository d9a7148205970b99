package hcl

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var (
	posType       = reflect.TypeOf(Pos{})
	positionsType = reflect.TypeOf(Positions{})
)

// clearPlaces zeroes every Pos and Positions inside v, so that two models
// read from different files compare equal when their values are.
func clearPlaces(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearPlaces(v.Elem())
		}
	case reflect.Interface:
		if !v.IsNil() && v.Elem().Kind() == reflect.Pointer {
			clearPlaces(v.Elem()) // a checker's KindSettings
		}
	case reflect.Struct:
		if v.Type() == posType || v.Type() == positionsType {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			clearPlaces(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 && !v.IsNil() {
			v.Set(reflect.Zero(v.Type()))
		}
		for i := 0; i < v.Len(); i++ {
			clearPlaces(v.Index(i))
		}
	}
}

// diffPaths lists the fields where a and b differ, for test failures.
func diffPaths(path string, a, b reflect.Value, out *[]string) {
	if a.Kind() != b.Kind() {
		*out = append(*out, path)
		return
	}
	switch a.Kind() {
	case reflect.Struct:
		if a.Type().PkgPath() != "" && a.Type().Name() != "" && a.NumField() > 0 && !a.Type().Field(0).IsExported() {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, a, b))
			}
			return
		}
		for i := 0; i < a.NumField(); i++ {
			diffPaths(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i), out)
		}
	case reflect.Slice:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s len %d vs %d", path, a.Len(), b.Len()))
			return
		}
		for i := 0; i < a.Len(); i++ {
			diffPaths(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i), out)
		}
	case reflect.Pointer:
		if a.IsNil() != b.IsNil() {
			*out = append(*out, path+" nil")
			return
		}
		if !a.IsNil() {
			diffPaths(path, a.Elem(), b.Elem(), out)
		}
	case reflect.Interface:
		if a.IsNil() || b.IsNil() || a.Elem().Type() != b.Elem().Type() {
			if a.IsNil() != b.IsNil() || !a.IsNil() {
				*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface()))
			}
			return
		}
		diffPaths(path, a.Elem(), b.Elem(), out)
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface()))
		}
	}
}

// convertBack writes cfg as HCL with ConvertToHCL and loads that text again
// with l. Both models come back with their places and file lists cleared,
// which a conversion does not keep, so that what remains compares equal when
// the conversion kept every value.
func convertBack(t *testing.T, l *Loader, cfg *Config) (back *Config, out []byte) {
	t.Helper()
	out = ConvertToHCL(cfg)
	back, diags := l.LoadSource("converted.hcl", out)
	if back == nil {
		t.Fatalf("converted HCL does not load: %v\n%s", diags, out)
	}
	clearPlaces(reflect.ValueOf(cfg).Elem())
	clearPlaces(reflect.ValueOf(back).Elem())
	cfg.Files, back.Files = nil, nil
	// The one thing HCL does not say: keepalived.conf's address listed
	// twice, which keepalived advertises twice. HCL refuses a repeat, so
	// the converted file advertises it once (docs/keepalived.md).
	for i := range cfg.Instances {
		cfg.Instances[i].AdvertAddresses = nil
	}
	return back, out
}

// assertConvertsBack fails the test where cfg, converted to HCL and read
// back, is not the same model, naming each path that differs.
func assertConvertsBack(t *testing.T, l *Loader, cfg *Config) {
	t.Helper()
	back, out := convertBack(t, l, cfg)
	if !reflect.DeepEqual(cfg, back) {
		t.Errorf("model differs after conversion:\n%s\n%s", modelDiff(cfg, back), out)
	}
}

// modelDiff names the paths at which a and b differ, one a line.
func modelDiff(a, b *Config) string {
	var diff []string
	diffPaths("Config", reflect.ValueOf(*a), reflect.ValueOf(*b), &diff)
	return strings.Join(diff, "\n")
}
