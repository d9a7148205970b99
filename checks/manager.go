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
	// holds them without a pointer each.
	reals []realServer
	// refs and subs are every real server's checks (indices in probes)
	// and every check's real servers (indices in reals), each list a
	// span of its array: 4 bytes an entry, and no slice header (24
	// bytes) in every record.
	refs, subs []int32
	sched      schedule
	inflight   int
	waiting    bool // the loop is armed and waiting in select

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
// that decide it. Its address and its notify_up/notify_down are read in
// the configuration applied (rs) and its checks are a span of refs: 56
// bytes, where their copies and a slice of pointers took 112
// (TestATCPCheckIsOneRecord).
type realServer struct {
	service string
	// rs is its entry in the configuration applied (the first one, for
	// a server written twice), which the records are rebuilt from at
	// every reload: final, nothing writes it once it is handed over.
	rs      *hcl.RealServer
	reason  string
	probes  span  // its checks: refs
	weight  int32 // -1 configured, else 0..65535 (hcl)
	emitted bool  // the baseline event went out
	up      bool
	omega   bool // the virtual server's omega: notify_down on shutdown
}

// span is a list cut out of one of the Manager's arrays (refs, subs).
type span struct{ first, n int32 }

// of is the span's list in all.
func (s span) of(all []int32) []int32 { return all[s.first : s.first+s.n] }

// probeKey is a check's identity: the first half of the SHA-256 digest
// of its settings (checkerKey). 128 bits: two different checks among a
// million share a key with a probability below 10^-26.
type probeKey [sha256.Size / 2]byte

// probe is one distinct check: every real server whose checker has the
// same settings and target shares it (keepalived #2358, #2111, #1495).
// A TCP_CHECK, the check a large site has tens of thousands of, is this
// record alone (128 bytes, a size class; TestATCPCheckIsOneRecord). Its
// settings (target, timeout, delay_loop, retry, …) are read in the
// configuration's checker, which the Manager keeps anyway: copied, the
// target and the settings took 40 bytes. Its name is derived when a log
// line or a reason needs it, and so is the last reason of a check that
// never failed ("connected"). What other kinds need, and what a check
// needs only once it failed or runs on a goroutine, is behind more. On
// the checks benchmark's table (2,326 TCP_CHECKs) the Manager kept 361.6
// bytes of the heap per check, 216.9 now (TestKeptPerTCPCheck).
type probe struct {
	key probeKey
	// checker is its checker in the configuration applied (the first
	// with its key): a reload that keeps the check points it at the new
	// configuration's, which has the same settings, so that the old one
	// can go. Final: nothing writes it once it is handed over.
	checker *hcl.Checker
	// due (the next attempt) and round (the planned start of the
	// current round) are offsets from the schedule's epoch (schedule.go).
	due, round int64

	// The last attempt: when it ended, what it took (its reason is
	// lastReason).
	lastAt      time.Time
	lastLatency time.Duration
	attempts    uint64

	more        *probeMore // nil for a TCP_CHECK that never failed nor ran on a goroutine
	subscribers span       // its real servers: Manager.subs
	verdict     verdict

	index   int32 // in the schedule heap, -1 when not in it
	tcp     bool  // TCP_CHECK: the connector runs it (launchLocked)
	running bool
	removed bool
	checked bool
	lastOK  bool
}

// probeMore is what a check needs beyond the common record: every kind
// but TCP_CHECK has it from the start (its prober and name); a TCP_CHECK
// gets it at its first failure, or when its attempts run on goroutines
// (an injected Dialer).
type probeMore struct {
	// prober runs an attempt on a goroutine; a TCP_CHECK's is made by
	// its first attempt off the connector (launchLocked).
	prober prober
	name   string // "" for TCP_CHECK: "TCP_CHECK target"
	// lastReason is what the last attempt said, once more is made;
	// before, every attempt said "connected" (lastReason).
	lastReason string
	cancel     context.CancelFunc // of the attempt running on a goroutine
	// failures counts failed attempts by Result.Reason, at most
	// maxFailureReasons of them: a slice, most checks fail for one reason
	// if at all (a map held 200 bytes for it, for every check that ever
	// failed).
	failures []failureCount
}

// extra is p's more, made on first use.
func (p *probe) extra() *probeMore {
	if p.more == nil {
		p.more = &probeMore{lastReason: p.lastReason()}
	}
	return p.more
}

// kind is the check's keyword: TCP_CHECK, HTTP_GET, …
func (p *probe) kind() string { return p.checker.Kind }

// name is how logs and reasons name the check: "TCP_CHECK 10.0.0.1:80".
func (p *probe) name() string {
	if p.tcp {
		return hcl.CheckTCP + " " + p.checker.Connect.String()
	}
	return p.more.name
}

// endpoint is where a TCP_CHECK connects, and from where.
func (p *probe) endpoint() Endpoint { return endpointOf(p.checker) }

// rules are the settings that turn p's attempts into its verdict.
func (p *probe) rules() verdictRules {
	c := p.checker
	return verdictRules{Retry: int(c.Retry), RetryDelay: c.RetryDelay, Rise: int(c.Rise), DelayLoop: c.DelayLoop}
}

// timeout is the deadline of one attempt of p: connect_timeout, or for
// MISC_CHECK misc_timeout with room for the kill (the script gets its
// own timeout).
func (p *probe) timeout() time.Duration {
	if misc := p.checker.Misc(); misc != nil {
		return misc.Timeout + 2*time.Second
	}
	return p.checker.Timeout
}

// reasonConnected is what a TCP_CHECK's successful attempt says.
const reasonConnected = "connected"

// setLastReason records what the last attempt said: in more, made for
// it unless the check has said "connected" alone so far.
func (p *probe) setLastReason(reason string) {
	if p.more != nil || reason != reasonConnected {
		p.extra().lastReason = reason
	}
}

// lastReason is what the last attempt said ("" before any).
func (p *probe) lastReason() string {
	switch {
	case p.more != nil:
		return p.more.lastReason
	case p.checked:
		return reasonConnected
	}
	return ""
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

// link is a check (an index in Manager.probes) used by a real server (an
// index in Manager.reals).
type link struct{ probe, real int32 }

// groupLinks lists the links of each of n owners in one array, in their
// order (a counting sort), and returns it with each owner's span of it;
// ends gives a link's owner and what the owner's list holds.
func groupLinks(links []link, n int, ends func(link) (owner, item int32)) ([]int32, []span) {
	spans := make([]span, n)
	for _, l := range links {
		o, _ := ends(l)
		spans[o].n++
	}
	var first int32
	for i := range spans {
		spans[i].first, first = first, first+spans[i].n
		spans[i].n = 0
	}
	all := make([]int32, len(links))
	for _, l := range links {
		o, item := ends(l)
		s := &spans[o]
		all[s.first+s.n] = item
		s.n++
	}
	return all, spans
}

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
			if m.connectorSchedules {
				c.launch = m.launchDue
			}
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
		*a = connectAttempt{probe: p, endpoint: p.endpoint(), budget: p.timeout()}
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
		more.prober = &tcpProber{dialer: m.opts.Dialer, endpoint: p.endpoint(), timeout: p.timeout()}
	}
	run := more.prober
	pctx, cancel := context.WithTimeout(ctx, p.timeout())
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

// launchDue runs at each wakeup of a scheduling connector, on its
// goroutine, before the connector finishes the attempts that ended
// (connect_linux.go says why): it launches what is due at the wakeup's
// instant.
func (m *Manager) launchDue(now time.Time) {
	m.mu.Lock()
	m.launchDueLocked(m.runCtx, now)
	m.mu.Unlock()
}

// connected runs at each wakeup of the connector, on its goroutine: it
// folds the batch of finished attempts in (the loop need not wake for
// each) and, when the connector schedules, launches what became due (a
// slot the batch freed under the concurrency bound; launchDue made the
// wakeup's launches before it) and plans the next wakeup: one clock read
// per wakeup. Otherwise (a fake clock) it wakes Run's loop only when that
// must launch sooner than its timer says: a retry due before it, or a
// slot freed under the concurrency bound.
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
	p.setLastReason(c.r.Reason)
	p.lastOK, p.lastLatency, p.lastAt, p.checked = c.r.OK, c.r.Latency, c.done, true
	p.attempts++
	if !c.r.OK {
		p.countFailure(c.r.Reason)
	}
	rules := p.rules()
	s := p.verdict.apply(rules, c.r)
	due, round := nextAttempt(rules, s, m.sched.at(p.round), c.done)
	p.round = m.sched.offset(round)
	m.sched.add(p, due)
	if s.Changed {
		if m.log.Enabled(ctx, slog.LevelDebug) {
			m.log.Debug("check verdict", "check", p.name(), "up", p.verdict.Up, "reason", c.r.Reason)
		}
		for _, ri := range p.subscribers.of(m.subs) {
			m.evaluateLocked(ctx, &m.reals[ri], p, c.done)
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
		oldReals[realKey{r.service, r.rs.Addr}] = r
	}
	// Every real server's record, its list of checks and every check's
	// list of real servers are carved out of arrays sized for the
	// configuration (a server written twice takes one record): a reload
	// rebuilds them all anyway, and one array holds them without a
	// header each.
	var nReals, nCheckers int
	for vi := range cfg.VirtualServers {
		rss := cfg.VirtualServers[vi].RealServers
		nReals += len(rss)
		for ri := range rss {
			nCheckers += len(rss[ri].Checkers)
		}
	}
	order := make([]realServer, 0, nReals)
	probes := make(map[probeKey]int32, nCheckers) // index in kept
	reals := make(map[realKey]int32, nReals)      // index in order
	kept := make([]*probe, 0, nCheckers)
	// links pairs each check with a real server that uses it, in the
	// order of the configuration.
	links := make([]link, 0, nCheckers)
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
			r, ok := reals[rk] // written twice: one server, every checker must pass
			if !ok {
				r = int32(len(order))
				order = append(order, realServer{service: service, rs: rs, omega: vs.Omega})
				if old := oldReals[rk]; old != nil {
					order[r].emitted, order[r].up, order[r].weight, order[r].reason = old.emitted, old.up, old.weight, old.reason
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
						p = m.newProbe(c, rs.Weight)
						p.key = key
						fresh = append(fresh, freshProbe{p, c.Warmup})
					} else {
						p.checker = c // the same settings: the old configuration can go
					}
					i = int32(len(kept))
					probes[key] = i
					kept = append(kept, p)
				}
				links = append(links, link{probe: i, real: r})
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
	// Each check's real servers and each real server's checks, in the
	// configuration's order.
	subs, spans := groupLinks(links, len(kept), func(l link) (int32, int32) { return l.probe, l.real })
	for i, p := range kept {
		p.subscribers = spans[i]
	}
	refs, spans := groupLinks(links, len(order), func(l link) (int32, int32) { return l.real, l.probe })
	for i := range order {
		order[i].probes = spans[i]
	}
	m.subs, m.refs = subs, refs
	if cap(kept) > len(kept)+len(kept)/4 {
		kept = slices.Clone(kept) // checks shared by many servers
	}
	m.probes, m.reals = kept, order
	m.grid.tick = gridTick(kept)
	if m.connector != nil {
		m.connector.setReadEvery(m.grid.tick)
	}
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
func (m *Manager) newProbe(c *hcl.Checker, base int) *probe {
	p := &probe{
		checker: c,
		index:   -1,
		verdict: verdict{Up: !c.Alpha, Weight: -1},
	}
	if c.Kind == hcl.CheckTCP {
		// The connector needs the checker alone.
		p.tcp = true
		return p
	}
	more := &probeMore{name: fmt.Sprintf("%s %s", c.Kind, c.Connect)}
	p.more = more
	var err error
	// A kind is told by its settings (hcl: nil only for TCP_CHECK, above,
	// and PING_CHECK).
	switch s := c.KindSettings.(type) {
	case *hcl.HTTPCheck:
		more.prober, err = newHTTPProber(*c, m.opts.Dialer, m.opts.MaxBody)
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
	for _, pi := range r.probes.of(m.refs) {
		p := m.probes[pi]
		if p.verdict.Weight >= 0 {
			weight = int(p.verdict.Weight)
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
		case r.probes.n == 0:
			reason = "no checkers"
		default:
			reason = "checks pass"
		}
	}
	if r.emitted && up == r.up && weight == int(r.weight) {
		return
	}
	addr := r.rs.Addr
	ev := Event{Service: r.service, Real: addr, Up: up, Weight: weight, Reason: reason, Initial: !r.emitted, At: at}
	wasUp, initial := r.up, !r.emitted
	r.emitted, r.up, r.weight, r.reason = true, up, int32(weight), reason
	m.enqueue(ev)
	if initial {
		return
	}
	if up == wasUp {
		m.log.Info("real server weight", "service", r.service, "real", addr.String(), "weight", weight, "reason", reason)
		return
	}
	state, command := "down", r.rs.NotifyDown
	if up {
		state, command = "up", r.rs.NotifyUp
	}
	m.log.Info("real server "+state, "service", r.service, "real", addr.String(), "reason", reason)
	if command != "" {
		u := r.rs.NotifyUsers.Of("notify_" + state)
		s := script.Script{
			Name:    fmt.Sprintf("notify_%s of real server %s in %s", state, addr, r.service),
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
		if rs := r.rs; r.omega && r.up && rs.NotifyDown != "" {
			scripts = append(scripts, script.Script{
				Name:    fmt.Sprintf("notify_down (omega) of real server %s in %s", rs.Addr, r.service),
				Command: rs.NotifyDown,
				User:    rs.NotifyUsers.Of("notify_down").User,
				Group:   rs.NotifyUsers.Of("notify_down").Group,
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
	return p.lastReason()
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
		st := RealServerStatus{Service: r.service, Real: r.rs.Addr, Up: r.up, Weight: int(r.weight), Reason: r.reason}
		for _, pi := range r.probes.of(m.refs) {
			p := m.probes[pi]
			st.Checkers = append(st.Checkers, CheckerStatus{
				Kind: p.kind(), Target: p.checker.Connect, Up: p.verdict.Up,
				LastOK: p.lastOK, LastReason: p.lastReason(), LastCheck: p.lastAt,
				Latency: p.lastLatency, NextCheck: m.sched.at(p.due), SharedBy: int(p.subscribers.n),
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
