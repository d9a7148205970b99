package hcl

import (
	"fmt"
	"reflect"
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
	case reflect.Struct:
		if v.Type() == posType {
			v.Set(reflect.Zero(posType))
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
	case reflect.Map:
		if v.Type() == positionsType {
			v.Set(reflect.Zero(positionsType))
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
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface()))
		}
	}
}
