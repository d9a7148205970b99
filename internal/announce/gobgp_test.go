package announce

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/lvsd/lvsd/hcl"
)

// routerAddr is the loopback address the test's router (a second gobgp)
// listens on, port 179 as a router's.
const routerAddr = "127.0.0.2"

// startRouter runs a gobgp router on 127.0.0.2:179 in AS 65000 peering
// with 127.0.0.1 (AS 65001), which imports everything and announces
// 198.51.100.0/24 to lvsd; it skips when port 179 is not ours to take.
func startRouter(t *testing.T) *server.BgpServer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to listen on port 179")
	}
	ln, err := net.Listen("tcp", routerAddr+":179")
	if err != nil {
		t.Skipf("port 179 on %s: %v", routerAddr, err)
	}
	ln.Close()
	r := server.NewBgpServer()
	go r.Serve()
	t.Cleanup(r.Stop)
	ctx := context.Background()
	if err := r.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{Asn: 65000, RouterId: routerAddr, ListenPort: 179, ListenAddresses: []string{routerAddr}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: "127.0.0.1", PeerAsn: 65001},
		Transport: &api.Transport{LocalAddress: routerAddr, PassiveMode: true},
		Timers:    &api.Timers{Config: &api.TimersConfig{HoldTime: 9, KeepaliveInterval: 3}},
	}}); err != nil {
		t.Fatal(err)
	}
	nlri, _ := bgp.NewIPAddrPrefix(netip.MustParsePrefix("198.51.100.0/24"))
	nh, _ := bgp.NewPathAttributeNextHop(netip.MustParseAddr(routerAddr))
	if _, err := r.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{{Family: bgp.RF_IPv4_UC, Nlri: nlri,
		Attrs: []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(0), nh}}}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// routes returns the prefixes in s's global RIB with their paths.
func routes(t *testing.T, s *server.BgpServer) map[string]*apiutil.Path {
	t.Helper()
	out := map[string]*apiutil.Path{}
	err := s.ListPath(apiutil.ListPathRequest{TableType: api.TableType_TABLE_TYPE_GLOBAL, Family: bgp.RF_IPv4_UC}, func(prefix bgp.NLRI, paths []*apiutil.Path) {
		if len(paths) > 0 {
			out[prefix.String()] = paths[0]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGoBGPAnnouncesWithdrawsAndImportsNothing: the speaker's route reaches
// a router with the block's MED and communities and the session's address
// as next hop, the router's own route is received and rejected, and a
// withdrawal and Stop take the route away.
func TestGoBGPAnnouncesWithdrawsAndImportsNothing(t *testing.T) {
	router := startRouter(t)
	sp := NewGoBGP(slog.New(slog.DiscardHandler)).(*gobgpSpeaker)
	ctx := context.Background()
	cfg := &hcl.Announce{Protocol: hcl.AnnounceBGP, LocalAS: 65001, RouterID: netip.MustParseAddr("10.9.0.2"),
		Communities: []uint32{65000<<16 | 100}, MED: 50, HasMED: true,
		Neighbors: []hcl.BGPNeighbor{{Addr: netip.MustParseAddr(routerAddr), RemoteAS: 65000, HoldTime: 9 * time.Second, Keepalive: 3 * time.Second}}}
	if err := sp.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer sp.Stop()
	vip := netip.MustParsePrefix("192.0.2.100/32")
	if err := sp.Announce(ctx, vip); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the router to learn the VIP", func() bool { return routes(t, router)[vip.String()] != nil })
	p := routes(t, router)[vip.String()]
	var med uint32
	var communities []uint32
	var nexthop netip.Addr
	for _, a := range p.Attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeMultiExitDisc:
			med = a.Value
		case *bgp.PathAttributeCommunities:
			communities = a.Value
		case *bgp.PathAttributeNextHop:
			nexthop = a.Value
		}
	}
	if med != 50 || len(communities) != 1 || communities[0] != 65000<<16|100 || nexthop != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("route attributes: MED %d, communities %x, next hop %v", med, communities, nexthop)
	}

	eventually(t, "the router's route to arrive", func() bool {
		peers := sp.Peers(ctx)
		return len(peers) == 1 && peers[0].State == "established" && peers[0].Received == 1
	})
	if got := routes(t, sp.server()); got["198.51.100.0/24"] != nil || len(got) != 1 {
		t.Errorf("the speaker's RIB holds %v: a neighbor's route was imported", got)
	}

	if err := sp.Withdraw(ctx, vip); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the router to forget the VIP", func() bool { return routes(t, router)[vip.String()] == nil })

	if err := sp.Announce(ctx, vip); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the router to learn the VIP again", func() bool { return routes(t, router)[vip.String()] != nil })
	sp.Stop()
	eventually(t, "the router to forget the VIP once the speaker stopped", func() bool { return routes(t, router)[vip.String()] == nil })
}
