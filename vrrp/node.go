package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// Options configure a Node.
type Options struct {
	Logger *slog.Logger
	// OnTransition is called synchronously when an instance changes state:
	// for a move to MASTER before its VIPs are added and GARPs sent (so
	// IPVS can be programmed first); for a move away from MASTER after its
	// VIPs are removed. Nil means nothing to do. An error is logged.
	OnTransition func(ctx context.Context, t Transition) error
	// Network is the operating system edge; nil means NewLinuxNetwork().
	Network Network
	// StopGrace bounds how long Run waits for notify_stop scripts after
	// ctx is cancelled (default 500 ms, so Run returns within a second).
	StopGrace time.Duration
}

// Transition is one state change of one instance.
type Transition struct {
	Instance string
	From, To State
	Reason   string
	Priority int
}

// InstanceStatus is a snapshot of one instance.
type InstanceStatus struct {
	Name      string
	Interface string
	VRID      int
	State     State
	Priority  int // effective
	MasterIP  netip.Addr
	Since     time.Time
	Reason    string
	Counters  Counters
}

// Counters count an instance's packets.
type Counters struct {
	AdvertsSent       uint64
	AdvertsReceived   uint64 // accepted
	PriorityZeroSent  uint64
	PriorityZeroRecvd uint64
	AddressMismatches uint64
	Transitions       uint64 // state changes, INIT ones included
	Drops             map[DropReason]uint64
}

// Node runs every vrrp_instance and vrrp_sync_group of a config. All state
// machines run in one goroutine (Run), fed by socket readers, the link
// watcher and tracked scripts; sync groups are therefore plain calls.
type Node struct {
	cfg    *hcl.Config
	opts   Options
	log    *slog.Logger
	net    Network
	insts  []*instance
	byName map[string]*instance
	groups []*syncGroup

	inbox chan func(now time.Time)

	// Set by Run, used only by its goroutine.
	notes      *notifier
	workers    context.Context // cancelled when Run stops
	conns      []*sharedConn
	scriptStop map[string]context.CancelFunc
	results    chan scriptResult
	stopped    chan struct{} // closed when Run returns

	running bool // under mu

	mu     sync.Mutex
	status []InstanceStatus
}

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

	linkUp       map[string]bool
	scriptOK     map[string]bool
	scriptWeight map[string]int
	pending      int // tracked scripts without a first result
	lastDropLog  map[DropReason]time.Time
	mismatchFrom netip.Addr
}

type syncGroup struct {
	cfg     hcl.SyncGroup
	members []*instance
	state   State
}

// sharedConn is one advert socket shared by every instance on an
// interface (one for multicast, one for unicast), demultiplexed by VRID.
type sharedConn struct {
	conn      AdvertConn
	ifname    string
	multicast bool
	insts     []*instance
}

// NewNode checks the VRRP part of cfg and prepares its instances; nothing
// touches the system until Run.
func NewNode(cfg *hcl.Config, opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 500 * time.Millisecond
	}
	n := &Node{cfg: cfg, opts: opts, log: opts.Logger, net: opts.Network, byName: map[string]*instance{},
		inbox: make(chan func(time.Time), 1024), stopped: make(chan struct{})}
	scripts := map[string]hcl.VRRPScript{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	for _, ic := range cfg.Instances {
		if ic.VirtualRouterID < 1 || ic.VirtualRouterID > 255 {
			return nil, fmt.Errorf("vrrp_instance %s: virtual_router_id %d out of 1..255", ic.Name, ic.VirtualRouterID)
		}
		if ic.Priority < 1 || ic.Priority > 255 {
			return nil, fmt.Errorf("vrrp_instance %s: priority %d out of 1..255", ic.Name, ic.Priority)
		}
		if ic.Interface == "" {
			return nil, fmt.Errorf("vrrp_instance %s: no interface", ic.Name)
		}
		if _, dup := n.byName[ic.Name]; dup {
			return nil, fmt.Errorf("vrrp_instance %s: defined twice", ic.Name)
		}
		advertSec := int((ic.AdvertInt + time.Second/2) / time.Second)
		if advertSec < 1 || advertSec > 255 {
			return nil, fmt.Errorf("vrrp_instance %s: advert_int %v out of 1..255 s", ic.Name, ic.AdvertInt)
		}
		in := &instance{
			cfg:          ic,
			log:          n.log.With("instance", ic.Name),
			linkUp:       map[string]bool{},
			scriptOK:     map[string]bool{},
			scriptWeight: map[string]int{},
			lastDropLog:  map[DropReason]time.Time{},
			ctr:          Counters{Drops: map[DropReason]uint64{}},
		}
		for i := range in.cfg.VirtualIPs {
			if in.cfg.VirtualIPs[i].Dev == "" {
				in.cfg.VirtualIPs[i].Dev = ic.Interface
			}
		}
		var v4 []netip.Addr
		for _, v := range in.cfg.VirtualIPs {
			if v.Prefix.Addr().Is4() {
				v4 = append(v4, v.Prefix.Addr())
			}
		}
		if len(v4) > MaxAddresses {
			return nil, fmt.Errorf("vrrp_instance %s: %d IPv4 VIPs, at most %d fit an advert", ic.Name, len(v4), MaxAddresses)
		}
		in.expect = Expect{VRID: uint8(ic.VirtualRouterID), AdvertInt: uint8(advertSec), Addresses: v4, Peers: ic.UnicastPeers}
		switch ic.AuthType {
		case "":
		case "PASS":
			in.expect.AuthType = AuthPassword
			in.expect.Password = PasswordOf(ic.AuthPass)
		default:
			return nil, fmt.Errorf("vrrp_instance %s: auth_type %q not supported (none or PASS)", ic.Name, ic.AuthType)
		}
		in.advert = Advert{VRID: in.expect.VRID, AuthType: in.expect.AuthType, Password: in.expect.Password,
			AdvertInt: in.expect.AdvertInt, Addresses: v4}
		for _, ts := range ic.TrackScripts {
			s, ok := scripts[ts.Name]
			if !ok {
				return nil, fmt.Errorf("vrrp_instance %s: track_script %s: no such vrrp_script", ic.Name, ts.Name)
			}
			w := s.Weight
			if ts.WeightSet {
				w = ts.Weight
			}
			in.scriptWeight[ts.Name] = w
			in.pending++
		}
		n.insts = append(n.insts, in)
		n.byName[ic.Name] = in
	}
	for _, gc := range cfg.SyncGroups {
		g := &syncGroup{cfg: gc}
		for _, name := range gc.Group {
			in, ok := n.byName[name]
			if !ok {
				return nil, fmt.Errorf("vrrp_sync_group %s: no vrrp_instance %s", gc.Name, name)
			}
			if in.group != nil {
				return nil, fmt.Errorf("vrrp_sync_group %s: instance %s already in group %s", gc.Name, name, in.group.cfg.Name)
			}
			in.group = g
			g.members = append(g.members, in)
		}
		n.groups = append(n.groups, g)
	}
	n.publish()
	return n, nil
}

// Status returns a snapshot of every instance.
func (n *Node) Status() []InstanceStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]InstanceStatus, len(n.status))
	for i, s := range n.status {
		out[i] = s
		out[i].Counters.Drops = make(map[DropReason]uint64, len(s.Counters.Drops))
		for k, v := range s.Counters.Drops {
			out[i].Counters.Drops[k] = v
		}
	}
	return out
}

func (n *Node) publish() {
	st := make([]InstanceStatus, len(n.insts))
	for i, in := range n.insts {
		s := InstanceStatus{Name: in.cfg.Name, Interface: in.cfg.Interface, VRID: in.cfg.VirtualRouterID, Priority: in.cfg.Priority,
			Counters: in.ctr}
		if in.m != nil {
			s.State, s.Priority = in.m.State(), in.m.Priority()
			s.MasterIP, _ = in.m.Master()
			s.Since, s.Reason = in.m.Since()
		}
		s.Counters.Drops = make(map[DropReason]uint64, len(in.ctr.Drops))
		for k, v := range in.ctr.Drops {
			s.Counters.Drops[k] = v
		}
		st[i] = s
	}
	n.mu.Lock()
	n.status = st
	n.mu.Unlock()
}

// Run runs every instance until ctx is cancelled; then masters send a
// priority-0 advert, VIPs are removed, notify_stop runs, and Run returns nil.
func (n *Node) Run(ctx context.Context) error {
	if n.net == nil {
		n.net = NewLinuxNetwork()
	}
	defer n.net.Close()
	timeout := n.cfg.Global.NotifyTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	notifyCtx, cancelNotify := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelNotify()
	n.notes = newNotifier(timeout, n.log)
	go n.notes.run(notifyCtx)

	workers, cancelWorkers := context.WithCancel(ctx)
	defer cancelWorkers()
	n.workers = workers
	n.scriptStop = map[string]context.CancelFunc{}
	n.results = make(chan scriptResult)
	defer func() {
		for _, c := range n.conns {
			c.conn.Close()
		}
	}()
	for _, in := range n.insts {
		if err := n.setupInstance(in); err != nil {
			n.notes.close(0)
			return err
		}
	}
	go func() {
		err := n.net.WatchLinks(workers, func(name string, up bool) {
			n.post(workers, func(now time.Time) { n.linkChanged(now, name, up) })
		})
		if err != nil && workers.Err() == nil {
			n.log.Error("link watcher stopped; tracked interfaces are no longer followed", "err", err)
		}
	}()
	n.startScripts(nil)

	now := time.Now()
	for _, in := range n.insts {
		n.startInstance(ctx, now, in)
	}
	n.publish()
	n.mu.Lock()
	n.running = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.running = false
		n.mu.Unlock()
		close(n.stopped)
	}()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var next time.Time
		for _, in := range n.insts {
			if d := in.m.Deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			for _, in := range n.insts {
				n.stopInstance(in)
			}
			for _, g := range n.groups {
				n.notes.queue(notifyJob{what: "notify_stop of group " + g.cfg.Name, cmdline: g.cfg.Notify.Stop})
				n.notes.queue(notifyJob{what: "notify of group " + g.cfg.Name, cmdline: g.cfg.Notify.Any,
					args: []string{"GROUP", g.cfg.Name, "STOP", "0"}})
			}
			cancelWorkers()
			for _, c := range n.conns {
				c.conn.Close()
			}
			n.notes.close(n.opts.StopGrace)
			n.publish()
			return nil
		case f := <-n.inbox:
			f(time.Now())
		case r := <-n.results:
			n.scriptChanged(ctx, time.Now(), r)
		case <-timer.C:
			now := time.Now()
			for _, in := range n.insts {
				if d := in.m.Deadline(); !d.IsZero() && !now.Before(d) {
					n.apply(ctx, now, in, in.m.Tick(now), false)
				}
			}
		}
		n.publish()
	}
}

// startInstance leaves Initialize once every tracked script has reported.
func (n *Node) startInstance(ctx context.Context, now time.Time, in *instance) {
	n.refreshTracking(now, in)
	if in.pending == 0 && !in.started {
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
		go trackScript(ctx, s.Name, s.Script, s.Interval, s.Timeout, s.Rise, s.Fall, n.results)
	}
	for name, stop := range n.scriptStop {
		if !n.scriptUsed(name) || !n.scriptDefined(name) {
			stop()
			delete(n.scriptStop, name)
		}
	}
}

func scriptEqual(a, b hcl.VRRPScript) bool {
	return a.Script == b.Script && a.Interval == b.Interval && a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall
}

func (n *Node) scriptDefined(name string) bool {
	for _, s := range n.cfg.Scripts {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (n *Node) post(ctx context.Context, f func(time.Time)) {
	select {
	case n.inbox <- f:
	case <-ctx.Done():
	}
}

func (n *Node) scriptUsed(name string) bool {
	for _, in := range n.insts {
		if _, ok := in.scriptWeight[name]; ok {
			return true
		}
	}
	return false
}

func (in *instance) machineConfig() MachineConfig {
	c := in.cfg
	return MachineConfig{
		Priority:          c.Priority,
		AdvertInt:         time.Duration(in.expect.AdvertInt) * time.Second,
		Preempt:           !c.NoPreempt,
		PreemptDelay:      c.PreemptDelay,
		PrimaryIP:         in.src,
		GarpRepeat:        c.GarpMasterRepeat,
		GarpDelay:         c.GarpMasterDelay,
		GarpRefresh:       c.GarpMasterRefresh,
		GarpRefreshRepeat: c.GarpMasterRefreshRepeat,
	}
}

// setupInstance resolves the instance's source address, finds VIPs of ours
// left on the interface (held: resume; partial: removed as stale, like
// keepalived at start) and attaches it to an advert socket.
func (n *Node) setupInstance(in *instance) error {
	c := in.cfg
	var vips []netip.Addr
	for _, v := range c.VirtualIPs {
		vips = append(vips, v.Prefix.Addr())
	}
	src := c.UnicastSrcIP
	if !src.IsValid() {
		var err error
		if src, err = n.net.PrimaryAddr(c.Interface, vips); err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
	}
	in.src = src
	in.expect.Self = src
	multicast := len(c.UnicastPeers) == 0
	if multicast {
		in.dsts = []netip.Addr{MulticastGroup}
	} else {
		in.dsts = c.UnicastPeers
	}
	in.m = NewMachine(in.machineConfig())
	// VIPs of ours already on the interface were left by a run of this
	// director that died as MASTER. All of them: resume (Machine.Resume),
	// so the kernel keeps serving established and new connections. Only
	// some: stale, removed as keepalived does at start.
	var present []hcl.VIP
	for _, v := range c.VirtualIPs {
		has, err := n.net.HasVIP(v)
		if err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		if has {
			present = append(present, v)
		}
	}
	in.held = len(present) > 0 && len(present) == len(c.VirtualIPs)
	if !in.held {
		for _, v := range present {
			in.log.Info("removing stale VIP", "vip", v.Prefix, "dev", v.Dev)
			if err := n.net.RemoveVIP(v); err != nil {
				return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
			}
		}
	}
	var sc *sharedConn
	for _, x := range n.conns {
		if x.ifname == c.Interface && x.multicast == multicast {
			sc = x
		}
	}
	if sc == nil {
		conn, err := n.net.Listen(c.Interface, multicast)
		if err != nil {
			return fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		sc = &sharedConn{conn: conn, ifname: c.Interface, multicast: multicast}
		n.conns = append(n.conns, sc)
		go n.readLoop(n.workers, sc)
	}
	for _, o := range sc.insts {
		if o.expect.VRID == in.expect.VRID {
			return fmt.Errorf("vrrp_instance %s: virtual_router_id %d already used by %s on %s", c.Name, o.expect.VRID, o.cfg.Name, c.Interface)
		}
	}
	sc.insts = append(sc.insts, in)
	in.conn = sc
	return nil
}

// stopInstance shuts one instance down: priority-0 advert from a master,
// VIPs removed, notify_stop and notify ... STOP queued.
func (n *Node) stopInstance(in *instance) {
	if in.m == nil {
		return
	}
	now := time.Now()
	n.apply(context.Background(), now, in, in.m.Shutdown(now), true)
	// Remove VIPs even when not master: nothing of ours stays behind.
	for _, v := range in.cfg.VirtualIPs {
		_ = n.net.RemoveVIP(v)
	}
	n.notes.queue(notifyJob{what: "notify_stop of " + in.cfg.Name, cmdline: in.cfg.Notify.Stop})
	n.notes.queue(notifyJob{what: "notify of " + in.cfg.Name, cmdline: in.cfg.Notify.Any,
		args: []string{"INSTANCE", in.cfg.Name, "STOP", strconv.Itoa(in.m.Priority())}})
}

func (n *Node) readLoop(ctx context.Context, c *sharedConn) {
	for {
		r, err := c.conn.Read()
		if err != nil {
			if ctx.Err() == nil {
				n.log.Error("VRRP socket read failed", "interface", c.ifname, "err", err)
			}
			return
		}
		// One raw socket sees every protocol-112 packet of the interface:
		// the multicast one keeps 224.0.0.18, the unicast one the rest.
		if (r.Dst == MulticastGroup) != c.multicast {
			continue
		}
		n.post(ctx, func(now time.Time) { n.received(ctx, now, c, r) })
	}
}

func (n *Node) received(ctx context.Context, now time.Time, c *sharedConn, r Received) {
	in := c.insts[0]
	if len(r.Payload) >= 2 {
		for _, x := range c.insts {
			if x.expect.VRID == r.Payload[1] {
				in = x
			}
		}
	}
	v := in.expect.Check(r)
	if v.Drop != DropNone {
		if v.Drop == DropOwnAdvert {
			return
		}
		in.ctr.Drops[v.Drop]++
		if last, ok := in.lastDropLog[v.Drop]; !ok || now.Sub(last) >= 10*time.Second {
			in.lastDropLog[v.Drop] = now
			in.log.Warn("dropped VRRP packet", "reason", string(v.Drop), "from", r.Src, "ttl", r.TTL, "len", len(r.Payload),
				"count", in.ctr.Drops[v.Drop])
		}
		return
	}
	in.ctr.AdvertsReceived++
	if v.Advert.Priority == 0 {
		in.ctr.PriorityZeroRecvd++
	}
	if v.AddressMismatch {
		in.ctr.AddressMismatches++
		if in.mismatchFrom != r.Src {
			in.mismatchFrom = r.Src
			in.log.Warn("advert lists other virtual addresses than ours (accepted, keepalived >= 2.3.3)",
				"from", r.Src, "theirs", v.Advert.Addresses, "ours", in.expect.Addresses)
		}
	}
	if !in.started {
		return
	}
	n.apply(ctx, now, in, in.m.Receive(now, r.Src, v.Advert), false)
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
			up, err := n.net.LinkUp(name)
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

// apply executes the actions of one instance, then makes its sync group
// follow a transition (unless the transition was itself forced).
func (n *Node) apply(ctx context.Context, now time.Time, in *instance, acts []Action, forced bool) {
	for _, a := range acts {
		switch a.Kind {
		case ActSendAdvert:
			n.sendAdvert(in, a.Priority)
		case ActAddVIPs:
			for _, v := range in.cfg.VirtualIPs {
				if err := n.net.AddVIP(v); err != nil {
					in.log.Error("adding VIP failed", "vip", v.Prefix, "err", err)
				}
			}
		case ActRemoveVIPs:
			for _, v := range in.cfg.VirtualIPs {
				if err := n.net.RemoveVIP(v); err != nil {
					in.log.Error("removing VIP failed", "vip", v.Prefix, "err", err)
				}
			}
		case ActSendGARP:
			for _, v := range in.cfg.VirtualIPs {
				if err := n.net.SendGARP(v.Dev, v.Prefix.Addr(), a.Count); err != nil {
					in.log.Warn("gratuitous ARP failed", "vip", v.Prefix, "err", err)
				}
			}
		case ActTransition:
			n.transition(ctx, in, a)
			switch {
			case in.group == nil || forced || a.To == StateInit:
			case a.From == StateInit && a.To == StateBackup:
				// A member starting as BACKUP joins the group's state
				// rather than imposing its own.
				if g := in.group; g.state == StateMaster || g.state == StateFault {
					reason := fmt.Sprintf("sync group %s is %s", g.cfg.Name, g.state)
					n.apply(ctx, now, in, in.m.Force(now, g.state, reason), true)
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
	b, err := adv.Marshal()
	if err != nil {
		in.log.Error("encoding advert failed", "err", err)
		return
	}
	for _, dst := range in.dsts {
		if err := in.conn.conn.Write(in.src, dst, b); err != nil {
			in.log.Warn("sending advert failed", "to", dst, "err", err)
			continue
		}
	}
	in.ctr.AdvertsSent++
	if priority == 0 {
		in.ctr.PriorityZeroSent++
	}
}

func (n *Node) transition(ctx context.Context, in *instance, a Action) {
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
	}
	if a.To == StateInit {
		return
	}
	state := a.To.String()
	var script string
	switch a.To {
	case StateMaster:
		script = in.cfg.Notify.Master
	case StateBackup:
		script = in.cfg.Notify.Backup
	case StateFault:
		script = in.cfg.Notify.Fault
	}
	n.notes.queue(notifyJob{what: "notify_" + lower(state) + " of " + in.cfg.Name, cmdline: script})
	n.notes.queue(notifyJob{what: "notify of " + in.cfg.Name, cmdline: in.cfg.Notify.Any,
		args: []string{"INSTANCE", in.cfg.Name, state, strconv.Itoa(in.m.Priority())}})
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
	g.state = to
	state := to.String()
	var script string
	switch to {
	case StateMaster:
		script = g.cfg.Notify.Master
	case StateBackup:
		script = g.cfg.Notify.Backup
	case StateFault:
		script = g.cfg.Notify.Fault
	}
	n.notes.queue(notifyJob{what: "notify_" + lower(state) + " of group " + g.cfg.Name, cmdline: script})
	n.notes.queue(notifyJob{what: "notify of group " + g.cfg.Name, cmdline: g.cfg.Notify.Any,
		args: []string{"GROUP", g.cfg.Name, state, strconv.Itoa(in.m.Priority())}})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
