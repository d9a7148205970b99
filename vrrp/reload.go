package vrrp

import (
	"context"
	"errors"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// Reload applies a new configuration. Instances are matched by
// virtual_router_id, interface, address family, version (and multicast or
// unicast): a matched
// instance keeps its state and timers (no flap, no notify) and takes the new
// settings; a MASTER adds and removes VIPs by difference. New instances
// start; removed ones stop as on shutdown. Before Run, Reload just replaces
// the configuration.
func (n *Node) Reload(cfg *hcl.Config) error {
	next := NewNode(cfg, n.opts)
	n.mu.Lock()
	running := n.running
	n.mu.Unlock()
	if !running {
		select {
		case <-n.stopped:
			return errors.New("vrrp: reload after the node stopped")
		default:
		}
		n.cfg, n.insts, n.byName, n.groups = next.cfg, next.insts, next.byName, next.groups
		n.publish()
		return nil
	}
	errc := make(chan error, 1)
	select {
	case n.inbox <- func(now time.Time) { errc <- n.reload(now, next) }:
	case <-n.stopped:
		return errors.New("vrrp: reload after the node stopped")
	}
	select {
	case err := <-errc:
		return err
	case <-n.stopped:
		return errors.New("vrrp: node stopped during reload")
	}
}

type instanceKey struct {
	vrid      int
	ifname    string
	ipv6      bool
	version   int
	multicast bool
	net       string // VMAC and socket options (routing.go)
}

func keyOf(c hcl.VRRPInstance) instanceKey {
	return instanceKey{c.VirtualRouterID, c.Interface, c.IPv6, c.Version, len(c.UnicastPeers) == 0, netKey(c)}
}

// reload runs in Run's goroutine.
func (n *Node) reload(now time.Time, next *Node) error {
	ctx := context.Background()
	old := map[instanceKey]*instance{}
	for _, in := range n.insts {
		old[keyOf(in.cfg)] = in
	}
	oldScripts := map[string]hcl.VRRPScript{}
	for _, s := range n.cfg.Scripts {
		oldScripts[s.Name] = s
	}
	var insts, added []*instance
	for _, nin := range next.insts {
		if o, ok := old[keyOf(nin.cfg)]; ok {
			delete(old, keyOf(nin.cfg))
			n.update(o, nin)
			insts = append(insts, o)
			continue
		}
		added = append(added, nin)
	}
	for _, o := range old {
		o.log.Info("instance removed by reload")
		n.deleted(o) // notice.go
		n.stopInstance(o)
		n.detach(o)
	}
	n.reloadStatic(next.cfg.Static) // routing.go
	n.cfg = next.cfg
	n.insts = insts
	for _, in := range n.insts {
		n.seedInitFail(in) // track.go
	}
	var errs []error
	for _, nin := range added {
		if err := n.setupInstance(nin); err != nil {
			errs = append(errs, err)
			continue
		}
		nin.log.Info("instance added by reload")
		n.insts = append(n.insts, nin)
	}
	n.byName = instancesByName(n.insts)
	n.groups = newSyncGroups(next.cfg.SyncGroups, n.byName, n.groups)
	n.startScripts(oldScripts)
	n.readTracked() // track.go
	for _, in := range n.insts {
		n.startInstance(ctx, now, in)
	}
	n.publish()
	return errors.Join(errs...)
}

// update gives a running instance its new settings without a transition.
func (n *Node) update(o, nin *instance) {
	oldVIPs, oldNet := o.cfg.VirtualIPs, o.cfg.Net
	if o.cfg.Name != nin.cfg.Name {
		o.log.Info("instance renamed by reload", "new_name", nin.cfg.Name)
	}
	o.cfg, o.log, o.advert = nin.cfg, nin.log, nin.advert
	self := o.expect.Self
	o.expect = nin.expect
	o.expect.Self = self
	if src := nin.cfg.UnicastSrcIP; src.IsValid() && src != o.src {
		o.src, o.expect.Self = src, src
	}
	if len(nin.cfg.UnicastPeers) > 0 {
		o.dsts = nin.cfg.UnicastPeers
	}
	o.scriptWeight = nin.scriptWeight
	o.scriptRev = nin.scriptRev
	o.pending = 0
	for name := range o.scriptWeight {
		if _, known := o.scriptOK[name]; !known {
			o.pending++
		}
	}
	for name := range o.scriptOK {
		if _, used := o.scriptWeight[name]; !used {
			delete(o.scriptOK, name)
		}
	}
	o.m.Reconfigure(o.machineConfig())
	defer n.updateHeld(o, oldNet) // routing.go: after the VIPs
	if o.m.State() != StateMaster {
		return
	}
	has := func(list []hcl.VIP, v hcl.VIP) bool {
		for _, x := range list {
			if x.Prefix == v.Prefix && x.Dev == v.Dev {
				return true
			}
		}
		return false
	}
	for _, v := range oldVIPs {
		if !has(o.cfg.VirtualIPs, v) {
			if err := n.net.Addresses.RemoveVIP(v); err != nil {
				o.log.Error("removing VIP failed", "vip", v.Prefix, "err", err)
			}
		}
	}
	for _, v := range o.cfg.VirtualIPs {
		if !has(oldVIPs, v) {
			if err := n.net.Addresses.AddVIP(v); err != nil {
				o.log.Error("adding VIP failed", "vip", v.Prefix, "err", err)
				continue
			}
			if err := n.net.Announcer.SendGARP(v.Dev, v.Prefix.Addr(), o.cfg.GarpMasterRepeat); err != nil {
				o.log.Warn("gratuitous ARP failed", "vip", v.Prefix, "err", err)
			}
		}
	}
}

// detach removes a stopped instance from its socket, closing the socket
// when nobody else uses it.
func (n *Node) detach(in *instance) {
	sc := in.conn
	if sc == nil {
		return
	}
	for i, x := range sc.insts {
		if x == in {
			sc.insts = append(sc.insts[:i], sc.insts[i+1:]...)
			break
		}
	}
	if len(sc.insts) > 0 {
		return
	}
	sc.conn.Close()
	for i, x := range n.conns {
		if x == sc {
			n.conns = append(n.conns[:i], n.conns[i+1:]...)
			break
		}
	}
}
