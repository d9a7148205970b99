package director

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Drain takes this director out of the router's ECMP set without stopping
// anything else (`lvsd drain`): every VIP is withdrawn at once, then the
// VIPs, the IPVS table and the checks stay for the announce block's
// drain_delay, so the flows the router still sends while it converges are
// served; then the director is drained and says so. It stays drained
// (withdrawn, serving what still comes) until Undrain or a restart.
//
// Only a cluster director (an announce block) drains this way. A VRRP
// instance hands over by stopping lvsd (SIGTERM: make-before-break,
// vrrp.Machine.Handover); Drain says so instead of doing half of it.
func (d *Director) Drain(ctx context.Context) (string, error) {
	cfg := d.Config()
	if d.announcer == nil {
		if len(cfg.Instances) > 0 {
			return "", errors.New("this director has VRRP instances and no announce block: stop lvsd (SIGTERM) for the make-before-break handover to the backup")
		}
		return "", errors.New("nothing to drain: the configuration has no announce block")
	}
	if reason, since := d.announcer.Draining(); reason != "" {
		return fmt.Sprintf("already drained since %s (%s)", since.Format(time.RFC3339), reason), nil
	}
	start := time.Now()
	took, err := d.withdrawAll(ctx, "drained (lvsd drain)")
	if err != nil {
		return "", err
	}
	delay := cfg.Announce.DrainDelay
	d.log.Info("drain: routes withdrawn; VIPs and IPVS kept for drain_delay", "withdrawn_after", took, "drain_delay", delay)
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("routes withdrawn after %v, drain_delay %v cut short: %w", took.Round(time.Millisecond), delay, ctx.Err())
	case <-time.After(delay - time.Since(start) + took):
	}
	d.log.Info("drain: drained")
	return fmt.Sprintf("drained: every route withdrawn after %v, VIPs and IPVS kept for drain_delay %v (they stay; lvsd drain --undo announces again)", took.Round(time.Millisecond), delay), nil
}

// Undrain ends a drain (`lvsd drain --undo`): the VIPs are announced again
// as their services' quorum says.
func (d *Director) Undrain() (string, error) {
	if d.announcer == nil {
		return "", errors.New("nothing to undo: the configuration has no announce block")
	}
	if reason, _ := d.announcer.Draining(); reason == "" {
		return "not drained: nothing to undo", nil
	}
	d.announcer.SetDrain("")
	d.log.Info("drain: undone; announcing again")
	return "announcing again as the services' quorum says", nil
}

// withdrawAll has the announcer withdraw every VIP for reason and waits
// until the withdrawals are handed to the sessions.
func (d *Director) withdrawAll(ctx context.Context, reason string) (time.Duration, error) {
	start := time.Now()
	d.announcer.SetDrain(reason)
	for !d.announcer.Withdrawn() {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("withdrawing the routes: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return time.Since(start), nil
}

// drainBeforeStop is Run's first step on the way out (SIGTERM) for a
// cluster director, before the announcer stops: every route withdrawn,
// then drain_delay from the withdrawal with everything else still running,
// less the time an earlier `lvsd drain` already waited.
func (d *Director) drainBeforeStop() {
	if d.announcer == nil {
		return
	}
	delay := d.Config().Announce.DrainDelay
	if _, since := d.announcer.Draining(); !since.IsZero() {
		delay -= time.Since(since)
	}
	if delay <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), delay)
	defer cancel()
	took, err := d.withdrawAll(ctx, "stopping")
	if err != nil {
		d.log.Warn("stopping: routes not all withdrawn within drain_delay", "err", err)
		return
	}
	d.log.Info("stopping: routes withdrawn; VIPs and IPVS kept for drain_delay", "withdrawn_after", took, "drain_delay", delay)
	// drain_delay counts from the withdrawal, as for lvsd drain: the
	// router's last flows get the whole delay however long withdrawing took.
	time.Sleep(delay)
}
