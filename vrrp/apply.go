package vrrp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// apply executes the actions of one instance, then makes its sync group
// follow a transition (unless the transition was itself forced).
func (n *Node) apply(ctx context.Context, now time.Time, in *instance, acts []Action, forced bool) {
	// The transitions whose hook ran, told once the actions after them
	// (a new MASTER's VIPs, gratuitous ARPs and advert) are done.
	var hooked []Transition
	if n.opts.AfterTransition != nil {
		defer func() {
			for _, t := range hooked {
				n.opts.AfterTransition(t)
			}
		}()
	}
	for _, a := range acts {
		switch a.Kind {
		case ActSendAdvert:
			n.sendAdvert(in, a.Priority)
		case ActAddVIPs:
			for _, v := range in.cfg.VirtualIPs {
				if err := n.net.Addresses.AddVIP(v); err != nil {
					in.log.Error("adding VIP failed", "vip", v.Prefix, "err", err)
				}
			}
			n.addHeld(in) // routing.go
		case ActRemoveVIPs:
			n.removeHeld(in, false)
			for _, v := range in.cfg.VirtualIPs {
				if err := n.net.Addresses.RemoveVIP(v); err != nil {
					in.log.Error("removing VIP failed", "vip", v.Prefix, "err", err)
				}
			}
		case ActSendGARP:
			// keepalived announces the excluded addresses too.
			for _, v := range append(in.cfg.VirtualIPs[:len(in.cfg.VirtualIPs):len(in.cfg.VirtualIPs)], in.cfg.Net.ExcludedIPs...) {
				if err := n.net.Announcer.SendGARP(v.Dev, v.Prefix.Addr(), a.Count); err != nil {
					in.log.Warn("gratuitous ARP failed", "vip", v.Prefix, "err", err)
				}
			}
		case ActLowerPriorityHeard:
			n.lowerPriorityHeard(in) // notice.go
		case ActTransition:
			if t, ok := n.transition(ctx, in, a); ok {
				hooked = append(hooked, t)
			}
			switch {
			case in.group == nil || forced || a.To == StateInit:
			case a.From == StateInit && a.To == StateBackup:
				// A member starting as BACKUP joins the group's state
				// rather than imposing its own.
				if g := in.group; g.state == StateMaster || g.state == StateFault {
					reason := fmt.Sprintf("sync group %s is %s", g.cfg.Name, g.state)
					n.apply(ctx, now, in, in.m.Force(now, g.state, reason), true)
				} else if g.state == StateInit {
					// The first member to start makes the group BACKUP,
					// notified as keepalived does (syncgroup.go).
					n.groupState(g, StateBackup)
				}
			default:
				n.syncGroup(ctx, now, in, a.To)
			}
		}
	}
}

func (n *Node) sendAdvert(in *instance, priority int) {
	adv := in.advert
	adv.Priority = uint8(priority)
	for _, dst := range in.dsts {
		// A VRRPv3 checksum covers the destination (RFC 5798 §5.2.8):
		// one encoding per unicast peer.
		b, err := adv.Marshal(PseudoHeader(in.src, dst, in.cfg.V3ChecksumAsV2, in.cfg.OldUnicastChecksum))
		if err != nil {
			in.log.Error("encoding advert failed", "err", err)
			return
		}
		if err := in.write(dst, b); err != nil { // ah.go
			in.log.Warn("sending advert failed", "to", dst, "err", err)
			continue
		}
	}
	in.ctr.AdvertsSent++
	if priority == 0 {
		in.ctr.PriorityZeroSent++
	}
}

// transition counts, logs and tells a state change: the hook
// (OnTransition), whose Transition it returns with true when it ran, the
// notify scripts and the notice.
func (n *Node) transition(ctx context.Context, in *instance, a Action) (hooked Transition, ok bool) {
	in.ctr.Transitions++
	in.log.Info("VRRP state change", "from", a.From.String(), "to", a.To.String(), "reason", a.Reason,
		"priority", in.m.Priority())
	if n.opts.OnTransition != nil {
		cctx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 300*time.Millisecond)
			defer cancel()
		}
		t := Transition{Instance: in.cfg.Name, From: a.From, To: a.To, Reason: a.Reason, Priority: in.m.Priority()}
		if err := n.opts.OnTransition(cctx, t); err != nil {
			in.log.Error("transition hook failed", "to", a.To.String(), "err", err)
		}
		hooked, ok = t, true
	}
	if a.To == StateInit {
		return
	}
	state := a.To.String()
	n.notes.queue(notifyJob{what: "notify_" + strings.ToLower(state) + " of " + in.cfg.Name, cmdline: notifyFor(in.cfg.Notify, a.To),
		user: in.cfg.Notify.Users.Of("notify_" + strings.ToLower(state))})
	n.notes.queue(notifyJob{what: "notify of " + in.cfg.Name, cmdline: in.cfg.Notify.Any, user: in.cfg.Notify.Users.Of("notify"),
		args: []string{"INSTANCE", in.cfg.Name, state, strconv.Itoa(in.m.Priority())}})
	n.notice(Notice{Name: in.cfg.Name, State: state, Priority: in.m.Priority()}) // notice.go
	return hooked, ok
}
