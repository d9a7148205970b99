package director

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvsd/lvsd/checks"
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/acceptmode"
	"github.com/lvsd/lvsd/internal/alert"
	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/internal/fullnat"
	"github.com/lvsd/lvsd/internal/priority"
	"github.com/lvsd/lvsd/internal/resetguard"
	"github.com/lvsd/lvsd/internal/script"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/vrrp"
)

// Options says which parts run and injects the edges; the zero value of an
// edge means its Linux implementation.
type Options struct {
	// File is the configuration file Reload re-reads; it is also shown in
	// the status report.
	File string
	// Version is shown in the status report.
	Version string
	// VRRP runs the VRRP side and Checks the checkers and IPVS side;
	// keepalived's -P and -C set one of them, `lvsd run` both.
	VRRP, Checks bool
	Logger       *slog.Logger

	// OnRunning is called once Run has started every part, the health
	// checks with every check of the configuration built and planned
	// (cmd/lvsd tells systemd it is ready there, and lets the start's
	// garbage go).
	OnRunning func()

	// Load reads a configuration on Reload; nil means hcl.Load.
	Load func(path string) (*hcl.Config, hcl.Diagnostics)
	// OpenKernel opens the IPVS table when the configuration has virtual
	// servers; nil means the current namespace's, loading ip_vs first if
	// the kernel lacks it, as keepalived does.
	OpenKernel func() (lvs.Kernel, error)
	// AfterFirstWrite, when set, is called once in New with the start's
	// configuration, as soon as its first IPVS table is written (or where
	// it would be, without IPVS), before anything else is built from it:
	// `lvsd run` compacts its model there (cmd/lvsd retain.go), off the way
	// to its first table. What New built before holds no part of cfg but
	// through cfg itself (the alerter, the IPVS manager's configuration;
	// the manager's view of the kernel has names of its own).
	AfterFirstWrite func(cfg *hcl.Config)
	// Opening, when set, is the IPVS table opened and read while the
	// configuration was read (lvs.OpenAhead; `lvsd run`). New takes the
	// kernel and the table read from it instead of calling OpenKernel, or
	// calls OpenKernel when the Opening failed (IPVS not loaded yet, say),
	// and closes it when it does not need IPVS.
	Opening *lvs.Opening
	// Network is the VRRP node's operating-system edge; nil means Linux.
	// Its Addresses also put a cluster's VIPs on lo (cluster.go).
	Network vrrp.Network
	// Scripts runs every script: quorum_up/quorum_down here, and it is
	// handed to the checkers (MISC_CHECK, notify_up/down) and the VRRP
	// node (notify, vrrp_script); nil means script.New of the global block.
	Scripts script.Runner
	// Speaker is the BGP edge of the announce block; nil means an
	// embedded gobgp (internal/announce).
	Speaker announce.Speaker
	// Sysctl sets a kernel setting named as under /proc/sys (cluster.go);
	// nil writes /proc/sys.
	Sysctl func(name, value string) error
}

// Director runs one director: the VRRP node, the checkers and the IPVS
// manager, wired together. New builds it; Run runs it until its context
// ends; Reload and Report may be called while Run runs.
type Director struct {
	opts    Options
	log     *slog.Logger
	started time.Time

	reloadMu sync.Mutex // one reload at a time

	// transitions is raised while a VRRP transition's hook and the
	// actions after it run (wiring.go); a status or a scrape yields to it
	// (YieldToTransitions).
	transitions priority.Gate

	mu  sync.Mutex // guards cfg and the script bookkeeping below
	cfg *hcl.Config
	// transitionHolds are the holds of the transitions in progress,
	// the last taken last (holdForTransition, afterTransition).
	transitionHolds []func()
	// fullnat is lvsd's FULLNAT nftables table, nil until a
	// configuration has an lb_kind FNAT service (fullnat.go).
	fullnat *fullnat.Table
	// acceptMode is lvsd's accept-mode nftables table, nil until an
	// instance with no_accept becomes MASTER (acceptmode.go).
	acceptMode *acceptmode.Table
	// masters are the instances whose last transition was to MASTER, for
	// accept mode on reload (guarded by mu; mastership is kept for IPVS).
	masters map[string]bool
	// scriptCtx bounds the quorum scripts: Run cancels it on the way out
	// and waits for scripts before it returns.
	scriptCtx     context.Context
	stopScripts   context.CancelFunc
	scripts       sync.WaitGroup
	scriptsClosed bool

	// opening is Options.Opening until New's openIPVS takes it; New
	// closes what is left of it.
	opening *lvs.Opening
	// afterFirstWrite is Options.AfterFirstWrite until New calls it
	// (firstWriteDone).
	afterFirstWrite func(*hcl.Config)

	// lateIPVS hands Run an IPVS manager that a reload opened (the first
	// virtual_server of a running director), so its repair loop runs too.
	lateIPVS chan *lvs.Manager

	// mastership is each instance's last transition: MASTER or not
	// (guarded by mu; the sync daemons follow it, sync.go).
	mastership map[string]bool
	// syncKick asks the sync-daemon worker to apply the mastership
	// (sync.go), so a takeover never waits for the kernel's daemons.
	syncKick chan struct{}
	// stopping is set when Run begins its way out: the sync-daemon worker
	// then starts nothing (a daemon started during shutdown is only
	// stopped again a moment later).
	stopping atomic.Bool
	// becameMaster is when the sync instance last became MASTER (guarded
	// by mu); its backup daemon runs syncLinger longer (sync.go).
	becameMaster time.Time
	syncLinger   time.Duration
	// handovers counts the connection handovers under way (sync.go).
	handovers sync.WaitGroup
	// guard is the reset guard's table, open from Run's start (with
	// connection sync on) to its end; a new MASTER holds it (sync.go;
	// guarded by mu).
	guard *resetguard.Guard

	// events holds the recent VRRP transitions and verdict changes for
	// the status report.
	events history

	node    *vrrp.Node      // nil with VRRP off (keepalived -C)
	checker *checks.Manager // nil with Checks off (keepalived -P)
	ipvs    *lvs.Manager    // nil while the configuration has no virtual_server
	// alerts writes the notify FIFOs and sends e-mail alerts (alerts.go).
	alerts *alert.Alerter
	// announcer announces the VIPs by BGP (announce.go); nil without an
	// announce block or with Checks off.
	announcer *announce.Announcer
}

// New builds the parts a configuration asks for. cfg is final (hcl has
// defaulted and validated it); New fails only on the operating system,
// e.g. when virtual servers are configured and IPVS is absent.
func New(cfg *hcl.Config, opts Options) (*Director, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Load == nil {
		opts.Load = hcl.Load
	}
	if opts.OpenKernel == nil {
		opts.OpenKernel = func() (lvs.Kernel, error) {
			return lvs.OpenKernelWith(lvs.KernelOptions{Logger: opts.Logger.With("part", "ipvs"), LoadModule: true})
		}
	}
	d := &Director{opts: opts, log: opts.Logger, cfg: cfg, started: time.Now(), lateIPVS: make(chan *lvs.Manager, 1), mastership: map[string]bool{}, masters: map[string]bool{}, syncKick: make(chan struct{}, 1), syncLinger: backupLinger}
	d.scriptCtx, d.stopScripts = context.WithCancel(context.Background())
	d.opening, d.opts.Opening = opts.Opening, nil
	d.afterFirstWrite, d.opts.AfterFirstWrite = opts.AfterFirstWrite, nil
	defer func() {
		d.opening.Close() // unless openIPVS took it
		d.opening = nil
	}()
	d.alerts = d.newAlerter(cfg) // alerts.go
	d.initTrackFiles(cfg, false) // trackfiles.go
	if opts.Checks {
		if _, err := d.openIPVS(cfg); err != nil {
			return nil, err
		}
	}
	d.firstWriteDone(cfg) // without IPVS: openIPVS did not
	if opts.Checks {
		d.checker = checks.NewManager(cfg, checks.Options{Logger: d.log.With("part", "checks"), Scripts: opts.Scripts})
		d.newAnnouncer(cfg)
	}
	if opts.VRRP {
		d.node = vrrp.NewNode(cfg, vrrp.Options{
			Logger:       d.log.With("part", "vrrp"),
			OnTransition: d.onTransition,
			// The hold onTransition takes lasts until the VIPs are
			// added and the gratuitous ARPs sent (wiring.go).
			AfterTransition: d.afterTransition,
			OnNotice:        d.onNotice, // alerts.go
			// Make-before-break on stop: VIPs and services stay until
			// the new master is heard (vrrp.Machine.Handover).
			Handover: true,
			Network:  opts.Network,
			Scripts:  opts.Scripts,
		})
	}
	return d, nil
}

// openIPVS opens the kernel's IPVS table once the configuration has virtual
// servers (a VRRP-only director runs on kernels without IPVS) and returns
// the manager it opened, or nil.
func (d *Director) openIPVS(cfg *hcl.Config) (*lvs.Manager, error) {
	if d.ipvsManager() != nil || len(cfg.VirtualServers) == 0 {
		return nil, nil
	}
	var k lvs.Kernel
	var table lvs.Table
	if d.opening != nil {
		var took time.Duration
		var err error
		k, table, took, err = d.opening.Wait()
		d.opening = nil
		if err != nil {
			d.log.Debug("IPVS not opened while the configuration was read", "err", err)
		} else {
			d.log.Debug("IPVS opened and read while the configuration was read", "took", took, "services", len(table))
		}
	}
	if k == nil {
		var err error
		if k, err = d.opts.OpenKernel(); err != nil {
			return nil, fmt.Errorf("IPVS: %w", err)
		}
	}
	m := lvs.NewManager(k, lvs.ManagerOptions{
		Logger: d.log.With("part", "ipvs"),
		// No Interval: the manager follows reconcile_interval, a
		// reload's too.
		OnQuorum: d.onQuorum,
		Table:    table, // read with the Opening's kernel, nil without
	})
	m.SetConfig(cfg)
	// At start, Options.AfterFirstWrite: the table is written.
	d.firstWriteDone(cfg)
	if err := d.applyFullNAT(cfg); err != nil { // fullnat.go
		return nil, err
	}
	d.applyClusterSysctls(cfg)
	d.mu.Lock()
	d.ipvs = m
	d.mu.Unlock()
	return m, nil
}

// firstWriteDone calls Options.AfterFirstWrite with the start's
// configuration, once: right after the first IPVS table is written, or in
// New where that would have been.
func (d *Director) firstWriteDone(cfg *hcl.Config) {
	if f := d.afterFirstWrite; f != nil {
		d.afterFirstWrite = nil
		f(cfg)
	}
}

// openIPVSLate is openIPVS on reload: Run starts the new manager's loop.
func (d *Director) openIPVSLate(cfg *hcl.Config) error {
	m, err := d.openIPVS(cfg)
	if m != nil {
		d.lateIPVS <- m
	}
	return err
}

// Config returns the configuration in force.
func (d *Director) Config() *hcl.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Run runs the startup_script first (startstop.go), adopts the IPVS table
// as found, runs every part until ctx ends or a part fails, then stops
// them in order: VRRP first (priority-0 adverts,
// VIPs removed, services withdrawn), then the checkers and the IPVS manager
// (the table is never flushed on the way out), then the quorum scripts
// still running. Every goroutine Run started has ended when it returns.
func (d *Director) Run(ctx context.Context) error {
	defer d.closeScripts()
	if g := d.Config().Global; g.StartupScript.Command != "" { // startstop.go
		d.runStartStopScript(ctx, "startup", g.StartupScript, g)
		if ctx.Err() != nil {
			return nil
		}
	}
	d.alerts.Start(ctx) // alerts.go: after VRRP's STOP notices, the FIFOs close
	defer d.alerts.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	partCtx, stopParts := context.WithCancel(context.Background())
	defer stopParts()
	start := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(partCtx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}

	startIPVS := func(ipvs *lvs.Manager) {
		if n, err := ipvs.Reconcile(ctx); err != nil {
			d.log.Error("first reconcile", "err", err)
		} else {
			d.log.Info("IPVS table adopted", "operations", n)
		}
		d.alertQuorumAtStart(ipvs) // alerts.go
		start("ipvs", ipvs.Run)
		d.kickSyncDaemons()
	}
	ipvsStarted := d.ipvsManager()
	if ipvsStarted != nil {
		startIPVS(ipvsStarted)
	}
	if d.checker != nil {
		start("checks", d.checker.Run)
		start("verdicts", d.forwardVerdicts)
	}
	d.addClusterVIPs(d.Config()) // cluster.go
	stopAnnouncer := d.runAnnouncer(errs)
	syncCtx, stopSync := context.WithCancel(context.Background())
	defer stopSync()
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		d.runSyncDaemons(syncCtx)
	}()
	vrrpDone := make(chan struct{})
	vrrpCtx, stopVRRP := context.WithCancel(context.Background())
	defer stopVRRP()
	d.openResetGuard() // sync.go: before any takeover
	if d.node != nil {
		d.clearAcceptMode() // acceptmode.go
		go func() {
			defer close(vrrpDone)
			if err := d.node.Run(vrrpCtx); err != nil {
				errs <- fmt.Errorf("vrrp: %w", err)
			}
		}()
	} else {
		close(vrrpDone)
	}
	if d.checker != nil {
		// Building thousands of checks is the start's last work: what
		// it allocated and touched goes with the rest (OnRunning).
		select {
		case <-d.checker.Started():
		case <-ctx.Done():
		case runErr := <-errs:
			errs <- runErr // the loop below takes it
		}
	}
	if d.opts.OnRunning != nil {
		d.opts.OnRunning()
	}
	cfg := d.Config()
	d.log.Info("lvsd running", "file", d.opts.File, "vrrp_instances", len(cfg.Instances), "virtual_servers", len(cfg.VirtualServers))

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case runErr = <-errs:
			break loop
		case m := <-d.lateIPVS:
			if m != ipvsStarted {
				startIPVS(m)
			}
		}
	}
	d.stopping.Store(true)
	tellOmega := d.omegaAtStop() // alerts.go: before leaving MASTER withdraws the services
	stopAnnouncer()
	d.startHandover(vrrpDone) // sync.go
	stopVRRP()
	<-vrrpDone
	stopSync()
	<-syncDone
	d.handovers.Wait()
	d.releaseResets()
	d.closeResetGuard() // sync.go: a stopped lvsd leaves no table
	d.stopSyncDaemons()
	tellOmega() // omega's stop-time notices
	stopParts()
	wg.Wait()
	d.removeFullNAT()    // fullnat.go
	d.removeAcceptMode() // acceptmode.go
	g := d.Config().Global
	d.runStartStopScript(context.Background(), "shutdown", g.ShutdownScript, g) // startstop.go
	return runErr
}

// ipvsManager returns the IPVS manager, which a reload may open late.
func (d *Director) ipvsManager() *lvs.Manager {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ipvs
}
