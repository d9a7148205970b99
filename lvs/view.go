package lvs

import (
	"net/netip"
	"slices"
)

// lvsd's view of the kernel (Manager.cache) in the form it is kept in
// between passes: every service lvsd read or wrote, each real server
// without the counters that the kernel moves by itself and nothing
// compares (viewDest: 64 bytes, a Destination's 120). On the checks
// benchmark's table (2,326 real servers) the view held 0.28 MB of the
// steady heap as Destinations, 0.15 MB so; docs/benchmarks.md, "Session
// 10, lvs's heap". The counters a status shows come from its own read.
//
// A read's real servers go into the view in one slab (viewOf), and so do
// a write's (Manager.applyOps records the services it wrote as views):
// that copy is the view's price on the write path, which in a takeover
// runs between the IPVS write and the VIPs. For a write of the 2,000 x 16
// table, after the kernel's part: 3.1 MB and 2,032 allocations, 5.5-7.6
// ms at GOGC=25 on the host, against 1.1 MB, 36,030 and 4.5-5.0 ms when
// the view held the written Services themselves (1b6618a), and 4.8 MB,
// 74,059 and 9.9-12.4 ms with a view made per service
// (BenchmarkWriteRecordsItsViews, host load 4.8-5.1). A slab stays whole
// while any of its services is in the view: after later writes to some
// of them the view holds their old real servers beside the new ones, up
// to twice its size.

// viewService is a service as lvsd's view of the kernel holds it: its
// Destinations are nil, its real servers are dests, in the same order.
// A viewService is never changed in place once in the view (the view's
// entries are replaced), so copies share dests.
type viewService struct {
	Service
	dests []viewDest
}

// viewDest is a Destination without its counters (ActiveConns,
// InactiveConns, Stats).
type viewDest struct {
	addr     netip.AddrPort
	weight   int
	forward  Forward
	upper    uint32
	lower    uint32
	position int32
	tunnel   Tunnel
}

func viewDestOf(d *Destination) viewDest {
	return viewDest{addr: d.Addr, weight: d.Weight, forward: d.Forward, upper: d.UpperThreshold,
		lower: d.LowerThreshold, position: int32(d.Position), tunnel: d.Tunnel}
}

func (v *viewDest) destination() Destination {
	return Destination{Addr: v.addr, Weight: v.weight, Forward: v.forward, UpperThreshold: v.upper,
		LowerThreshold: v.lower, Position: int(v.position), Tunnel: v.tunnel}
}

// viewServiceOf is s as the view keeps it, its real servers in slab
// (grown when short).
func viewServiceOf(s *Service, slab *[]viewDest) viewService {
	v := viewService{Service: *s}
	v.Destinations = nil
	if len(s.Destinations) == 0 {
		return v
	}
	if cap(*slab)-len(*slab) < len(s.Destinations) {
		*slab = make([]viewDest, 0, len(s.Destinations))
	}
	start := len(*slab)
	for i := range s.Destinations {
		*slab = append(*slab, viewDestOf(&s.Destinations[i]))
	}
	v.dests = (*slab)[start:len(*slab):len(*slab)]
	return v
}

// toView is s as the view keeps it.
func toView(s *Service) viewService {
	var slab []viewDest
	return viewServiceOf(s, &slab)
}

// service is v as a Service (counters zero), with Destinations of its
// own, for a diff.
func (v *viewService) service() Service {
	s := v.Service
	s.Destinations = nil
	if len(v.dests) > 0 {
		s.Destinations = make([]Destination, len(v.dests))
		for i := range v.dests {
			s.Destinations[i] = v.dests[i].destination()
		}
	}
	return s
}

// sameKernelState reports whether v and o hold the kernel in exactly the
// same state: every field of the service and of each real server, in the
// same order (the dump order, position, included), but the counters.
// It is stricter than what diff compares, so two services it calls the
// same need no operation. The periodic repair diffs only the services
// whose read is not the same as lvsd's view of them.
func (v *viewService) sameKernelState(o *viewService) bool {
	return sameServiceState(&v.Service, &o.Service) && slices.Equal(v.dests, o.dests)
}

// readAs reports whether s, a service as read, holds the kernel in
// exactly the state v does: sameKernelState(toView(s)) without making the
// view, which a steady repair pass would make for each of the hundred
// services it reads (0.2 MB a pass on the 2,000 x 16 table).
func (v *viewService) readAs(s *Service) bool {
	if !sameServiceState(&v.Service, s) || len(v.dests) != len(s.Destinations) {
		return false
	}
	for i := range v.dests {
		if viewDestOf(&s.Destinations[i]) != v.dests[i] {
			return false
		}
	}
	return true
}

// sameServiceState compares the fields of two services that
// sameKernelState compares, but their real servers.
func sameServiceState(s, t *Service) bool {
	return s.Protocol == t.Protocol && s.Addr == t.Addr && s.FWMark == t.FWMark && s.IPv6 == t.IPv6 &&
		s.Scheduler == t.Scheduler && s.Flags == t.Flags && s.Timeout == t.Timeout && s.Netmask == t.Netmask &&
		s.PEName == t.PEName
}

// viewOf is t as lvsd's view of the kernel, by key (built holding no
// lock, for adoptLocked), its real servers in one slab.
func viewOf(t Table) map[string]viewService {
	view := make(map[string]viewService, len(t))
	slab := make([]viewDest, 0, t.Objects()-len(t))
	for i := range t {
		s := &t[i]
		view[s.Key()] = viewServiceOf(s, &slab)
	}
	return view
}
