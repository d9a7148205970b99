package integration

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
)

// ahWire counts, per sender, the VRRP adverts seen in IPsec AH (IP
// protocol 51, next header 112) and plainly (protocol 112).
type ahWire struct {
	mu       sync.Mutex
	ah, bare map[string]int
	lastSeq  map[string]uint32
	conn     *packet.Conn
}

func newAHWire(t *testing.T, l *vrrpLab, name string) *ahWire {
	w := &ahWire{ah: map[string]int{}, bare: map[string]int{}, lastSeq: map[string]uint32{}}
	err := inNetns(l.ns[name], func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		// ETH_P_ALL: a tap sees what the node sends, too.
		w.conn, err = packet.Listen(ifi, packet.Raw, 0x0003, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := w.conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 34 || buf[12] != 0x08 || buf[13] != 0x00 {
				continue
			}
			ip := buf[14:n]
			ihl := int(ip[0]&0x0f) * 4
			src := net.IP(ip[12:16]).String()
			w.mu.Lock()
			switch {
			case ip[9] == 51 && len(ip) >= ihl+12 && ip[ihl] == 112:
				w.ah[src]++
				w.lastSeq[src] = binary.BigEndian.Uint32(ip[ihl+8 : ihl+12])
			case ip[9] == 112:
				w.bare[src]++
			}
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *ahWire) counts(src string) (ah, bare int, seq uint32) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ah[src], w.bare[src], w.lastSeq[src]
}

// TestVRRPAHMixedPair: keepalived (priority 100) and lvsd (150) with
// auth_type AH and one auth_pass, by multicast and by unicast (where the
// TTL is left out of the ICV). keepalived takes the VIP first; lvsd
// accepts its adverts and preempts with the next sequence number, which
// keepalived accepts; lvsd stops and keepalived takes over; lvsd, started
// afresh (its sequence number at 0), learns keepalived's and preempts
// again. Every advert on the wire is in AH, and neither daemon drops one
// of the other's (a wrong ICV or a replayed sequence number would be
// logged by both).
func TestVRRPAHMixedPair(t *testing.T) {
	requireKeepalived(t)
	for _, unicast := range []bool{false, true} {
		t.Run(map[bool]string{false: "multicast", true: "unicast"}[unicast], func(t *testing.T) {
			t.Parallel() // two labs side by side
			ahMixedPair(t, unicast)
		})
	}
}

func ahMixedPair(t *testing.T, unicast bool) {
	l := newVRRPLab(t)
	// A's own link sees what it sends and what reaches it, unicast too.
	wire := newAHWire(t, l, "A")
	body := func(self, peer string) string {
		b := "    authentication {\n        auth_type AH\n        auth_pass secret12\n    }\n"
		if unicast {
			b += fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", l.addrOf(self), l.addrOf(peer))
		}
		return b
	}
	a := &kaPeer{lab: l, name: "A", kind: "lvsd", priority: 150, body: body("A", "B")}
	b := &kaPeer{lab: l, name: "B", kind: "keepalived", priority: 100, body: body("B", "A")}
	b.start()
	expectHolder(t, b, a, "eth0", b.masterDownInterval()+3*time.Second)
	a.start()
	expectHolder(t, a, b, "eth0", a.masterDownInterval()+3*time.Second)
	time.Sleep(1500 * time.Millisecond) // adverts of the new master
	ahA, bareA, seqA := wire.counts(l.addrOf("A"))
	ahB, bareB, seqB := wire.counts(l.addrOf("B"))
	t.Logf("on the wire: lvsd %d AH adverts (last seq %d), keepalived %d (last seq %d)", ahA, seqA, ahB, seqB)
	if ahA == 0 || ahB == 0 || bareA+bareB != 0 {
		t.Errorf("adverts in AH: lvsd %d, keepalived %d; plain: lvsd %d, keepalived %d", ahA, ahB, bareA, bareB)
	}
	if seqA <= seqB {
		t.Errorf("lvsd's sequence number %d does not continue keepalived's %d", seqA, seqB)
	}

	a.term()
	expectHolder(t, b, a, "eth0", b.masterDownInterval()+2*time.Second)

	a.start()
	expectHolder(t, a, b, "eth0", a.masterDownInterval()+3*time.Second)
	time.Sleep(1500 * time.Millisecond)
	if _, _, seq := wire.counts(l.addrOf("A")); seq <= seqA {
		t.Errorf("lvsd restarted sends sequence number %d, not above the pair's %d", seq, seqA)
	}
	for _, c := range []struct {
		d    *kaPeer
		bad  []string
		what string
	}{
		{a, []string{"dropped VRRP packet"}, "lvsd"},
		{b, []string{"IPSEC-AH : invalid", "already processed", "received an invalid"}, "keepalived"},
	} {
		log := c.d.p.logText()
		for _, bad := range c.bad {
			if strings.Contains(log, bad) {
				t.Errorf("%s logged %q:\n%s", c.what, bad, tail(log, 15))
			}
		}
	}
}
