package resetguard

import (
	"net/netip"
	"slices"
)

// TableName is the nftables table the guard owns (family inet).
const TableName = "lvsd_reset_guard"

// Guard is a held reset guard: the table is in the kernel until Release.
type Guard struct {
	addrs []netip.Addr
	impl  guardImpl
}

// Addrs are the addresses whose resets the guard drops.
func (g *Guard) Addrs() []netip.Addr { return slices.Clone(g.addrs) }

// Hold installs (or replaces) the table with a rule dropping the TCP
// resets sent from each of addrs by this host's stack. Addresses are
// deduplicated; none is an error-free no-op that still replaces a table
// left by an earlier run.
func Hold(addrs []netip.Addr) (*Guard, error) {
	var uniq []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if a.IsValid() && !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	impl, err := hold(uniq)
	if err != nil {
		return nil, err
	}
	return &Guard{addrs: uniq, impl: impl}, nil
}

// Release deletes the table and returns how many resets it dropped.
func (g *Guard) Release() (dropped uint64, err error) {
	return g.impl.release()
}

// Clear deletes a table an earlier lvsd left (one killed while it held
// the guard); a missing table is no error.
func Clear() error { return clear() }

// guardImpl is the system side of a held guard.
type guardImpl interface {
	release() (uint64, error)
}
