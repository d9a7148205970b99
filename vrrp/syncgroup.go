package vrrp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// syncGroup is one vrrp_sync_group: its members follow each other.
type syncGroup struct {
	cfg     hcl.SyncGroup
	members []*instance
	state   State
}

// newSyncGroups joins the instances into their validated groups; a group
// of old (the groups before a reload) keeps its state.
func newSyncGroups(cfgs []hcl.SyncGroup, byName map[string]*instance, old []*syncGroup) []*syncGroup {
	for _, in := range byName {
		in.group = nil
	}
	var groups []*syncGroup
	for _, gc := range cfgs {
		g := &syncGroup{cfg: gc}
		for _, og := range old {
			if og.cfg.Name == gc.Name {
				g.state = og.state
			}
		}
		for _, name := range gc.Group {
			if in, ok := byName[name]; ok {
				in.group = g
				g.members = append(g.members, in)
				// The group's track_script is every member's
				// (keepalived's sync_group_tracking_init); its other
				// tracking refreshTracking reads from the group.
				for _, ts := range gc.TrackScripts {
					if _, own := in.scriptWeight[ts.Name]; !own {
						in.scriptWeight[ts.Name], in.scriptRev[ts.Name] = ts.Weight, ts.Reverse
						if _, known := in.scriptOK[ts.Name]; !known {
							in.pending++
						}
					}
				}
			}
		}
		groups = append(groups, g)
	}
	return groups
}

// syncGroup makes the other members of in's vrrp_sync_group follow it
// (keepalived: one member MASTER, BACKUP or FAULT takes the others along).
func (n *Node) syncGroup(ctx context.Context, now time.Time, in *instance, to State) {
	g := in.group
	reason := fmt.Sprintf("sync group %s: %s is %s", g.cfg.Name, in.cfg.Name, to)
	for _, o := range g.members {
		if o != in && o.started {
			n.apply(ctx, now, o, o.m.Force(now, to, reason), true)
		}
	}
	if g.state == to {
		return
	}
	n.groupState(g, to)
}

// groupState records the group's new state and runs its notify scripts
// and notice.
func (n *Node) groupState(g *syncGroup, to State) {
	g.state = to
	state := to.String()
	n.notes.queue(notifyJob{what: "notify_" + strings.ToLower(state) + " of group " + g.cfg.Name, cmdline: notifyFor(g.cfg.Notify, to),
		user: g.cfg.Notify.Users.Of("notify_" + strings.ToLower(state))})
	// keepalived gives a group priority 0 (vrrp_notify.c).
	n.notes.queue(notifyJob{what: "notify of group " + g.cfg.Name, cmdline: g.cfg.Notify.Any, user: g.cfg.Notify.Users.Of("notify"),
		args: []string{"GROUP", g.cfg.Name, state, "0"}})
	n.notice(Notice{Group: true, Name: g.cfg.Name, State: state}) // notice.go
}

// queueStop queues the group's notify_stop and notify ... STOP (shutdown).
func (n *Node) queueStop(g *syncGroup) {
	n.notes.queue(notifyJob{what: "notify_stop of group " + g.cfg.Name, cmdline: g.cfg.Notify.Stop, user: g.cfg.Notify.Users.Of("notify_stop")})
	n.notes.queue(notifyJob{what: "notify of group " + g.cfg.Name, cmdline: g.cfg.Notify.Any, user: g.cfg.Notify.Users.Of("notify"),
		args: []string{"GROUP", g.cfg.Name, "STOP", "0"}})
	n.notice(Notice{Group: true, Name: g.cfg.Name, State: "STOP"})
}

// notifyFor is the notify_master, notify_backup or notify_fault command
// line for a state.
func notifyFor(nt hcl.Notify, s State) string {
	switch s {
	case StateMaster:
		return nt.Master
	case StateBackup:
		return nt.Backup
	case StateFault:
		return nt.Fault
	}
	return ""
}
