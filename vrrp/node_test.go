package vrrp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// Node tests run in a synctest bubble with an injected fake Clock: every
// protocol timer of a Node is a Timer of the wire's clock, and time moves
// only when the test advances it, once every goroutine of the bubble (event
// loops, socket readers, notify workers) is idle (synctest.Wait). Bounds
// are therefore asserted exactly, in fake time: a BACKUP becomes MASTER at
// Master_Down_Interval and not a nanosecond earlier.

var wireEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is the wire's Clock: Now is what the test says, timers fire
// when the test advances past them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clk *fakeClock
	c   chan time.Time
	at  time.Time // zero when stopped or fired
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clk: c, c: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// Reset follows Go 1.23 timers: a value not yet received is discarded.
func (t *fakeTimer) Reset(d time.Duration) {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	t.drain()
	t.at = t.clk.now.Add(d)
}

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	armed := !t.at.IsZero()
	t.at = time.Time{}
	t.drain()
	return armed
}

func (t *fakeTimer) drain() {
	select {
	case <-t.c:
	default:
	}
}

// next returns the earliest armed deadline not after limit.
func (c *fakeClock) next(limit time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var at time.Time
	for _, t := range c.timers {
		if !t.at.IsZero() && !t.at.After(limit) && (at.IsZero() || t.at.Before(at)) {
			at = t.at
		}
	}
	return at, !at.IsZero()
}

// set moves the clock to now and fires the timers due.
func (c *fakeClock) set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
	for _, t := range c.timers {
		if !t.at.IsZero() && !t.at.After(now) {
			t.at = time.Time{}
			t.c <- now
		}
	}
}

// wire is a segment of fake networks sharing one fake clock.
type wire struct {
	t     *testing.T
	clock *fakeClock
	mu    sync.Mutex
	conns []*fakeConn
	log   []string
}

func newWire(t *testing.T) *wire { return &wire{t: t, clock: &fakeClock{now: wireEpoch}} }

// settle waits until every goroutine of the bubble is idle.
func (l *wire) settle() { synctest.Wait() }

// advance moves fake time by d, firing every timer on the way in order
// and letting the nodes act on each before the next.
func (l *wire) advance(d time.Duration) {
	target := l.clock.Now().Add(d)
	for {
		l.settle()
		at, ok := l.clock.next(target)
		if !ok {
			break
		}
		l.clock.set(at)
	}
	l.clock.set(target)
	l.settle()
}

// elapsed is the fake time since the wireEpoch.
func (l *wire) elapsed() time.Duration { return l.clock.Now().Sub(wireEpoch) }

func (l *wire) record(format string, args ...any) {
	l.mu.Lock()
	l.log = append(l.log, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *wire) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.log)
}

// fakeNet is one node's Network; it records what the node did.
type fakeNet struct {
	wire  *wire
	name  string
	addr  netip.Addr
	mu    sync.Mutex
	vips  map[netip.Addr]bool
	links map[string]bool
	watch func(string, bool)
	// listenErr, when set, is what Listen returns.
	listenErr error
	// stopDelay keeps WatchLinks running this long after its ctx ends,
	// as a netlink subscription takes a while to close.
	stopDelay time.Duration
}

type fakeConn struct {
	net       *fakeNet
	ipv6      bool
	multicast bool
	in        chan Received
	closed    chan struct{}
	once      sync.Once
}

func (l *wire) net(name string, last byte) *fakeNet {
	return &fakeNet{wire: l, name: name, addr: netip.AddrFrom4([4]byte{10, 0, 0, last}), vips: map[netip.Addr]bool{},
		links: map[string]bool{"eth0": true, "eth1": true}}
}

func (f *fakeNet) network() Network { return Network{Adverts: f, Addresses: f, Announcer: f, Links: f} }

func (f *fakeNet) record(format string, args ...any) { f.wire.record(f.name+" "+format, args...) }

func (f *fakeNet) Listen(ifname string, ipv6, multicast bool) (AdvertConn, error) {
	if f.listenErr != nil {
		return nil, f.listenErr
	}
	c := &fakeConn{net: f, ipv6: ipv6, multicast: multicast, in: make(chan Received, 64), closed: make(chan struct{})}
	f.wire.mu.Lock()
	f.wire.conns = append(f.wire.conns, c)
	f.wire.mu.Unlock()
	return c, nil
}

func (c *fakeConn) Read() (Received, error) {
	select {
	case r := <-c.in:
		return r, nil
	case <-c.closed:
		return Received{}, io.EOF
	}
}

func (c *fakeConn) Write(src, dst netip.Addr, payload []byte) error {
	if a, drop := Decode(payload, IPHeader{Src: src, Dst: dst}); drop == DropNone {
		c.net.record("advert %d", a.Priority)
	}
	c.net.wire.inject(c.net, Received{Src: src, Dst: dst, TTL: TTL, Payload: payload})
	return nil
}

// inject puts a packet on the segment: every other node's multicast conn
// gets a multicast one, the owner of dst a unicast one.
func (l *wire) inject(from *fakeNet, r Received) {
	r.At = l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.conns {
		if o.net != from && r.Src.Is6() == o.ipv6 && r.Dst.IsMulticast() == o.multicast && (o.multicast || r.Dst == o.net.addr || r.Dst == o.net.linkLocal()) {
			select {
			case <-o.closed:
			case o.in <- r:
			default:
			}
		}
	}
}

func (c *fakeConn) Close() error { c.once.Do(func() { close(c.closed) }); return nil }

func (f *fakeNet) PrimaryAddr(_ string, ipv6 bool, _ []netip.Addr) (netip.Addr, error) {
	if ipv6 {
		return f.linkLocal(), nil
	}
	return f.addr, nil
}

// linkLocal is the node's fe80:: address, the source of its IPv6 adverts.
func (f *fakeNet) linkLocal() netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 15: f.addr.As4()[3]})
}

func (f *fakeNet) HasVIP(v hcl.VIP) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vips[v.Prefix.Addr()], nil
}

func (f *fakeNet) AddVIP(v hcl.VIP) error {
	f.mu.Lock()
	f.vips[v.Prefix.Addr()] = true
	f.mu.Unlock()
	f.record("add %s", v.Prefix.Addr())
	return nil
}

func (f *fakeNet) RemoveVIP(v hcl.VIP) error {
	f.mu.Lock()
	had := f.vips[v.Prefix.Addr()]
	delete(f.vips, v.Prefix.Addr())
	f.mu.Unlock()
	if had {
		f.record("remove %s", v.Prefix.Addr())
	}
	return nil
}

func (f *fakeNet) SendGARP(dev string, ip netip.Addr, count int) error {
	f.record("garp %s x%d", ip, count)
	return nil
}

func (f *fakeNet) LinkUp(name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, ok := f.links[name]
	if !ok {
		return false, errors.New("no such link")
	}
	return up, nil
}

func (f *fakeNet) WatchLinks(ctx context.Context, fn func(string, bool)) error {
	f.mu.Lock()
	f.watch = fn
	f.mu.Unlock()
	<-ctx.Done()
	time.Sleep(f.stopDelay)
	return nil
}

// setLink changes a link and tells the watcher.
func (f *fakeNet) setLink(name string, up bool) {
	f.mu.Lock()
	f.links[name] = up
	fn := f.watch
	f.mu.Unlock()
	if fn != nil {
		fn(name, up)
	}
}

func (f *fakeNet) holds(vip string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.vips[netip.MustParseAddr(vip)]
}

func (f *fakeNet) Close() error { return nil }

// instanceHCL is a vrrp_instance on eth0 with advert_int 1, PASS
// authentication and one VIP; extra is added to its body.
func instanceHCL(name string, vrid, prio int, vip, extra string) string {
	state := "BACKUP"
	if prio == 255 {
		state = "MASTER"
	}
	return fmt.Sprintf(`vrrp_instance %q {
  state = %q
  interface = "eth0"
  virtual_router_id = %d
  priority = %d
  advert_int = 1
  authentication {
    auth_type = "PASS"
    auth_pass = "secret"
  }
  virtual_ipaddress = ["%s/24"]
%s}
`, name, state, vrid, prio, vip, extra)
}

// node is a Node of the wire running until the test ends.
type node struct {
	*Node
	cancel context.CancelFunc
	done   chan error
}

// start runs a node of cfg on fn and lets it take its first steps.
func (l *wire) start(cfg *hcl.Config, fn *fakeNet) *node {
	l.t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", fn.name)
	}
	n := NewNode(cfg, Options{Logger: log, Network: fn.network(), Clock: l.clock,
		OnTransition: func(_ context.Context, tr Transition) error {
			fn.record("transition %s %s->%s", tr.Instance, tr.From, tr.To)
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	nd := &node{Node: n, cancel: cancel, done: make(chan error, 1)}
	go func() { nd.done <- n.Run(ctx) }()
	l.t.Cleanup(nd.stop)
	l.settle()
	return nd
}

// stop cancels the node and waits for Run to return; again is a no-op.
func (nd *node) stop() {
	nd.cancel()
	if err, ok := <-nd.done; ok {
		close(nd.done)
		if err != nil {
			panic(err)
		}
	}
}

func notifyScript(t *testing.T) (cmdline, out string) {
	dir := t.TempDir()
	out = filepath.Join(dir, "notify.out")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, out
}

func readLines(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// TestNodeBackupBecomesMasterAtMasterDownInterval: a BACKUP that hears no
// master becomes MASTER exactly when Master_Down_Timer expires, 3 ×
// Advertisement_Interval + Skew_Time after start (RFC 3768 §6.4.2), and
// its delayed GARP round comes exactly garp_master_delay later.
func TestNodeBackupBecomesMasterAtMasterDownInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fb := l.net("B", 2)
		nb := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", "  garp_master_delay = 5\n")), fb)
		mdi := MasterDownInterval(time.Second, 100)
		l.advance(mdi - time.Nanosecond)
		if got := nb.state("VI_1"); got != StateBackup {
			t.Fatalf("at %v: %s, want BACKUP until Master_Down_Interval %v", l.elapsed(), got, mdi)
		}
		l.advance(time.Nanosecond)
		if got := nb.state("VI_1"); got != StateMaster || !fb.holds("192.0.2.100") {
			t.Fatalf("at Master_Down_Interval %v: %s, VIP held %v", mdi, got, fb.holds("192.0.2.100"))
		}
		garps := func() int {
			n := 0
			for _, line := range l.snapshot() {
				if line == "B garp 192.0.2.100 x5" {
					n++
				}
			}
			return n
		}
		if garps() != 1 {
			t.Fatalf("takeover GARP rounds %d, want 1: %q", garps(), l.snapshot())
		}
		l.advance(5*time.Second - time.Nanosecond)
		if garps() != 1 {
			t.Fatalf("second GARP round before garp_master_delay: %q", l.snapshot())
		}
		l.advance(time.Nanosecond)
		if garps() != 2 {
			t.Fatalf("no second GARP round at garp_master_delay: %q", l.snapshot())
		}
	})
}

func TestNodeOwnerProgramsBeforeVIPsAndCleansUpOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		fa.vips[netip.MustParseAddr("192.0.2.100")] = true // held since a crash
		script, out := notifyScript(t)
		cfg := hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", fmt.Sprintf(`  notify_master = "%[1]s master"
  notify_stop = "%[1]s stop"
  notify = %[1]q
`, script)))
		na := l.start(cfg, fa)
		// The owner keeps the VIP it holds (no remove) and is MASTER at once.
		if na.state("VI_1") != StateMaster {
			t.Fatalf("owner is %s at start", na.state("VI_1"))
		}
		want := []string{"A transition VI_1 INIT->MASTER", "A add 192.0.2.100", "A garp 192.0.2.100 x5", "A advert 255"}
		if log := l.snapshot(); !slices.Equal(log, want) {
			t.Fatalf("start: got %q, want %q", log, want)
		}
		if got := readLines(out); !slices.Equal(got, []string{"master", "INSTANCE VI_1 MASTER 255"}) {
			t.Fatalf("notify: got %q", got)
		}
		mark := len(l.snapshot())
		na.stop()
		log := l.snapshot()[mark:]
		want = []string{"A advert 0", "A remove 192.0.2.100", "A transition VI_1 MASTER->INIT"}
		if !slices.Equal(log, want) {
			t.Fatalf("stop: got %q, want %q", log, want)
		}
		if got := readLines(out); !slices.Equal(got[2:], []string{"stop", "INSTANCE VI_1 STOP 255"}) {
			t.Fatalf("notify at stop: got %q", got)
		}
	})
}

// TestNodePairElectsOverFakeWire: the owner is MASTER, the other BACKUP;
// when the owner stops, its priority-0 advert makes the BACKUP take over
// after exactly Skew_Time (RFC 3768 §6.4.2).
func TestNodePairElectsOverFakeWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa, fb := l.net("A", 1), l.net("B", 2)
		na := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", "")), fa)
		nb := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", "")), fb)
		l.advance(10 * time.Second)
		if na.state("VI_1") != StateMaster || nb.state("VI_1") != StateBackup || fb.holds("192.0.2.100") {
			t.Fatalf("A is %s, B is %s", na.state("VI_1"), nb.state("VI_1"))
		}
		if st := nb.Status()[0]; st.MasterIP != fa.addr || st.Counters.AdvertsReceived < 10 {
			t.Fatalf("B sees master %v after %d adverts", st.MasterIP, st.Counters.AdvertsReceived)
		}
		na.stop()
		l.settle()
		skew := SkewTime(100)
		l.advance(skew - time.Nanosecond)
		if nb.state("VI_1") != StateBackup {
			t.Fatalf("B is %s before Skew_Time %v", nb.state("VI_1"), skew)
		}
		l.advance(time.Nanosecond)
		if nb.state("VI_1") != StateMaster || !fb.holds("192.0.2.100") || nb.Status()[0].Counters.PriorityZeroRecvd != 1 {
			t.Fatalf("at Skew_Time: B is %s, holds VIP %v, priority-0 received %d", nb.state("VI_1"),
				fb.holds("192.0.2.100"), nb.Status()[0].Counters.PriorityZeroRecvd)
		}
	})
}

func TestNodeRestartedMasterResumesWithoutDroppingItsVIP(t *testing.T) {
	// A died as MASTER (kill -9): its VIP is still on the interface and B,
	// the BACKUP, is silent. The restarted A keeps the VIP, stays INIT for
	// exactly ResumeInterval and becomes MASTER again, before B's
	// Master_Down_Interval could end.
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa, fb := l.net("A", 1), l.net("B", 2)
		fa.vips[netip.MustParseAddr("192.0.2.100")] = true
		nb := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", "")), fb)
		na := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 150, "192.0.2.100", "")), fa)
		resume := ResumeInterval(time.Second, 150)
		if mdi := MasterDownInterval(time.Second, 100); resume >= mdi {
			t.Fatalf("ResumeInterval %v is not before B's Master_Down_Interval %v", resume, mdi)
		}
		l.advance(resume - time.Nanosecond)
		if na.state("VI_1") != StateInit {
			t.Fatalf("A is %s before ResumeInterval %v", na.state("VI_1"), resume)
		}
		l.advance(time.Nanosecond)
		if na.state("VI_1") != StateMaster {
			t.Fatalf("A is %s at ResumeInterval %v", na.state("VI_1"), resume)
		}
		if slices.Contains(l.snapshot(), "A remove 192.0.2.100") {
			t.Fatalf("A removed its held VIP: %q", l.snapshot())
		}
		l.advance(5 * time.Second)
		if nb.state("VI_1") != StateBackup || !fa.holds("192.0.2.100") || fb.holds("192.0.2.100") {
			t.Fatalf("after resume: B %s, A holds %v, B holds %v", nb.state("VI_1"), fa.holds("192.0.2.100"), fb.holds("192.0.2.100"))
		}
	})
}

func TestNodeRestartedNodeYieldsTheVIPToALiveMaster(t *testing.T) {
	// A's VIP is left on the interface, but B took over meanwhile and is
	// MASTER with a higher priority: A hears it within one advert_int,
	// removes the VIP and is BACKUP.
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa, fb := l.net("A", 1), l.net("B", 2)
		nb := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", "")), fb)
		fa.vips[netip.MustParseAddr("192.0.2.100")] = true
		na := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 150, "192.0.2.100", "")), fa)
		l.advance(time.Second)
		if na.state("VI_1") != StateBackup || fa.holds("192.0.2.100") || nb.state("VI_1") != StateMaster {
			t.Fatalf("A is %s and holds the VIP %v, B is %s", na.state("VI_1"), fa.holds("192.0.2.100"), nb.state("VI_1"))
		}
		for _, line := range l.snapshot() {
			if line == "A advert 150" || strings.HasPrefix(line, "A garp") {
				t.Fatalf("A advertised or announced while yielding: %q", l.snapshot())
			}
		}
	})
}

// intruder is a sender on the segment that is not a node.
func (l *wire) intruder(a Advert, cut int) {
	b, err := a.Marshal(IPHeader{})
	if err != nil {
		l.t.Fatal(err)
	}
	if cut > 0 {
		b = b[:cut]
	}
	l.inject(nil, Received{Src: netip.MustParseAddr("10.0.0.9"), Dst: MulticastGroup, TTL: TTL, Payload: b})
}

func TestNodeCountsDropsByReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		na := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", "")), l.net("A", 1))
		bad := Advert{VRID: 51, Priority: 254, AuthType: AuthPassword, AdvertInt: 1, Password: PasswordOf("nope"),
			Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
		l.intruder(bad, 0)
		l.intruder(bad, 5)
		l.settle()
		d := na.Status()[0].Counters.Drops
		if d[DropAuthPass] != 1 || d[DropLength] != 1 {
			t.Fatalf("drops %v, want one auth_pass and one length", d)
		}
		if na.state("VI_1") != StateMaster {
			t.Fatal("a dropped packet changed the state")
		}
	})
}

// TestNodeCountsUnknownVRIDAgainstTheSocket: an advert of another virtual
// router on the segment belongs to no instance here; it is counted by the
// socket, not by the first instance on it.
func TestNodeCountsUnknownVRIDAgainstTheSocket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		na := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", "")+
			instanceHCL("VI_2", 52, 100, "192.0.2.200", "")), l.net("A", 1))
		other := Advert{VRID: 99, Priority: 100, AuthType: AuthPassword, AdvertInt: 1, Password: PasswordOf("secret"),
			Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.1")}}
		l.intruder(other, 0)
		l.intruder(other, 0)
		l.intruder(other, 1) // too short to name a VRID
		l.settle()
		for _, st := range na.Status() {
			if len(st.Counters.Drops) != 0 {
				t.Errorf("instance %s counted %v", st.Name, st.Counters.Drops)
			}
		}
		socks := na.Sockets()
		if len(socks) != 1 || socks[0].Interface != "eth0" || !socks[0].Multicast {
			t.Fatalf("sockets %+v, want the multicast one of eth0", socks)
		}
		if d := socks[0].Drops; d[DropVRID] != 2 || d[DropLength] != 1 {
			t.Fatalf("socket drops %v, want two vrid and one length", d)
		}
	})
}

func TestNodeSyncGroupAndTrackedInterface(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		script, out := notifyScript(t)
		y := strings.Replace(instanceHCL("VI_Y", 52, 100, "198.51.100.100", `  track_interface = ["eth1"]
`), `"eth0"`, `"eth1"`, 1)
		cfg := hcltest.Load(t, instanceHCL("VI_X", 51, 255, "192.0.2.100", "")+y+fmt.Sprintf(`vrrp_sync_group "G" {
  group = ["VI_X", "VI_Y"]
  notify = %q
}
`, script))
		na := l.start(cfg, fa)
		// VI_X is the owner and MASTER at once; VI_Y follows it.
		if na.state("VI_X") != StateMaster || na.state("VI_Y") != StateMaster || !fa.holds("198.51.100.100") {
			t.Fatalf("VI_X %s, VI_Y %s, VI_Y's VIP held %v", na.state("VI_X"), na.state("VI_Y"), fa.holds("198.51.100.100"))
		}
		// VI_Y's link goes down: VI_Y is FAULT and takes VI_X along.
		fa.setLink("eth1", false)
		l.settle()
		if na.state("VI_X") != StateFault || na.state("VI_Y") != StateFault {
			t.Fatalf("link down: VI_X %s, VI_Y %s, want both FAULT", na.state("VI_X"), na.state("VI_Y"))
		}
		if fa.holds("192.0.2.100") || fa.holds("198.51.100.100") {
			t.Fatal("VIPs kept in FAULT")
		}
		fa.setLink("eth1", true)
		l.advance(MasterDownInterval(time.Second, 100))
		if na.state("VI_X") != StateMaster {
			t.Fatalf("VI_X %s after the link came back", na.state("VI_X"))
		}
		got := readLines(out)
		if len(got) < 3 || !slices.Equal(got[:2], []string{"GROUP G MASTER 0", "GROUP G FAULT 0"}) {
			t.Fatalf("group notify: %q", got)
		}
	})
}

func TestNodeTrackScriptWeightAndFault(t *testing.T) {
	// Tracked scripts are real processes on their own ticker (script.go);
	// in the bubble, that ticker's time is synctest's, moved by Sleep.
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		dir := t.TempDir()
		flag := filepath.Join(dir, "ok")
		check := filepath.Join(dir, "check.sh")
		if err := os.WriteFile(check, []byte("#!/bin/sh\ntest -e "+flag+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := hcltest.Load(t, fmt.Sprintf(`vrrp_script "chk" {
  script = %q
  interval = "50ms"
  weight = -20
}
vrrp_script "chk0" {
  script = "/bin/true"
  interval = "1h"
}
`, check)+instanceHCL("VI_1", 51, 100, "192.0.2.100", `  track_script = ["chk", "chk0"]
`))
		na := l.start(cfg, l.net("A", 1))
		scriptsRun := func() { time.Sleep(120 * time.Millisecond); l.settle() }
		scriptsRun()
		if na.state("VI_1") != StateBackup || na.Status()[0].Priority != 100 {
			t.Fatalf("%s at priority %d with the scripts OK, want BACKUP at 100", na.state("VI_1"), na.Status()[0].Priority)
		}
		os.Remove(flag)
		scriptsRun()
		if p := na.Status()[0].Priority; p != 80 {
			t.Fatalf("priority %d with chk KO, want 80", p)
		}
		os.WriteFile(flag, nil, 0o644)
		scriptsRun()
		if p := na.Status()[0].Priority; p != 100 {
			t.Fatalf("priority %d with chk OK again, want 100", p)
		}
	})
}

// TestRunNamesTheInstanceWhenTheSystemFails: NewNode cannot fail (hcl
// validated the configuration); Run fails on the operating system only,
// and says which instance it was setting up.
func TestRunNamesTheInstanceWhenTheSystemFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		fa.listenErr = errors.New("raw VRRP socket on eth0: operation not permitted")
		n := NewNode(hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", "")), Options{
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Network: fa.network(), Clock: l.clock})
		err := n.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "vrrp_instance VI_1: raw VRRP socket on eth0") {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestNodeReloadKeepsStateAndAppliesDifferences(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		script, out := notifyScript(t)
		notify := fmt.Sprintf("  notify = %q\n", script)
		na := l.start(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", notify)), fa)
		if na.state("VI_1") != StateMaster || len(readLines(out)) != 1 {
			t.Fatalf("VI_1 %s, notify %q", na.state("VI_1"), readLines(out))
		}

		// VI_1 gets a second VIP; VI_2 is new.
		v1b := strings.Replace(instanceHCL("VI_1", 51, 255, "192.0.2.100", notify), `["192.0.2.100/24"]`, `["192.0.2.100/24", "192.0.2.101/24"]`, 1)
		mark := len(l.snapshot())
		if err := na.Reload(hcltest.Load(t, v1b+instanceHCL("VI_2", 52, 255, "198.51.100.100", ""))); err != nil {
			t.Fatal(err)
		}
		l.settle()
		if na.state("VI_2") != StateMaster {
			t.Fatalf("VI_2 is %s", na.state("VI_2"))
		}
		log := l.snapshot()[mark:]
		if slices.Contains(log, "A transition VI_1 MASTER->INIT") || slices.Contains(log, "A remove 192.0.2.100") {
			t.Fatalf("VI_1 flapped on reload: %q", log)
		}
		if !fa.holds("192.0.2.100") || !fa.holds("192.0.2.101") || !fa.holds("198.51.100.100") {
			t.Fatalf("VIPs after reload: %q", log)
		}
		if got := readLines(out); len(got) != 1 {
			t.Fatalf("VI_1 notified on reload: %q", got)
		}

		// VI_2 goes away: it resigns and its VIP goes.
		mark = len(l.snapshot())
		if err := na.Reload(hcltest.Load(t, v1b)); err != nil {
			t.Fatal(err)
		}
		l.settle()
		log = l.snapshot()[mark:]
		if !slices.Contains(log, "A advert 0") || fa.holds("198.51.100.100") || len(na.Status()) != 1 {
			t.Fatalf("removing VI_2: %q, status %+v", log, na.Status())
		}
		if na.state("VI_1") != StateMaster {
			t.Fatal("VI_1 left MASTER")
		}
	})
}

// vrrpGoroutines returns the stacks of the goroutines, other than the
// caller, that run code of this package.
func vrrpGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i > 0 && strings.Contains(g, "lvsd/lvsd/vrrp.") {
			out = append(out, g)
		}
	}
	return out
}

// TestRunLeavesNoGoroutineBehind: when Run returns, every goroutine it
// started has ended: socket readers, the link watcher (here one that takes
// a second to close its subscription), tracked scripts and the notify
// worker (here with a notify_stop that outlives StopGrace and is killed).
func TestRunLeavesNoGoroutineBehind(t *testing.T) {
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow.sh")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 5\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := hcltest.Load(t, fmt.Sprintf(`vrrp_script "chk" {
  script = %q
  interval = "1h"
}
`, "/bin/true")+instanceHCL("VI_1", 51, 100, "192.0.2.100", fmt.Sprintf(`  track_script = ["chk"]
  notify_stop = %q
`, slow)))
	if leaked := vrrpGoroutines(); len(leaked) > 0 {
		t.Fatalf("goroutines of this package before the test:\n%s", strings.Join(leaked, "\n\n"))
	}
	fa := newWire(t).net("A", 1)
	fa.stopDelay = time.Second
	backup := make(chan struct{}, 1)
	n := NewNode(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Network: fa.network(),
		StopGrace: 100 * time.Millisecond, OnTransition: func(_ context.Context, tr Transition) error {
			if tr.To == StateBackup { // the first script result came
				backup <- struct{}{}
			}
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	select {
	case <-backup:
	case err := <-done:
		t.Fatalf("Run returned before the instance started: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the instance never left INIT")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Polled for half a second: a goroutine that has called
	// WaitGroup.Done may take a moment to exit (longer on a loaded host),
	// never the second the watcher lingers.
	var leaked []string
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if leaked = vrrpGoroutines(); len(leaked) == 0 {
			return
		}
	}
	t.Fatalf("%d goroutines of this package left after Run returned:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
}

func (n *Node) state(name string) State {
	for _, s := range n.Status() {
		if s.Name == name {
			return s.State
		}
	}
	return StateInit
}
