package vrrp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

// runScript runs a keepalived-style command line (split on white space,
// no shell) with extra arguments, killed after timeout. It returns nil on
// exit status 0.
func runScript(ctx context.Context, cmdline string, args []string, timeout time.Duration) error {
	fields := strings.Fields(cmdline)
	if len(fields) == 0 {
		return errors.New("empty script")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, fields[0], append(fields[1:], args...)...)
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %v", timeout)
	}
	return err
}

// notifyJob is one notify script run.
type notifyJob struct {
	what    string // for logs: "notify_master of VI_1"
	cmdline string
	args    []string
}

// notifier runs notify scripts one after another in their own goroutine so
// they keep their order and never block the state machine (a full queue
// drops the run and logs it).
type notifier struct {
	jobs    chan notifyJob
	timeout time.Duration
	log     *slog.Logger
	done    chan struct{}
}

func newNotifier(timeout time.Duration, log *slog.Logger) *notifier {
	return &notifier{jobs: make(chan notifyJob, 256), timeout: timeout, log: log, done: make(chan struct{})}
}

func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for j := range n.jobs {
		if err := runScript(ctx, j.cmdline, j.args, n.timeout); err != nil {
			n.log.Warn("notify script failed", "script", j.what, "command", j.cmdline, "args", j.args, "err", err)
		}
	}
}

func (n *notifier) queue(j notifyJob) {
	if j.cmdline == "" {
		return
	}
	select {
	case n.jobs <- j:
	default:
		n.log.Error("notify queue full, script not run", "script", j.what)
	}
}

// close stops taking jobs and waits up to wait for queued ones to finish.
func (n *notifier) close(wait time.Duration) {
	close(n.jobs)
	select {
	case <-n.done:
	case <-time.After(wait):
		n.log.Warn("notify scripts still running at exit")
	}
}

// scriptResult is one tracked script (vrrp_script) changing between OK
// and KO after rise/fall results.
type scriptResult struct {
	name string
	ok   bool
}

// trackScript runs a vrrp_script every interval and reports OK/KO changes
// with keepalived's rise/fall hysteresis. The first result is reported as
// it comes so instances waiting for it can start.
func trackScript(ctx context.Context, name, cmdline string, interval, timeout time.Duration, rise, fall int, out chan<- scriptResult) {
	rise, fall = max(rise, 1), max(fall, 1)
	if interval <= 0 {
		interval = time.Second
	}
	if timeout <= 0 {
		timeout = interval
	}
	var known, ok bool
	succ, fail := 0, 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		good := runScript(ctx, cmdline, nil, timeout) == nil
		if ctx.Err() != nil {
			return
		}
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
		case !ok && succ >= rise:
			ok, changed = true, true
		case ok && fail >= fall:
			ok, changed = false, true
		}
		if changed {
			select {
			case out <- scriptResult{name: name, ok: ok}:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
