package checks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
)

// Event is a verdict about one real server of one virtual service. The
// Manager emits one Event per (service, real server) when it starts (and
// when a reload adds one), then one per transition.
type Event struct {
	Service string         // hcl.VirtualServer.Key()
	Real    netip.AddrPort // hcl.RealServer.Addr
	Up      bool
	// Weight is -1 for the configured weight; MISC_CHECK with
	// misc_dynamic sets it.
	Weight int
	// Reason says why: "connect: connection refused", "status 503",
	// "digest mismatch", "timeout after 5s", "connected", …
	Reason string
	// Initial marks the baseline event (start, or new in a reload).
	Initial bool
	At      time.Time
}

// RealServerStatus is the state of one real server of one virtual service.
type RealServerStatus struct {
	Service   string
	Real      netip.AddrPort
	Up        bool
	Weight    int // -1 configured
	Reason    string
	LastCheck time.Time     // most recent attempt of any of its checkers
	Latency   time.Duration // of that attempt
	Checkers  []CheckerStatus
}

// CheckerStatus is the state of one check (possibly shared by several
// virtual services).
type CheckerStatus struct {
	Kind       string
	Target     netip.AddrPort // connect_ip:connect_port
	Up         bool
	LastOK     bool
	LastReason string
	LastCheck  time.Time
	Latency    time.Duration
	NextCheck  time.Time
	SharedBy   int // real servers (across virtual services) using this check
	Attempts   uint64
	Failures   map[string]uint64 // failed attempts by reason
}

// Options are the edges of a Manager; zero values pick the real ones.
type Options struct {
	Logger *slog.Logger
	Clock  Clock
	Dialer Dialer
	// Scripts runs MISC_CHECK and notify_up/notify_down; nil means
	// script.New with the configuration's global block.
	Scripts script.Runner
	// Concurrency bounds the attempts in flight (default 1024). Attempts
	// that are due while the bound is reached wait for a free slot; their
	// planned rounds do not move.
	Concurrency int
	// MaxBody bounds a response body read by HTTP_GET/SSL_GET
	// (default DefaultMaxBody).
	MaxBody int64
	// Rand returns a uniform value in [0, n); it spreads first checks over
	// warmup. Default math/rand/v2.
	Rand func(n int64) int64
}

// maxNotifyScripts bounds notify_up/notify_down scripts running at once.
const maxNotifyScripts = 32

// eventsBuffer is the Events channel's capacity. 1,024 Events held 112 KB
// for the daemon's life, to carry the baseline burst of a start that the
// unbounded queue behind it carries anyway.
const eventsBuffer = 64

// Manager runs every checker of a config on one schedule and reports
// verdicts per (virtual service, real server).
type Manager struct {
	opts   Options
	log    *slog.Logger
	events chan Event
	// results carries the completions of attempts that run on goroutines
	// of their own, with room for Concurrency of them (a send never
	// blocks). Made by the first configuration that has such checks (a
	// kind other than TCP_CHECK, or no connector); until then nil, which
	// Run's select never takes: 1,024 completions held 72 KB for the
	// daemon's life of a configuration of TCP_CHECKs, whose connector
	// folds its results in itself. Set on Run's goroutine alone.
	results chan completion
	reload  chan struct{}
	notify  chan struct{} // semaphore of notify scripts
	// started is closed once Run has applied its first configuration:
	// every check is built and planned (Started).
	started chan struct{}

	// Run waits for these before it returns.
	attempts sync.WaitGroup // probe goroutines (launchLocked)
	notifies sync.WaitGroup // notify script goroutines (evaluateLocked)

	mu      sync.Mutex
	cfg     *hcl.Config // latest config given
	applied *hcl.Config // config the state reflects
	// probes and reals are every check and every (virtual service, real
	// server), in the order the config names them. A reload finds the
	// ones it keeps through maps built for it and dropped after it: kept
	// between reloads, the maps held 0.33 MB at #2318's shape at 1/16
	// for nothing (docs/benchmarks.md).
	probes []*probe
	// reals is one allocation per configuration applied: a real
	// server's record is rebuilt at every reload anyway, and one array
	// holds them without a pointer each (probes' subscribers point into
	// it).
	reals    []realServer
	sched    schedule
	inflight int
	waiting  bool // the loop is armed and waiting in select

	qmu     sync.Mutex
	pending []Event
	qsignal chan struct{}

	// connector runs TCP_CHECK attempts when the Dialer is the operating
	// system's (connect.go); nil: every attempt has its goroutine. It
	// folds its results in itself (connected), with runCtx. On the
	// system clock it is also the scheduler's timer (connectorSchedules):
	// its goroutine launches what is due at each of its wakeups, and Run's
	// loop arms no timer for the schedule. On another clock it pokes
	// rearm when Run's timer, set for armedAt, must fire sooner.
	connector          *connector
	connectorSchedules bool
	runCtx             context.Context
	armedAt            time.Time
	rearm              chan struct{}
	// systemClock: the scheduler's clock is the connector's, so their
	// instants are shared instead of read again.
	systemClock bool
	// spare holds the connector's finished attempt records for reuse.
	spare []*connectAttempt
	// ended holds, within launchDueLocked, the attempts that ended at
	// once.
	ended batch[completion]
	// grid rounds the scheduling connector's wakeups (schedule.go).
	grid wakeGrid
}

// spareAttempt returns a finished attempt record, or a new one.
func (m *Manager) spareAttempt() *connectAttempt {
	if n := len(m.spare); n > 0 {
		a := m.spare[n-1]
		m.spare = m.spare[:n-1]
		return a
	}
	return new(connectAttempt)
}

// maxSpareAttempts bounds the finished attempt records kept for reuse: a
// steady state has a few in flight per wakeup, but a start under
// emulation had about 1,000 in flight at once, and keeping them all held
// 0.17 MB of the live heap (docs/benchmarks.md).
const maxSpareAttempts = 128

// keepAttempt keeps a finished attempt record for reuse, up to
// maxSpareAttempts; past that the garbage collector takes it.
func (m *Manager) keepAttempt(a *connectAttempt) {
	if len(m.spare) < maxSpareAttempts {
		m.spare = append(m.spare, a)
	}
}

type realKey struct {
	service string
	addr    netip.AddrPort
}

// realServer is one real server of one virtual service and the checks
// that decide it.
type realServer struct {
	service string
	addr    netip.AddrPort
	probes  []*probe
	reason  string
	notify  *realNotify // nil: neither notify_up nor notify_down
	weight  int
	emitted bool // the baseline event went out
	up      bool
}

// realNotify is what a real server runs when it goes up or down, kept
// apart from the record every real server has: few configure it.
type realNotify struct {
	up, down string
	// users runs them (notify_up/notify_down's USER [GROUP]).
	users hcl.ScriptUsers
	omega bool // the virtual server's omega: notify_down on shutdown
}

// probeKey is a check's identity: the first half of the SHA-256 digest
// of its settings (checkerKey). 128 bits: two different checks among a
// million share a key with a probability below 10^-26.
type probeKey [sha256.Size / 2]byte

// checkSettings are the settings of a check that its attempts and its
// verdict read. A configuration has few distinct ones (tens of thousands
// of checks share a delay_loop, a retry, a timeout), so each apply makes
// one record per distinct value and checks point to it.
type checkSettings struct {
	rules   verdictRules
	timeout time.Duration // deadline of one attempt
}

// probe is one distinct check: every real server whose checker has the
// same settings and target shares it (keepalived #2358, #2111, #1495).
// A TCP_CHECK, the check a large site has tens of thousands of, is this
// record alone (208 bytes; TestATCPCheckIsOneRecord): its connect needs
// the target and its shared settings, and its name is derived when a
// log line or a reason needs it. What other kinds need, and what a check
// needs only once it failed or runs on a goroutine, is behind more.
type probe struct {
	key      probeKey
	target   netip.AddrPort // connect_ip:connect_port (TCP_CHECK's endpoint without more)
	settings *checkSettings // shared with the checks of the same settings
	verdict  verdict
	// due (the next attempt) and round (the planned start of the
	// current round) are offsets from the schedule's epoch (schedule.go).
	due, round int64

	// The last attempt: when it ended, what it took, what it said.
	lastAt      time.Time
	lastLatency time.Duration
	lastReason  string
	attempts    uint64

	subscribers []*realServer
	more        *probeMore // nil for a plain TCP_CHECK that never failed

	index   int32 // in the schedule heap, -1 when not in it
	tcp     bool  // TCP_CHECK: the connector runs it (launchLocked)
	running bool
	removed bool
	checked bool
	lastOK  bool
}

// probeMore is what a check needs beyond the common record: every kind
// but TCP_CHECK has it from the start (its prober, kind and name); a
// TCP_CHECK gets it when it is bound or marked (bindto, bind_port,
// fwmark, bind_if), at its first failure, or when its attempts run on
// goroutines (an injected Dialer).
type probeMore struct {
	// prober runs an attempt on a goroutine; a TCP_CHECK's is made by
	// its first attempt off the connector (launchLocked).
	prober prober
	kind   string // "" for TCP_CHECK
	name   string // "" for TCP_CHECK: "TCP_CHECK target"
	// endpoint is TCP_CHECK's when more than its target (Addr valid).
	endpoint Endpoint
	cancel   context.CancelFunc // of the attempt running on a goroutine
	// failures counts failed attempts by Result.Reason, at most
	// maxFailureReasons of them: a slice, most checks fail for one reason
	// if at all (a map held 200 bytes for it, for every check that ever
	// failed).
	failures []failureCount
}

// extra is p's more, made on first use.
func (p *probe) extra() *probeMore {
	if p.more == nil {
		p.more = &probeMore{}
	}
	return p.more
}

// kind is the check's keyword: TCP_CHECK, HTTP_GET, …
func (p *probe) kind() string {
	if p.tcp {
		return hcl.CheckTCP
	}
	return p.more.kind
}

// name is how logs and reasons name the check: "TCP_CHECK 10.0.0.1:80".
func (p *probe) name() string {
	if p.tcp {
		return hcl.CheckTCP + " " + p.target.String()
	}
	return p.more.name
}

// endpoint is where a TCP_CHECK connects, and from where.
func (p *probe) endpoint() Endpoint {
	if p.more != nil && p.more.endpoint.Addr.IsValid() {
		return p.more.endpoint
	}
	return Endpoint{Addr: p.target}
}

// cancelAttempt cancels the attempt running on a goroutine, if one is.
func (p *probe) cancelAttempt() {
	if p.more != nil && p.more.cancel != nil {
		p.more.cancel()
	}
}

// failureCount is how many attempts of a check failed for one reason.
type failureCount struct {
	reason string
	n      uint64
}

// maxFailureReasons bounds the distinct failure reasons counted per check
// (a reason can carry a server's words, e.g. a TLS alert); the rest are
// counted as "other".
const maxFailureReasons = 16

type completion struct {
	p    *probe
	r    Result
	done time.Time
}

// NewManager returns a Manager for cfg; nothing runs before Run.
func NewManager(cfg *hcl.Config, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Dialer == nil {
		opts.Dialer = NetDialer{}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1024
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Rand == nil {
		opts.Rand = rand.Int64N
	}
	_, systemClock := opts.Clock.(SystemClock)
	return &Manager{
		systemClock: systemClock,
		opts:        opts,
		log:         opts.Logger,
		// The queue in front of it (enqueue) has no bound: the channel
		// only saves the forwarder a wakeup per event.
		events:  make(chan Event, eventsBuffer),
		sched:   schedule{epoch: opts.Clock.Now()},
		reload:  make(chan struct{}, 1),
		notify:  make(chan struct{}, maxNotifyScripts),
		cfg:     cfg,
		qsignal: make(chan struct{}, 1),
		rearm:   make(chan struct{}, 1),
		started: make(chan struct{}),
	}
}

// Started is closed once Run has built and planned every check of its
// first configuration (a start's last work before its checks' rounds);
// never, if Run is not called.
func (m *Manager) Started() <-chan struct{} { return m.started }

// Events delivers verdicts in order. It is closed when Run returns. Events
// are queued without bound, so a slow reader never stalls the checks.
func (m *Manager) Events() <-chan Event { return m.events }

// Reload replaces the configuration. Checks whose settings and target did
// not change keep their verdicts and their schedule; new ones start (after
// their warmup); removed ones stop. A real server that appears gets a
// baseline Event; one whose aggregate changes (a checker was removed) gets
// a transition.
func (m *Manager) Reload(cfg *hcl.Config) {
	m.mu.Lock()
	m.cfg = cfg
	m.mu.Unlock()
	select {
	case m.reload <- struct{}{}:
	default:
	}
}

// Run checks until ctx is done, then returns nil. It must be called once.
func (m *Manager) Run(ctx context.Context) error {
	defer close(m.events)
	ctx, cancel := context.WithCancel(ctx)
	var fwd sync.WaitGroup
	fwd.Go(func() { m.forward(ctx) })
	defer func() {
		cancel()
		fwd.Wait()
	}()

	if _, ok := m.opts.Dialer.(NetDialer); ok {
		if c, err := newConnector(m.connected); err == nil {
			m.connector, m.runCtx = c, ctx
			m.connectorSchedules = m.systemClock
			c.schedules = m.connectorSchedules
			m.attempts.Go(c.run)
		} else {
			m.log.Warn("TCP_CHECK attempts run on goroutines of their own", "err", err)
		}
	}
	m.mu.Lock()
	m.grid.origin = m.opts.Clock.Now()
	m.applyLocked(ctx)
	m.mu.Unlock()
	close(m.started)

	timer := m.opts.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		m.waiting = false
		now := m.opts.Clock.Now()
		wait := time.Hour
		if m.connectorSchedules {
			// The connector's wait is the schedule's timer; this loop
			// only launches what a reload or a result it took made due.
			m.launchDueLocked(ctx, now)
			m.planLocked(now)
		} else {
			m.launchDueLocked(ctx, now)
			if next := m.sched.next(); m.inflight < m.opts.Concurrency && !next.IsZero() {
				wait = max(next.Sub(now), 0)
			}
		}
		// Armed under the lock: whoever sees waiting also sees the timer
		// armed from the same instant (a fake clock relies on it).
		timer.Reset(wait)
		m.armedAt = now.Add(wait)
		m.waiting = true
		results := m.results // nil until a check needs it: never ready
		m.mu.Unlock()

		select {
		case <-ctx.Done():
			m.mu.Lock()
			for _, p := range m.probes {
				p.cancelAttempt()
			}
			m.mu.Unlock()
			if m.connector != nil {
				m.connector.stop()
			}
			m.runOmega(ctx)
			// Cancelled attempts and notify scripts (their process
			// groups killed) end before Run does.
			m.attempts.Wait()
			m.notifies.Wait()
			return nil
		case <-timer.C():
		case <-m.rearm:
		case <-m.reload:
			m.mu.Lock()
			m.applyLocked(ctx)
			m.mu.Unlock()
		case c := <-results:
			m.mu.Lock()
			m.completeLocked(ctx, c)
			// Take whatever else finished meanwhile in the same pass.
			for drained := false; !drained; {
				select {
				case c := <-results:
					m.completeLocked(ctx, c)
				default:
					drained = true
				}
			}
			m.mu.Unlock()
		}
	}
}

// launchDueLocked starts every attempt due at now, within the concurrency
// bound, and hands the connector the next launch. Attempts that ended at
// once are folded in after the launches: a retry due at once waits for
// the next wakeup instead of looping here.
func (m *Manager) launchDueLocked(ctx context.Context, now time.Time) {
	if ctx.Err() != nil {
		return // Run is stopping
	}
	for m.inflight < m.opts.Concurrency {
		p := m.sched.popDue(now)
		if p == nil {
			break
		}
		if c, ended := m.launchLocked(ctx, p, now); ended {
			m.ended.items = append(m.ended.items, c)
		}
	}
	for _, c := range m.ended.items {
		m.completeLocked(ctx, c)
	}
	m.ended.reuse(now)
}

// planLocked hands the connector the schedule's next launch, rounded up
// to the wake grid; none while the concurrency bound is reached (a
// completion frees a slot, and its wakeup launches); now is the caller's
// instant.
func (m *Manager) planLocked(now time.Time) {
	var next time.Time
	if m.inflight < m.opts.Concurrency {
		next = m.grid.up(m.sched.next())
	}
	m.connector.plan(next, now)
}

// launchLocked starts one attempt of p, bounded by the attempt's deadline:
// a TCP_CHECK on the connector, any other in its own goroutine; now is the
// scheduler's instant. An attempt that ended at once returns its
// completion and true; the caller folds it in.
func (m *Manager) launchLocked(ctx context.Context, p *probe, now time.Time) (completion, bool) {
	if p.tcp && m.connector != nil {
		p.running = true
		m.inflight++
		// Attempt records are reused (up to maxSpareAttempts of them),
		// and an attempt in the steady state allocates nothing.
		a := m.spareAttempt()
		*a = connectAttempt{probe: p, endpoint: p.endpoint(), budget: p.settings.timeout}
		if m.systemClock {
			a.started = now // one clock read per wakeup, not per attempt
		}
		if r, done := m.connector.submit(a); done {
			m.keepAttempt(a)
			end := a.started.Add(r.Latency) // submit read the clock at the end
			if !m.systemClock {
				end = m.opts.Clock.Now()
			}
			return completion{p: p, r: r, done: end}, true
		}
		return completion{}, false
	}
	more := p.extra()
	if more.prober == nil {
		// Off the connector (an injected Dialer), a TCP_CHECK attempt
		// is the Dialer's connect on a goroutine.
		more.prober = &tcpProber{dialer: m.opts.Dialer, endpoint: p.endpoint(), timeout: p.settings.timeout}
	}
	run := more.prober
	pctx, cancel := context.WithTimeout(ctx, p.settings.timeout)
	p.running, more.cancel = true, cancel
	m.inflight++
	results := m.results
	m.attempts.Go(func() {
		start := time.Now()
		r := run.probe(pctx)
		r.Latency = time.Since(start)
		cancel()
		// Never blocks: results holds Concurrency completions and at most
		// Concurrency attempts are in flight.
		results <- completion{p: p, r: r, done: m.opts.Clock.Now()}
	})
	return completion{}, false
}

// connected runs at each wakeup of the connector, on its goroutine: it
// folds the batch of finished attempts in (the loop need not wake for
// each) and, when the connector schedules, launches what is due at the
// wakeup's instant and plans the next wakeup: one wakeup per TCP_CHECK
// attempt, one clock read per wakeup. Otherwise (a fake clock) it wakes
// Run's loop only when that must launch sooner than its timer says: a
// retry due before it, or a slot freed under the concurrency bound.
func (m *Manager) connected(done []connectDone, now time.Time) {
	if !m.connectorSchedules && len(done) == 0 {
		return
	}
	if !m.systemClock {
		now = m.opts.Clock.Now()
	}
	m.mu.Lock()
	for _, d := range done {
		m.completeLocked(m.runCtx, completion{p: d.attempt.probe, r: d.result, done: now})
		m.keepAttempt(d.attempt)
	}
	if m.connectorSchedules {
		m.launchDueLocked(m.runCtx, now)
		m.planLocked(now)
		m.mu.Unlock()
		return
	}
	next := m.sched.next()
	wake := !next.IsZero() && next.Before(m.armedAt)
	m.mu.Unlock()
	if wake {
		select {
		case m.rearm <- struct{}{}:
		default:
		}
	}
}

// completeLocked folds an attempt's result into its check, plans the next
// attempt and re-evaluates the real servers that use the check.
func (m *Manager) completeLocked(ctx context.Context, c completion) {
	p := c.p
	m.inflight--
	p.running = false
	if p.more != nil {
		p.more.cancel = nil
	}
	if p.removed {
		return
	}
	p.lastOK, p.lastReason, p.lastLatency, p.lastAt, p.checked = c.r.OK, c.r.Reason, c.r.Latency, c.done, true
	p.attempts++
	if !c.r.OK {
		p.countFailure(c.r.Reason)
	}
	s := p.verdict.apply(p.settings.rules, c.r)
	due, round := nextAttempt(p.settings.rules, s, m.sched.at(p.round), c.done)
	p.round = m.sched.offset(round)
	m.sched.add(p, due)
	if s.Changed {
		if m.log.Enabled(ctx, slog.LevelDebug) {
			m.log.Debug("check verdict", "check", p.name(), "up", p.verdict.Up, "reason", c.r.Reason)
		}
		for _, r := range p.subscribers {
			m.evaluateLocked(ctx, r, p, c.done)
		}
	}
}

// applyLocked makes the state match the latest config.
func (m *Manager) applyLocked(ctx context.Context) {
	cfg := m.cfg
	if cfg == m.applied {
		return
	}
	m.applied = cfg
	now := m.opts.Clock.Now()
	oldProbes := make(map[probeKey]*probe, len(m.probes))
	for _, p := range m.probes {
		oldProbes[p.key] = p
	}
	oldReals := make(map[realKey]*realServer, len(m.reals))
	for i := range m.reals {
		r := &m.reals[i]
		oldReals[realKey{r.service, r.addr}] = r
	}
	// Every real server's record, its list of checks and every check's
	// list of real servers are carved out of arrays sized for the
	// configuration (a server written twice takes one record, and its
	// second list of checks grows on its own): a reload rebuilds them
	// all anyway, and one array holds them without a header each.
	var nReals, nCheckers int
	for vi := range cfg.VirtualServers {
		rss := cfg.VirtualServers[vi].RealServers
		nReals += len(rss)
		for ri := range rss {
			nCheckers += len(rss[ri].Checkers)
		}
	}
	order := make([]realServer, 0, nReals)
	refs := make([]*probe, nCheckers)
	probes := make(map[probeKey]int32, nCheckers) // index in kept
	reals := make(map[realKey]*realServer, nReals)
	kept := make([]*probe, 0, nCheckers)
	settings := map[checkSettings]*checkSettings{}
	// subscriptions pairs each check (by index in kept) with a real
	// server that uses it, in the order of the configuration.
	type subscription struct {
		probe int32
		real  *realServer
	}
	subscriptions := make([]subscription, 0, nCheckers)
	type freshProbe struct {
		p      *probe
		warmup time.Duration
	}
	var fresh []freshProbe
	var keyText bytes.Buffer
	for vi := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[vi]
		service := vs.Key()
		for ri := range vs.RealServers {
			rs := &vs.RealServers[ri]
			rk := realKey{service, rs.Addr}
			r := reals[rk] // written twice: one server, every checker must pass
			if r == nil {
				order = append(order, realServer{service: service, addr: rs.Addr,
					probes: refs[:0:len(rs.Checkers)]})
				refs = refs[len(rs.Checkers):]
				r = &order[len(order)-1]
				if rs.NotifyUp != "" || rs.NotifyDown != "" {
					r.notify = &realNotify{up: rs.NotifyUp, down: rs.NotifyDown, users: rs.NotifyUsers, omega: vs.Omega}
				}
				if old := oldReals[rk]; old != nil {
					r.emitted, r.up, r.weight, r.reason = old.emitted, old.up, old.weight, old.reason
				}
				reals[rk] = r
			}
			for ci := range rs.Checkers {
				// The checker is final: hcl resolved every inherited
				// setting (alpha, delay_loop, …) nearest block first.
				c := &rs.Checkers[ci]
				key := checkerKey(&keyText, *c, rs.Weight)
				i, ok := probes[key]
				if !ok {
					p := oldProbes[key]
					if p == nil {
						p = m.newProbe(*c, rs.Weight, settings)
						p.key = key
						fresh = append(fresh, freshProbe{p, c.Warmup})
					}
					i = int32(len(kept))
					probes[key] = i
					kept = append(kept, p)
				}
				subscriptions = append(subscriptions, subscription{i, r})
				r.probes = append(r.probes, kept[i])
			}
		}
	}
	for _, p := range m.probes {
		if _, ok := probes[p.key]; !ok {
			m.sched.remove(p)
			p.removed = true
			p.cancelAttempt()
		}
	}
	// Each check's real servers, in the configuration's order, from one
	// array: a counting sort of the subscriptions by check.
	starts := make([]int32, len(kept)+1)
	for _, sub := range subscriptions {
		starts[sub.probe+1]++
	}
	for i := 1; i < len(starts); i++ {
		starts[i] += starts[i-1]
	}
	subs := make([]*realServer, len(subscriptions))
	for i, p := range kept {
		p.subscribers = subs[starts[i]:starts[i]:starts[i+1]]
	}
	for _, sub := range subscriptions {
		p := kept[sub.probe]
		p.subscribers = append(p.subscribers, sub.real)
	}
	if cap(kept) > len(kept)+len(kept)/4 {
		kept = slices.Clone(kept) // checks shared by many servers
	}
	m.probes, m.reals = kept, order
	m.grid.tick = gridTick(kept)
	if m.results == nil && slices.ContainsFunc(kept, func(p *probe) bool { return !p.tcp || m.connector == nil }) {
		m.results = make(chan completion, m.opts.Concurrency)
	}
	// New checks are planned from the end of the build, which takes a
	// while for tens of thousands of checks: planned from its start, the
	// first rounds would all begin late.
	start := m.opts.Clock.Now()
	for _, f := range fresh {
		first := start
		if f.warmup > 0 {
			first = start.Add(time.Duration(m.opts.Rand(int64(f.warmup))))
		}
		f.p.round = m.sched.offset(first)
		m.sched.add(f.p, first)
	}
	for i := range order {
		m.evaluateLocked(ctx, &order[i], nil, now)
	}
}

// newProbe builds a check. applyLocked plans its first attempt at a random
// point of [0, warmup) so that a large config does not check every real
// server in the same instant.
func (m *Manager) newProbe(c hcl.Checker, base int, shared map[checkSettings]*checkSettings) *probe {
	set := checkSettings{
		rules:   verdictRules{Retry: int(c.Retry), RetryDelay: c.RetryDelay, Rise: int(c.Rise), DelayLoop: c.DelayLoop},
		timeout: c.Timeout,
	}
	if misc := c.Misc(); misc != nil {
		// The script gets its own timeout; the attempt's deadline leaves
		// room for the kill.
		set.timeout = misc.Timeout + 2*time.Second
	}
	p := &probe{
		target:   c.Connect,
		settings: shared[set],
		index:    -1,
		verdict:  verdict{Up: !c.Alpha, Weight: -1},
	}
	if p.settings == nil {
		p.settings = new(checkSettings)
		*p.settings = set
		if shared != nil {
			shared[set] = p.settings
		}
	}
	if c.Kind == hcl.CheckTCP {
		// The connector needs the target and the timeout alone.
		p.tcp = true
		if ep := endpointOf(c); ep != (Endpoint{Addr: c.Connect}) {
			p.more = &probeMore{endpoint: ep}
		}
		return p
	}
	more := &probeMore{kind: c.Kind, name: fmt.Sprintf("%s %s", c.Kind, c.Connect)}
	p.more = more
	var err error
	// A kind is told by its settings (hcl: nil only for TCP_CHECK, above,
	// and PING_CHECK).
	switch s := c.KindSettings.(type) {
	case *hcl.HTTPCheck:
		more.prober, err = newHTTPProber(c, m.opts.Dialer, m.opts.MaxBody)
	case *hcl.MiscCheck:
		more.name = fmt.Sprintf("%s %q", c.Kind, s.Path)
		more.prober = &miscProber{scripts: m.scripts(), dynamic: s.Dynamic, script: script.Script{
			Name:    fmt.Sprintf("MISC_CHECK for %s", c.Connect),
			Command: s.Path,
			User:    s.User,
			Group:   s.Group,
			Timeout: s.Timeout,
		}}
	case *hcl.UDPCheck:
		more.prober = &udpProber{dialer: m.packetDialer(), endpoint: endpointOf(c), timeout: c.Timeout,
			payload: s.Payload, requireReply: s.RequireReply, reply: s.Reply, mask: s.ReplyMask,
			minLen: s.MinReplyLength, maxLen: s.MaxReplyLength}
	case *hcl.DNSCheck:
		more.prober, err = newDNSProber(m.packetDialer(), endpointOf(c), c.Timeout, s.Type, s.Name)
	case *hcl.SMTPCheck:
		more.prober = &smtpProber{dialer: m.opts.Dialer, endpoint: endpointOf(c), timeout: c.Timeout, helo: s.HeloName}
	case *hcl.FileCheck:
		more.name = fmt.Sprintf("%s %s", c.Kind, s.Path)
		more.prober = &fileProber{path: s.Path, weight: s.Weight, reverse: s.Reverse, base: base}
	case nil:
		if c.Kind != hcl.CheckPing {
			err = fmt.Errorf("unknown checker kind %q (or one without its settings)", c.Kind)
			break
		}
		more.name = fmt.Sprintf("%s %s", c.Kind, c.Connect.Addr())
		more.prober = newPingProber(endpointOf(c), c.Timeout)
	default:
		err = fmt.Errorf("checker kind %q with settings of another (%T)", c.Kind, s)
	}
	if err != nil {
		m.log.Error("checker cannot run; it stays failed", "check", more.name, "pos", c.Pos.String(), "err", err)
		more.prober = failedProber{reason: "config: " + err.Error()}
	}
	return p
}

// evaluateLocked recomputes r's aggregate (up when every checker is up) and
// emits its baseline or a transition. trigger is the check whose verdict
// changed, nil on (re)configuration.
func (m *Manager) evaluateLocked(ctx context.Context, r *realServer, trigger *probe, at time.Time) {
	up, weight, reason := true, -1, ""
	for _, p := range r.probes {
		if p.verdict.Weight >= 0 {
			weight = p.verdict.Weight
		}
		if !p.verdict.Up && up {
			up = false
			reason = p.name() + ": " + p.reasonText()
		}
	}
	if !up {
		weight = -1 // a down server has no weight to report
	}
	if up {
		switch {
		case trigger != nil:
			reason = trigger.name() + ": " + trigger.reasonText()
		case len(r.probes) == 0:
			reason = "no checkers"
		default:
			reason = "checks pass"
		}
	}
	if r.emitted && up == r.up && weight == r.weight {
		return
	}
	ev := Event{Service: r.service, Real: r.addr, Up: up, Weight: weight, Reason: reason, Initial: !r.emitted, At: at}
	wasUp, initial := r.up, !r.emitted
	r.emitted, r.up, r.weight, r.reason = true, up, weight, reason
	m.enqueue(ev)
	if initial {
		return
	}
	if up == wasUp {
		m.log.Info("real server weight", "service", r.service, "real", r.addr.String(), "weight", weight, "reason", reason)
		return
	}
	state, command := "down", ""
	if up {
		state = "up"
	}
	if n := r.notify; n != nil {
		command = n.down
		if up {
			command = n.up
		}
	}
	m.log.Info("real server "+state, "service", r.service, "real", r.addr.String(), "reason", reason)
	if command != "" {
		u := r.notify.users.Of("notify_" + state)
		s := script.Script{
			Name:    fmt.Sprintf("notify_%s of real server %s in %s", state, r.addr, r.service),
			Command: command,
			User:    u.User,
			Group:   u.Group,
			Timeout: m.notifyTimeout(),
		}
		run := m.scripts()
		m.notifies.Go(func() { m.runNotify(ctx, run, s) })
	}
}

// packetDialer opens UDP_CHECK's and DNS_CHECK's sockets: the Dialer when
// it can, else the operating system's.
func (m *Manager) packetDialer() PacketDialer {
	if pd, ok := m.opts.Dialer.(PacketDialer); ok {
		return pd
	}
	return NetDialer{}
}

// scripts is the script runner: Options.Scripts, or the one of the global
// block of the configuration applied (a reload may change script_user).
func (m *Manager) scripts() script.Runner {
	if m.opts.Scripts != nil {
		return m.opts.Scripts
	}
	return script.New(m.applied.Global)
}

// notifyTimeout bounds a notify script: notify_timeout of the configuration
// applied (final: hcl defaulted and validated it).
func (m *Manager) notifyTimeout() time.Duration {
	return m.applied.Global.NotifyTimeout
}

// runNotify runs a notify script off the scheduler's goroutine.
func (m *Manager) runNotify(ctx context.Context, run script.Runner, s script.Script) {
	select {
	case m.notify <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-m.notify }()
	res, err := run.Run(ctx, s)
	switch {
	case err != nil:
		m.log.Error("notify script not run", "script", s.Name, "err", err)
	case res.TimedOut:
		m.log.Warn("notify script timed out", "script", s.Name, "timeout", s.Timeout)
	case res.ExitCode != 0:
		m.log.Warn("notify script failed", "script", s.Name, "exit", res.ExitCode, "output", strings.TrimSpace(string(res.Output)))
	}
}

// runOmega runs, on shutdown, the notify_down script of every real server
// that is up in a virtual server with omega set (keepalived's omega). The
// scripts run together and Run waits for them; each is bounded by the
// notify timeout alone, since ctx (Run's) is already done.
func (m *Manager) runOmega(ctx context.Context) {
	m.mu.Lock()
	run := m.scripts()
	var scripts []script.Script
	for i := range m.reals {
		r := &m.reals[i]
		if n := r.notify; n != nil && n.omega && r.up && n.down != "" {
			scripts = append(scripts, script.Script{
				Name:    fmt.Sprintf("notify_down (omega) of real server %s in %s", r.addr, r.service),
				Command: n.down,
				User:    n.users.Of("notify_down").User,
				Group:   n.users.Of("notify_down").Group,
				Timeout: m.notifyTimeout(),
			})
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range scripts {
		wg.Go(func() { m.runNotify(context.WithoutCancel(ctx), run, s) })
	}
	wg.Wait()
}

// countFailure counts a failed attempt under its reason, or under "other"
// once maxFailureReasons reasons are counted.
func (p *probe) countFailure(reason string) {
	more := p.extra()
	i := slices.IndexFunc(more.failures, func(f failureCount) bool { return f.reason == reason })
	if i < 0 && len(more.failures) >= maxFailureReasons {
		reason = "other"
		i = slices.IndexFunc(more.failures, func(f failureCount) bool { return f.reason == reason })
	}
	if i < 0 {
		more.failures = append(more.failures, failureCount{reason: reason})
		i = len(more.failures) - 1
	}
	more.failures[i].n++
}

// failureCounts returns the failed attempts by reason, nil when none failed.
func (p *probe) failureCounts() map[string]uint64 {
	if p.more == nil || len(p.more.failures) == 0 {
		return nil
	}
	m := make(map[string]uint64, len(p.more.failures))
	for _, f := range p.more.failures {
		m[f.reason] = f.n
	}
	return m
}

func (p *probe) reasonText() string {
	if !p.checked {
		if p.verdict.Up {
			return "not checked yet"
		}
		return "alpha: down until the first successful check"
	}
	return p.lastReason
}

// enqueue appends to the unbounded event queue read by forward.
func (m *Manager) enqueue(ev Event) {
	m.qmu.Lock()
	m.pending = append(m.pending, ev)
	m.qmu.Unlock()
	select {
	case m.qsignal <- struct{}{}:
	default:
	}
}

// forward moves queued events to the Events channel.
func (m *Manager) forward(ctx context.Context) {
	for {
		m.qmu.Lock()
		batch := m.pending
		m.pending = nil
		m.qmu.Unlock()
		for _, ev := range batch {
			select {
			case m.events <- ev:
			case <-ctx.Done():
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-m.qsignal:
		case <-ctx.Done():
			return
		}
	}
}

// Status returns the state of every (virtual service, real server), sorted
// by service and address.
func (m *Manager) Status() []RealServerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]RealServerStatus, 0, len(m.reals))
	for i := range m.reals {
		r := &m.reals[i]
		st := RealServerStatus{Service: r.service, Real: r.addr, Up: r.up, Weight: r.weight, Reason: r.reason}
		for _, p := range r.probes {
			st.Checkers = append(st.Checkers, CheckerStatus{
				Kind: p.kind(), Target: p.target, Up: p.verdict.Up,
				LastOK: p.lastOK, LastReason: p.lastReason, LastCheck: p.lastAt,
				Latency: p.lastLatency, NextCheck: m.sched.at(p.due), SharedBy: len(p.subscribers),
				Attempts: p.attempts, Failures: p.failureCounts(),
			})
			if p.lastAt.After(st.LastCheck) {
				st.LastCheck, st.Latency = p.lastAt, p.lastLatency
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Real.Compare(out[j].Real) < 0
	})
	return out
}

// checkerKey identifies a check by everything that decides its verdict and
// schedule (for FILE_CHECK its real server's weight too), and nothing else (not where it was written), so that the same
// check of the same target behind many virtual services runs once and a
// reload keeps what did not change. buf holds the text digested; a
// configuration's keys share one.
//
// The kind's settings are written apart: inside c, %+v would write the
// address of the struct that holds them, not what it holds.
func checkerKey(buf *bytes.Buffer, c hcl.Checker, weight int) probeKey {
	settings := c.KindSettings
	c.KindSettings, c.Pos, c.Positions = nil, hcl.Pos{}, hcl.Positions{}

	if c.Kind == hcl.CheckPing {
		// An echo has no port: one PING_CHECK per address, whatever
		// port its real servers have (a group's members often differ).
		c.Connect = netip.AddrPortFrom(c.Connect.Addr(), 0)
	}
	buf.Reset()
	fmt.Fprintf(buf, "%+v", c)
	var urls []hcl.URL
	switch s := settings.(type) {
	case nil:
	case *hcl.HTTPCheck:
		h := *s
		urls, h.URLs = h.URLs, nil
		fmt.Fprintf(buf, "|%+v", h)
	default:
		fmt.Fprintf(buf, "|%+v", s) // a pointer to a struct: &{…}
	}
	if c.Kind == hcl.CheckFile {
		// The weight it sets adds to its real server's own.
		fmt.Fprintf(buf, "|base weight %d", weight)
	}
	for _, u := range urls {
		// The whole url but where it was written: its regex_options and
		// offsets decide the verdict as much as its path (http.go).
		// %#v quotes its strings, so no field's text reads as another's.
		u.Digest, u.Pos, u.Positions = strings.ToLower(u.Digest), hcl.Pos{}, hcl.Positions{}
		fmt.Fprintf(buf, "|url %#v", u)
	}
	// A digest keeps tens of thousands of keys small.
	sum := sha256.Sum256(buf.Bytes())
	return probeKey(sum[:len(probeKey{})])
}
