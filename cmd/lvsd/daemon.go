package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/lvsd/lvsd/checks"
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/vrrp"
)

// director wires the parts of one director together: the VRRP node decides
// whether this director serves, the checkers which real servers serve, and
// the IPVS manager turns both into the kernel's table. Data flows one way:
// config → (mastership, health) → kernel.
type director struct {
	opts runOptions
	log  *slog.Logger

	mu  sync.Mutex // guards cfg across reloads
	cfg *hcl.Config

	node    *vrrp.Node      // nil with --checks only (keepalived -C)
	checker *checks.Manager // nil with --vrrp only (keepalived -P)
	ipvs    *lvs.Manager    // nil when the config has no virtual_server and IPVS is absent
	started time.Time
}

func newDirector(cfg *hcl.Config, opts runOptions, log *slog.Logger) (*director, error) {
	d := &director{opts: opts, log: log, cfg: cfg, started: time.Now()}
	if opts.checks {
		if err := d.openIPVS(cfg); err != nil {
			return nil, err
		}
		d.checker = checks.NewManager(cfg, checks.Options{Logger: log.With("part", "checks")})
	}
	if opts.vrrp {
		node, err := vrrp.NewNode(cfg, vrrp.Options{Logger: log.With("part", "vrrp"), OnTransition: d.onTransition})
		if err != nil {
			return nil, err
		}
		d.node = node
	}
	return d, nil
}

// openIPVS opens the kernel's IPVS table when the configuration has virtual
// servers; a VRRP-only director runs on kernels without IPVS.
func (d *director) openIPVS(cfg *hcl.Config) error {
	if d.ipvs != nil || len(cfg.VirtualServers) == 0 {
		return nil
	}
	k, err := lvs.OpenKernel("")
	if err != nil {
		return fmt.Errorf("IPVS: %w (is the ip_vs kernel module loaded?)", err)
	}
	d.ipvs = lvs.NewManager(k, lvs.ManagerOptions{
		Logger:   d.log.With("part", "ipvs"),
		Interval: cfg.Global.ReconcileInterval,
		OnQuorum: d.onQuorum,
	})
	d.ipvs.SetConfig(cfg)
	return nil
}

// onTransition runs inside the VRRP node before a new MASTER adds its VIPs
// and after an old MASTER removed them, so the IPVS table is ready before
// traffic arrives and withdrawn after it stopped.
func (d *director) onTransition(_ context.Context, t vrrp.Transition) error {
	if d.ipvs == nil {
		return nil
	}
	// Any state but MASTER owns no service: a node that starts BACKUP,
	// or gives up resuming a mastership it held before a crash
	// (vrrp.Machine.Resume), withdraws what the previous run left. Until
	// the first transition the services are left as found.
	return d.ipvs.SetActive(t.Instance, t.To == vrrp.StateMaster)
}

func (d *director) onQuorum(vs hcl.VirtualServer, up bool) {
	script := vs.QuorumDown
	if up {
		script = vs.QuorumUp
	}
	d.log.Info("quorum", "virtual_server", vs.Name, "up", up)
	if script == "" {
		return
	}
	global := d.currentConfig().Global
	go func() {
		res, err := checks.NewExecRunner(global).Run(context.Background(), checks.Script{
			Name: "quorum script of " + vs.Name, Command: script, Timeout: global.NotifyTimeout,
		})
		if err != nil || res.ExitCode != 0 {
			d.log.Warn("quorum script", "virtual_server", vs.Name, "script", script, "exit", res.ExitCode, "err", err)
		}
	}()
}

func (d *director) currentConfig() *hcl.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// run runs every part until ctx is cancelled, then stops them in order:
// VRRP first (priority-0 adverts, VIPs removed, services withdrawn), then
// the checkers; the IPVS table is never flushed on the way out.
func (d *director) run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	usr := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(hup)
	defer signal.Stop(usr)

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

	if d.ipvs != nil {
		if n, err := d.ipvs.Reconcile(ctx); err != nil {
			d.log.Error("first reconcile", "err", err)
		} else {
			d.log.Info("IPVS table adopted", "operations", n)
		}
		start("ipvs", d.ipvs.Run)
	}
	if d.checker != nil {
		start("checks", d.checker.Run)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.forwardVerdicts(partCtx)
		}()
	}
	vrrpDone := make(chan struct{})
	vrrpCtx, stopVRRP := context.WithCancel(context.Background())
	defer stopVRRP()
	if d.node != nil {
		go func() {
			defer close(vrrpDone)
			if err := d.node.Run(vrrpCtx); err != nil {
				errs <- fmt.Errorf("vrrp: %w", err)
			}
		}()
	} else {
		close(vrrpDone)
	}
	ctl, err := d.serveControl(partCtx)
	if err != nil {
		d.log.Warn("control socket", "err", err)
	}
	metrics, err := d.serveMetrics(partCtx)
	if err != nil {
		d.log.Warn("metrics", "err", err)
	}
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		d.log.Debug("sd_notify", "err", err)
	}
	cfg := d.currentConfig()
	d.log.Info("lvsd running", "file", d.opts.file, "vrrp_instances", len(cfg.Instances), "virtual_servers", len(cfg.VirtualServers))

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errs:
			runErr = err
			break loop
		case <-hup:
			d.reload()
		case sig := <-usr:
			d.dump(sig == syscall.SIGUSR2)
		}
	}
	daemon.SdNotify(false, daemon.SdNotifyStopping)
	stopVRRP()
	<-vrrpDone
	stopParts()
	if ctl != nil {
		ctl.Close()
	}
	if metrics != nil {
		metrics.Close()
	}
	wg.Wait()
	return runErr
}

// forwardVerdicts hands every health verdict to the IPVS manager.
func (d *director) forwardVerdicts(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-d.checker.Events():
			if !ok {
				return
			}
			if !ev.Initial {
				d.log.Info("real server", "service", ev.Service, "real", ev.Real.String(), "up", ev.Up, "reason", ev.Reason)
			}
			if d.ipvs != nil {
				d.ipvs.SetVerdict(lvs.VerdictKey{Service: ev.Service, Real: ev.Real}, lvs.Verdict{Up: ev.Up, Weight: ev.Weight, Reason: ev.Reason})
			}
		}
	}
}

// reload re-reads the configuration. An invalid file is refused with its
// diagnostics and the running configuration stays in force (keepalived
// #1660); a valid one is applied as a diff by each part: VRRP instances
// matched by VRID and interface keep their state, unchanged checkers keep
// their verdicts, IPVS changes only what differs.
func (d *director) reload() {
	cfg, diags := hcl.Load(d.opts.file)
	for _, diag := range diags {
		if diag.Severity == hcl.Error {
			d.log.Error("reload", "diagnostic", diag.String())
		} else {
			d.log.Warn("reload", "diagnostic", diag.String())
		}
	}
	if cfg == nil {
		d.log.Error("reload refused: configuration invalid, running configuration kept", "file", d.opts.file)
		return
	}
	if d.checker != nil {
		if err := d.openIPVS(cfg); err != nil {
			d.log.Error("reload refused", "err", err)
			return
		}
	}
	if d.node != nil {
		if err := d.node.Reload(cfg); err != nil {
			d.log.Error("reload refused by vrrp, running configuration kept", "err", err)
			return
		}
	}
	d.mu.Lock()
	d.cfg = cfg
	d.mu.Unlock()
	if d.ipvs != nil {
		d.ipvs.SetConfig(cfg)
	}
	if d.checker != nil {
		d.checker.Reload(cfg)
	}
	if d.ipvs != nil {
		if _, err := d.ipvs.Reconcile(context.Background()); err != nil {
			d.log.Error("reconcile after reload", "err", err)
		}
	}
	d.log.Info("reloaded", "file", d.opts.file, "vrrp_instances", len(cfg.Instances), "virtual_servers", len(cfg.VirtualServers))
}
