package checks

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// pingProber is PING_CHECK (keepalived's check_ping.c): one ICMP echo
// request (IPv4, or ICMPv6 for an IPv6 target) per attempt; the check
// passes on its echo reply before the deadline.
type pingProber struct {
	endpoint Endpoint
	timeout  time.Duration
	id       uint16 // echo identifier on a raw socket (the kernel sets it on a datagram one)
	seq      atomic.Uint32
}

// pingPayload is the echo's data size (keepalived's ICMP_BUFSIZE).
const pingPayload = 128

func newPingProber(ep Endpoint, timeout time.Duration) *pingProber {
	return &pingProber{endpoint: ep, timeout: timeout, id: uint16(rand.N(1 << 16))}
}

func (p *pingProber) probe(ctx context.Context) Result {
	dst := p.endpoint.Addr.Addr().Unmap()
	conn, raw, err := listenICMP(p.endpoint, dst.Is6())
	if err != nil {
		return failure(ctx, p.timeout, "socket", err)
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	seq := int(uint16(p.seq.Add(1)))
	echo, err := pingEcho(dst.Is6(), int(p.id), seq)
	if err != nil {
		return Result{Weight: -1, Reason: "echo: " + err.Error()}
	}
	var to net.Addr = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if raw {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := conn.WriteTo(echo, to); err != nil {
		return pingFailure(ctx, p.timeout, "send", err)
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if timedOut(ctx, err) {
				return Result{Weight: -1, Reason: "no echo reply"}
			}
			return pingFailure(ctx, p.timeout, "receive", err)
		}
		if r, done := pingVerdict(buf[:n], dst, addrOf(from), raw, int(p.id), seq); done {
			return r
		}
	}
}

// pingEcho builds an echo request; the kernel computes the ICMPv6
// checksum (RFC 3542 §3.1), Marshal the ICMPv4 one.
func pingEcho(v6 bool, id, seq int) ([]byte, error) {
	data := make([]byte, pingPayload)
	for i := range data {
		data[i] = byte(i)
	}
	m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	if v6 {
		m.Type = ipv6.ICMPTypeEchoRequest
	}
	return m.Marshal(nil)
}

// pingVerdict reads one ICMP message: done is false when it is not about
// this echo (another echo, a request seen on a raw socket, another
// sender), which is then ignored. A datagram ICMP socket gets only the
// replies to its own identifier, which the kernel chose; a raw one gets
// every ICMP message and matches identifier and source itself.
func pingVerdict(msg []byte, dst, from netip.Addr, raw bool, id, seq int) (r Result, done bool) {
	proto := 1 // IANA protocol numbers: ICMP, IPv6-ICMP
	if dst.Is6() {
		proto = 58
	}
	m, err := icmp.ParseMessage(proto, msg)
	if err != nil {
		return Result{}, false
	}
	switch m.Type {
	case ipv4.ICMPTypeEchoReply, ipv6.ICMPTypeEchoReply:
		echo, ok := m.Body.(*icmp.Echo)
		if !ok || echo.Seq != seq || (raw && (echo.ID != id || from != dst)) {
			return Result{}, false
		}
		return Result{OK: true, Weight: -1, Reason: "echo reply"}, true
	case ipv4.ICMPTypeDestinationUnreachable, ipv6.ICMPTypeDestinationUnreachable:
		// On a raw socket: only when it is about our echo (the quoted
		// datagram went to dst); a datagram socket reports it as an error.
		if raw && !quotesEchoTo(m, dst, id, seq) {
			return Result{}, false
		}
		return Result{Weight: -1, Reason: "ICMP destination unreachable"}, true
	}
	return Result{}, false
}

// quotesEchoTo reports whether a destination-unreachable message quotes
// our echo request to dst (RFC 792, RFC 4443 §3.1: the invoking packet).
func quotesEchoTo(m *icmp.Message, dst netip.Addr, id, seq int) bool {
	du, ok := m.Body.(*icmp.DstUnreach)
	if !ok {
		return false
	}
	quoted := du.Data
	var payload []byte
	proto := 1
	if dst.Is6() {
		if len(quoted) < ipv6.HeaderLen {
			return false
		}
		h, err := ipv6.ParseHeader(quoted)
		if err != nil || netip.AddrFrom16([16]byte(h.Dst.To16())) != dst {
			return false
		}
		payload, proto = quoted[ipv6.HeaderLen:], 58
	} else {
		h, err := icmp.ParseIPv4Header(quoted)
		if err != nil || h.Len > len(quoted) {
			return false
		}
		d, ok := netip.AddrFromSlice(h.Dst.To4())
		if !ok || d != dst {
			return false
		}
		payload = quoted[h.Len:]
	}
	if len(payload) < 8 {
		return false
	}
	// The quote may be cut short: read the echo header by hand from its
	// first 8 octets (type, code, checksum, identifier, sequence).
	want := 8
	if proto == 58 {
		want = 128
	}
	return int(payload[0]) == want && int(payload[4])<<8|int(payload[5]) == id && int(payload[6])<<8|int(payload[7]) == seq
}

// pingFailure names the errors an ICMP socket reports.
func pingFailure(ctx context.Context, budget time.Duration, what string, err error) Result {
	switch {
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Result{Weight: -1, Reason: "host unreachable"}
	case errors.Is(err, syscall.ENETUNREACH):
		return Result{Weight: -1, Reason: "network unreachable"}
	}
	return failure(ctx, budget, what, err)
}

func addrOf(a net.Addr) netip.Addr {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	default:
		return netip.Addr{}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}
