package acceptmode

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/netnstest"
)

// inFreshNetns runs f in a new network namespace with lo up (root only);
// the namespace goes with its table (netnstest).
func inFreshNetns(t *testing.T, f func() error) error {
	t.Helper()
	return netnstest.Run(t, f)
}

// reachable dials addr's listener from 127.0.0.1 (or ::1), waiting up
// to 5s: the handshake comes at once, and a test process that a loaded
// host stalls must not take a late answer for a dropped SYN.
func reachable(addr string) bool { return dials(addr, 5*time.Second) }

// blocked tells that a dial of addr's listener goes unanswered for
// 300ms: the table drops the SYN (a loaded host only makes it later).
func blocked(addr string) bool { return !dials(addr, 300*time.Millisecond) }

func dials(addr string, timeout time.Duration) bool {
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("tcp", addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// nftList is `nft list table inet lvsd_accept_mode` in the current
// namespace (the locked thread's: nft runs in it as a child).
func nftList() (string, error) {
	out, err := exec.Command("nft", "list", "table", "inet", TableName).CombinedOutput()
	return string(out), err
}

func hasNft() bool {
	_, err := exec.LookPath("nft")
	return err == nil
}

// TestNoAcceptDropsTrafficToHeldAddresses: while an instance holds an
// address, TCP to it (IPv4 and IPv6) goes unanswered; an address two
// instances hold stays dropped until both release it; a table an
// earlier run left is adopted as it is; Remove leaves no table.
func TestNoAcceptDropsTrafficToHeldAddresses(t *testing.T) {
	var unavailable error
	err := inFreshNetns(t, func() error {
		v4, v6 := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")
		var addrs []string
		for _, a := range []netip.Addr{v4, v6} {
			ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
			if err != nil {
				return err
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			addrs = append(addrs, ln.Addr().String())
		}
		for _, a := range addrs {
			if !reachable(a) {
				return fmt.Errorf("before the table: %s unreachable", a)
			}
		}
		tb, err := Open(slog.New(slog.DiscardHandler))
		if err != nil {
			unavailable = err
			return nil
		}
		if err := tb.Hold("VI_1", []netip.Addr{v4, v6, v4}); err != nil {
			return err
		}
		if err := tb.Hold("VI_2", []netip.Addr{v4}); err != nil {
			return err
		}
		for _, a := range addrs {
			if !blocked(a) {
				return fmt.Errorf("held: %s answered", a)
			}
		}
		got, err := tb.Addrs()
		if err != nil {
			return err
		}
		slices.SortFunc(got, func(a, b netip.Addr) int { return a.Compare(b) })
		if !slices.Equal(got, []netip.Addr{v4, v6}) {
			return fmt.Errorf("the sets hold %v, want [%s %s]", got, v4, v6)
		}
		if out, err := nftList(); err != nil && hasNft() {
			return fmt.Errorf("nft list: %v\n%s", err, out)
		} else if err == nil {
			for _, want := range []string{"hook input priority filter - 1", "ip daddr @vips4", "ip6 saddr @vips6", "nd-neighbor-solicit"} {
				if !strings.Contains(out, want) {
					return fmt.Errorf("nft list lacks %q:\n%s", want, out)
				}
			}
		}
		if err := tb.Release("VI_1"); err != nil {
			return err
		}
		if !blocked(addrs[0]) || !reachable(addrs[1]) {
			return fmt.Errorf("VI_1 released, VI_2 holding %s: %s reachable %v, %s reachable %v, want false, true", v4, addrs[0], !blocked(addrs[0]), addrs[1], reachable(addrs[1]))
		}
		// A second Open (lvsd restarted) adopts the table and its sets.
		again, err := Open(slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		if got, _ := again.Addrs(); !slices.Equal(got, []netip.Addr{v4}) {
			return fmt.Errorf("reopened: the sets hold %v, want [%s]", got, v4)
		}
		if err := again.Release("VI_9"); err != nil { // reconciles: VI_2 is not its
			return err
		}
		if !reachable(addrs[0]) {
			return fmt.Errorf("reopened and reconciled: %s still dropped", addrs[0])
		}
		if err := again.Remove(); err != nil {
			return err
		}
		if out, err := nftList(); err == nil {
			return fmt.Errorf("the table is still there after Remove:\n%s", out)
		}
		return Clear() // no table: no error
	})
	if unavailable != nil {
		t.Skipf("nftables unavailable here: %v", unavailable)
	}
	if err != nil {
		t.Fatal(err)
	}
}
