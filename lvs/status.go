package lvs

import (
	"net/netip"
	"slices"

	"github.com/lvsd/lvsd/hcl"
)

// Service states in ServiceStatus.State.
const (
	StateProgrammed = "programmed" // should be in the kernel
	StateWithdrawn  = "withdrawn"  // owned, its VRRP instance is not MASTER here
	StateHeld       = "held"       // owned, mastership not decided yet: left as found
	StateForeign    = "foreign"    // in the kernel, not in the configuration: left alone
)

// ServiceStatus is one virtual service as `lvsd status` shows it.
type ServiceStatus struct {
	Key         string // "TCP:192.0.2.100:80", "FWM:1:inet"
	Name        string // as written in the configuration
	Instance    string // owning VRRP instance
	State       string // StateProgrammed, StateWithdrawn, StateHeld, StateForeign
	InKernel    bool
	Scheduler   string // in the kernel, else configured
	Quorum      int
	Hysteresis  int
	LiveWeight  int
	QuorumUp    bool
	SorryActive bool
	Stats       Stats // kernel counters
	// Destinations lists configured real servers, the sorry server, and
	// anything else the kernel holds for the service.
	Destinations []DestinationStatus
	// ReadError is set when the kernel could not be read; kernel fields
	// are then empty.
	ReadError string
}

// DestinationStatus is one real server of a ServiceStatus.
type DestinationStatus struct {
	Addr             netip.AddrPort
	Sorry            bool // the sorry server
	Configured       bool // named in the configuration
	ConfiguredWeight int
	Up               bool // health (true for destinations lvsd does not check)
	Reason           string
	InKernel         bool
	Weight           int // in the kernel
	Forward          Forward
	ActiveConns      uint32
	InactiveConns    uint32
	Stats            Stats
}

// Quorums returns each configured virtual service's quorum state by key,
// as Status reports it (QuorumUp, LiveWeight, SorryActive), from lvsd's
// own state alone: the configuration and the health verdicts
// (desireInChunks, mu held a chunk at a time), no read of the kernel's
// table. The start's quorum alerts need no more: a Status there read the
// whole table once more after the first write (143 dumps on the checks
// benchmark's table, 2,000 on the load benchmark's) before the checks
// started, and its copy of the table, 0.29 MB on the checks benchmark's
// table, outlived the start's return of its garbage (statusMaxAge) into
// the steady heap's free spans.
func (m *Manager) Quorums() map[string]QuorumState {
	m.mu.Lock()
	cfg := m.cfg
	m.mu.Unlock()
	if cfg == nil {
		return nil
	}
	return m.desireInChunks(cfg, nil).Quorum
}

// Status reads the kernel and describes every configured service and
// every foreign one. The read holds none of the Manager's locks, steps
// aside for the Manager's writes and is shared by concurrent statuses, at
// most statusMaxAge old (statusread.go); the description takes mu for
// statusChunk services at a time, each chunk after the pending writes, so
// a scrape of a big table never delays a takeover or a health event by
// more than one chunk's kernel read or computation. Its waits for writes
// add up to statusYieldBudget at most.
func (m *Manager) Status() []ServiceStatus {
	budget := m.status.yieldBudget() // for the read and the description
	kt, err := m.statusTable(budget)
	readErr := ""
	if err != nil {
		readErr = "reading IPVS table: " + err.Error()
	}
	kernel := make(map[string]*Service, len(kt))
	for i := range kt {
		kernel[kt[i].Key()] = &kt[i]
	}
	m.mu.Lock()
	cfg := m.cfg
	m.mu.Unlock()
	var out []ServiceStatus
	if cfg != nil {
		out = make([]ServiceStatus, 0, max(len(cfg.VirtualServers), len(kt)))
	}
	var healths []struct {
		up     bool
		reason string
	}
	for c := 0; cfg != nil && c < len(cfg.VirtualServers); c += statusChunk {
		// Each chunk after the pending writes, a takeover's included
		// from its start (SetActive), and mu for statusChunk services.
		m.status.waitForWrites(budget)
		vss := cfg.VirtualServers[c:min(c+statusChunk, len(cfg.VirtualServers))]
		// Under mu: the chunk's desired state and its real servers'
		// health; the description is built after.
		healths = healths[:0]
		m.mu.Lock()
		d := Desire(State{Config: &hcl.Config{Global: cfg.Global, VirtualServers: vss}, Active: m.active, table: m.verdicts, QuorumUp: m.quorumUp})
		for i := range vss {
			key := vss[i].Key()
			for j := range vss[i].RealServers {
				rs := &vss[i].RealServers[j]
				up, _ := realServerHealth(key, rs, verdictLookup{table: m.verdicts})
				v, _ := m.verdicts.get(key, rs.Addr)
				healths = append(healths, struct {
					up     bool
					reason string
				}{up, v.Reason})
			}
		}
		m.mu.Unlock()
		next := 0 // in healths
		programmed := map[string]bool{}
		for _, s := range d.Table {
			programmed[s.Key()] = true
		}
		for i := range vss {
			vs := &vss[i]
			key := vs.Key()
			q := d.Quorum[key]
			st := ServiceStatus{
				Key: key, Name: vs.Name, Instance: vs.VRRPInstance,
				Scheduler: vs.LBAlgo, Quorum: vs.Quorum, Hysteresis: vs.Hysteresis,
				LiveWeight: q.LiveWeight, QuorumUp: q.Up, SorryActive: q.SorryActive,
				ReadError: readErr,
			}
			switch {
			case programmed[key]:
				st.State = StateProgrammed
			case d.Held[key]:
				st.State = StateHeld
			default:
				st.State = StateWithdrawn
			}
			ks := kernel[key]
			delete(kernel, key)
			if ks != nil {
				st.InKernel, st.Scheduler, st.Stats = true, ks.Scheduler, ks.Stats
			}
			// Each destination once: the configured ones, the sorry
			// server, then what else the kernel holds. Allocated once,
			// at its size; seen looks in it (a map per service cost a
			// scrape of the 2,000 x 16 table 4 MB).
			n := len(vs.RealServers) + 1
			if ks != nil {
				n = max(n, len(ks.Destinations))
			}
			st.Destinations = make([]DestinationStatus, 0, n)
			seen := func(a netip.AddrPort) bool {
				return slices.ContainsFunc(st.Destinations, func(d DestinationStatus) bool { return d.Addr == a })
			}
			for j := range vs.RealServers {
				rs := &vs.RealServers[j]
				h := healths[next]
				next++
				ds := DestinationStatus{
					Addr: rs.Addr, Configured: true, ConfiguredWeight: rs.Weight, Up: h.up, Reason: h.reason,
				}
				fillKernelDestination(&ds, ks)
				st.Destinations = append(st.Destinations, ds)
			}
			if ss := vs.SorryServer; ss != nil && !seen(ss.Addr) {
				ds := DestinationStatus{Addr: ss.Addr, Sorry: true, Configured: true, ConfiguredWeight: 1, Up: true}
				fillKernelDestination(&ds, ks)
				st.Destinations = append(st.Destinations, ds)
			}
			if ks != nil {
				for _, kd := range ks.Destinations {
					if !seen(kd.Addr) {
						ds := DestinationStatus{Addr: kd.Addr, Up: true}
						fillKernelDestination(&ds, ks)
						st.Destinations = append(st.Destinations, ds)
					}
				}
			}
			out = append(out, st)
		}
	}
	for i := range kt {
		ks := &kt[i]
		if kernel[ks.Key()] == nil {
			continue // configured, shown above
		}
		st := ServiceStatus{Key: ks.Key(), State: StateForeign, InKernel: true, Scheduler: ks.Scheduler, Stats: ks.Stats}
		for _, kd := range ks.Destinations {
			ds := DestinationStatus{Addr: kd.Addr, Up: true}
			fillKernelDestination(&ds, ks)
			st.Destinations = append(st.Destinations, ds)
		}
		out = append(out, st)
	}
	return out
}

func fillKernelDestination(ds *DestinationStatus, ks *Service) {
	if ks == nil {
		return
	}
	for _, kd := range ks.Destinations {
		if kd.Addr == ds.Addr {
			ds.InKernel, ds.Weight, ds.Forward = true, kd.Weight, kd.Forward
			ds.ActiveConns, ds.InactiveConns, ds.Stats = kd.ActiveConns, kd.InactiveConns, kd.Stats
			return
		}
	}
}
