package checks

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// probeOnce runs one attempt of the checker that block loads for a real
// server at addr, bounded by its connect_timeout, as the Manager runs it.
func probeOnce(t *testing.T, addr netip.AddrPort, block string) Result {
	t.Helper()
	vip := "192.0.2.1:80"
	if addr.Addr().Is6() {
		vip = "[2001:db8::1]:80"
	}
	cfg := load(t, service(vip, real(addr.String(), block)))
	c := &cfg.VirtualServers[0].RealServers[0].Checkers[0]
	m := NewManager(nil, Options{})
	p := m.newProbe(c, cfg.VirtualServers[0].RealServers[0].Weight)
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout())
	defer cancel()
	return p.more.prober.probe(ctx)
}

// udpServer answers each datagram on a loopback port with reply(got);
// nil stays silent. It records what it received.
type udpServer struct {
	mu    sync.Mutex
	got   [][]byte
	reply func(got []byte) []byte
}

func (s *udpServer) start(t *testing.T, network, addr string) netip.AddrPort {
	t.Helper()
	return s.startMulti(t, network, addr, func(got []byte) [][]byte {
		s.mu.Lock()
		s.got = append(s.got, got)
		s.mu.Unlock()
		if r := s.reply(got); r != nil {
			return [][]byte{r}
		}
		return nil
	})
}

// startMulti is start for a server that answers with several datagrams:
// it calls reply, not s.reply, and records nothing itself.
func (s *udpServer) startMulti(t *testing.T, network, addr string, reply func([]byte) [][]byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, r := range reply(bytes.Clone(buf[:n])) {
				pc.WriteTo(r, from)
			}
		}
	})
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// closedUDPPort returns a loopback port nothing listens on: the kernel
// answers a datagram to it with ICMP port unreachable.
func closedUDPPort(t *testing.T, network, addr string) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	ap := netip.MustParseAddrPort(pc.LocalAddr().String())
	pc.Close()
	return ap
}

// replyTimeout is the connect_timeout of a check against a loopback
// server and the most the check may take. Silence is decided by the
// timeout, kept short (300ms, the check ends within a second); a reply or
// an ICMP error decides at once, so there the timeout is long (5s): a
// loaded host that runs the test's server late must not turn a reply
// into a timeout, and a check that waits for its timeout despite the
// answer still fails the bound.
func replyTimeout(silence bool) (time.Duration, time.Duration) {
	if silence {
		return 300 * time.Millisecond, time.Second
	}
	return 5 * time.Second, 5 * time.Second
}

func TestUDPCheckVerdicts(t *testing.T) {
	silent := func([]byte) []byte { return nil }
	fixed := func(b ...byte) func([]byte) []byte { return func([]byte) []byte { return b } }
	for _, tc := range []struct {
		name   string
		reply  func([]byte) []byte // nil: nothing listens
		v6     bool
		body   string
		ok     bool
		reason string
	}{
		{"silence passes without require_reply", silent, false, ``, true, "no ICMP error"},
		{"port unreachable fails", nil, false, ``, false, "port unreachable"},
		{"port unreachable fails over IPv6", nil, true, ``, false, "port unreachable"},
		{"an echo passes", func(b []byte) []byte { return b }, false, `payload = "de ad"`, true, "reply"},
		{"silence fails with require_reply", silent, false, `require_reply = true`, false, "no reply"},
		{"any reply passes require_reply", fixed(9), false, `require_reply = true`, true, "reply of 1 octets"},
		{"a matching reply passes", fixed(0x01, 0xf2, 0x03), false, `require_reply = "01 x2"`, true, "reply of 3 octets"},
		{"a different reply fails", fixed(0x02, 0xf2), false, `require_reply = "01 x2"`, false, "reply mismatch"},
		{"a short reply fails", fixed(1, 2, 3), false, "require_reply = true\nmin_reply_length = 4", false, "reply of 3 octets"},
		{"a long reply fails", fixed(1, 2, 3), false, "require_reply = true\nmax_reply_length = 2", false, "reply of 3 octets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			network, addr := "udp4", "127.0.0.1:0"
			if tc.v6 {
				network, addr = "udp6", "[::1]:0"
			}
			srv := &udpServer{reply: tc.reply}
			var at netip.AddrPort
			if tc.reply == nil {
				at = closedUDPPort(t, network, addr)
			} else {
				at = srv.start(t, network, addr)
			}
			timeout, bound := replyTimeout(tc.reason == "no ICMP error" || tc.reason == "no reply")
			start := time.Now()
			r := probeOnce(t, at, fmt.Sprintf("UDP_CHECK {\n connect_timeout = %q\n%s\n}", timeout, tc.body))
			if r.OK != tc.ok || r.Reason != tc.reason {
				t.Errorf("got ok=%t %q, want ok=%t %q", r.OK, r.Reason, tc.ok, tc.reason)
			}
			if took := time.Since(start); took > bound {
				t.Errorf("took %v with connect_timeout %v, want %v at most", took, timeout, bound)
			}
		})
	}
}

func TestUDPCheckSendsItsPayload(t *testing.T) {
	srv := &udpServer{reply: func(b []byte) []byte { return b }}
	at := srv.start(t, "udp4", "127.0.0.1:0")
	// The server answers: the check waits for it (5s at most), so the
	// server has recorded the datagram by the time it returns.
	probeOnce(t, at, "UDP_CHECK {\n connect_timeout = \"5s\"\n payload = \"Ab12f 3\"\n}")
	probeOnce(t, at, "UDP_CHECK {\n connect_timeout = \"5s\"\n}")
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.got) != 2 || !bytes.Equal(srv.got[0], []byte{0xab, 0x12, 0x0f, 0x03}) || len(srv.got[1]) != udpRandomPayload {
		t.Errorf("server got % x", srv.got)
	}
}

func TestUDPReplyFaultFollowsKeepalived(t *testing.T) {
	for _, tc := range []struct {
		got, want, mask []byte
		min, max        int
		fault           string
	}{
		{[]byte{1, 2}, []byte{1, 2, 3}, nil, 0, 255, ""}, // compared up to the shorter
		{[]byte{1, 2, 3}, []byte{1}, nil, 0, 255, ""},
		{[]byte{0x1f}, []byte{0x10}, []byte{0x0f}, 0, 255, ""},
		{[]byte{0x2f}, []byte{0x10}, []byte{0x0f}, 0, 255, "reply mismatch"},
		{nil, []byte{1}, nil, 0, 255, ""},
		{nil, nil, nil, 1, 255, "reply of 0 octets"},
	} {
		if got := udpReplyFault(tc.got, tc.want, tc.mask, tc.min, tc.max); got != tc.fault {
			t.Errorf("% x against % x/% x: %q, want %q", tc.got, tc.want, tc.mask, got, tc.fault)
		}
	}
}
