package lvs

import (
	"net/netip"
	"strings"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// VerdictKey names one real server of one virtual service.
type VerdictKey struct {
	Service string // hcl.VirtualServer.Key()
	Real    netip.AddrPort
}

// Verdict is the health of a real server as the checkers see it.
type Verdict struct {
	Up bool
	// Weight is the weight to program while up; -1 means the configured
	// weight (MISC_CHECK misc_dynamic sets others).
	Weight int
	Reason string
}

// State is everything the desired table is a function of.
type State struct {
	Config *hcl.Config
	// Active holds the mastership of each VRRP instance. An instance that
	// is absent has not been decided yet: the services it owns are held
	// (neither programmed nor withdrawn), so a restart drops nothing.
	Active map[string]bool
	// Verdicts are the latest health verdicts. A real server without one
	// starts up, or down when one of its checkers has alpha set
	// (keepalived's alpha mode; hcl resolved each checker's alpha from the
	// nearest block that sets it).
	Verdicts map[VerdictKey]Verdict
	// QuorumUp is each service's quorum state after the previous pass,
	// by service key; a service absent from it starts with quorum up when
	// its live weight is at least quorum + hysteresis (keepalived's
	// set_quorum_states).
	QuorumUp map[string]bool

	// table, when set, holds the verdicts instead of Verdicts (the
	// Manager's, verdicts.go).
	table verdictTable
}

// Desired is the outcome of Desire: the table to program and what lvsd
// owns.
type Desired struct {
	// Table holds the services to program, in canonical order.
	Table Table
	// Owned holds the key of every configured service, programmed or
	// withdrawn; anything else in the kernel is foreign.
	Owned map[string]bool
	// Held holds the keys of services whose VRRP instance is undecided:
	// they are left exactly as found.
	Held map[string]bool
	// Quorum holds each configured service's quorum state and live weight.
	Quorum map[string]QuorumState
}

// QuorumState is the quorum bookkeeping of one virtual service.
type QuorumState struct {
	Up          bool
	LiveWeight  int  // sum of the weights of the real servers that are up
	SorryActive bool // the sorry server stands in for the real servers
}

// owns reports whether the diff may change the service with this key.
func (d *Desired) owns(key string) bool { return d.Owned[key] && !d.Held[key] }

// Desire computes the desired table. It is pure: same state, same result.
func Desire(st State) Desired {
	d := Desired{
		Owned:  map[string]bool{},
		Held:   map[string]bool{},
		Quorum: map[string]QuorumState{},
	}
	if st.Config == nil {
		return d
	}
	always := st.Config.Global.LVSProgram == hcl.LVSProgramAlways
	for i := range st.Config.VirtualServers {
		vs := &st.Config.VirtualServers[i]
		key := vs.Key()
		if d.Owned[key] {
			continue // validation rejects duplicates; first one wins
		}
		d.Owned[key] = true
		svc, q := desiredService(vs, verdictLookup{st.Verdicts, st.table}, st.QuorumUp)
		d.Quorum[key] = q
		switch active, decided := st.Active[vs.VRRPInstance]; {
		case always || vs.VRRPInstance == "" || active:
			d.Table = append(d.Table, svc)
		case !decided:
			d.Held[key] = true
		}
	}
	d.Table.Sort()
	return d
}

// realServerHealth returns whether a real server is up and the weight it
// carries when up.
func realServerHealth(key string, rs *hcl.RealServer, verdicts verdictLookup) (bool, int) {
	v, ok := verdicts.get(key, rs.Addr)
	if !ok {
		// keepalived: a checker without alpha starts alive, one with
		// alpha starts failed, and a real server is up while every
		// checker is. A real server with no checker is never failed.
		for _, c := range rs.Checkers {
			if c.Alpha {
				return false, rs.Weight
			}
		}
		return true, rs.Weight
	}
	if v.Weight < 0 {
		return v.Up, rs.Weight
	}
	return v.Up, v.Weight
}

// nextQuorum applies keepalived's hysteresis (check/ipwrapper.c
// update_quorum_state): quorum is gained when the live weight reaches
// quorum + hysteresis and lost when it falls to zero or below
// quorum - hysteresis.
func nextQuorum(prev, seen bool, live, quorum, hysteresis int) bool {
	switch {
	case !seen:
		return live > 0 && live >= quorum+hysteresis
	case prev:
		return !(live == 0 || live < quorum-hysteresis)
	default:
		return live >= quorum+hysteresis
	}
}

func desiredService(vs *hcl.VirtualServer, verdicts verdictLookup, quorumUp map[string]bool) (Service, QuorumState) {
	svc := serviceFromConfig(vs)
	key := svc.Key()
	type real struct {
		rs     *hcl.RealServer
		up     bool
		weight int
	}
	var small [64]real
	reals := small[:0]
	live := 0
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		up, w := realServerHealth(key, rs, verdicts)
		reals = append(reals, real{rs, up, w})
		if up {
			live += w
		}
	}
	svc.Destinations = make([]Destination, 0, len(reals)+1)
	prev, seen := quorumUp[key]
	q := QuorumState{LiveWeight: live, Up: nextQuorum(prev, seen, live, vs.Quorum, vs.Hysteresis)}
	q.SorryActive = !q.Up && vs.SorryServer != nil

	for _, r := range reals {
		dst := Destination{
			Addr:           r.rs.Addr,
			Forward:        forwardOf(r.rs.LBKind), // the service's unless lvs_method says
			Tunnel:         tunnelOf(r.rs.Tunnel),
			Weight:         r.weight,
			UpperThreshold: r.rs.UThreshold,
			LowerThreshold: r.rs.LThreshold,
		}
		switch {
		case q.SorryActive && r.rs.InhibitOnFailure:
			// keepalived removes the live real servers while the sorry
			// server serves; an inhibited one stays with weight 0.
			dst.Weight = 0
		case q.SorryActive:
			continue
		case r.up:
		case r.rs.InhibitOnFailure:
			// ldirectord's quiescent: keep it, take no new connections.
			dst.Weight = 0
		default:
			continue
		}
		svc.Destinations = append(svc.Destinations, dst)
	}
	if ss := vs.SorryServer; q.SorryActive || ss != nil && ss.Inhibit {
		sorry := Destination{Addr: ss.Addr, Forward: forwardOf(ss.LBKind), Tunnel: tunnelOf(ss.Tunnel), Weight: 1}
		if !q.SorryActive {
			// sorry_server_inhibit: keepalived adds it at start and
			// "disables" it (weight 0) when quorum is regained; one that
			// is also a real server is left to the real server.
			sorry.Weight = 0
		}
		replaced := false
		for i := range svc.Destinations {
			if svc.Destinations[i].Addr == sorry.Addr {
				if q.SorryActive {
					svc.Destinations[i] = sorry
				}
				replaced = true
			}
		}
		if !replaced {
			svc.Destinations = append(svc.Destinations, sorry)
		}
	}
	sortDestinations(svc.Destinations)
	return svc, q
}

// serviceFromConfig returns the virtual service of vs without destinations.
// Its names are strings of their own (ownName): the Manager keeps the
// services it wrote as its view of the kernel for as long as it runs.
func serviceFromConfig(vs *hcl.VirtualServer) Service {
	svc := Service{Scheduler: ownName(vs.LBAlgo)}
	if vs.FWMark != 0 {
		svc.FWMark = vs.FWMark
		svc.IPv6 = vs.IPv6
	} else {
		svc.Protocol = ownName(vs.Protocol)
		svc.Addr = netip.AddrPortFrom(vs.Addr.Addr().Unmap(), vs.Addr.Port())
		svc.IPv6 = svc.Addr.Addr().Is6()
	}
	if vs.PersistenceTimeout > 0 {
		svc.Flags |= FlagPersistent
		svc.Timeout = uint32((vs.PersistenceTimeout + time.Second - 1) / time.Second)
	}
	if vs.OnePacket {
		svc.Flags |= FlagOnePacket
	}
	for _, f := range vs.SchedulerFlags {
		switch f {
		case "sh-fallback", "mh-fallback", "flag-1":
			svc.Flags |= FlagSched1
		case "sh-port", "mh-port", "flag-2":
			svc.Flags |= FlagSched2
		case "flag-3":
			svc.Flags |= FlagSched3
		}
	}
	svc.Netmask = vs.PersistenceGranularity
	svc.PEName = ownName(vs.PersistenceEngine)
	return svc
}

// ownName returns a protocol, scheduler or persistence engine name as a
// string that is part of no other: the program's own constant for the
// names IPVS has, else a copy. A model's strings may be slices of the
// whole text of the file it was read from (the keepalived.conf reader's
// words are), and `lvsd run` compacts its model only once the first table
// is written (cmd/lvsd retain.go): a name kept from before would keep
// the file's text alive in the Manager's view.
func ownName(s string) string {
	switch s {
	case "":
		return ""
	case "TCP":
		return "TCP"
	case "UDP":
		return "UDP"
	case "SCTP":
		return "SCTP"
	case "rr":
		return "rr"
	case "wrr":
		return "wrr"
	case "lc":
		return "lc"
	case "wlc":
		return "wlc"
	case "lblc":
		return "lblc"
	case "lblcr":
		return "lblcr"
	case "dh":
		return "dh"
	case "sh":
		return "sh"
	case "sed":
		return "sed"
	case "nq":
		return "nq"
	case "fo":
		return "fo"
	case "ovf":
		return "ovf"
	case "mh":
		return "mh"
	case "sip":
		return "sip"
	}
	return strings.Clone(s)
}

func forwardOf(kind string) Forward {
	switch kind {
	case hcl.KindDR:
		return ForwardRoute
	case hcl.KindTUN:
		return ForwardTunnel
	}
	return ForwardMasq
}
