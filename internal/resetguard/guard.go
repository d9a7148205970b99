package resetguard

import (
	"net/netip"
	"slices"
	"sync"
)

// TableName is the nftables table the guard owns (family inet).
const TableName = "lvsd_reset_guard"

// Guard is the guard's table, open for a director's life: Open installs
// it with its two address sets empty, Hold adds its chain and rules and
// fills the sets, Release deletes the chain and empties the sets, Close
// deletes the table. One netlink connection serves them all, so a takeover's Hold is one small batch on a socket
// already open (see doc.go for why no socket is opened or closed then).
type Guard struct {
	mu   sync.Mutex // one batch at a time: Hold runs on VRRP's path, Release on the sync worker
	held []netip.Addr
	impl guardImpl
}

// Open installs the table with its empty sets and no chain, replacing a
// table an earlier lvsd left (one killed while it held the guard), and
// keeps the connection for the Guard's later calls.
func Open() (*Guard, error) {
	impl, err := open()
	if err != nil {
		return nil, err
	}
	return &Guard{impl: impl}, nil
}

// Held are the addresses whose resets the guard drops now (none after
// Release).
func (g *Guard) Held() []netip.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.held)
}

// Hold makes the chain's rules drop the TCP resets sent from each of
// addrs by this host's stack, in one batch: the table, chain, sets and
// rules (made again if something deleted them, such as `nft flush
// ruleset`; the rules anew, so their counters count this hold), the sets
// flushed (an earlier Hold's addresses replaced) and filled. Addresses
// are deduplicated; none leaves the sets empty.
func (g *Guard) Hold(addrs []netip.Addr) error {
	var uniq []netip.Addr
	seen := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if a.IsValid() && !seen[a] {
			seen[a] = true
			uniq = append(uniq, a)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.impl.hold(uniq); err != nil {
		// The kernel aborts a failed batch whole, so an earlier Hold's
		// rules are still in the chain (or this batch's, if only its
		// answer was lost): Held stays non-empty so that Release still
		// flushes them.
		if g.held == nil {
			g.held = uniq
		}
		return err
	}
	g.held = uniq
	return nil
}

// Release empties the sets and returns how many resets the rules dropped
// since the Hold, and deletes the chain; the table and its sets stay.
// Without rules held it does nothing.
func (g *Guard) Release() (dropped uint64, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		return 0, nil
	}
	g.held = nil
	return g.impl.release()
}

// Close deletes the table, sets, rules and all, and closes the connection: a
// stopped lvsd leaves no table behind.
func (g *Guard) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = nil
	return g.impl.close()
}

// Clear deletes a table an earlier lvsd left (one killed while it had the
// table open); a missing table is no error.
func Clear() error { return clear() }

// guardImpl is the system side of an open guard.
type guardImpl interface {
	hold(addrs []netip.Addr) error
	release() (uint64, error)
	close() error
}
