package announce

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"

	api "github.com/osrg/gobgp/v4/api"
	"github.com/osrg/gobgp/v4/pkg/apiutil"
	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
	"github.com/osrg/gobgp/v4/pkg/server"

	"github.com/lvsd/lvsd/hcl"
)

// gobgpSpeaker is the Speaker of an embedded gobgp server.
type gobgpSpeaker struct {
	log *slog.Logger

	mu     sync.Mutex
	srv    *server.BgpServer
	cfg    *hcl.Announce
	served chan struct{}
}

// NewGoBGP returns the Speaker of an embedded gobgp server (logging to
// log at warning level and above).
func NewGoBGP(log *slog.Logger) Speaker {
	return &gobgpSpeaker{log: log}
}

// Start starts gobgp with the block's AS and router id, without a
// listener (lvsd connects out), a global import policy that rejects every
// route (announce only), and one peer per neighbor.
func (g *gobgpSpeaker) Start(ctx context.Context, cfg *hcl.Announce) error {
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	srv := server.NewBgpServer(server.LoggerOption(g.log, level))
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve()
	}()
	g.mu.Lock()
	g.srv, g.cfg, g.served = srv, cfg, served
	g.mu.Unlock()
	if err := srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        cfg.LocalAS,
		RouterId:   cfg.RouterID.String(),
		ListenPort: -1, // no listener: every session is opened from here
	}}); err != nil {
		g.Stop()
		return fmt.Errorf("starting BGP: %w", err)
	}
	// gobgp's global import policy also sees the paths lvsd adds: accept
	// those (route type local), reject whatever a neighbor sends.
	if err := srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{
		Name: announceOnlyPolicy,
		Statements: []*api.Statement{{
			Name:       announceOnlyPolicy + "-local",
			Conditions: &api.Conditions{RouteType: api.Conditions_ROUTE_TYPE_LOCAL},
			Actions:    &api.Actions{RouteAction: api.RouteAction_ROUTE_ACTION_ACCEPT},
		}},
	}}); err != nil {
		g.Stop()
		return fmt.Errorf("BGP import policy: %w", err)
	}
	if err := srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name:          "global",
		Direction:     api.PolicyDirection_POLICY_DIRECTION_IMPORT,
		Policies:      []*api.Policy{{Name: announceOnlyPolicy}},
		DefaultAction: api.RouteAction_ROUTE_ACTION_REJECT,
	}}); err != nil {
		g.Stop()
		return fmt.Errorf("BGP import policy: %w", err)
	}
	for _, n := range cfg.Neighbors {
		if err := srv.AddPeer(ctx, &api.AddPeerRequest{Peer: peerOf(cfg, n)}); err != nil {
			g.Stop()
			return fmt.Errorf("BGP neighbor %s: %w", n.Addr, err)
		}
	}
	return nil
}

// peerOf is the gobgp peer of one neighbor block: its own address family
// only (an IPv6 VIP is announced over an IPv6 session, with that session's
// address as next hop).
func peerOf(cfg *hcl.Announce, n hcl.BGPNeighbor) *api.Peer {
	family := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	if n.Addr.Is6() {
		family = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
	}
	p := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: n.Addr.String(),
			PeerAsn:         n.RemoteAS,
			LocalAsn:        cfg.LocalAS,
			AuthPassword:    n.Password,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime:          uint64(n.HoldTime.Seconds()),
			KeepaliveInterval: uint64(n.Keepalive.Seconds()),
			ConnectRetry:      connectRetrySeconds,
		}},
		AfiSafis: []*api.AfiSafi{{Config: &api.AfiSafiConfig{Family: family, Enabled: true}}},
	}
	if n.BFD {
		p.Bfd = &api.BfdPeerConfig{
			Enabled:                  true,
			DesiredMinimumTxInterval: uint32(n.BFDMinTx.Microseconds()),
			RequiredMinimumReceive:   uint32(n.BFDMinRx.Microseconds()),
			DetectionMultiplier:      n.BFDMultiplier,
		}
	}
	return p
}

// announceOnlyPolicy names the global import policy: lvsd's own routes
// only.
const announceOnlyPolicy = "lvsd-announce-only"

// connectRetrySeconds is how soon a session that failed is tried again
// (gobgp's default is 120 s; a director that comes back should serve soon).
const connectRetrySeconds = 5

func (g *gobgpSpeaker) server() *server.BgpServer {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.srv
}

func (g *gobgpSpeaker) path(prefix netip.Prefix, withdraw bool) (*apiutil.Path, error) {
	nlri, err := bgp.NewIPAddrPrefix(prefix)
	if err != nil {
		return nil, err
	}
	family := bgp.RF_IPv4_UC
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	if prefix.Addr().Is4() {
		// 0.0.0.0: gobgp sends the session's local address.
		nh, err := bgp.NewPathAttributeNextHop(netip.IPv4Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, nh)
	} else {
		family = bgp.RF_IPv6_UC
		mp, err := bgp.NewPathAttributeMpReachNLRI(family, []bgp.PathNLRI{{NLRI: nlri}}, netip.IPv6Unspecified())
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, mp)
	}
	g.mu.Lock()
	cfg := g.cfg
	g.mu.Unlock()
	if cfg != nil && cfg.HasMED {
		attrs = append(attrs, bgp.NewPathAttributeMultiExitDisc(cfg.MED))
	}
	if cfg != nil && len(cfg.Communities) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(cfg.Communities))
	}
	return &apiutil.Path{Family: family, Nlri: nlri, Attrs: attrs, Withdrawal: withdraw}, nil
}

func (g *gobgpSpeaker) Announce(_ context.Context, prefix netip.Prefix) error {
	srv := g.server()
	if srv == nil {
		return fmt.Errorf("BGP not started")
	}
	p, err := g.path(prefix, false)
	if err != nil {
		return fmt.Errorf("announcing %s: %w", prefix, err)
	}
	if _, err := srv.AddPath(apiutil.AddPathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("announcing %s: %w", prefix, err)
	}
	return nil
}

func (g *gobgpSpeaker) Withdraw(_ context.Context, prefix netip.Prefix) error {
	srv := g.server()
	if srv == nil {
		return fmt.Errorf("BGP not started")
	}
	p, err := g.path(prefix, true)
	if err != nil {
		return fmt.Errorf("withdrawing %s: %w", prefix, err)
	}
	if err := srv.DeletePath(apiutil.DeletePathRequest{Paths: []*apiutil.Path{p}}); err != nil {
		return fmt.Errorf("withdrawing %s: %w", prefix, err)
	}
	return nil
}

func (g *gobgpSpeaker) Peers(ctx context.Context) []PeerStatus {
	srv := g.server()
	if srv == nil {
		return nil
	}
	var out []PeerStatus
	_ = srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		if p.State == nil {
			return
		}
		addr, _ := netip.ParseAddr(p.State.NeighborAddress)
		state := strings.ToLower(strings.TrimPrefix(p.State.SessionState.String(), "SESSION_STATE_"))
		ps := PeerStatus{Addr: addr, RemoteAS: p.State.PeerAsn, State: state}
		for _, af := range p.AfiSafis {
			if af.State != nil {
				ps.Received += af.State.Received
				ps.Advertised += af.State.Advertised
			}
		}
		out = append(out, ps)
	})
	return out
}

// Stop stops the sessions (a Cease NOTIFICATION to each established
// neighbor, RFC 4271 section 6.7) and the server.
func (g *gobgpSpeaker) Stop() {
	g.mu.Lock()
	srv, served := g.srv, g.served
	g.srv = nil
	g.mu.Unlock()
	if srv == nil {
		return
	}
	if err := srv.StopBgp(context.Background(), &api.StopBgpRequest{}); err != nil {
		g.log.Warn("stopping BGP", "err", err)
	}
	srv.Stop()
	<-served
}
