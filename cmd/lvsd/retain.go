package main

import (
	"reflect"
	"strings"
	"sync"

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
// compactModel does both in place: on each reload before the
// configuration is handed to anything else (runDaemon wraps the loader);
// at the start right after the first IPVS table is written
// (director.Options.AfterFirstWrite), which needs neither the Positions nor
// the strings' own copies, so that the compaction is off the way to the
// first table (docs/benchmarks.md). What was built from the model by then
// holds it through the Config itself, and the IPVS manager's view of the
// kernel has names of its own (lvs desired.go ownName), so compacting in
// place lets the file go as before
// (TestStartCompactedAfterTheFirstWriteLetsTheFileGo).

// compactModel drops the Positions of every block of cfg and re-homes its
// strings, each distinct value in one copy of its own. cfg must not yet
// be shared.
//
// A big table's virtual servers are compacted in runs, one goroutine per
// processor (hcl.Workers), each run with its own copies: a string in two
// runs is kept twice. A walk writes what it walks, so no part may be in
// two runs: hcl's model shares none between services (hcl's
// cloneCheckers; an lvsd.hcl's checkers are cut from one array, hcl's
// ownCheckers, but each is one real server's), and a group's members,
// the services that did share parts before, are still never split
// between runs.
func compactModel(cfg *hcl.Config) {
	if cfg == nil {
		return
	}
	compactModelIn(cfg, hcl.Workers(len(cfg.VirtualServers), compactRunsFrom))
}

// compactModelIn is compactModel with the virtual servers in runs runs.
func compactModelIn(cfg *hcl.Config, runs int) {
	services := cfg.VirtualServers
	runs = max(min(runs, len(services)), 1)
	cfg.VirtualServers = nil
	var wg sync.WaitGroup
	from := 0
	for r := range runs {
		to := max(len(services)*(r+1)/runs, from)
		for to < len(services) && to > 0 && services[to].Group != "" && services[to].Group == services[to-1].Group {
			to++ // the rest of a group's members
		}
		run := services[from:to]
		from = to
		wg.Go(func() {
			c := newModelCompactor()
			v := reflect.ValueOf(run)
			c.walk(v, c.plan(v.Type()))
		})
	}
	c := newModelCompactor()
	v := reflect.ValueOf(cfg).Elem()
	c.walk(v, c.plan(v.Type()))
	wg.Wait()
	cfg.VirtualServers = services
}

// compactRunsFrom is the number of virtual servers from which they are
// compacted in runs (the load benchmark's 2,000: 57-65 ms of an emulated
// start on one processor).
const compactRunsFrom = 512

func newModelCompactor() *modelCompactor {
	return &modelCompactor{strings: map[string]string{}, seen: map[uintptr]bool{}, plans: map[reflect.Type]*walkPlan{}}
}

// modelCompactor walks a model once.
type modelCompactor struct {
	strings map[string]string // each distinct string's one copy
	seen    map[uintptr]bool  // pointers walked (a pointer shared is walked once)
	plans   map[reflect.Type]*walkPlan
}

// walkPlan says what of a type's values the walk visits: whether it holds
// a string or a map at all, for a struct which of its fields do (a
// Checker has sixteen fields, most of them numbers), and the plans of what
// it contains. The walk follows the plans it is handed, so it looks no
// type up on the way (on the load benchmark's model, a lookup per value
// was a third of the walk).
type walkPlan struct {
	holds     bool
	positions bool        // hcl.Positions: dropped by walk
	fields    []fieldPlan // a struct's fields that hold something
	elem      *walkPlan   // a pointer's, slice's or array's element, a map's value
	key       *walkPlan   // a map's key
}

// fieldPlan is a struct field the walk visits. A string field remembers
// the last value it was given and the copy kept for it: one field of many
// blocks in a row usually holds the same value (each real server's LBKind,
// each block's file), often the same string, which then needs no lookup.
type fieldPlan struct {
	index      int
	plan       *walkPlan
	isString   bool
	last, kept string
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
	case reflect.String:
	case reflect.Map:
		p.key, p.elem = c.plan(t.Key()), c.plan(t.Elem())
	case reflect.Struct:
		if t == positionsType {
			p.positions = true
			break
		}
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				if fp := c.plan(f.Type); fp.holds {
					p.fields = append(p.fields, fieldPlan{index: i, plan: fp, isString: f.Type.Kind() == reflect.String})
				}
			}
		}
		p.holds = len(p.fields) > 0
	case reflect.Pointer, reflect.Array:
		p.elem = c.plan(t.Elem())
		p.holds = p.elem.holds
	case reflect.Interface:
		// What it holds is known only from its value (a checker's
		// KindSettings): walk plans it then, and holds stays true.
	case reflect.Slice:
		p.elem = c.plan(t.Elem())
		p.holds = t.Elem().Kind() != reflect.Uint8 && p.elem.holds
	default:
		p.holds = false
	}
	return p
}

// walk compacts v, whose plan is p; v is settable or holds nothing
// settable.
func (c *modelCompactor) walk(v reflect.Value, p *walkPlan) {
	if !p.holds {
		return // numbers, and bytes, which are the model's own (a UDP_CHECK payload)
	}
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() && v.Len() > 0 {
			v.SetString(c.keep(v.String()))
		}
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
			c.walk(k, p.key)
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			c.walk(e, p.elem)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if v.IsNil() || c.seen[v.Pointer()] {
			return
		}
		c.seen[v.Pointer()] = true
		c.walk(v.Elem(), p.elem)
	case reflect.Interface:
		// A value in an interface cannot be set, but what a pointer in
		// it points to can (the model's interfaces hold pointers).
		if e := v.Elem(); e.IsValid() && e.Kind() == reflect.Pointer {
			c.walk(e, c.plan(e.Type()))
		}
	case reflect.Struct:
		if p.positions {
			if v.CanSet() {
				v.SetZero()
			}
			return
		}
		for i := range p.fields {
			f := &p.fields[i]
			fv := v.Field(f.index)
			if !f.isString {
				c.walk(fv, f.plan)
				continue
			}
			if !fv.CanSet() || fv.Len() == 0 {
				continue
			}
			if s := fv.String(); s != f.last {
				f.last, f.kept = s, c.keep(s)
			}
			fv.SetString(f.kept)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			c.walk(v.Index(i), p.elem)
		}
	}
}

// keep returns the one copy of s.
func (c *modelCompactor) keep(s string) string {
	kept, ok := c.strings[s]
	if !ok {
		kept = strings.Clone(s)
		c.strings[kept] = kept
	}
	return kept
}
