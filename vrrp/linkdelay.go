package vrrp

import "time"

// linkDebounce holds the interface changes that global_defs'
// interface_up_down_delays delays, as keepalived 2.2.7 debounces them
// (keepalived_netlink.c update_interface_flags): a change of an interface
// with a delay is acted on only once it has lasted that long; a change
// back before then cancels it ("Delay timer cancelled"); the first up of
// an interface never seen up is not delayed. Used only by Run's goroutine.
type linkDebounce struct {
	pending map[string]pendingLink
	seenUp  map[string]bool
}

// pendingLink is a delayed change: the state it goes to and when.
type pendingLink struct {
	up  bool
	due time.Time
}

// linkDelay is the delay of a change of name to up (zero: none).
func (n *Node) linkDelay(name string, up bool) time.Duration {
	for _, d := range n.cfg.Global.InterfaceDelays {
		if d.Interface == name {
			if up {
				return d.Up
			}
			return d.Down
		}
	}
	return 0
}

// linkApplied is the state the instances hold for name, if one tracks it.
func (n *Node) linkApplied(name string) (up, known bool) {
	for _, in := range n.insts {
		if v, ok := in.linkUp[name]; ok {
			return v, true
		}
	}
	return false, false
}

// linkEvent takes a change the link watcher reports, at once or after
// its delay.
func (n *Node) linkEvent(now time.Time, name string, up bool) {
	l := &n.links
	if l.pending == nil {
		l.pending, l.seenUp = map[string]pendingLink{}, map[string]bool{}
	}
	was, known := n.linkApplied(name)
	if was {
		l.seenUp[name] = true
	}
	if p, ok := l.pending[name]; ok {
		if p.up == up {
			return
		}
		delete(l.pending, name)
		n.log.Info("Delay timer cancelled", "interface", name, "up", up)
	}
	if known && was == up {
		return
	}
	if d := n.linkDelay(name, up); d > 0 && known && l.seenUp[name] {
		l.pending[name] = pendingLink{up: up, due: now.Add(d)}
		n.log.Info("interface change delayed", "interface", name, "up", up, "delay", d)
		return
	}
	if up {
		l.seenUp[name] = true
	}
	n.linkChanged(now, name, up) // track.go
}

// linksDue acts on the delayed changes that are due.
func (n *Node) linksDue(now time.Time) {
	for name, p := range n.links.pending {
		if now.Before(p.due) {
			continue
		}
		delete(n.links.pending, name)
		if p.up {
			n.links.seenUp[name] = true
		}
		n.linkChanged(now, name, p.up)
	}
}

// nextLinkDue is when the next delayed change is due (zero: none).
func (n *Node) nextLinkDue() time.Time {
	var next time.Time
	for _, p := range n.links.pending {
		if next.IsZero() || p.due.Before(next) {
			next = p.due
		}
	}
	return next
}
