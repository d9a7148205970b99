package lvs

import "slices"

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
	for _, s := range procChanges(&p, viewOf(view), hz) {
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
		for _, s := range procChanges(&p, v, hz) {
			keys = append(keys, s.Key())
		}
		return keys, nil
	}
}

// RereadIn says in how many passes from now the rotation reads key.
func RereadIn(m *Manager, key string) int { return m.rereadIn(key) }

// ProcHeld reports whether m holds /proc/net/ip_vs or its parse (between
// passes it should only when they come close together: Manager.endPass).
func ProcHeld(m *Manager) bool {
	m.repairMu.Lock()
	defer m.repairMu.Unlock()
	return m.proc.services != nil || m.proc.slab != nil || m.procBuf != nil
}

// ClosePasses is the reconcile interval below which a pass keeps what it
// reads with for the next.
const ClosePasses = closePasses

// ProcRoom is the room a pass's buffer of the file has beyond the last
// file's size.
const ProcRoom = procRoom
