package vrrp

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
)

// scripts is the runner of notify scripts and vrrp_script: Options.Scripts,
// or the one of the global block in force (a reload may change script_user
// or enable_script_security). Called on Run's goroutine.
func (n *Node) scripts() script.Runner {
	if n.opts.Scripts != nil {
		return n.opts.Scripts
	}
	return script.New(n.cfg.Global)
}

// notifySettings is what a notify script queued now runs with: the runner
// and notify_timeout of the configuration in force.
func (n *Node) notifySettings() (script.Runner, time.Duration) {
	return n.scripts(), n.cfg.Global.NotifyTimeout
}

// notifyJob is one notify script run.
type notifyJob struct {
	what    string // for logs: "notify_master of VI_1"
	cmdline string
	args    []string       // keepalived's TYPE NAME STATE PRIORITY for notify
	user    hcl.ScriptUser // who runs it (the words after the command); empty: script_user
}

// queuedNotify is a notifyJob with what it runs with.
type queuedNotify struct {
	run    script.Runner
	script script.Script
}

// notifier runs notify scripts one after another in their own goroutine so
// they keep their order and never block the state machine (a full queue
// drops the run and logs it).
type notifier struct {
	jobs     chan queuedNotify
	settings func() (script.Runner, time.Duration) // called by queue
	log      *slog.Logger
	done     chan struct{}
}

func newNotifier(settings func() (script.Runner, time.Duration), log *slog.Logger) *notifier {
	return &notifier{jobs: make(chan queuedNotify, 256), settings: settings, log: log, done: make(chan struct{})}
}

// run runs the queued scripts until close; cancelling ctx kills the one
// running (its whole process group) and skips the rest.
func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for j := range n.jobs {
		if ctx.Err() != nil {
			n.log.Warn("notify script not run: stopping", "script", j.script.Name)
			continue
		}
		res, err := j.run.Run(ctx, j.script)
		switch {
		case err != nil:
			n.log.Error("notify script not run", "script", j.script.Name, "err", err)
		case res.TimedOut:
			n.log.Warn("notify script timed out", "script", j.script.Name, "timeout", j.script.Timeout)
		case res.ExitCode != 0:
			n.log.Warn("notify script failed", "script", j.script.Name, "command", j.script.Command, "args", j.script.Args,
				"exit", res.ExitCode, "output", strings.TrimSpace(string(res.Output)))
		}
	}
}

func (n *notifier) queue(j notifyJob) {
	if j.cmdline == "" {
		return
	}
	run, timeout := n.settings()
	q := queuedNotify{run: run, script: script.Script{Name: j.what, Command: j.cmdline, Args: j.args,
		User: j.user.User, Group: j.user.Group, Timeout: timeout}}
	select {
	case n.jobs <- q:
	default:
		n.log.Error("notify queue full, script not run", "script", j.what)
	}
}

// close stops taking jobs and waits up to wait for queued ones to finish;
// the caller then cancels run's ctx, which kills what still runs.
func (n *notifier) close(wait time.Duration) {
	close(n.jobs)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-n.done:
	case <-t.C:
		n.log.Warn("notify scripts still running at exit are killed", "grace", wait)
	}
}

// scriptResult is one tracked script (vrrp_script) changing between OK
// and KO after rise/fall results, or disabled.
type scriptResult struct {
	name string
	ok   bool
	// disabled: the script could not run at all on its first run and
	// its tracker has ended (see trackScript).
	disabled bool
}

// tracker returns the goroutine that tracks s; what it needs from the Node
// is taken now, on Run's goroutine.
func (n *Node) tracker(ctx context.Context, s hcl.VRRPScript) func() {
	run, out, log := n.scripts(), n.results, n.log
	return func() { trackScript(ctx, run, s, out, log) }
}

// trackScript runs a vrrp_script every interval and reports OK/KO changes
// with keepalived's rise/fall hysteresis. The first result is reported as
// it comes so instances waiting for it can start.
//
// A script that cannot run on its first run (refused by
// enable_script_security, not found, an unknown user) is disabled, as
// keepalived disables such a script when it starts: the error is logged
// with the script's name, a disabled result is reported and the tracker
// ends; a reload tries again. Later, a run that cannot start counts as a
// failure.
func trackScript(ctx context.Context, run script.Runner, s hcl.VRRPScript, out chan<- scriptResult, log *slog.Logger) {
	job := script.Script{Name: "vrrp_script " + s.Name, Command: s.Script, User: s.User, Group: s.Group, Timeout: s.Timeout}
	send := func(r scriptResult) bool {
		select {
		case out <- r:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// init_fail: the script starts failed and needs rise successes
	// (keepalived's SCRIPT_INIT_STATE_FAILED; seedInitFail tells the
	// instances).
	known, ok := s.InitFail, false
	succ, fail := 0, 0
	lastErr := ""
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		res, err := run.Run(ctx, job)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !known {
			log.Error("vrrp_script disabled: it cannot run", "script", s.Name, "err", err)
			send(scriptResult{name: s.Name, disabled: true})
			return
		}
		if err != nil && err.Error() != lastErr {
			log.Warn("vrrp_script not run; counted as a failure", "script", s.Name, "err", err)
		}
		lastErr = errorText(err)
		good := err == nil && !res.TimedOut && res.ExitCode == 0
		if good {
			succ, fail = succ+1, 0
		} else {
			succ, fail = 0, fail+1
		}
		changed := false
		switch {
		case !known:
			// keepalived starts a script at rise-1 (fall-1): the first
			// result decides.
			known, ok, changed = true, good, true
		case !ok && succ >= s.Rise:
			ok, changed = true, true
		case ok && fail >= s.Fall:
			ok, changed = false, true
		}
		if changed && !send(scriptResult{name: s.Name, ok: ok}) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// scriptDisabled stops tracking a vrrp_script whose tracker found it cannot
// run, as keepalived removes such a track_script from its instances: they
// forget its result and, when they were waiting for its first one, start.
// A reload starts its tracker again.
func (n *Node) scriptDisabled(ctx context.Context, now time.Time, name string) {
	if stop, ok := n.scriptStop[name]; ok {
		stop()
		delete(n.scriptStop, name)
	}
	for _, in := range n.insts {
		if _, ok := in.scriptWeight[name]; !ok {
			continue
		}
		if _, seen := in.scriptOK[name]; !seen {
			in.pending--
		}
		delete(in.scriptOK, name)
		in.log.Warn("track_script disabled", "script", name)
		n.startInstance(ctx, now, in)
	}
}
