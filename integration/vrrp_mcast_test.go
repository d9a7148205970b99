package integration

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/packet"
)

// advertHeaders records, per sender, the IPv4 destination and TTL of the
// VRRP adverts (protocol 112) seen on a lab link.
type advertHeaders struct {
	mu   sync.Mutex
	seen map[string]map[string]int // src -> "dst ttl N" -> count
	conn *packet.Conn
}

func newAdvertHeaders(t *testing.T, l *vrrpLab, name string) *advertHeaders {
	w := &advertHeaders{seen: map[string]map[string]int{}}
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
			if ip[9] != 112 {
				continue
			}
			src := net.IP(ip[12:16]).String()
			key := fmt.Sprintf("%s ttl %d", net.IP(ip[16:20]), ip[8])
			w.mu.Lock()
			if w.seen[src] == nil {
				w.seen[src] = map[string]int{}
			}
			w.seen[src][key]++
			w.mu.Unlock()
		}
	}()
	return w
}

// only returns the one destination-and-TTL src sent its adverts with, or
// a description of what it sent.
func (w *advertHeaders) only(src string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seen[src]) == 1 {
		for k := range w.seen[src] {
			return k
		}
	}
	return fmt.Sprint(w.seen[src])
}

// TestVRRPMulticastGroupAndUnicastTTLMixedPair: lvsd and keepalived
// agree on another advert group (mcast_dst_ip 224.0.0.19: both send there
// with TTL 255, and fail over both ways), then, unicast with unicast_ttl
// 64, both send to the peer with TTL 64 and fail over both ways.
func TestVRRPMulticastGroupAndUnicastTTLMixedPair(t *testing.T) {
	requireKeepalived(t)
	for _, tt := range []struct {
		name string
		body func(l *vrrpLab, self, peer string) string
		want func(l *vrrpLab, peer string) string
	}{
		{"mcast_dst_ip", func(*vrrpLab, string, string) string { return "    mcast_dst_ip 224.0.0.19\n" },
			func(*vrrpLab, string) string { return "224.0.0.19 ttl 255" }},
		{"unicast_ttl", func(l *vrrpLab, self, peer string) string {
			return fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n    unicast_ttl 64\n", l.addrOf(self), l.addrOf(peer))
		}, func(l *vrrpLab, peer string) string { return l.addrOf(peer) + " ttl 64" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // two labs side by side: half the time
			l := newVRRPLab(t)
			// Unicast adverts reach the client's port only while the
			// bridge floods them; A's and B's own links see them all.
			wireA := newAdvertHeaders(t, l, "A")
			a := &kaPeer{lab: l, name: "A", kind: "lvsd", priority: 150, body: tt.body(l, "A", "B")}
			b := &kaPeer{lab: l, name: "B", kind: "keepalived", priority: 100, body: tt.body(l, "B", "A")}
			b.start()
			expectHolder(t, b, a, "eth0", b.masterDownInterval()+3*time.Second)
			a.start()
			expectHolder(t, a, b, "eth0", a.masterDownInterval()+3*time.Second)
			time.Sleep(1200 * time.Millisecond)
			if got, want := wireA.only(l.addrOf("A")), tt.want(l, "B"); got != want {
				t.Errorf("lvsd's adverts: %s, want %s", got, want)
			}
			if got, want := wireA.only(l.addrOf("B")), tt.want(l, "A"); got != want {
				t.Errorf("keepalived's adverts: %s, want %s", got, want)
			}
			a.term()
			expectHolder(t, b, a, "eth0", b.masterDownInterval()+2*time.Second)
			a.start()
			expectHolder(t, a, b, "eth0", a.masterDownInterval()+3*time.Second)
		})
	}
}
