package lvs

import (
	"net/netip"
	"slices"
)

// verdictTable is the Manager's store of the health verdicts: by service
// key, each service's verdicts in a slice sorted by real server address.
// A map by VerdictKey held them in 80-byte slots (the service key's
// string header and an AddrPort for a key) at the map's load, some 150
// bytes a real server, and a copy of the service key each: 0.35 MB of the
// steady heap on the checks benchmark's table (2,326 real servers). This
// way a real server costs 64 bytes, the service key is held once, and a
// lookup is a map lookup by service and a binary search among its real
// servers.
type verdictTable map[string][]realVerdict

// realVerdict is the Verdict of one real server.
type realVerdict struct {
	real   netip.AddrPort
	reason string
	weight int
	up     bool
}

func compareReal(v realVerdict, a netip.AddrPort) int { return v.real.Compare(a) }

// get returns the verdict for real of service, if there is one.
func (t verdictTable) get(service string, real netip.AddrPort) (Verdict, bool) {
	list := t[service]
	if i, found := slices.BinarySearchFunc(list, real, compareReal); found {
		v := &list[i]
		return Verdict{Up: v.up, Weight: v.weight, Reason: v.reason}, true
	}
	return Verdict{}, false
}

// set records v for k; room is how many real servers k's service has
// (its slice is made that size on its first verdict, not grown).
func (t verdictTable) set(k VerdictKey, v Verdict, room int) {
	rv := realVerdict{real: k.Real, reason: v.Reason, weight: v.Weight, up: v.Up}
	list := t[k.Service]
	i, found := slices.BinarySearchFunc(list, k.Real, compareReal)
	if found {
		list[i] = rv
		return
	}
	if list == nil {
		list = make([]realVerdict, 0, max(room, 1))
	}
	t[k.Service] = slices.Insert(list, i, rv)
}

// verdictLookup finds a real server's verdict in State.Verdicts or, for
// the Manager's states, in its verdictTable.
type verdictLookup struct {
	byKey map[VerdictKey]Verdict
	table verdictTable
}

func (l verdictLookup) get(service string, real netip.AddrPort) (Verdict, bool) {
	if l.table != nil {
		return l.table.get(service, real)
	}
	if len(l.byKey) == 0 {
		return Verdict{}, false
	}
	v, ok := l.byKey[VerdictKey{Service: service, Real: real}]
	return v, ok
}
