package resetguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/lvsd/lvsd/internal/netnstest"
)

// inFreshNetns runs f in a new network namespace with lo up (root
// only), so the guard's table and the test's resets stay there
// (netnstest).
func inFreshNetns(t *testing.T, f func() error) error {
	t.Helper()
	return netnstest.Run(t, f)
}

// dialClosed connects from 127.0.0.1 to a port of 127.0.0.2 nobody
// listens on: the stack answers the SYN with a RST from 127.0.0.2
// (connection refused) unless the guard drops it (timeout, after
// timeout). refused waits longer than held: the RST comes at once, and a
// test process that a loaded host stalls past a short timeout may see
// the deadline before the refusal.
func dialClosed(timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	c, err := d.Dial("tcp", "127.0.0.2:9")
	if err == nil {
		c.Close()
	}
	return err
}

// openOrSkip opens the guard, or reports why nftables is unavailable.
func openOrSkip(unavailable *error) (*Guard, bool) {
	g, err := Open()
	if err != nil {
		*unavailable = err
		return nil, false
	}
	return g, true
}

// refused and held say whether a connection to the closed port is
// refused (the stack's RST arrives) or times out (it was dropped).
func refused(when string) error {
	if err := dialClosed(5 * time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		return errors.New(when + ": " + errString(err) + ", want connection refused")
	}
	return nil
}

func held(when string) error {
	var ne net.Error
	if err := dialClosed(400 * time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
		return errors.New(when + ": " + errString(err) + ", want a timeout")
	}
	return nil
}

// tableExists reports whether the guard's table is in the kernel.
func tableExists() (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, err
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, err
	}
	for _, t := range tables {
		if t.Name == TableName {
			return true, nil
		}
	}
	return false, nil
}

// runGuardTest runs f in a fresh namespace and skips when nftables is
// unavailable there.
func runGuardTest(t *testing.T, f func(unavailable *error) error) {
	t.Helper()
	var unavailable error
	err := inFreshNetns(t, func() error { return f(&unavailable) })
	if unavailable != nil {
		t.Skipf("nftables unavailable here: %v", unavailable)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestGuardDropsTheStacksResets: an open guard with nothing held drops
// nothing; while held, a connection to a closed port of the guarded
// address is not refused (its RST is dropped, the client times out);
// after Release it is refused again, and Release counts the resets that
// hold held back. A second Hold on the same table drops again, and its
// Release counts its own resets, not the first hold's too.
func TestGuardDropsTheStacksResets(t *testing.T) {
	runGuardTest(t, func(unavailable *error) error {
		if err := refused("before the guard"); err != nil {
			return err
		}
		g, ok := openOrSkip(unavailable)
		if !ok {
			return nil
		}
		defer g.Close()
		if err := refused("open, nothing held"); err != nil {
			return err
		}
		var counts []uint64
		for round := range 2 {
			if err := g.Hold([]netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.2")}); err != nil {
				return err
			}
			if got := g.Held(); len(got) != 2 {
				return errors.New("the guard holds duplicate addresses")
			}
			if err := held("while held"); err != nil {
				return err
			}
			dropped, err := g.Release()
			if err != nil {
				return err
			}
			if dropped == 0 {
				return fmt.Errorf("round %d: Release counted no dropped reset", round+1)
			}
			counts = append(counts, dropped)
			if len(g.Held()) != 0 {
				return errors.New("addresses still held after Release")
			}
			if err := refused("after Release"); err != nil {
				return err
			}
		}
		if counts[1] != counts[0] {
			return fmt.Errorf("two holds of one reset each counted %v: the second Release counted more than its own", counts)
		}
		return nil
	})
}

// TestClosedGuardLeavesNoTable: Close deletes the table, held rules and
// all, so a stopped lvsd leaves nothing behind; Clear then finds nothing
// and is no error.
func TestClosedGuardLeavesNoTable(t *testing.T) {
	runGuardTest(t, func(unavailable *error) error {
		g, ok := openOrSkip(unavailable)
		if !ok {
			return nil
		}
		if exists, err := tableExists(); err != nil || !exists {
			return fmt.Errorf("open guard: table in the kernel %v (%v), want it there", exists, err)
		}
		if err := g.Hold([]netip.Addr{netip.MustParseAddr("127.0.0.2")}); err != nil {
			return err
		}
		if err := g.Close(); err != nil {
			return err
		}
		if exists, err := tableExists(); err != nil || exists {
			return fmt.Errorf("closed guard: table in the kernel %v (%v), want none", exists, err)
		}
		if err := refused("after Close"); err != nil {
			return err
		}
		return Clear()
	})
}

// TestOpenReplacesATableLeftBehind: the table of an lvsd killed while it
// held the guard (never closed) is replaced by the next Open: nothing is
// held until that lvsd's own Hold.
func TestOpenReplacesATableLeftBehind(t *testing.T) {
	runGuardTest(t, func(unavailable *error) error {
		killed, ok := openOrSkip(unavailable)
		if !ok {
			return nil
		}
		defer killed.Close()
		if err := killed.Hold([]netip.Addr{netip.MustParseAddr("127.0.0.2")}); err != nil {
			return err
		}
		g, err := Open()
		if err != nil {
			return err
		}
		defer g.Close()
		return refused("after the next Open")
	})
}

// TestHoldMakesTheTableAgain: a Hold after something deleted the table
// (`nft flush ruleset`, here Clear) makes it again in the same batch and
// holds.
func TestHoldMakesTheTableAgain(t *testing.T) {
	runGuardTest(t, func(unavailable *error) error {
		g, ok := openOrSkip(unavailable)
		if !ok {
			return nil
		}
		defer g.Close()
		if err := Clear(); err != nil {
			return err
		}
		if err := g.Hold([]netip.Addr{netip.MustParseAddr("127.0.0.2")}); err != nil {
			return err
		}
		if err := held("held after the table was deleted"); err != nil {
			return err
		}
		if _, err := g.Release(); err != nil {
			return err
		}
		return refused("after Release")
	})
}

func errString(err error) string {
	if err == nil {
		return "connected"
	}
	return err.Error()
}

// TestGuardHoldsThousandsOfAddresses: a director with thousands of
// virtual addresses (the IPVS load benchmark's 2,000 services, each its
// own VIP) gets its guard in one Hold. With a rule per address the batch
// failed from a few hundred on (acknowledgements overflowing the socket
// at 300, the message too long at 500) and no reset was held at all.
func TestGuardHoldsThousandsOfAddresses(t *testing.T) {
	runGuardTest(t, func(unavailable *error) error {
		g, ok := openOrSkip(unavailable)
		if !ok {
			return nil
		}
		defer g.Close()
		addrs := []netip.Addr{netip.MustParseAddr("127.0.0.2")}
		for i := range 3000 {
			addrs = append(addrs, netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
		}
		for i := range 1000 {
			addrs = append(addrs, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
		}
		for round := range 2 {
			if err := g.Hold(addrs); err != nil {
				return fmt.Errorf("round %d: Hold of %d addresses: %v", round+1, len(addrs), err)
			}
			if got := len(g.Held()); got != len(addrs) {
				return fmt.Errorf("round %d: %d addresses held, want %d", round+1, got, len(addrs))
			}
			if err := held("while 4,001 addresses are held"); err != nil {
				return err
			}
			if dropped, err := g.Release(); err != nil || dropped == 0 {
				return fmt.Errorf("round %d: Release counted %d dropped resets (%v), want some", round+1, dropped, err)
			}
			if err := refused("after Release"); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestGuardAtRestHasNoChain: between holds the table has no chain, so no
// hook of the guard's sits on the path of every packet the host sends
// (IPVS's forwarded ones included); a Hold makes the chain, Release
// deletes it.
func TestGuardAtRestHasNoChain(t *testing.T) {
	runGuardTest(t, func(unavailable *error) error {
		g, ok := openOrSkip(unavailable)
		if !ok {
			return nil
		}
		defer g.Close()
		chains := func(when string, want int) error {
			c, err := nftables.New()
			if err != nil {
				return err
			}
			all, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
			if err != nil {
				return err
			}
			n := 0
			for _, ch := range all {
				if ch.Table.Name == TableName {
					n++
				}
			}
			if n != want {
				return fmt.Errorf("%s: %d chains in the guard's table, want %d", when, n, want)
			}
			return nil
		}
		if err := chains("open", 0); err != nil {
			return err
		}
		if err := g.Hold([]netip.Addr{netip.MustParseAddr("127.0.0.2")}); err != nil {
			return err
		}
		if err := chains("held", 1); err != nil {
			return err
		}
		if _, err := g.Release(); err != nil {
			return err
		}
		return chains("released", 0)
	})
}
