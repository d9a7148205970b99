package hcl

import (
	"maps"
	"testing"
)

// TestPositionsBehaveAsTheMapTheyReplace replays a sequence of Set and
// Delete on a Positions and on a map, and checks that each read answers
// the same, including through a copy made before the writes.
func TestPositionsBehaveAsTheMapTheyReplace(t *testing.T) {
	at := func(line int) Pos { return Pos{File: "f", Line: line} }
	type op struct {
		del  bool
		name string
		pos  Pos
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"nothing set", nil},
		{"one set", []op{{name: "weight", pos: at(1)}}},
		{"set again moves it", []op{{name: "weight", pos: at(1)}, {name: "weight", pos: at(2)}}},
		{"more than a slab's room", []op{{name: "a", pos: at(1)}, {name: "b", pos: at(2)}, {name: "c", pos: at(3)}, {name: "d", pos: at(4)}, {name: "e", pos: at(5)}, {name: "f", pos: at(6)}}},
		{"deleted", []op{{name: "a", pos: at(1)}, {name: "b", pos: at(2)}, {del: true, name: "a"}}},
		{"deleted then set", []op{{name: "a", pos: at(1)}, {del: true, name: "a"}, {name: "a", pos: at(3)}}},
		{"delete of what is not there", []op{{name: "a", pos: at(1)}, {del: true, name: "z"}}},
	}
	var slab positionSlab
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := slab.new()
			neighbour := slab.new() // next in the slab: must not see p's writes
			neighbour.Set("neighbour", at(99))
			shared := p // a copy of a block shares its positions
			want := map[string]Pos{}
			for _, o := range tt.ops {
				if o.del {
					p.Delete(o.name)
					delete(want, o.name)
				} else {
					p.Set(o.name, o.pos)
					want[o.name] = o.pos
				}
			}
			for _, q := range []Positions{p, shared} {
				if got := maps.Collect(q.All()); !maps.Equal(got, want) {
					t.Errorf("All() = %v, want %v", got, want)
				}
				if q.Len() != len(want) {
					t.Errorf("Len() = %d, want %d", q.Len(), len(want))
				}
				for _, name := range []string{"a", "b", "e", "weight", "z", "neighbour"} {
					w, ok := want[name]
					if got, gotOK := q.Get(name); got != w || gotOK != ok {
						t.Errorf("Get(%q) = %v, %v; want %v, %v", name, got, gotOK, w, ok)
					}
					if q.Has(name) != ok {
						t.Errorf("Has(%q) = %v, want %v", name, !ok, ok)
					}
					def := at(1000)
					if !ok {
						w = def
					}
					if got := q.Where(name, def); got != w {
						t.Errorf("Where(%q) = %v, want %v", name, got, w)
					}
				}
			}
			if got := maps.Collect(neighbour.All()); !maps.Equal(got, map[string]Pos{"neighbour": at(99)}) {
				t.Errorf("the slab neighbour holds %v after p's writes", got)
			}
		})
	}
}

// TestPositionsCloneIsIndependent checks that Clone, like maps.Clone,
// copies: a write to either side is not seen by the other.
func TestPositionsCloneIsIndependent(t *testing.T) {
	p := NewPositions()
	p.Set("a", Pos{Line: 1})
	c := p.Clone()
	c.Set("b", Pos{Line: 2})
	p.Delete("a")
	if p.Has("b") || !c.Has("a") || p.Len() != 0 || c.Len() != 2 {
		t.Errorf("after writes to both: original %v, clone %v", maps.Collect(p.All()), maps.Collect(c.All()))
	}
	if z := (Positions{}).Clone(); z != (Positions{}) {
		t.Errorf("the zero Positions clones to %v, want the zero Positions", z)
	}
}

// TestZeroPositionsRecordNothing checks the zero Positions: no block
// written (validate_sync.go tells the sync daemon's default by it).
func TestZeroPositionsRecordNothing(t *testing.T) {
	var p Positions
	if p.Has("a") || p.Len() != 0 || p.Where("a", Pos{Line: 7}) != (Pos{Line: 7}) {
		t.Errorf("the zero Positions records something")
	}
	p.Delete("a") // no panic
	p.Set("a", Pos{Line: 1})
	if p == (Positions{}) || !p.Has("a") {
		t.Errorf("Set on the zero Positions recorded nothing")
	}
}
