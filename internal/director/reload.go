package director

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvsd/lvsd/hcl"
)

// ErrConfigInvalid is Reload's answer to a file with errors: the running
// configuration stays in force.
var ErrConfigInvalid = errors.New("configuration invalid, running configuration kept")

// Reload re-reads the configuration file and applies it as a difference.
// An invalid file is refused with its diagnostics logged and nothing
// changed (keepalived #1660). A valid one is applied part by part in the
// order that keeps "program the services, then add the VIPs" true:
//
//  1. lvs: the new desired state is applied, so a virtual service whose
//     VIP the reload adds exists before the VIP comes up;
//  2. the checkers: unchanged checkers keep their verdicts, new real
//     servers start checking;
//  3. VRRP: instances matched by VRID and interface keep their state; a
//     MASTER adds and removes VIPs by difference.
//
// Finally the IPVS table is re-read and repaired once.
func (d *Director) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	cfg, diags := d.opts.Load(d.opts.File)
	for _, diag := range diags {
		if diag.Severity == hcl.Error {
			d.log.Error("reload", "diagnostic", diag.String())
		} else {
			d.log.Warn("reload", "diagnostic", diag.String())
		}
	}
	if cfg == nil {
		d.log.Error("reload refused: "+ErrConfigInvalid.Error(), "file", d.opts.File)
		return fmt.Errorf("%s: %w", d.opts.File, ErrConfigInvalid)
	}
	if d.checker != nil {
		if err := d.openIPVSLate(cfg); err != nil {
			d.log.Error("reload refused, running configuration kept", "err", err)
			return err
		}
	}
	// Past the last refusal: a refused reload writes no tracked file.
	d.initTrackFiles(cfg, true) // trackfiles.go
	d.mu.Lock()
	old := d.cfg
	d.cfg = cfg
	d.mu.Unlock()
	ipvs := d.ipvsManager()
	if ipvs != nil {
		ipvs.SetConfig(cfg)
		if err := d.applyFullNAT(cfg); err != nil { // fullnat.go
			d.log.Error("reload: FULLNAT", "err", err)
		}
	}
	if d.checker != nil {
		d.checker.Reload(cfg)
	}
	d.alerts.Reload(context.Background(), cfg) // alerts.go
	var err error
	if d.node != nil {
		// The configuration is final, so only the operating system can
		// refuse (e.g. a socket on a new interface); the other parts
		// already run the new configuration, so it is logged, not undone.
		if err = d.node.Reload(cfg); err != nil {
			d.log.Error("reload: vrrp", "err", err)
		}
	}
	d.reloadAnnouncer(old, cfg) // announce.go
	d.reloadAcceptMode(cfg)     // acceptmode.go
	// The sync daemons change only if their settings did.
	d.applySyncDaemons(false)
	if ipvs != nil {
		if _, err := ipvs.Reconcile(context.Background()); err != nil {
			d.log.Error("reconcile after reload", "err", err)
		}
	}
	d.log.Info("reloaded", "file", d.opts.File, "vrrp_instances", len(cfg.Instances), "virtual_servers", len(cfg.VirtualServers))
	return err
}
