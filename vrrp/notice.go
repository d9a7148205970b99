package vrrp

import (
	"strconv"
	"strings"
)

// Notice is one state change of an instance or sync group, told to
// Options.OnNotice in the order they happen, as keepalived writes them to
// its notify FIFO (vrrp_notify.c): State is MASTER, BACKUP, FAULT, STOP,
// DELETED (an instance a reload removed, with notify_deleted; FAULT
// without) or MASTER_RX_LOWER_PRI (a MASTER heard a lower priority).
// Priority is the instance's effective priority, 0 for a group.
type Notice struct {
	Group    bool
	Name     string
	State    string
	Priority int
}

// Line is the notice in keepalived's FIFO format:
// `INSTANCE "VI_1" MASTER 100` or `GROUP "G" BACKUP 0`.
func (n Notice) Line() string {
	kind := "INSTANCE"
	if n.Group {
		kind = "GROUP"
	}
	return kind + ` "` + n.Name + `" ` + n.State + " " + strconv.Itoa(n.Priority)
}

// notice hands a notice to Options.OnNotice (Run's goroutine; the callee
// must not block).
func (n *Node) notice(nt Notice) {
	if n.opts.OnNotice != nil {
		n.opts.OnNotice(nt)
	}
}

// lowerPriorityHeard runs notify_master_rx_lower_pri and tells the notice
// (keepalived's send_event_notify).
func (n *Node) lowerPriorityHeard(in *instance) {
	n.notes.queue(notifyJob{what: "notify_master_rx_lower_pri of " + in.cfg.Name, cmdline: in.cfg.Notify.MasterRxLowerPri,
		user: in.cfg.Notify.Users.Of("notify_master_rx_lower_pri")})
	n.notice(Notice{Name: in.cfg.Name, State: "MASTER_RX_LOWER_PRI", Priority: in.m.Priority()})
}

// deleted tells the scripts and notices of an instance a reload removed:
// DELETED with notify_deleted, else FAULT as keepalived does by default
// (vrrp_notify.c send_instance_notifies).
func (n *Node) deleted(in *instance) {
	in.removed = true
	state := "FAULT"
	if in.cfg.NotifyDeleted {
		state = "DELETED"
	} else {
		n.notes.queue(notifyJob{what: "notify_fault of " + in.cfg.Name, cmdline: in.cfg.Notify.Fault, user: in.cfg.Notify.Users.Of("notify_fault")})
	}
	prio := in.cfg.Priority
	if in.m != nil {
		prio = in.m.Priority()
	}
	n.notes.queue(notifyJob{what: "notify of " + in.cfg.Name, cmdline: in.cfg.Notify.Any, user: in.cfg.Notify.Users.Of("notify"),
		args: []string{"INSTANCE", in.cfg.Name, state, strconv.Itoa(prio)}})
	n.notice(Notice{Name: in.cfg.Name, State: strings.ToUpper(state), Priority: prio})
}
