package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
)

// runOptions is what `lvsd run` and keepalived's command line both set.
type runOptions struct {
	file      string
	logFormat string // "text" or "json"
	logLevel  slog.Level
	logOut    io.Writer
	vrrp      bool // run the VRRP side
	checks    bool // run the checkers and IPVS side
	pidFiles  []string
	loader    hcl.Loader // Strict and ConfigID; its zero value is hcl.Load
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := runOptions{vrrp: true, checks: true, logOut: stderr}
	fs.StringVar(&opts.file, "f", defaultConfig, "configuration file")
	fs.StringVar(&opts.logFormat, "log-format", "text", "log format: text or json")
	debug := fs.Bool("debug", false, "log debug messages")
	pidFile := fs.String("pid-file", "", "write the process id to this file")
	fs.BoolVar(&opts.loader.Strict, "strict", false, "refuse what keepalived would run past in a keepalived.conf")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *debug {
		opts.logLevel = slog.LevelDebug
	}
	if *pidFile != "" {
		opts.pidFiles = []string{*pidFile}
	}
	return runDaemon(opts)
}

func newLogger(opts runOptions) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.logLevel}
	if opts.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(opts.logOut, ho))
	}
	return slog.New(slog.NewTextHandler(opts.logOut, ho))
}

// runDaemon loads the configuration and runs the director until SIGTERM or
// SIGINT. It owns the process's edges: pid files, signals (SIGHUP reloads,
// SIGUSR1/SIGUSR2 dump), the control socket, /metrics and sd_notify; the
// director owns everything else.
func runDaemon(opts runOptions) int {
	withoutMemoryProfile() // goruntime.go
	log := newLogger(opts)
	var fileSize int64
	if fi, err := os.Stat(opts.file); err == nil {
		fileSize = fi.Size()
	}
	startWithoutCollection(fileSize) // goruntime.go: until the first table is written (OnRunning)
	// What the daemon keeps of each configuration it loads (retain.go):
	// a reload's is compacted before the director has it, the start's
	// once its first IPVS table is written (director.Options.AfterFirstWrite:
	// nothing but the write needs it before). Each stage of a load and of
	// the start is logged at debug level with what it took
	// (docs/benchmarks.md takes a start apart with them).
	load := func(path string) (*hcl.Config, hcl.Diagnostics) {
		start := time.Now()
		cfg, diags := opts.loader.Load(path)
		read := time.Since(start)
		compactModel(cfg)
		log.Debug("configuration loaded", "file", path, "read", read, "compacted", time.Since(start)-read)
		return cfg, diags
	}
	compactAfterFirstWrite := func(cfg *hcl.Config) {
		start := time.Now()
		compactModel(cfg)
		log.Debug("configuration compacted", "file", opts.file, "took", time.Since(start))
	}
	// Opening IPVS and reading the table the kernel holds need no
	// configuration: they run while the file is read (lvs.OpenAhead, which
	// loads no module: a refused file changes nothing); the director takes
	// both for the first write.
	var opening *lvs.Opening
	if opts.checks {
		opening = lvs.OpenAhead(lvs.KernelOptions{Logger: log.With("part", "ipvs")})
		defer opening.Close() // unless the director took it
	}
	// The file is read on every processor (a big keepalived.conf in
	// parts, hcl's keepalived_parts.go; a big lvsd.hcl's pieces,
	// decode.go's parseInPieces), the first table written on one.
	start := time.Now()
	cfg, diags := opts.loader.Load(opts.file)
	log.Debug("configuration loaded", "file", opts.file, "read", time.Since(start))
	allProcs := loadOnOneProc(opts.vrrp && cfg != nil && len(cfg.Instances) > 0) // goruntime.go
	for _, d := range diags {
		if d.Severity == hcl.Warning {
			log.Warn("config", "diagnostic", d.String())
		} else {
			log.Error("config", "diagnostic", d.String())
		}
	}
	if cfg == nil {
		log.Error("configuration refused", "file", opts.file)
		return 1
	}
	for _, p := range opts.pidFiles {
		if err := os.WriteFile(p, fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
			log.Error("pid file", "err", err)
			return 1
		}
		defer os.Remove(p)
	}
	hup := make(chan os.Signal, 1)
	usr := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(hup)
	defer signal.Stop(usr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	built := time.Now()
	d, err := director.New(cfg, director.Options{
		File: opts.file, Version: version, VRRP: opts.vrrp, Checks: opts.checks, Logger: log, Load: load, Opening: opening,
		AfterFirstWrite: compactAfterFirstWrite,
		OnRunning: func() {
			// The first table is written (Run's first reconcile comes
			// before OnRunning) and every check is built and planned:
			// the daemon gets its processors back, and the start's
			// garbage and pages go, and a benchmark's profile starts
			// (goruntime.go).
			allProcs()
			releaseLoadGarbage()
			profileSteadyState()
			if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
				log.Debug("sd_notify", "err", err)
			}
		},
	})
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	// New has written the first IPVS table (lvs.Manager.SetConfig).
	log.Debug("director built", "took", time.Since(built))
	runtimeDir := filepath.Dir(cfg.Global.ControlSocket)
	ctl, err := serveControl(cfg.Global.ControlSocket, d, log)
	if err != nil {
		log.Warn("control socket", "err", err)
	} else {
		defer ctl.Close()
	}
	if addr := cfg.Global.MetricsListen; addr != "" {
		m, err := serveMetrics(addr, cfg.Global.StatusPage, d, log)
		if err != nil {
			log.Warn("metrics", "err", err)
		} else {
			defer m.Close()
		}
	}

	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopping := ctx.Done()
	for {
		select {
		case <-stopping:
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			stopping = nil
		case err := <-done:
			if err != nil {
				log.Error("stopped", "err", err)
				return 1
			}
			log.Info("stopped")
			return 0
		case <-hup:
			loadAtLoosePace() // goruntime.go
			d.Reload()
			releaseLoadGarbage()
		case sig := <-usr:
			writeDump(runtimeDir, d.Report(), sig == syscall.SIGUSR2, log)
		}
	}
}
