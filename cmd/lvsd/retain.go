package main

import (
	"reflect"
	"strings"

	"github.com/lvsd/lvsd/hcl"
)

// What the running daemon keeps of a configuration it loaded. The model
// stays whole (the IPVS manager, the checkers, the alerts and the status
// report read it until the next reload), but two things in it serve the
// load alone, and on keepalived #2318's shape at 1/16 they were half of
// the model's heap (docs/benchmarks.md, "Health checks"):
//
//   - The Positions of every block: where each attribute was written, for
//     the reader's diagnostics (validation, `lvsd check`, keepalived -t).
//     Nothing in a running daemon reads them (Pos, where the block starts,
//     stays: runtime errors name it). A real server and its TCP_CHECK
//     held two maps, about 0.9 KB: 2.1 MB of the model's 4.7 MB.
//   - The file's text: the keepalived.conf reader's words are slices of
//     one string holding the whole file, so any word the model keeps
//     (a name, a scheduler, a path) kept the whole file alive (0.48 MB at
//     1/16, the file's size). Every string of the model is copied out,
//     each distinct value once: the model's hundreds of thousands of
//     equal strings ("DR", "TCP_CHECK", the file's path) share one copy.
//
// compactModel does both in place, before the configuration is handed
// to anything else (the start, each reload: runDaemon wraps the loader).

// compactModel drops the Positions of every block of cfg and re-homes its
// strings, each distinct value in one copy of its own. cfg must not yet
// be shared.
func compactModel(cfg *hcl.Config) {
	if cfg == nil {
		return
	}
	c := modelCompactor{strings: map[string]string{}, seen: map[uintptr]bool{}, plans: map[reflect.Type]*walkPlan{}}
	c.walk(reflect.ValueOf(cfg).Elem())
}

// modelCompactor walks a model once.
type modelCompactor struct {
	strings map[string]string // each distinct string's one copy
	seen    map[uintptr]bool  // pointers walked (a pointer shared is walked once)
	plans   map[reflect.Type]*walkPlan
}

// walkPlan says what of a type's values the walk visits: whether it holds
// a string or a map at all, and for a struct which of its fields do (a
// Checker has fifty fields, half of them numbers).
type walkPlan struct {
	holds  bool
	fields []int
}

var positionsType = reflect.TypeFor[hcl.Positions]()

// plan returns t's walkPlan.
func (c *modelCompactor) plan(t reflect.Type) *walkPlan {
	if p := c.plans[t]; p != nil {
		return p
	}
	// A type that refers to itself is assumed to hold something while
	// its plan is made.
	p := &walkPlan{holds: true}
	c.plans[t] = p
	switch t.Kind() {
	case reflect.String, reflect.Map:
	case reflect.Struct:
		if t == positionsType {
			break // dropped by walk
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && c.plan(f.Type).holds {
				p.fields = append(p.fields, i)
			}
		}
		p.holds = len(p.fields) > 0
	case reflect.Pointer, reflect.Array:
		p.holds = c.plan(t.Elem()).holds
	case reflect.Slice:
		p.holds = t.Elem().Kind() != reflect.Uint8 && c.plan(t.Elem()).holds
	default:
		p.holds = false
	}
	return p
}

// walk compacts v, which is settable or holds nothing settable.
func (c *modelCompactor) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if !v.CanSet() || v.Len() == 0 {
			return
		}
		s := v.String()
		kept, ok := c.strings[s]
		if !ok {
			kept = strings.Clone(s)
			c.strings[kept] = kept
		}
		v.SetString(kept)
	case reflect.Map:
		if v.IsNil() || !v.CanSet() {
			return
		}
		// Keys and values of a map are not addressable: the map is
		// rebuilt from compacted copies.
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			k := reflect.New(v.Type().Key()).Elem()
			k.Set(it.Key())
			c.walk(k)
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			c.walk(e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if v.IsNil() || c.seen[v.Pointer()] || !c.plan(v.Type()).holds {
			return
		}
		c.seen[v.Pointer()] = true
		c.walk(v.Elem())
	case reflect.Struct:
		if v.Type() == positionsType {
			if v.CanSet() {
				v.SetZero()
			}
			return
		}
		for _, i := range c.plan(v.Type()).fields {
			c.walk(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		if !c.plan(v.Type()).holds {
			return // numbers, and bytes, which are the model's own (a UDP_CHECK payload)
		}
		for i := range v.Len() {
			c.walk(v.Index(i))
		}
	}
}
