package checks

import (
	"net/netip"
	"testing"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// TestPingCheckGetsLoopbacksEchoReply sends real ICMP and ICMPv6 echoes to
// the loopback addresses, which the kernel answers.
func TestPingCheckGetsLoopbacksEchoReply(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			ap := netip.MustParseAddrPort(addr)
			conn, _, err := listenICMP(Endpoint{Addr: ap}, ap.Addr().Is6())
			if err != nil {
				t.Skipf("no ICMP socket here: %v", err)
			}
			conn.Close()
			r := probeOnce(t, ap, "PING_CHECK {\n connect_timeout = 1\n}")
			if !r.OK || r.Reason != "echo reply" {
				t.Errorf("got ok=%t %q, want the echo reply", r.OK, r.Reason)
			}
		})
	}
}

func TestPingVerdictMatchesItsOwnEcho(t *testing.T) {
	v4, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	other := netip.MustParseAddr("10.0.0.9")
	msg := func(typ icmp.Type, id, seq int) []byte {
		b, _ := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("x")}}).Marshal(nil)
		return b
	}
	for _, tc := range []struct {
		name      string
		msg       []byte
		dst, from netip.Addr
		raw       bool
		done, ok  bool
	}{
		{"reply on a datagram socket", msg(ipv4.ICMPTypeEchoReply, 99, 7), v4, v4, false, true, true},
		{"reply to another sequence", msg(ipv4.ICMPTypeEchoReply, 5, 6), v4, v4, false, false, false},
		{"raw: reply with our id", msg(ipv4.ICMPTypeEchoReply, 5, 7), v4, v4, true, true, true},
		{"raw: reply with another id", msg(ipv4.ICMPTypeEchoReply, 6, 7), v4, v4, true, false, false},
		{"raw: reply from another host", msg(ipv4.ICMPTypeEchoReply, 5, 7), v4, other, true, false, false},
		{"raw: our own request looped back", msg(ipv4.ICMPTypeEcho, 5, 7), v4, v4, true, false, false},
		{"ICMPv6 reply", msg(ipv6.ICMPTypeEchoReply, 5, 7), v6, v6, false, true, true},
		{"garbage", []byte{1}, v4, v4, true, false, false},
	} {
		r, done := pingVerdict(tc.msg, tc.dst, tc.from, tc.raw, 5, 7)
		if done != tc.done || r.OK != tc.ok {
			t.Errorf("%s: done=%t ok=%t (%q), want done=%t ok=%t", tc.name, done, r.OK, r.Reason, tc.done, tc.ok)
		}
	}
}

// TestManagerPingsAnAddressOnce: PING_CHECKs of one address behind real
// servers of different ports (the members of a group) are one check.
func TestManagerPingsAnAddressOnce(t *testing.T) {
	ping := "PING_CHECK {\n connect_timeout = 1\n}"
	cfg := load(t,
		service("192.0.2.1:80", real("10.0.0.1:80", ping)),
		service("192.0.2.1:443", real("10.0.0.1:443", ping)),
		service("192.0.2.2:443", real("10.0.0.2:443", ping)),
	)
	m := NewManager(cfg, Options{})
	m.mu.Lock()
	m.applyLocked(t.Context())
	n := len(m.probes)
	m.mu.Unlock()
	if n != 2 {
		t.Errorf("%d checks for two addresses", n)
	}
}
