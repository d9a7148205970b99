package director

import (
	"context"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
)

// runStartStopScript runs global_defs' startup_script (before Run starts
// any part) or shutdown_script (after every part has stopped) through the
// one script runner and waits for it, bounded by its timeout, as
// keepalived 2.2.7's parent process does (main.c run_startup_script,
// shutdown_script_completed). Whatever the outcome, lvsd goes on: a
// script that does not run, fails or times out (its process group killed)
// is logged in keepalived's words.
func (d *Director) runStartStopScript(ctx context.Context, kind string, s hcl.StartStopScript, g hcl.Global) {
	if s.Command == "" {
		return
	}
	runner := d.opts.Scripts
	if runner == nil {
		runner = script.New(g)
	}
	log := d.log.With("script", s.Command)
	log.Info("Running " + kind + " script")
	res, err := runner.Run(ctx, script.Script{Name: kind + " script", Command: s.Command, User: s.User, Group: s.Group, Timeout: s.Timeout})
	switch {
	case err != nil:
		log.Error("Call of "+kind+" script failed", "err", err)
	case res.TimedOut:
		log.Error(kind+" script timed out", "timeout", s.Timeout, "output", string(res.Output))
	case res.ExitCode != 0:
		log.Warn(kind+" script failed", "status", res.ExitCode, "output", string(res.Output))
	default:
		log.Info(kind + " script succeeded")
	}
}
