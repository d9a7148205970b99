package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lvsd/lvsd/hcl"
)

// daemon wires the parts of a director together: the VRRP node decides
// whether this director serves, the checkers which real servers serve, and
// the IPVS manager turns both into the kernel's table.
type daemon struct {
	opts runOptions
	log  *slog.Logger
	cfg  *hcl.Config
}

func newDaemon(cfg *hcl.Config, opts runOptions, log *slog.Logger) (*daemon, error) {
	return &daemon{opts: opts, log: log, cfg: cfg}, nil
}

func (d *daemon) run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	d.log.Info("lvsd running", "file", d.opts.file, "vrrp_instances", len(d.cfg.Instances), "virtual_servers", len(d.cfg.VirtualServers))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			d.reload()
		}
	}
}

// reload re-reads the configuration; an invalid file is refused with its
// diagnostics and the running configuration stays in force (keepalived #1660).
func (d *daemon) reload() {
	cfg, diags := hcl.Load(d.opts.file)
	for _, diag := range diags {
		d.log.Warn("reload", "diagnostic", diag.String())
	}
	if cfg == nil {
		d.log.Error("reload refused: configuration invalid, running configuration kept", "file", d.opts.file)
		return
	}
	d.cfg = cfg
	d.log.Info("reloaded", "file", d.opts.file)
}
