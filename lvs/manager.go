package lvs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/priority"
)

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	Logger *slog.Logger
	// Interval is how often Run re-reads the kernel and repairs outside
	// edits, whatever the configuration says (tests set it); zero means
	// the configuration's reconcile_interval, a reload's included, or 10s.
	Interval time.Duration
	// OnQuorum, when set, is called (outside the Manager's locks) each time
	// a virtual service gains or loses quorum, for quorum_up/quorum_down.
	OnQuorum func(vs hcl.VirtualServer, up bool)
	// RereadPasses is how many periodic passes the rotation takes to read
	// every service lvsd owns through netlink (repairpass.go): an outside
	// edit that /proc/net/ip_vs does not show is repaired within
	// RereadPasses x Interval. Zero means DefaultRereadPasses; 1 reads
	// every owned service each pass.
	RereadPasses int
	// Table, when not nil, is the kernel's table as read shortly before
	// (an Opening's, read while the configuration was): the first write
	// starts from it instead of reading the table. The kernel may have
	// changed since, so a refusal of that write re-reads the table and
	// retries, as a write from lvsd's view does.
	Table Table
}

// Manager keeps the kernel table equal to the desired state. All methods
// are safe for concurrent use.
//
// The setters (SetActive, SetConfig, SetVerdict) run on the VRRP and
// health goroutines, and a takeover must program its services before its
// VIPs come up, so each setter applies its own change before it returns.
// What a setter never does is wait for a read of the whole table, which
// takes seconds on a big one (a /metrics scrape, `lvsd status`, the
// periodic repair). Three locks, and such a read holds none of them:
//   - mu guards the inputs, lvsd's view of the kernel and the counters. It
//     is held for computation only, never across kernel I/O, and never for
//     the computation of a whole big table: the desired state of every
//     service (a repair, a reload, a status) is computed chunkServices
//     services per hold (desireInChunks), and whole-table diffs run on a
//     copy, so a setter waits for one chunk at most. A repair's and a
//     status's chunks each wait first while a write is pending (the
//     write gate, statusread.go), which SetActive raises before it
//     takes mu: a takeover waits for the chunk in progress only.
//   - writeMu serialises lvsd's writes: compute the operations against the
//     view, apply them, record the result in the view. A setter waits for
//     other writes at most. Only a write whose view is unknown (the first
//     one, or one to a service the kernel refused a write to) reads the
//     table while holding it.
//   - repairMu lets one periodic repair run at a time. The repair reads the
//     table, computes the desired state and diffs the two holding neither
//     writeMu nor mu (but per chunk), then takes writeMu to apply what
//     differs, usually nothing. Services written meanwhile (recorded in
//     touched, or all of them after a reload: rewritten) keep the view
//     their writer left instead of the older snapshot and lose their
//     operations, so the repair neither undoes nor repeats a write it
//     raced with.
//
// This is simpler than a reconcile goroutine fed by the setters: a takeover
// would still wait for its own apply, and that goroutine would have to
// keep its writes apart from the repair's read in the same way.
type Manager struct {
	kernel   Kernel
	log      *slog.Logger
	interval time.Duration
	onQuorum func(hcl.VirtualServer, bool)
	// intervalSet wakes Run when a reload changed reconcile_interval
	// (SetConfig): its next pass comes the new interval after the last.
	intervalSet chan struct{}

	repairMu sync.Mutex
	writeMu  sync.Mutex
	syncMu   sync.Mutex // one change of the sync daemons at a time (sync.go)

	mu       sync.Mutex
	cfg      *hcl.Config
	byKey    map[string]*hcl.VirtualServer
	active   map[string]bool
	verdicts verdictTable // verdicts.go
	quorumUp map[string]bool
	// retired holds keys of services dropped from the configuration by a
	// reload: still lvsd's to delete.
	retired map[string]bool
	// cache is the kernel table as last read plus what lvsd applied since;
	// nil before the first read and after the exit (omega).
	cache map[string]viewService // view.go
	// stale holds the services whose entry in cache is unknown: a write to
	// them was refused or cut short. A write to one of them reads the
	// table first; writes to other services do not.
	stale map[string]bool
	// touched collects the services written while a repair reads the
	// table and computes its operations; nil while no repair is doing so.
	// rewritten says a write of every service (a reload) happened then.
	touched     map[string]bool
	rewritten   bool
	foreignSeen map[string]bool
	counters    Counters
	// status shares the status's table reads and holds them back while
	// a write is pending (statusread.go).
	status statusReads

	// The periodic repair's reading (repairpass.go). fullReadNext makes
	// the next pass read the whole table through netlink: set at the
	// start, by a reload and by a write the kernel refused or cut short.
	// passes counts the passes (the rotation's clock); hz is the kernel's
	// HZ once learned (the file prints persistence timeouts in jiffies).
	fullReadNext bool
	passes       uint64
	hz           uint32
	rereadPasses int
	// Held with repairMu: the file's buffer (outside the Go heap, its
	// pages given back at each pass's end) and its parse (kept for the
	// next pass when passes come close together, let go at the pass's
	// end otherwise: endPass), the sizes the next pass makes them at,
	// and whether a pass that could not use the file was logged already.
	procMem     pages
	proc        procTable
	procSizes   procSizes
	procLogged  bool
	procFailing bool // the last pass could not use the file
	// Held with repairMu too: a pass's copies of the view, the owned
	// services and the retired ones, taken under mu to be read without it,
	// into maps kept from pass to pass as the parse is (passCopies).
	passOld     map[string]viewService
	passOwned   map[string]*hcl.VirtualServer
	passRetired map[string]bool

	// readAhead is ManagerOptions.Table until the first write takes it
	// (held with writeMu).
	readAhead Table

	// chunkDesired, when set (tests), is called after each chunk of
	// desireInChunks, holding no lock.
	chunkDesired func()
}

// Counters are the Manager's running totals since it started (for
// metrics; keepalived #1731 asks for them).
type Counters struct {
	// Applied counts kernel operations that took effect, by
	// OpKind.String() ("add service", "edit destination", ...).
	Applied map[string]uint64
	// Errors counts refused kernel writes and failed table reads.
	Errors uint64
	// Reconciles counts reconcile passes (start, reload, mastership,
	// health events, the periodic repair); ReconcileTime is their total
	// duration and LastReconcile the newest one's.
	Reconciles    uint64
	ReconcileTime time.Duration
	LastReconcile time.Duration
}

// Counters returns a copy of the running totals.
func (m *Manager) Counters() Counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters
	c.Applied = maps.Clone(m.counters.Applied)
	return c
}

type quorumEvent struct {
	vs hcl.VirtualServer
	up bool
}

// NewManager returns a Manager driving k. It changes nothing until
// SetConfig.
func NewManager(k Kernel, opts ManagerOptions) *Manager {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		kernel:      k,
		log:         log,
		interval:    opts.Interval,
		intervalSet: make(chan struct{}, 1),
		onQuorum:    opts.OnQuorum,
		byKey:       map[string]*hcl.VirtualServer{},
		active:      map[string]bool{},
		verdicts:    verdictTable{},
		quorumUp:    map[string]bool{},
		retired:     map[string]bool{},
		stale:       map[string]bool{},
		foreignSeen: map[string]bool{},
		// The first pass reads the whole table (and adopts it).
		fullReadNext: true,
		rereadPasses: cmp.Or(max(opts.RereadPasses, 0), DefaultRereadPasses),
		readAhead:    opts.Table,
	}
}

// SetConfig installs a new configuration (start or reload) and applies the
// difference at once. Services the old configuration had and the new one
// lacks are deleted; services of undecided VRRP instances are left as
// found until SetActive.
func (m *Manager) SetConfig(cfg *hcl.Config) {
	m.flushForeignAtStart(cfg) // flush.go: lvs_flush
	m.mu.Lock()
	m.fullReadNext = true // the pass after a reload reads the whole table
	if m.cfg != nil && m.cfg.Global.ReconcileInterval != cfg.Global.ReconcileInterval {
		select {
		case m.intervalSet <- struct{}{}:
		default: // Run has been told already
		}
	}
	if m.cfg != nil {
		for i := range m.cfg.VirtualServers {
			m.retired[m.cfg.VirtualServers[i].Key()] = true
		}
	}
	m.cfg = cfg
	m.byKey = map[string]*hcl.VirtualServer{}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if _, dup := m.byKey[vs.Key()]; !dup {
			m.byKey[vs.Key()] = vs
		}
		delete(m.retired, vs.Key())
	}
	for k := range m.verdicts {
		if m.byKey[k] == nil {
			delete(m.verdicts, k)
		}
	}
	m.mu.Unlock()
	// Compared with lvsd's view of the kernel (read on first use): a
	// reload costs its own operations; outside edits are the periodic
	// pass's business.
	if _, err := m.write(nil); err != nil {
		m.log.Error("applying configuration", "err", err)
	}
	if err := m.SetTimeouts(cfg.Global.LVSTimeouts); err != nil { // timeouts.go
		m.log.Error("applying configuration", "err", err)
	}
}

// HoldForTakeover makes statuses and repair passes step aside at their
// next chunk, as they do for a write of the Manager (statusread.go),
// until release is called: a takeover is urgent past its IPVS write, until
// VRRP has added the VIPs and sent its gratuitous ARPs, and on a busy
// director (a repair pass, /metrics scrapes) VRRP's goroutine would wait
// for a processor after each of its system calls. Release is idempotent.
func (m *Manager) HoldForTakeover() (release func()) {
	m.status.gate.Raise()
	return sync.OnceFunc(m.status.gate.Lower)
}

// SetActive records the mastership of a VRRP instance and programs or
// withdraws the services it owns before returning. It waits for other
// writes but never for a read of the table. With lvs_program "always"
// services do not depend on it.
func (m *Manager) SetActive(instance string, active bool) error {
	m.status.writeBegins() // statuses step aside from here (statusread.go)
	defer m.status.writeEnds()
	m.mu.Lock()
	prev, known := m.active[instance]
	m.active[instance] = active
	var keys []string
	if !known || prev != active {
		m.log.Info("vrrp instance mastership", "instance", instance, "active", active)
		for k, vs := range m.byKey {
			if vs.VRRPInstance == instance {
				keys = append(keys, k)
			}
		}
	}
	m.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	// lvsd's view of the kernel is enough (a takeover should not wait
	// for a full read); a refusal re-reads and retries.
	if _, err := m.write(keys); err != nil {
		return fmt.Errorf("vrrp instance %s: %w", instance, err)
	}
	return nil
}

// SetVerdict records a real server's health and reconciles its service.
// Only that service is compared, against lvsd's view of the kernel, so a
// health event costs the operations it causes and no table read.
//
// A verdict that leaves the real server as it was (the first verdict of
// one that starts up, such as the checkers' "no checkers" for every real
// server without one) costs no write: on a big table that is one write
// per real server at every start.
func (m *Manager) SetVerdict(k VerdictKey, v Verdict) {
	m.mu.Lock()
	changed := false
	room := 0 // the service's real servers, for its verdicts' slice
	if vs := m.byKey[k.Service]; vs != nil {
		room = len(vs.RealServers)
		var rs *hcl.RealServer
		for i := range vs.RealServers {
			if vs.RealServers[i].Addr == k.Real {
				rs = &vs.RealServers[i]
				break
			}
		}
		if rs != nil {
			upBefore, weightBefore := realServerHealth(k.Service, rs, verdictLookup{table: m.verdicts})
			m.verdicts.set(k, v, room)
			upAfter, weightAfter := realServerHealth(k.Service, rs, verdictLookup{table: m.verdicts})
			changed = upBefore != upAfter || weightBefore != weightAfter
		} else {
			old, had := m.verdicts.get(k.Service, k.Real)
			changed = !had || old.Up != v.Up || old.Weight != v.Weight
		}
	}
	m.verdicts.set(k, v, room)
	if changed {
		m.log.Info("real server health", "service", k.Service, "real_server", k.Real, "up", v.Up, "reason", v.Reason)
	}
	m.mu.Unlock()
	if !changed {
		return
	}
	if _, err := m.write([]string{k.Service}); err != nil {
		m.log.Error("applying health verdict", "service", k.Service, "real_server", k.Real, "err", err)
	}
}

// Reconcile re-reads the kernel and applies the difference for every
// service lvsd owns: the periodic repair of outside edits. What it reads
// is repairpass.go's business: /proc/net/ip_vs and, through netlink, the
// services that file shows changed plus the rotation's share, or after a
// start, a reload or a failed write, the whole table. Only the services
// the kernel holds otherwise than lvsd's view says (an outside edit, or
// lvsd's own write read back in the kernel's form) are diffed against
// their desired state: lvsd's writes keep the view desired, so an
// unchanged service needs nothing. The read, the comparison and the diff
// hold no lock the setters take (mu briefly, or a chunk at a time); only
// applying what differs takes writeMu.
func (m *Manager) Reconcile(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.repairMu.Lock()
	defer m.repairMu.Unlock()
	defer m.endPass(m.currentInterval() < closePasses)
	start := time.Now()
	m.mu.Lock()
	cfg := m.cfg
	if cfg == nil {
		m.mu.Unlock()
		return 0, nil
	}
	m.touched, m.rewritten = map[string]bool{}, false
	fullRead := m.fullReadNext || m.cache == nil || len(m.stale) > 0
	m.fullReadNext = false
	pass, hz := m.passes, m.hz
	m.passes++
	var old map[string]viewService
	var owned map[string]*hcl.VirtualServer
	var retired map[string]bool
	if !fullRead {
		old, owned, retired = m.passCopies()
	}
	m.mu.Unlock()

	// One budget for the pass's waits for lvsd's writes and a takeover's
	// hold (statusread.go): in the file's parse and comparison and in the
	// desired state's computation, a chunk of services at a time.
	budget := m.status.yieldBudget()
	yield := func() { m.status.waitForWrites(budget) }
	// reread names the services a steady pass read, got those of them
	// the kernel holds; nil when the pass read the whole table (t).
	var view map[string]viewService
	var reread map[string]bool
	var got map[string]Service
	var t Table
	if !fullRead {
		r, learned, err := m.readChanged(old, owned, retired, pass, hz, yield)
		switch {
		case errors.Is(err, errProcUnusable):
			m.logProcUnusable(err)
			fullRead = true
		case err != nil:
			m.readFailed()
			return 0, err
		default:
			got, reread, hz = r.got, r.reread, learned
		}
	}
	if fullRead {
		var proc *procTable
		if hz == 0 {
			proc = m.procForHZ()
		}
		var err error
		if t, err = m.kernel.Table(); err != nil {
			m.readFailed()
			return 0, fmt.Errorf("reading IPVS table: %w", err)
		}
		if proc != nil {
			hz = learnHZ(proc, t)
		}
		view = viewOf(t)
	}
	m.mu.Lock()
	if m.hz == 0 {
		m.hz = hz
	}
	if fullRead {
		old, owned, retired = m.passCopies()
	}
	full := m.cache == nil || len(m.stale) > 0
	m.mu.Unlock()

	// The services whose kernel state is not lvsd's view of it: all of
	// them when the view is unknown.
	var changed []string
	differs := full
	if !full {
		note := func(k string) {
			differs = true
			if owned[k] != nil || retired[k] {
				changed = append(changed, k)
			}
		}
		if reread != nil {
			for k := range reread {
				s, inKernel := got[k]
				if o, inOld := old[k]; inKernel != inOld || inKernel && !o.readAs(&s) {
					note(k)
				}
			}
			if differs {
				// lvsd's view with what the pass read in place.
				view = maps.Clone(old)
				for k := range reread {
					if s, ok := got[k]; ok {
						view[k] = toView(&s)
					} else {
						delete(view, k)
					}
				}
			}
		} else {
			for k, s := range view {
				if o, ok := old[k]; !ok || !o.sameKernelState(&s) {
					note(k)
				}
			}
			for k := range old {
				if _, ok := view[k]; !ok {
					note(k)
				}
			}
		}
	}
	if full && t == nil {
		// lvsd's view became unknown (a write failed) while the file was
		// read: the whole table is compared, so read it whole.
		var err error
		if t, err = m.kernel.Table(); err != nil {
			m.readFailed()
			return 0, fmt.Errorf("reading IPVS table: %w", err)
		}
		view = viewOf(t)
	}
	var d Desired
	var ops []Op
	switch {
	case full:
		d = m.desireInChunks(cfg, budget)
		ops = diff(d.Table, t, func(k string) bool { return d.owns(k) || retired[k] })
	case len(changed) > 0:
		set := make(map[string]bool, len(changed))
		sub := &hcl.Config{Global: cfg.Global}
		var current Table
		for _, k := range changed {
			set[k] = true
			if vs := owned[k]; vs != nil {
				sub.VirtualServers = append(sub.VirtualServers, *vs)
			}
			if s, ok := view[k]; ok {
				current = append(current, s.service())
			}
		}
		d = m.desireInChunks(sub, budget)
		current.Sort()
		ops = diff(d.Table, current, func(k string) bool { return set[k] && (d.owns(k) || retired[k]) })
	}

	m.writeMu.Lock()
	m.mu.Lock()
	touched, rewritten := m.touched, m.rewritten
	m.touched, m.rewritten = nil, false
	if rewritten || m.cfg != cfg {
		// A reload wrote every service meanwhile: its view is newer than
		// this read, and the next pass repairs what it did not.
		m.mu.Unlock()
		m.writeMu.Unlock()
		m.countPass(start)
		return 0, nil
	}
	if len(touched) > 0 && !m.viewKnownLocked(slices.Collect(maps.Keys(touched))) {
		// A write failed while the table was being read: neither the
		// snapshot nor lvsd's view can be trusted for what it touched.
		// Read again and write the whole table; writes wait for this
		// rare read.
		m.mu.Unlock()
		err := m.readKernel()
		var n int
		var events []quorumEvent
		if err == nil {
			n, events, err = m.writeLocked(nil, true, start)
		}
		m.writeMu.Unlock()
		m.notify(events)
		return n, err
	}
	if differs {
		m.adoptLocked(view, touched)
	}
	if len(touched) > 0 {
		ops = slices.DeleteFunc(ops, func(op Op) bool { return touched[op.Service.Key()] })
		for k := range touched {
			delete(d.Quorum, k)
		}
	}
	events := m.quorumTransitions(d.Quorum, !full || len(touched) > 0)
	m.mu.Unlock()
	n, err := m.applyOps(&d, ops, func(k string) bool { return !touched[k] })
	m.writeMu.Unlock()
	m.countPass(start)
	m.notify(events)
	return n, err
}

// passCopies copies lvsd's view of the kernel, the services it owns and
// those it retired for a pass to read without mu (mu and repairMu held),
// into the maps of the pass before: nothing of a pass outlives it (a
// view it adopts is a copy of its own), and a steady pass made them anew
// each time (on the 2,000 x 16 benchmark table 0.6 MB a pass,
// BenchmarkSteadyRepairPass). endPass lets them go with the file's buffer.
func (m *Manager) passCopies() (map[string]viewService, map[string]*hcl.VirtualServer, map[string]bool) {
	m.passOld = copyInto(m.passOld, m.cache)
	m.passOwned = copyInto(m.passOwned, m.byKey)
	m.passRetired = copyInto(m.passRetired, m.retired)
	return m.passOld, m.passOwned, m.passRetired
}

// copyInto makes dst a copy of src, reusing dst's memory.
func copyInto[K comparable, V any](dst, src map[K]V) map[K]V {
	if dst == nil {
		return maps.Clone(src)
	}
	clear(dst)
	maps.Copy(dst, src)
	return dst
}

// readFailed records a repair's failed read: the pass reads nothing and
// the next one reads the whole table.
func (m *Manager) readFailed() {
	m.mu.Lock()
	m.touched = nil
	m.counters.Errors++
	m.fullReadNext = true
	m.mu.Unlock()
}

// logProcUnusable says once, at warning level, that a pass read the whole
// table through netlink because /proc/net/ip_vs could not serve it (the
// error names the file's line when it was the parse), and at debug level
// afterwards.
func (m *Manager) logProcUnusable(err error) {
	if !m.procLogged {
		m.procLogged = true
		m.log.Warn("periodic IPVS repair reads the whole table through netlink", "err", err)
		return
	}
	m.log.Debug("periodic IPVS repair reads the whole table through netlink", "err", err)
}

// chunkServices is how many services' desired state is computed per hold
// of mu (desireInChunks, Status): on the 2,000 x 16 benchmark table under
// the VM's emulation a chunk takes a few milliseconds, the whole table a
// third of a second.
const chunkServices = 64

// desireInChunks is Desire of every service of cfg with the Manager's
// inputs, computed chunkServices services per hold of mu so that a setter
// never waits for the whole table's computation. A setter that changes an
// input between two chunks writes its services itself (and a repair drops
// them as touched). Desire is per service, so the chunks add up to the
// whole; of duplicate keys the first wins, as in Desire.
//
// With a budget (a repair pass) each chunk waits first while a write is
// pending, as a status's chunks do (statusread.go), for at most
// statusYieldMax and what is left of the budget: a takeover raises the
// write gate as SetActive starts, so from then on it waits for the chunk
// in progress at most, not for the rest of the table's. A write's own
// computation (a reload, nil) does not yield: its gate is up.
func (m *Manager) desireInChunks(cfg *hcl.Config, budget *priority.Budget) Desired {
	d := Desired{Owned: map[string]bool{}, Held: map[string]bool{}, Quorum: map[string]QuorumState{}}
	vss := cfg.VirtualServers
	for i := 0; i < len(vss); i += chunkServices {
		sub := &hcl.Config{Global: cfg.Global, VirtualServers: vss[i:min(i+chunkServices, len(vss))]}
		if budget != nil {
			m.status.waitForWrites(budget)
		}
		m.mu.Lock()
		part := Desire(State{Config: sub, Active: m.active, table: m.verdicts, QuorumUp: m.quorumUp})
		m.mu.Unlock()
		if m.chunkDesired != nil {
			m.chunkDesired()
		}
		for k := range part.Owned {
			if d.Owned[k] {
				delete(part.Owned, k) // a duplicate of an earlier chunk's
				continue
			}
			d.Owned[k] = true
			d.Quorum[k] = part.Quorum[k]
			if part.Held[k] {
				d.Held[k] = true
			}
		}
		for _, s := range part.Table {
			if part.Owned[s.Key()] {
				d.Table = append(d.Table, s)
			}
		}
	}
	d.Table.Sort()
	return d
}

// countPass adds a pass that started at start to the counters.
func (m *Manager) countPass(start time.Time) {
	took := time.Since(start)
	m.mu.Lock()
	m.counters.Reconciles++
	m.counters.ReconcileTime += took
	m.counters.LastReconcile = took
	m.mu.Unlock()
}

// Run repairs the table every interval until ctx is done, each pass the
// interval after the last one ended; a reload that changes
// reconcile_interval moves the next pass to the new interval after the
// last (at once if that is past). On the way out it withdraws the services
// that have omega set and leaves everything else in place, so a restart
// drops no connection.
func (m *Manager) Run(ctx context.Context) error {
	last := time.Now()
	for {
		timer := time.NewTimer(time.Until(last.Add(m.currentInterval())))
		select {
		case <-ctx.Done():
			timer.Stop()
			return m.shutdown()
		case <-m.intervalSet:
			timer.Stop()
			continue
		case <-timer.C:
		}
		start := time.Now()
		n, err := m.Reconcile(ctx)
		switch {
		case err != nil:
			m.log.Error("periodic IPVS repair", "applied", n, "err", err)
		case n > 0:
			m.log.Warn("periodic IPVS repair undid outside edits", "applied", n)
		}
		m.log.Debug("periodic IPVS repair pass", "applied", n, "took", time.Since(start))
		last = time.Now()
	}
}

func (m *Manager) currentInterval() time.Duration {
	if m.interval > 0 {
		return m.interval
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg != nil && m.cfg.Global.ReconcileInterval > 0 {
		return m.cfg.Global.ReconcileInterval
	}
	return 10 * time.Second
}

// shutdown deletes the programmed services whose virtual server has omega
// set (keepalived clears them on exit).
func (m *Manager) shutdown() error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	m.mu.Lock()
	withdraw := m.stopWithdrawals() // flush.go: omega, lvs_flush_on_stop
	m.mu.Unlock()
	if withdraw == nil {
		return nil
	}
	cur, err := m.kernel.Table()
	if err != nil {
		return fmt.Errorf("omega: reading IPVS table: %w", err)
	}
	ops := diff(nil, cur, withdraw)
	m.logOps(ops)
	done, refused, err := m.kernel.Apply(ops)
	m.mu.Lock()
	m.countApplied(ops, done, refused, err)
	m.cache = nil
	m.mu.Unlock()
	if err := applyError(refused, err); err != nil {
		return fmt.Errorf("omega: %w", err)
	}
	return nil
}

// write brings the services named by keys (all when nil) to their desired
// state, compared with lvsd's view of the kernel, and reports quorum
// changes.
func (m *Manager) write(keys []string) (int, error) {
	start := time.Now()
	m.status.writeBegins() // status reads wait (statusread.go)
	m.writeMu.Lock()
	n, events, err := m.writeLocked(keys, false, start)
	m.writeMu.Unlock()
	m.status.writeEnds()
	m.notify(events)
	return n, err
}

// writeLocked is write with writeMu held. fresh says the view was just
// read, so a refusal is not retried with another read.
func (m *Manager) writeLocked(keys []string, fresh bool, start time.Time) (int, []quorumEvent, error) {
	m.mu.Lock()
	cfg := m.cfg
	if cfg == nil {
		m.mu.Unlock()
		return 0, nil, nil
	}
	defer m.countPass(start)
	// Mark the services written for a repair reading meanwhile, whether
	// or not they turn out to need operations: its inputs are older.
	if m.touched != nil {
		if keys == nil {
			m.rewritten = true
		}
		for _, k := range keys {
			m.touched[k] = true
		}
	}
	only := func(string) bool { return true }
	var d Desired
	if keys != nil {
		// Compute the desired state of just these services: a health
		// event on a large table costs what its own service costs.
		sub := &hcl.Config{Global: cfg.Global}
		set := make(map[string]bool, len(keys))
		for _, k := range keys {
			set[k] = true
			if vs := m.byKey[k]; vs != nil {
				sub.VirtualServers = append(sub.VirtualServers, *vs)
			}
		}
		only = func(k string) bool { return set[k] }
		d = Desire(State{Config: sub, Active: m.active, table: m.verdicts, QuorumUp: m.quorumUp})
	} else {
		m.mu.Unlock()
		d = m.desireInChunks(cfg, nil) // this write's own gate is up
		m.mu.Lock()
	}
	events := m.quorumTransitions(d.Quorum, keys != nil)
	known := m.viewKnownLocked(keys)
	m.mu.Unlock()

	retry := known && !fresh
	if !known {
		if ahead := m.readAhead; ahead != nil {
			// The table read ahead (ManagerOptions.Table), possibly older
			// than this write: a refusal re-reads and retries.
			m.readAhead = nil
			view := viewOf(ahead)
			m.mu.Lock()
			m.adoptLocked(view, nil)
			m.mu.Unlock()
			retry = !fresh
		} else if err := m.readKernel(); err != nil {
			return 0, events, err
		}
	}
	n, err := m.applyDesired(&d, keys, only)
	if err != nil && retry {
		// lvsd's view may be stale (an outside edit since the last
		// read): read the kernel and try once more.
		m.log.Warn("IPVS refused an operation; re-reading the table and retrying", "err", err)
		if err = m.readKernel(); err != nil {
			return n, events, err
		}
		var again int
		again, err = m.applyDesired(&d, keys, only)
		n += again
	}
	return n, events, err
}

// applyDesired (writeMu held) diffs the desired services selected by
// keys/only against lvsd's view of the kernel and applies the operations.
// The view is copied under mu and diffed without it: a whole-table diff
// (a reload) never holds mu.
func (m *Manager) applyDesired(d *Desired, keys []string, only func(string) bool) (int, error) {
	m.mu.Lock()
	var views []viewService // shared with the view: never changed in place
	if keys == nil {
		views = make([]viewService, 0, len(m.cache))
		for _, s := range m.cache {
			views = append(views, s)
		}
	} else {
		for _, k := range keys {
			if s, ok := m.cache[k]; ok {
				views = append(views, s)
			}
		}
	}
	retired := maps.Clone(m.retired)
	m.mu.Unlock()
	current := make(Table, 0, len(views))
	for i := range views {
		current = append(current, views[i].service())
	}
	current.Sort()
	ops := diff(d.Table, current, func(k string) bool { return only(k) && (d.owns(k) || retired[k]) })
	return m.applyOps(d, ops, only)
}

// applyOps (writeMu held, mu not) applies ops, which bring the services
// selected by only to their state in d, and records the outcome in lvsd's
// view: a service whose operations all took effect is as desired.
func (m *Manager) applyOps(d *Desired, ops []Op, only func(string) bool) (int, error) {
	if len(ops) == 0 {
		m.mu.Lock()
		m.forgetRetired(only)
		m.mu.Unlock()
		return 0, nil
	}
	m.logOps(ops)
	done, refused, err := m.kernel.Apply(ops)

	// A service whose operations all took effect is now as desired; one
	// with a refused operation, or one the run did not reach, is unknown.
	unknown := map[string]bool{}
	for _, r := range refused {
		unknown[r.Op.Service.Key()] = true
	}
	if err != nil {
		for i := max(done, 0); i < len(ops); i++ {
			unknown[ops[i].Service.Key()] = true
		}
	}
	// The services written, by identity: a key made per operation cost
	// a write of the whole table 17 allocations a service.
	written := make(map[serviceID]bool)
	for i := range ops {
		written[ops[i].Service.id()] = true
	}
	// The new view of the services written, made before mu (a reload
	// writes them all) and their real servers in one slab (view.go: two
	// allocations a write). Services without operations keep the view
	// they have (as read, with the kernel's list order).
	type writtenView struct {
		key  string
		at   int // in d.Table
		view viewService
	}
	views := make([]writtenView, 0, len(written))
	dests := 0
	for i := range d.Table {
		if !written[d.Table[i].id()] {
			continue
		}
		if k := d.Table[i].Key(); !unknown[k] {
			views = append(views, writtenView{key: k, at: i})
			dests += len(d.Table[i].Destinations)
		}
	}
	slab := make([]viewDest, 0, dests)
	for i := range views {
		views[i].view = viewServiceOf(&d.Table[views[i].at], &slab)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.countApplied(ops, done, refused, err)
	for i := range ops {
		if ops[i].Kind != OpDeleteService {
			continue
		}
		if k := ops[i].Service.Key(); !unknown[k] {
			delete(m.cache, k)
		}
	}
	for i := range views {
		m.cache[views[i].key] = views[i].view
	}
	for k := range unknown {
		m.stale[k] = true
	}
	if len(unknown) > 0 {
		m.fullReadNext = true // the pass after a failed write reads the whole table
	}
	m.forgetRetired(func(k string) bool { return only(k) && !unknown[k] })
	return n, applyError(refused, err)
}

// viewKnownLocked reports whether lvsd's view holds the kernel state of
// the services named by keys (all when nil).
func (m *Manager) viewKnownLocked(keys []string) bool {
	if m.cache == nil {
		return false
	}
	if keys == nil {
		return len(m.stale) == 0
	}
	for _, k := range keys {
		if m.stale[k] {
			return false
		}
	}
	return true
}

func (m *Manager) forgetRetired(only func(string) bool) {
	for k := range m.retired {
		if only(k) {
			delete(m.retired, k)
		}
	}
}

// countApplied adds to the counters (mu held) what Apply did with ops: the
// first done operations were answered, all but the refused ones took
// effect. It returns how many took effect. The refusals reach the log
// through the caller's error (applyError), one line per write.
func (m *Manager) countApplied(ops []Op, done int, refused []Refusal, err error) int {
	byKind := map[OpKind]int{}
	for _, op := range ops[:min(max(done, 0), len(ops))] {
		byKind[op.Kind]++
	}
	for _, r := range refused {
		byKind[r.Op.Kind]--
	}
	if m.counters.Applied == nil {
		m.counters.Applied = map[string]uint64{}
	}
	n := 0
	for k, c := range byKind {
		if c > 0 {
			m.counters.Applied[k.String()] += uint64(c)
			n += c
		}
	}
	m.counters.Errors += uint64(len(refused))
	if err != nil {
		m.counters.Errors++
	}
	return n
}

// applyError is one error for what Apply reports: every refusal, then
// what ended the run early.
func applyError(refused []Refusal, err error) error {
	errs := make([]error, 0, len(refused)+1)
	for i := range refused {
		errs = append(errs, &refused[i])
	}
	return errors.Join(append(errs, err)...)
}

// readKernel (writeMu held, mu not) replaces lvsd's view with a fresh
// read of the table.
func (m *Manager) readKernel() error {
	m.readAhead = nil // superseded
	t, err := m.kernel.Table()
	var view map[string]viewService
	if err == nil {
		view = viewOf(t)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.counters.Errors++ // the view stays as unknown as it was
		return fmt.Errorf("reading IPVS table: %w", err)
	}
	m.adoptLocked(view, nil)
	return nil
}

// adoptLocked makes cache (viewOf a table read) lvsd's view of the
// kernel, except for the services in keep, whose entry in the old view is
// newer than the read (and known), and reports foreign services once each.
func (m *Manager) adoptLocked(cache map[string]viewService, keep map[string]bool) {
	for k := range cache {
		if m.byKey[k] == nil && !m.retired[k] && !m.foreignSeen[k] {
			m.foreignSeen[k] = true
			m.log.Info("leaving foreign IPVS service alone (not in configuration)", "service", k)
		}
	}
	for k := range keep {
		if s, ok := m.cache[k]; ok {
			cache[k] = s
		} else {
			delete(cache, k)
		}
	}
	m.cache = cache
	m.stale = map[string]bool{}
}

// quorumTransitions records the new quorum states and returns the changes.
// partial means q holds only some services.
func (m *Manager) quorumTransitions(q map[string]QuorumState, partial bool) []quorumEvent {
	var events []quorumEvent
	for k, st := range q {
		prev, seen := m.quorumUp[k]
		m.quorumUp[k] = st.Up
		if seen && prev != st.Up {
			vs := m.byKey[k]
			m.log.Warn("virtual service quorum", "service", k, "up", st.Up, "live_weight", st.LiveWeight,
				"quorum", vs.Quorum, "hysteresis", vs.Hysteresis, "sorry_server", st.SorryActive)
			events = append(events, quorumEvent{vs: *vs, up: st.Up})
		}
	}
	for k := range m.quorumUp {
		if _, ok := q[k]; !ok && !partial {
			delete(m.quorumUp, k)
		}
	}
	return events
}

func (m *Manager) notify(events []quorumEvent) {
	if m.onQuorum == nil {
		return
	}
	for _, e := range events {
		m.onQuorum(e.vs, e.up)
	}
}

// logOps logs each operation when there are few, a summary otherwise.
func (m *Manager) logOps(ops []Op) {
	const few = 32
	if len(ops) > few {
		m.log.Info("applying IPVS operations", "count", len(ops))
		return
	}
	for _, op := range ops {
		m.log.Info("ipvs", "op", op.String())
	}
}
