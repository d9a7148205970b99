package announce

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
)

// Options injects the announcer's edges.
type Options struct {
	Logger *slog.Logger
	// Speaker is the BGP edge; nil means NewGoBGP.
	Speaker Speaker
	// Services returns the IPVS manager's view of every configured service
	// (lvs.Manager.Status); nil, or nil returned, means no state yet.
	Services func() []lvs.ServiceStatus
	// Interval is how often the decisions are re-taken without a kick;
	// zero means the reconcile_interval of the configuration in force
	// (a reload's from the decision it kicks on).
	Interval time.Duration
}

// Announcer keeps the routes the speaker announces equal to Decide's.
type Announcer struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}

	mu        sync.Mutex
	cfg       *hcl.Config
	announced map[netip.Prefix]bool
	decisions []Decision
	changes   uint64 // announcements and withdrawals made
	// drain, when set, is why every VIP is withdrawn (`lvsd drain`, a
	// SIGTERM's drain period): drain.go; drainSince is when it was set.
	drain      string
	drainSince time.Time
}

// New returns an announcer of cfg's announce block (which must be set).
func New(cfg *hcl.Config, opts Options) *Announcer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Speaker == nil {
		opts.Speaker = NewGoBGP(opts.Logger.With("part", "gobgp"))
	}
	return &Announcer{opts: opts, log: opts.Logger, kick: make(chan struct{}, 1), cfg: cfg, announced: map[netip.Prefix]bool{}}
}

// Kick asks Run to decide again now (a quorum crossing, a mastership
// change); it never blocks.
func (a *Announcer) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// SetConfig makes cfg the configuration decided on (a reload); the
// sessions keep the announce block they started with.
func (a *Announcer) SetConfig(cfg *hcl.Config) {
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
	a.Kick()
}

// Run starts the speaker, announces what Decide says at once and on every
// kick and interval, and when ctx ends withdraws every route before it
// stops the speaker.
func (a *Announcer) Run(ctx context.Context) error {
	cfg := a.config()
	if err := a.opts.Speaker.Start(ctx, cfg.Announce); err != nil {
		return err
	}
	defer a.opts.Speaker.Stop()
	interval := a.interval(cfg)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	// The maintenance file is looked for every maintenancePoll.
	var poll <-chan time.Time
	if cfg.Announce.MaintenanceFile != "" {
		t := time.NewTicker(maintenancePoll)
		defer t.Stop()
		poll = t.C
	}
	for {
		a.apply(ctx, false)
		// A reload's reconcile_interval (SetConfig kicks): the next
		// decision comes that long after this one.
		if want := a.interval(a.config()); want != interval {
			interval = want
			tick.Reset(interval)
		}
		select {
		case <-ctx.Done():
			// Withdraw first: the router moves the flows to the other
			// directors while this one still holds the VIP and IPVS.
			a.apply(context.Background(), true)
			return nil
		case <-a.kick:
		case <-tick.C:
		case <-poll:
		}
	}
}

// interval is how often Run decides again without a kick: Options.Interval
// if set, else cfg's reconcile_interval, else 10 s.
func (a *Announcer) interval(cfg *hcl.Config) time.Duration {
	switch {
	case a.opts.Interval > 0:
		return a.opts.Interval
	case cfg != nil && cfg.Global.ReconcileInterval > 0:
		return cfg.Global.ReconcileInterval
	}
	return 10 * time.Second
}

// maintenancePoll is how often Run looks for the maintenance file.
const maintenancePoll = time.Second

// maintenance returns why every VIP is withdrawn for maintenance, or "".
func maintenance(cfg *hcl.Config) string {
	if cfg == nil || cfg.Announce == nil || cfg.Announce.MaintenanceFile == "" {
		return ""
	}
	if _, err := os.Stat(cfg.Announce.MaintenanceFile); err == nil {
		return "maintenance file " + cfg.Announce.MaintenanceFile + " exists"
	}
	return ""
}

func (a *Announcer) config() *hcl.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// apply decides and announces or withdraws what differs from what was
// sent; a failed change is retried on the next pass.
func (a *Announcer) apply(ctx context.Context, stopping bool) {
	cfg := a.config()
	withdrawAll := maintenance(cfg)
	if reason := a.draining(); reason != "" {
		withdrawAll = reason
	}
	var services []lvs.ServiceStatus
	switch {
	case stopping:
		withdrawAll = "stopping"
	case a.opts.Services != nil:
		services = a.opts.Services()
	}
	decisions := Decide(cfg, services, withdrawAll)
	a.mu.Lock()
	announced := make(map[netip.Prefix]bool, len(a.announced))
	for p := range a.announced {
		announced[p] = true
	}
	a.mu.Unlock()
	want := map[netip.Prefix]bool{}
	for _, d := range decisions {
		if d.Announce {
			want[d.Prefix] = true
		}
		switch {
		case d.Announce && !announced[d.Prefix]:
			if err := a.opts.Speaker.Announce(ctx, d.Prefix); err != nil {
				a.log.Error("BGP announce", "vip", d.Prefix, "err", err)
				continue
			}
			a.log.Info("BGP announce", "vip", d.Prefix, "reason", d.Reason)
			a.record(d.Prefix, true)
		case !d.Announce && announced[d.Prefix]:
			a.withdraw(ctx, d.Prefix, d.Reason)
		}
	}
	// A VIP a reload removed from the configuration.
	for p := range announced {
		if _, ok := want[p]; !ok && !decided(decisions, p) {
			a.withdraw(ctx, p, "no longer configured")
		}
	}
	a.mu.Lock()
	a.decisions = decisions
	a.mu.Unlock()
}

func decided(ds []Decision, p netip.Prefix) bool {
	for _, d := range ds {
		if d.Prefix == p {
			return true
		}
	}
	return false
}

func (a *Announcer) withdraw(ctx context.Context, p netip.Prefix, reason string) {
	if err := a.opts.Speaker.Withdraw(ctx, p); err != nil {
		a.log.Error("BGP withdraw", "vip", p, "err", err)
		return
	}
	a.log.Warn("BGP withdraw", "vip", p, "reason", reason)
	a.record(p, false)
}

func (a *Announcer) record(p netip.Prefix, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if on {
		a.announced[p] = true
	} else {
		delete(a.announced, p)
	}
	a.changes++
}

// Status is what the announcer reports: each VIP's decision, each
// session, and how many announcements and withdrawals it sent.
type Status struct {
	Decisions []Decision
	Peers     []PeerStatus
	Changes   uint64
}

// Status returns the last decisions and the sessions' states now.
func (a *Announcer) Status(ctx context.Context) Status {
	a.mu.Lock()
	st := Status{Decisions: append([]Decision(nil), a.decisions...), Changes: a.changes}
	a.mu.Unlock()
	st.Peers = a.opts.Speaker.Peers(ctx)
	return st
}
