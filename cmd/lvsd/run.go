package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lvsd/lvsd/hcl"
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
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := runOptions{vrrp: true, checks: true, logOut: stderr}
	fs.StringVar(&opts.file, "f", defaultConfig, "configuration file")
	fs.StringVar(&opts.logFormat, "log-format", "text", "log format: text or json")
	debug := fs.Bool("debug", false, "log debug messages")
	pidFile := fs.String("pid-file", "", "write the process id to this file")
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

// runDaemon loads the configuration and runs until SIGTERM or SIGINT.
func runDaemon(opts runOptions) int {
	log := newLogger(opts)
	cfg, diags := hcl.Load(opts.file)
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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := newDirector(cfg, opts, log)
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if err := d.run(ctx); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}
