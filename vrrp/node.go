package vrrp

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
)

// Options configure a Node.
type Options struct {
	Logger *slog.Logger
	// OnTransition is called synchronously when an instance changes state:
	// for a move to MASTER before its VIPs are added and GARPs sent (so
	// IPVS can be programmed first); for a move away from MASTER after its
	// VIPs are removed. Nil means nothing to do. An error is logged.
	OnTransition func(ctx context.Context, t Transition) error
	// AfterTransition is called, once for each call of OnTransition and
	// on the same goroutine, when the actions that followed it are done:
	// for a move to MASTER its VIPs added, its gratuitous ARPs and its
	// first advert sent (RFC 3768 §6.4.2). A caller that makes other work
	// step aside for a takeover (lvsd's director: statuses, scrapes and
	// repair passes) holds it from OnTransition to here. Nil means
	// nothing to do.
	AfterTransition func(t Transition)
	// Network is the operating system edge; a nil part is the Linux one
	// (NewLinuxNetwork).
	Network Network
	// Clock drives every protocol timer; nil means SystemClock.
	Clock Clock
	// Scripts runs notify scripts and vrrp_script; nil means script.New
	// with the global block of the configuration in force.
	Scripts script.Runner
	// StopGrace bounds how long Run waits for notify_stop scripts after
	// ctx is cancelled (default 500 ms); scripts still running then are
	// killed, so Run returns within about a second.
	StopGrace time.Duration
	// OnNotice is told every state change of an instance or sync group
	// in keepalived's notify FIFO terms (notice.go), on Run's goroutine:
	// it must not block. Nil means nothing to do.
	OnNotice func(Notice)
	// ProcRoot is where tracked processes are counted; "" is /proc.
	ProcRoot string
	// Handover makes a stop make-before-break (lvsd's director sets it):
	// a MASTER sends its priority-0 advert but keeps its addresses until
	// the new master is heard (Machine.Handover), instead of removing
	// them at once as RFC 3768 §6.4.3 says.
	Handover bool
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
	Version   int    // 2 or 3
	Family    string // "inet" or "inet6"
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
// machines run in one goroutine (Run, the event loop in this file), fed by
// socket readers (receive.go), the link watcher and tracked scripts
// (track.go); instances (instance.go) carry out their machine's actions in
// apply.go, and sync groups (syncgroup.go) are therefore plain calls.
type Node struct {
	cfg    *hcl.Config
	opts   Options
	log    *slog.Logger
	net    Network
	clock  Clock
	insts  []*instance
	byName map[string]*instance
	groups []*syncGroup

	inbox chan func(now time.Time)

	// Set by Run, used only by its goroutine.
	notes      *notifier
	workers    context.Context // cancelled when Run stops
	goroutines sync.WaitGroup  // every goroutine Run starts; waited for before it returns
	conns      []*sharedConn
	scriptStop map[string]context.CancelFunc
	// Tracked files and processes (track.go): the last number of each
	// file, the quorum of each process, what the poller reads, and
	// whether vrrp_startup_delay still holds the instances in INIT.
	fileValue  map[string]int64
	procQuorum map[string]bool
	tracked    atomic.Pointer[trackedWork]
	holding    bool
	links      linkDebounce // linkdelay.go: interface_up_down_delays
	results    chan scriptResult
	stopped    chan struct{} // closed when Run returns

	running bool // under mu

	mu      sync.Mutex
	status  []InstanceStatus
	sockets []SocketStatus
}

// NewNode prepares the instances and sync groups of cfg; nothing touches
// the system until Run. The configuration is final and trusted (hcl
// validated it), so NewNode cannot fail.
func NewNode(cfg *hcl.Config, opts Options) *Node {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 500 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	n := &Node{cfg: cfg, opts: opts, log: opts.Logger, net: opts.Network, clock: opts.Clock,
		inbox: make(chan func(time.Time), 1024), stopped: make(chan struct{})}
	scripts := map[string]hcl.VRRPScript{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	for _, ic := range cfg.Instances {
		n.insts = append(n.insts, newInstance(ic, n.log))
	}
	n.byName = instancesByName(n.insts)
	n.groups = newSyncGroups(cfg.SyncGroups, n.byName, nil)
	n.fileValue, n.procQuorum = map[string]int64{}, map[string]bool{}
	for _, in := range n.insts {
		n.seedInitFail(in)
	}
	n.publish()
	return n
}

// Status returns a snapshot of every instance.
func (n *Node) Status() []InstanceStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]InstanceStatus, len(n.status))
	for i, s := range n.status {
		out[i] = s
		out[i].Counters.Drops = cloneDrops(s.Counters.Drops)
	}
	return out
}

func (n *Node) publish() {
	st := make([]InstanceStatus, len(n.insts))
	for i, in := range n.insts {
		st[i] = in.status()
	}
	socks := make([]SocketStatus, len(n.conns))
	for i, c := range n.conns {
		socks[i] = c.status()
	}
	n.mu.Lock()
	n.status, n.sockets = st, socks
	n.mu.Unlock()
}

// Run runs every instance until ctx is cancelled; then masters send a
// priority-0 advert, VIPs are removed, notify_stop runs, and Run returns nil
// once every goroutine it started has ended. It fails only on the
// operating system (a socket, an interface), naming the instance.
func (n *Node) Run(ctx context.Context) error {
	n.net = n.net.orLinux()
	defer n.net.Announcer.Close()
	if c, ok := n.net.Addresses.(io.Closer); ok { // network_linux.go's keeps a socket
		defer c.Close()
	}
	notifyCtx, cancelNotify := context.WithCancel(context.WithoutCancel(ctx))
	n.notes = newNotifier(n.notifySettings, n.log)
	n.goroutines.Go(func() { n.notes.run(notifyCtx) })

	// With Handover the readers outlive ctx until the handover is over
	// (the deferred cancelWorkers ends them).
	workersParent := ctx
	if n.opts.Handover {
		workersParent = context.WithoutCancel(ctx)
	}
	workers, cancelWorkers := context.WithCancel(workersParent)
	n.workers = workers
	n.scriptStop = map[string]context.CancelFunc{}
	n.results = make(chan scriptResult)
	// On every way out: stop the workers and the sockets, give notify
	// scripts StopGrace, kill what still runs, and wait for every
	// goroutine (readers, link watcher, tracked scripts, notifier).
	defer func() {
		cancelWorkers()
		for _, c := range n.conns {
			c.conn.Close()
		}
		n.notes.close(n.opts.StopGrace)
		cancelNotify()
		n.goroutines.Wait()
	}()
	n.installStatic() // routing.go
	for _, in := range n.insts {
		if err := n.setupInstance(in); err != nil {
			return err
		}
	}
	n.goroutines.Go(func() {
		err := n.net.Links.WatchLinks(workers, func(name string, up bool) {
			n.post(workers, func(now time.Time) { n.linkEvent(now, name, up) }) // linkdelay.go
		})
		if err != nil && workers.Err() == nil {
			n.log.Error("link watcher stopped; tracked interfaces are no longer followed", "err", err)
		}
	})
	n.startScripts(nil)
	n.readTracked()
	n.goroutines.Go(func() { n.pollTracked(workers) })
	if d := n.cfg.Global.VRRPStartupDelay; d > 0 {
		// keepalived's vrrp_startup_delay: every instance stays in INIT.
		n.holding = true
		n.log.Info("VRRP instances start after vrrp_startup_delay", "delay", d)
		n.goroutines.Go(func() {
			t := n.clock.NewTimer(d)
			defer t.Stop()
			select {
			case <-workers.Done():
			case <-t.C():
				n.post(workers, func(now time.Time) {
					n.holding = false
					for _, in := range n.insts {
						n.startInstance(ctx, now, in)
					}
				})
			}
		})
	}

	now := n.clock.Now()
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

	timer := n.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(n.untilNextDeadline())
		select {
		case <-ctx.Done():
			if n.opts.Handover {
				n.handover()
			}
			n.stop()
			return nil
		case f := <-n.inbox:
			f(n.clock.Now())
		case r := <-n.results:
			n.scriptChanged(ctx, n.clock.Now(), r)
		case <-timer.C():
			now := n.clock.Now()
			n.linksDue(now) // linkdelay.go
			for _, in := range n.insts {
				if d := in.m.Deadline(); !d.IsZero() && !now.Before(d) {
					n.apply(ctx, now, in, in.m.Tick(now), false)
				}
			}
		}
		n.publish()
	}
}

// untilNextDeadline is how long the loop may wait for an event before the
// nearest timer of any instance is due (an hour when none runs).
func (n *Node) untilNextDeadline() time.Duration {
	next := n.nextLinkDue() // linkdelay.go
	for _, in := range n.insts {
		if d := in.m.Deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if next.IsZero() {
		return time.Hour
	}
	return max(next.Sub(n.clock.Now()), 0)
}

// handover runs Machine.Handover on every MASTER and then the adverts
// received and the handover timers until no instance is handing over:
// each leaves MASTER when it hears the new master, or at its bound.
func (n *Node) handover() {
	now := n.clock.Now()
	for _, in := range n.insts {
		if in.m != nil {
			n.apply(n.workers, now, in, in.m.Handover(now), true)
		}
	}
	next := func() (time.Time, bool) {
		var d time.Time
		active := false
		for _, in := range n.insts {
			if in.m != nil && in.m.HandingOver() {
				active = true
				if t := in.m.Deadline(); !t.IsZero() && (d.IsZero() || t.Before(d)) {
					d = t
				}
			}
		}
		return d, active
	}
	timer := n.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d, active := next()
		if !active {
			return
		}
		timer.Reset(max(d.Sub(n.clock.Now()), 0))
		n.publish()
		select {
		case f := <-n.inbox:
			f(n.clock.Now())
		case <-timer.C():
			now := n.clock.Now()
			for _, in := range n.insts {
				if in.m != nil && in.m.HandingOver() && !now.Before(in.m.Deadline()) {
					n.apply(n.workers, now, in, in.m.Tick(now), false)
				}
			}
		}
	}
}

// stop shuts every instance and group down (ctx cancelled).
func (n *Node) stop() {
	for _, in := range n.insts {
		n.stopInstance(in)
	}
	n.removeStatic() // routing.go
	for _, g := range n.groups {
		n.queueStop(g)
	}
	n.publish()
}

// post hands f to the event loop, unless ctx ends first.
func (n *Node) post(ctx context.Context, f func(time.Time)) {
	select {
	case n.inbox <- f:
	case <-ctx.Done():
	}
}
