package hcl

import "iter"

// Positions records where each attribute of a block was written, keyed by
// the attribute's keepalived name ("priority", "auth_pass", …). Validation
// and runtime errors use it to name the exact place.
//
// A Positions is a reference, as a map is: a copy of a block shares its
// positions, and Set through either is seen by both (Clone makes an
// independent copy). The zero Positions records nothing ("no block was
// written"); Set allocates it on first use, which a copy made before
// does not see. The list is a few entries in a row, searched in order: a
// block holds a handful of attributes, and a map per block (every real
// server and its checker) was most of a big keepalived.conf's
// allocations. The readers hand lists out of a slab (positionSlab), a
// chunk at a time.
type Positions struct{ l *positionList }

// positionList is the attributes of one block, in the order they were
// first set.
type positionList struct{ e []positionEntry }

type positionEntry struct {
	name string
	pos  Pos
}

// NewPositions returns an empty Positions, allocated: copies of it share
// what is Set later.
func NewPositions() Positions { return Positions{l: &positionList{}} }

// Where returns the position of attribute name, or def when it was not written.
func (p Positions) Where(name string, def Pos) Pos {
	if pos, ok := p.Get(name); ok {
		return pos
	}
	return def
}

// Get returns the position of attribute name and whether it was written.
func (p Positions) Get(name string) (Pos, bool) {
	if p.l == nil {
		return Pos{}, false
	}
	for i := range p.l.e {
		if p.l.e[i].name == name {
			return p.l.e[i].pos, true
		}
	}
	return Pos{}, false
}

// Has reports whether attribute name was written.
func (p Positions) Has(name string) bool {
	_, ok := p.Get(name)
	return ok
}

// Set records that attribute name was written at pos.
func (p *Positions) Set(name string, pos Pos) {
	if p.l == nil {
		p.l = &positionList{}
	}
	for i := range p.l.e {
		if p.l.e[i].name == name {
			p.l.e[i].pos = pos
			return
		}
	}
	p.l.e = append(p.l.e, positionEntry{name: name, pos: pos})
}

// Delete forgets attribute name.
func (p Positions) Delete(name string) {
	if p.l == nil {
		return
	}
	for i := range p.l.e {
		if p.l.e[i].name == name {
			p.l.e = append(p.l.e[:i], p.l.e[i+1:]...)
			return
		}
	}
}

// Len returns the number of attributes recorded.
func (p Positions) Len() int {
	if p.l == nil {
		return 0
	}
	return len(p.l.e)
}

// All yields each attribute recorded and its position, in the order they
// were first set.
func (p Positions) All() iter.Seq2[string, Pos] {
	return func(yield func(string, Pos) bool) {
		if p.l == nil {
			return
		}
		for _, e := range p.l.e {
			if !yield(e.name, e.pos) {
				return
			}
		}
	}
}

// Clone returns an independent copy of p (the zero Positions for the zero).
func (p Positions) Clone() Positions {
	if p.l == nil {
		return Positions{}
	}
	return Positions{l: &positionList{e: append([]positionEntry(nil), p.l.e...)}}
}

// positionSlab hands out Positions a chunk at a time, so that a block
// costs no allocation of its own for them: a reader of a big file (2,000
// virtual servers of 16 real servers, each with a TCP_CHECK) fills tens of
// thousands. Each list gets room in the entries' chunk for as many
// attributes as its block has keywords (room); a list that grows past it
// moves out on its own (append's three-index limit keeps it from
// overwriting its neighbour). A real server written as "weight N" costs
// one entry, not a fixed handful.
type positionSlab struct {
	lists   []positionList
	entries []positionEntry
}

const (
	slabLists   = 256
	slabEntries = 4 // the room of a block whose keywords are not counted (new)
)

// new returns an empty, allocated Positions with room for slabEntries
// attributes.
func (s *positionSlab) new() Positions { return s.newFor(slabEntries) }

// newFor returns an empty, allocated Positions with room for room
// attributes (at least one) before it moves out of the slab.
func (s *positionSlab) newFor(room int) Positions {
	room = max(room, 1)
	if len(s.lists) == 0 {
		s.lists = make([]positionList, slabLists)
	}
	if len(s.entries) < room {
		s.entries = make([]positionEntry, max(slabLists*slabEntries, room))
	}
	l := &s.lists[0]
	s.lists = s.lists[1:]
	l.e = s.entries[:0:room]
	s.entries = s.entries[room:]
	return Positions{l: l}
}

// positionsAt returns a Positions recording each of names at pos.
func positionsAt(pos Pos, names ...string) Positions {
	p := NewPositions()
	for _, n := range names {
		p.Set(n, pos)
	}
	return p
}
