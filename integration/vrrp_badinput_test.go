package integration

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/vrrp"
	"golang.org/x/net/ipv4"
)

// TestVRRPWrongAuthPassIgnored: with a different auth_pass on each side,
// each node drops the other's adverts, so both become MASTER; lvsd logs
// why it dropped them.
func TestVRRPWrongAuthPassIgnored(t *testing.T) {
	peer := "keepalived"
	if !haveKeepalived() {
		peer = "lvsd"
	}
	l := newVRRPLab(t)
	a, b := l.speaker("A", "lvsd", 150), l.speaker("B", peer, 100)
	b.pass = "wrong"
	a.start()
	b.start()
	if !waitFor(b.masterDownInterval()+3*time.Second, func() bool { return a.holdsVIP() && b.holdsVIP() }) {
		t.Fatalf("want both MASTER: %v VIP %v, %v VIP %v", a, a.holdsVIP(), b, b.holdsVIP())
	}
	time.Sleep(1500 * time.Millisecond)
	if !a.holdsVIP() || !b.holdsVIP() {
		t.Fatalf("split brain did not last: %v VIP %v, %v VIP %v", a, a.holdsVIP(), b, b.holdsVIP())
	}
	if log := a.logText(); !strings.Contains(log, "reason=auth_pass") {
		t.Fatalf("%v did not log the auth_pass drop:\n%s", a, tail(log, 20))
	}
}

// craftedAdvert builds a VRRP payload for VRID 51 with PASS "secret",
// priority 254 (it would make the master step down if accepted), then
// lets mutate spoil it.
func craftedAdvert(t *testing.T, mutate func(a *vrrp.Advert), spoil func(b []byte) []byte) []byte {
	a := vrrp.Advert{VRID: 51, Priority: 254, AuthType: vrrp.AuthPassword, AdvertInt: 1,
		Addresses: []netip.Addr{netip.MustParseAddr(labVIP)}, Password: vrrp.PasswordOf("secret")}
	if mutate != nil {
		mutate(&a)
	}
	b, err := a.Marshal(vrrp.IPHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if spoil != nil {
		b = spoil(b)
	}
	return b
}

// recheck recomputes the VRRP checksum after a spoil (RFC 3768 §5.3.8).
func recheck(b []byte) []byte {
	b[6], b[7] = 0, 0
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[6:], ^uint16(sum))
	return b
}

// sender is a raw IP socket in a namespace that writes its own headers.
type sender struct {
	rc  *ipv4.RawConn
	src net.IP
}

func (l *vrrpLab) sender(name string) *sender {
	s := &sender{src: net.ParseIP(l.ip[name]).To4()}
	err := inNetns(l.ns[name], func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		if s.rc, err = ipv4.NewRawConn(pc); err != nil {
			return err
		}
		return s.rc.SetMulticastInterface(ifi)
	})
	if err != nil {
		l.t.Fatalf("raw socket in %s: %v", name, err)
	}
	l.root.Cleanup(func() { s.rc.Close() })
	return s
}

func (s *sender) send(t *testing.T, ttl int, payload []byte) {
	h := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TOS: 0xc0, TotalLen: ipv4.HeaderLen + len(payload),
		TTL: ttl, Protocol: vrrp.IPProtocol, Src: s.src, Dst: net.IP(vrrp.MulticastGroup.AsSlice())}
	if err := s.rc.WriteTo(h, payload, nil); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// TestVRRPCraftedPacketsChangeNothing sends malformed and foreign adverts
// from the client into a running lvsd pair: none changes a state, each is
// dropped with its named reason; a well-formed one then does take effect,
// which proves the bad ones reached the nodes.
func TestVRRPCraftedPacketsChangeNothing(t *testing.T) {
	l := newVRRPLab(t)
	a, b := startPair(t, l, "lvsd", "lvsd")
	tx := l.sender("C")
	cases := []struct {
		reason  string
		ttl     int
		payload []byte
	}{
		{"ttl", 64, craftedAdvert(t, nil, nil)},
		{"checksum", 255, craftedAdvert(t, nil, func(b []byte) []byte { b[7] ^= 0x55; return b })},
		{"version", 255, craftedAdvert(t, nil, func(b []byte) []byte { b[0] = 0x31; return recheck(b) })},
		{"type", 255, craftedAdvert(t, nil, func(b []byte) []byte { b[0] = 0x22; return recheck(b) })},
		{"vrid", 255, craftedAdvert(t, func(a *vrrp.Advert) { a.VRID = 52 }, nil)},
		{"auth_type", 255, craftedAdvert(t, func(a *vrrp.Advert) { a.AuthType = vrrp.AuthNone }, nil)},
		{"auth_pass", 255, craftedAdvert(t, func(a *vrrp.Advert) { a.Password = vrrp.PasswordOf("guess") }, nil)},
		{"advert_int", 255, craftedAdvert(t, func(a *vrrp.Advert) { a.AdvertInt = 3 }, nil)},
		{"length", 255, craftedAdvert(t, nil, func(b []byte) []byte { return b[:11] })},
		{"length", 255, craftedAdvert(t, nil, func(b []byte) []byte { b[3] = 200; return recheck(b) })},
	}
	for round := 0; round < 3; round++ {
		for _, c := range cases {
			tx.send(t, c.ttl, c.payload)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	for _, n := range []*speaker{a, b} {
		log := n.logText()
		if strings.Count(log, "VRRP state change") != map[string]int{"A": 2, "B": 1}[n.name] {
			t.Errorf("%v changed state on crafted packets:\n%s", n, tail(log, 20))
		}
		for _, c := range cases {
			if !strings.Contains(log, "reason="+c.reason) {
				t.Errorf("%v did not log a %q drop", n, c.reason)
			}
		}
	}
	expectMaster(t, a, b, time.Second)
	// A well-formed advert of priority 254 makes the master step down.
	tx.send(t, 255, craftedAdvert(t, nil, nil))
	if !waitFor(2*time.Second, func() bool { return !a.holdsVIP() }) {
		t.Fatalf("a valid priority-254 advert from the client did not reach %v:\n%s", a, tail(a.logText(), 10))
	}
}
