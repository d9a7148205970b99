package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// instance is one vrrp_instance: its machine, what it accepts and sends,
// its socket, and its tracking.
type instance struct {
	cfg     hcl.VRRPInstance
	m       *Machine
	expect  Expect
	advert  Advert
	src     netip.Addr
	dsts    []netip.Addr
	conn    *sharedConn
	group   *syncGroup
	log     *slog.Logger
	ctr     Counters
	started bool
	held    bool // every VIP was on its interface at setup: Resume, not Start
	removed bool // removed by a reload: told DELETED or FAULT, not STOP (notice.go)

	linkUp       map[string]bool
	scriptOK     map[string]bool
	scriptWeight map[string]int
	scriptRev    map[string]bool // track_script weight N reverse (track.go)
	pending      int             // tracked scripts without a first result
	lastDropLog  map[DropReason]time.Time
	mismatchFrom netip.Addr
	ahSeq        uint32 // auth_type AH: the sequence number last sent or heard (ah.go)
}

// newInstance prepares an instance of a validated vrrp_instance: hcl has
// checked the VRID, priority, interface, version and address family,
// advert_int (whole seconds in v2, centiseconds in v3), authentication, the
// address count and the track_script references, set every VIP's device
// and resolved every track_script's weight.
func newInstance(ic hcl.VRRPInstance, log *slog.Logger) *instance {
	in := &instance{
		cfg:          ic,
		log:          log.With("instance", ic.Name),
		linkUp:       map[string]bool{},
		scriptOK:     map[string]bool{},
		scriptWeight: map[string]int{},
		scriptRev:    map[string]bool{},
		lastDropLog:  map[DropReason]time.Time{},
		ctr:          Counters{Drops: map[DropReason]uint64{}},
	}
	var vips []netip.Addr
	for _, v := range ic.VirtualIPs {
		vips = append(vips, v.Prefix.Addr())
	}
	if repeats := advertAddresses(ic, vips); repeats != nil {
		vips = repeats
	}
	in.expect = Expect{Version: uint8(ic.Version), VRID: uint8(ic.VirtualRouterID), Addresses: vips, Peers: ic.UnicastPeers,
		ChecksumAsV2: ic.V3ChecksumAsV2}
	for _, r := range ic.UnicastPeerTTLs {
		in.expect.PeerTTLs = append(in.expect.PeerTTLs, PeerTTL{Peer: r.Peer, Min: r.Min, Max: r.Max})
	}
	in.advert = Advert{Version: in.expect.Version, VRID: in.expect.VRID, Addresses: vips}
	if ic.Version == Version3 {
		// RFC 5798 §5.2.7: centiseconds.
		in.advert.MaxAdvertInt = uint16(ic.AdvertInt / (10 * time.Millisecond))
	} else {
		in.expect.AdvertInt = uint8(ic.AdvertInt / time.Second)
		if ic.AuthType == "PASS" {
			in.expect.AuthType = AuthPassword
			in.expect.Password = PasswordOf(ic.AuthPass)
		}
		if ic.AuthType == "AH" {
			in.expect.AuthType = AuthAH // ah.go: the password is in the ICV
		}
		in.advert.AuthType, in.advert.Password, in.advert.AdvertInt = in.expect.AuthType, in.expect.Password, in.expect.AdvertInt
	}
	for _, ts := range ic.TrackScripts {
		in.scriptWeight[ts.Name] = ts.Weight
		in.scriptRev[ts.Name] = ts.Reverse
		in.pending++
	}
	return in
}

func instancesByName(insts []*instance) map[string]*instance {
	byName := make(map[string]*instance, len(insts))
	for _, in := range insts {
		byName[in.cfg.Name] = in
	}
	return byName
}

func (in *instance) machineConfig() MachineConfig {
	c := in.cfg
	return MachineConfig{
		Version:           c.Version,
		Priority:          c.Priority,
		AdvertInt:         c.AdvertInt,
		Preempt:           !c.NoPreempt,
		PreemptDelay:      c.PreemptDelay,
		PrimaryIP:         in.src,
		GarpRepeat:        c.GarpMasterRepeat,
		GarpDelay:         c.GarpMasterDelay,
		GarpRefresh:       c.GarpMasterRefresh,
		GarpRefreshRepeat: c.GarpMasterRefreshRepeat,
		DownTimerAdverts:  c.DownTimerAdverts,
		StartBackup:       c.StartBackup,
		// hcl: keepalived's strict mode.
		LowerPriorityNoAdvert: c.Net.LowerPriorityNoAdvert,
	}
}

func (in *instance) status() InstanceStatus {
	s := InstanceStatus{Name: in.cfg.Name, Interface: in.cfg.Interface, VRID: in.cfg.VirtualRouterID, Priority: in.cfg.Priority,
		Version: in.cfg.Version, Family: family(in.cfg.IPv6), Counters: in.ctr}
	if in.m != nil {
		s.State, s.Priority = in.m.State(), in.m.Priority()
		s.MasterIP, _ = in.m.Master()
		s.Since, s.Reason = in.m.Since()
	}
	s.Counters.Drops = cloneDrops(in.ctr.Drops)
	return s
}

func cloneDrops(d map[DropReason]uint64) map[DropReason]uint64 {
	if d == nil {
		return map[DropReason]uint64{}
	}
	return maps.Clone(d)
}

// setupInstance resolves the instance's source address, finds VIPs of ours
// left on the interface (held: resume; partial: removed as stale, like
// keepalived at start) and attaches it to an advert socket. Its errors come
// from the operating system and name the instance.
func (n *Node) setupInstance(in *instance) error {
	c := in.cfg
	var vips []netip.Addr
	for _, v := range c.VirtualIPs {
		vips = append(vips, v.Prefix.Addr())
	}
	src := c.UnicastSrcIP
	if !src.IsValid() {
		src = ipvlanSource(c) // vmac.go
	}
	if !src.IsValid() {
		var err error
		if src, err = n.net.Addresses.PrimaryAddr(c.Interface, c.IPv6, vips); err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
	}
	in.src = src
	in.expect.Self = src
	multicast := len(c.UnicastPeers) == 0
	if multicast {
		// 224.0.0.18 / ff02::12 unless mcast_dst_ip or
		// vrrp_mcast_group4/6 names another (hcl resolved it).
		in.dsts = []netip.Addr{c.Net.McastGroup}
	} else {
		in.dsts = c.UnicastPeers
	}
	advertIf, err := n.setupVMAC(in) // vmac.go
	if err != nil {
		return err
	}
	in.m = NewMachine(in.machineConfig())
	// VIPs of ours already on the interface were left by a run of this
	// director that died as MASTER. All of them: resume (Machine.Resume),
	// so the kernel keeps serving established and new connections. Only
	// some: stale, removed as keepalived does at start.
	var present []hcl.VIP
	for _, v := range c.VirtualIPs {
		has, err := n.net.Addresses.HasVIP(v)
		if err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		if has {
			present = append(present, v)
		}
	}
	in.held = len(present) > 0 && len(present) == len(c.VirtualIPs)
	if !in.held {
		// keepalived removes its virtual routes and rules at start.
		n.removeHeld(in, true)
		for _, v := range present {
			in.log.Info("removing stale VIP", "vip", v.Prefix, "dev", v.Dev)
			if err := n.net.Addresses.RemoveVIP(v); err != nil {
				return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
			}
		}
	}
	sc, err := n.socket(advertIf, c.IPv6, multicast, in.socketOptions())
	if err != nil {
		return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
	}
	sc.insts = append(sc.insts, in)
	in.conn = sc
	return nil
}

// startInstance leaves Initialize once every tracked script has reported.
func (n *Node) startInstance(ctx context.Context, now time.Time, in *instance) {
	n.refreshTracking(now, in)
	if in.pending == 0 && !in.started && !n.holding {
		in.started = true
		if !in.held {
			n.apply(ctx, now, in, in.m.Start(now), false)
			return
		}
		acts := in.m.Resume(now)
		if in.m.Resuming() {
			in.log.Info("VIPs found on the interface: resuming mastership unless a master is heard",
				"within", in.m.Deadline().Sub(now))
		}
		n.apply(ctx, now, in, acts, false)
	}
}

// stopInstance shuts one instance down: priority-0 advert from a master,
// VIPs removed, notify_stop and notify ... STOP queued.
func (n *Node) stopInstance(in *instance) {
	if in.m == nil {
		return
	}
	now := n.clock.Now()
	n.apply(context.Background(), now, in, in.m.Shutdown(now), true)
	// Remove VIPs even when not master: nothing of ours stays behind.
	n.removeHeld(in, true)
	for _, v := range in.cfg.VirtualIPs {
		_ = n.net.Addresses.RemoveVIP(v)
	}
	n.removeVMAC(in) // vmac.go
	if in.removed {
		return
	}
	n.notes.queue(notifyJob{what: "notify_stop of " + in.cfg.Name, cmdline: in.cfg.Notify.Stop, user: in.cfg.Notify.Users.Of("notify_stop")})
	n.notes.queue(notifyJob{what: "notify of " + in.cfg.Name, cmdline: in.cfg.Notify.Any, user: in.cfg.Notify.Users.Of("notify"),
		args: []string{"INSTANCE", in.cfg.Name, "STOP", strconv.Itoa(in.m.Priority())}})
	n.notice(Notice{Name: in.cfg.Name, State: "STOP", Priority: in.m.Priority()}) // notice.go
}

// family names an address family in status: "inet" or "inet6", as
// ip_family and iproute2 name them.
func family(ipv6 bool) string {
	if ipv6 {
		return "inet6"
	}
	return "inet"
}

// advertAddresses is the address list of a keepalived.conf instance that
// names an address more than once (hcl.VRRPInstance.AdvertAddresses):
// keepalived counts and sends every listing, so a mixed pair sees the same
// adverts from either daemon. Addresses validation dropped (another family)
// are left out; nil when there is nothing to repeat or the list would not
// fit one advert.
func advertAddresses(ic hcl.VRRPInstance, held []netip.Addr) []netip.Addr {
	if len(ic.AdvertAddresses) <= len(held) || len(ic.AdvertAddresses) > MaxAddresses {
		return nil
	}
	var out []netip.Addr
	for _, a := range ic.AdvertAddresses {
		if slices.Contains(held, a) {
			out = append(out, a)
		}
	}
	if len(out) <= len(held) {
		return nil
	}
	return out
}
