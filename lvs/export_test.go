package lvs

import (
	"slices"
	"testing"
	"unsafe"
)

// The tests in package lvs_test need the fixtures of lvs/lvstest, which
// imports lvs, so they cannot be in package lvs; these are the helpers
// they share with the tests that are.
// HandClock is statusread_share_test.go's clock moved by hand.
type HandClock = handClock

var (
	NewHandClock    = newHandClock
	AP              = ap
	Down            = down
	OpStrings       = opStrings
	TestConfig      = testConfig
	Weights         = weights
	UpVerdict       = upVerdict
	ApplyError      = applyError
	AppendOpMessage = appendOpMessage
)

const (
	Web         = web
	NlmFRequest = nlmFRequest
)

// ProcChanges parses text as /proc/net/ip_vs and returns the keys of the
// services a repair pass would read through netlink with view as lvsd's
// view of the kernel, sorted (a fwmark service in both families).
func ProcChanges(text []byte, view Table, hz uint32) ([]string, error) {
	var p procTable
	if err := p.parse(text); err != nil {
		return nil, err
	}
	var keys []string
	for _, s := range procChanges(&p, viewOf(view), hz, nil) {
		keys = append(keys, s.Key())
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// ProcComparer is ProcChanges with view made lvsd's view once, for
// benchmarks of the comparison alone.
func ProcComparer(view Table, hz uint32) func(text []byte) ([]string, error) {
	v := viewOf(view)
	return func(text []byte) ([]string, error) {
		var p procTable
		if err := p.parse(text); err != nil {
			return nil, err
		}
		var keys []string
		for _, s := range procChanges(&p, v, hz, nil) {
			keys = append(keys, s.Key())
		}
		return keys, nil
	}
}

// ProcChangesAllocs is how many allocations procChanges makes comparing
// text, parsed once and kept as a steady pass keeps it, with view, once
// the parse's index exists.
func ProcChangesAllocs(text []byte, view Table, hz uint32) (float64, error) {
	var p procTable
	if err := p.parse(text); err != nil {
		return 0, err
	}
	v := viewOf(view)
	procChanges(&p, v, hz, nil)
	return testing.AllocsPerRun(20, func() { procChanges(&p, v, hz, nil) }), nil
}

// RereadIn says in how many passes from now the rotation reads key.
func RereadIn(m *Manager, key string) int { return m.rereadIn(key) }

// ProcHeld reports whether m holds the parse of /proc/net/ip_vs (between
// passes it should only when they come close together: Manager.endPass).
func ProcHeld(m *Manager) bool {
	m.repairMu.Lock()
	defer m.repairMu.Unlock()
	return m.proc.services != nil || m.proc.slab != nil
}

// ClosePasses is the reconcile interval below which a pass keeps what it
// reads with for the next.
const ClosePasses = closePasses

// ProcRoom is the room a pass's buffer of the file has beyond the last
// file's size.
const ProcRoom = procRoom

// ApplyWrite is a write's end for benchmarks: apply ops, which bring the
// services of d to their state there, and record them in m's view.
func ApplyWrite(m *Manager, d *Desired, ops []Op) (int, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	return m.applyOps(d, ops, func(string) bool { return true })
}

// WriteOps are the operations that write t into an empty table.
func WriteOps(t Table) []Op { return diff(t, nil, func(string) bool { return true }) }

// ViewBlocks counts the blocks of memory that hold the real servers of
// lvsd's view: a service's that do not follow another's start a block.
func ViewBlocks(m *Manager) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var starts []uintptr
	ends := map[uintptr]bool{}
	for _, v := range m.cache {
		if len(v.dests) == 0 {
			continue
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(v.dests)))
		starts = append(starts, p)
		ends[p+uintptr(len(v.dests))*unsafe.Sizeof(viewDest{})] = true
	}
	n := 0
	for _, p := range starts {
		if !ends[p] {
			n++
		}
	}
	return n
}
