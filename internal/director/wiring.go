package director

import (
	"context"
	"errors"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/vrrp"
)

// onTransition runs inside the VRRP node before a new MASTER adds its VIPs
// and after an old MASTER removed them, so the IPVS table is ready before
// traffic arrives and withdrawn after it stopped. Its end is logged at
// debug level with the time it took, and how much of it IPVS and the
// reset guard took: on a takeover, what VRRP waited for before it adds
// the VIPs and sends its gratuitous ARPs.
//
// From here to afterTransition, once VRRP has added the VIPs and sent its
// gratuitous ARPs, scrapes and statuses (YieldToTransitions) and the IPVS
// manager's statuses and repair passes (lvs.Manager.HoldForTakeover) step
// aside at their next chunk: on the test VM, with a repair pass and
// scrapes keeping both of the runtime's processors busy, VRRP's goroutine
// waited for one after each system call, and adding the VIP and sending
// the gratuitous ARPs after the hook took 19–33 ms of a 36–59 ms takeover
// (docs/benchmarks.md, "Takeover during a repair pass").
func (d *Director) onTransition(_ context.Context, t vrrp.Transition) error {
	start := time.Now()
	d.holdForTransition()
	var ipvsTook, guardTook time.Duration
	defer func() {
		d.log.Debug("transition hook done", "instance", t.Instance, "to", t.To.String(), "took", time.Since(start),
			"ipvs_took", ipvsTook, "reset_guard_took", guardTook)
	}()
	d.events.add(Event{Time: time.Now(), Kind: EventVRRP, Subject: t.Instance, From: t.From.String(), To: t.To.String(), Reason: t.Reason})
	acceptErr := d.acceptModeOnTransition(t.Instance, t.To == vrrp.StateMaster) // acceptmode.go
	ipvs := d.ipvsManager()
	if ipvs == nil {
		return acceptErr
	}
	// Any state but MASTER owns no service: a node that starts BACKUP,
	// or gives up resuming a mastership it held before a crash
	// (vrrp.Machine.Resume), withdraws what the previous run left. Until
	// the first transition the services are left as found.
	guardHeld := d.startHoldResets(t) // sync.go: a new MASTER's reset guard, beside the write
	ipvsStart := time.Now()
	err := ipvs.SetActive(t.Instance, t.To == vrrp.StateMaster)
	ipvsTook = time.Since(ipvsStart)
	guardTook = guardHeld()
	d.mu.Lock()
	d.mastership[t.Instance] = t.To == vrrp.StateMaster
	d.mu.Unlock()
	d.syncOnTransition(t) // sync.go
	d.kickAnnouncer()
	return errors.Join(acceptErr, err)
}

// holdForTransition raises what a transition's hook and the actions after
// it hold until afterTransition: the director's transitions gate and the
// IPVS manager's hold.
func (d *Director) holdForTransition() {
	d.transitions.Raise()
	release := d.transitions.Lower
	if ipvs := d.ipvsManager(); ipvs != nil {
		held := ipvs.HoldForTakeover()
		release = func() {
			held()
			d.transitions.Lower()
		}
	}
	d.mu.Lock()
	d.transitionHolds = append(d.transitionHolds, release)
	d.mu.Unlock()
}

// afterTransition is vrrp.Options.AfterTransition: it releases the hold
// of the transition whose actions are done, the last one taken (a sync
// group's member moves inside another's transition, and is done first).
func (d *Director) afterTransition(vrrp.Transition) {
	d.mu.Lock()
	var release func()
	if n := len(d.transitionHolds); n > 0 {
		release = d.transitionHolds[n-1]
		d.transitionHolds = d.transitionHolds[:n-1]
	}
	d.mu.Unlock()
	if release != nil {
		release()
	}
}

// transitionYieldMax is how long a scrape or a status waits, at one of
// its steps, for a transition's hook: more than a takeover's hook takes
// under the test VM's emulation while a big table is scraped (30–300 ms),
// far less than a scrape's timeout.
const transitionYieldMax = 500 * time.Millisecond

// YieldToTransitions waits while a VRRP transition's hook runs (a
// takeover's IPVS write and reset guard, before VRRP adds the VIPs), for
// at most transitionYieldMax. A /metrics scrape calls it between its
// steps, and Report between its parts: on a table of thousands of real
// servers a scrape keeps the Go runtime's processors busy for seconds
// (about 15 s of a vCPU for 34,000 under the test VM's emulation), and
// the hook's goroutines would wait for a processor at each of theirs. A
// scrape may wait; a takeover may not.
func (d *Director) YieldToTransitions() { d.transitions.Wait(transitionYieldMax) }

// forwardVerdicts hands every health verdict to the IPVS manager until ctx
// ends or the checkers close their stream.
func (d *Director) forwardVerdicts(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-d.checker.Events():
			if !ok {
				return nil
			}
			if !ev.Initial {
				d.log.Info("real server", "service", ev.Service, "real", ev.Real.String(), "up", ev.Up, "reason", ev.Reason)
				from, to := "up", "down"
				if ev.Up {
					from, to = to, from
				}
				d.events.add(Event{Time: time.Now(), Kind: EventHealth, Subject: ev.Service + " " + ev.Real.String(), From: from, To: to, Reason: ev.Reason})
				d.alerts.RealServer(ev.Service, ev.Real, ev.Up) // alerts.go
			}
			if ipvs := d.ipvsManager(); ipvs != nil {
				ipvs.SetVerdict(lvs.VerdictKey{Service: ev.Service, Real: ev.Real}, lvs.Verdict{Up: ev.Up, Weight: ev.Weight, Reason: ev.Reason})
			}
		}
	}
}

// onQuorum runs a virtual server's quorum_up or quorum_down script
// (keepalived: when the sum of healthy weights crosses quorum ±
// hysteresis). The script runs in its own goroutine so the IPVS manager
// never waits for it, on the director's script context, and Run waits for
// it (or kills it, with its process group) before returning.
func (d *Director) onQuorum(vs hcl.VirtualServer, up bool) {
	d.log.Info("quorum", "virtual_server", vs.Name, "up", up)
	d.alerts.VirtualServer(vs, up, d.liveWeight(vs)) // alerts.go
	d.kickAnnouncer()
	d.runQuorumScript(vs, up)
}

// runQuorumScript runs vs's quorum_up (up) or quorum_down script, as its
// user, through spawnScript; an unset one runs nothing.
func (d *Director) runQuorumScript(vs hcl.VirtualServer, up bool) {
	command, keyword := vs.QuorumDown, "quorum_down"
	if up {
		command, keyword = vs.QuorumUp, "quorum_up"
	}
	if command == "" {
		return
	}
	u := vs.QuorumUsers.Of(keyword)
	cfg := d.Config()
	runner := d.opts.Scripts
	if runner == nil {
		runner = script.New(cfg.Global)
	}
	s := script.Script{Name: "quorum script of " + vs.Name, Command: command, User: u.User, Group: u.Group, Timeout: cfg.Global.NotifyTimeout}
	d.spawnScript(func(ctx context.Context) {
		res, err := runner.Run(ctx, s)
		if err != nil || res.ExitCode != 0 {
			d.log.Warn("quorum script", "virtual_server", vs.Name, "script", command, "exit", res.ExitCode, "timed_out", res.TimedOut, "err", err)
		}
	})
}

// spawnScript runs f on the script context unless Run has already stopped
// its scripts.
func (d *Director) spawnScript(f func(ctx context.Context)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.scriptsClosed {
		return
	}
	d.scripts.Add(1)
	go func() {
		defer d.scripts.Done()
		f(d.scriptCtx)
	}()
}

// scriptStopGrace is how long Run lets quorum scripts finish on the way
// out before it kills them (vrrp.Options.StopGrace is its VRRP twin).
const scriptStopGrace = 500 * time.Millisecond

// closeScripts lets the scripts still running finish for scriptStopGrace,
// then kills them with their process groups and waits for them.
func (d *Director) closeScripts() {
	d.mu.Lock()
	d.scriptsClosed = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.scripts.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(scriptStopGrace):
		d.log.Warn("quorum scripts still running at exit: killed")
	}
	d.stopScripts()
	<-done
}
