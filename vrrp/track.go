package vrrp

import (
	"context"
	"fmt"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// startScripts starts the tracker of every used vrrp_script that is not
// running with the same definition (old: the definitions running now).
func (n *Node) startScripts(old map[string]hcl.VRRPScript) {
	for _, s := range n.cfg.Scripts {
		if !n.scriptUsed(s.Name) {
			continue
		}
		if prev, ok := old[s.Name]; ok && scriptEqual(prev, s) {
			if _, running := n.scriptStop[s.Name]; running {
				continue
			}
		}
		if stop, ok := n.scriptStop[s.Name]; ok {
			stop()
		}
		ctx, cancel := context.WithCancel(n.workers)
		n.scriptStop[s.Name] = cancel
		n.goroutines.Go(n.tracker(ctx, s))
	}
	for name, stop := range n.scriptStop {
		if !n.scriptUsed(name) || !n.scriptDefined(name) {
			stop()
			delete(n.scriptStop, name)
		}
	}
}

func scriptEqual(a, b hcl.VRRPScript) bool {
	return a.Script == b.Script && a.Interval == b.Interval && a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall &&
		a.User == b.User && a.Group == b.Group
}

func (n *Node) scriptDefined(name string) bool {
	for _, s := range n.cfg.Scripts {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (n *Node) scriptUsed(name string) bool {
	for _, in := range n.insts {
		if _, ok := in.scriptWeight[name]; ok {
			return true
		}
	}
	return false
}

func (n *Node) linkChanged(now time.Time, name string, up bool) {
	for _, in := range n.insts {
		if was, tracked := in.linkUp[name]; tracked && was != up {
			in.log.Info("tracked interface changed", "interface", name, "up", up)
			in.linkUp[name] = up
			n.refreshTracking(now, in)
		}
	}
}

func (n *Node) scriptChanged(ctx context.Context, now time.Time, r scriptResult) {
	if r.disabled {
		n.scriptDisabled(ctx, now, r.name)
		return
	}
	for _, in := range n.insts {
		if _, ok := in.scriptWeight[r.name]; !ok {
			continue
		}
		first := false
		if _, seen := in.scriptOK[r.name]; !seen {
			in.pending--
			first = true
		}
		if !first || !r.ok {
			in.log.Info("tracked script changed", "script", r.name, "ok", r.ok)
		}
		in.scriptOK[r.name] = r.ok
		n.refreshTracking(now, in)
		if in.pending == 0 && !in.started {
			in.started = true
			n.apply(ctx, now, in, in.m.Start(now), false)
		}
	}
}

// refreshTracking recomputes fault and effective priority from the
// tracked interfaces and scripts (keepalived: weight 0 means FAULT when
// down; a positive weight is added while up/OK, a negative one while
// down/KO; the owner's 255 never moves).
func (n *Node) refreshTracking(now time.Time, in *instance) {
	for _, name := range append([]string{in.cfg.Interface}, trackNames(in.cfg.TrackInterfaces)...) {
		if _, known := in.linkUp[name]; !known {
			up, err := n.net.Links.LinkUp(name)
			if err != nil {
				in.log.Warn("tracked interface", "interface", name, "err", err)
			}
			in.linkUp[name] = up
		}
	}
	var faults []string
	prio := in.cfg.Priority
	if !in.linkUp[in.cfg.Interface] {
		faults = append(faults, in.cfg.Interface+" down")
	}
	for _, ti := range in.cfg.TrackInterfaces {
		up := in.linkUp[ti.Name]
		switch {
		case ti.Weight == 0 && !up:
			faults = append(faults, ti.Name+" down")
		case ti.Weight > 0 && up, ti.Weight < 0 && !up:
			prio += ti.Weight
		}
	}
	for name, w := range in.scriptWeight {
		ok, known := in.scriptOK[name]
		if !known {
			continue
		}
		switch {
		case w == 0 && !ok:
			faults = append(faults, "script "+name+" failed")
		case w > 0 && ok, w < 0 && !ok:
			prio += w
		}
	}
	if in.cfg.Priority != 255 {
		prio = min(max(prio, 1), 254)
	}
	ctx := context.Background()
	n.apply(ctx, now, in, in.m.SetPriority(now, prio), false)
	reason := "tracking recovered"
	if len(faults) > 0 {
		reason = fmt.Sprint(faults)
	}
	n.apply(ctx, now, in, in.m.SetFault(now, len(faults) > 0, reason), false)
}

func trackNames(ts []hcl.TrackInterface) []string {
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return names
}
