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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// fakeHub is a segment joining fake networks: every packet written reaches
// every other conn (multicast) or the conn of the node owning dst.
type fakeHub struct {
	mu    sync.Mutex
	conns []*fakeConn
}

// fakeNet is one node's Network; it records what the node did.
type fakeNet struct {
	hub   *fakeHub
	name  string
	addr  netip.Addr
	mu    sync.Mutex
	vips  map[netip.Addr]bool
	links map[string]bool
	watch func(string, bool)
	log   *[]string
	logMu *sync.Mutex
}

type fakeConn struct {
	net    *fakeNet
	in     chan Received
	closed chan struct{}
	once   sync.Once
}

func newFakeNet(hub *fakeHub, name string, last byte, log *[]string, logMu *sync.Mutex) *fakeNet {
	return &fakeNet{hub: hub, name: name, addr: netip.AddrFrom4([4]byte{10, 0, 0, last}), vips: map[netip.Addr]bool{},
		links: map[string]bool{"eth0": true, "eth1": true}, log: log, logMu: logMu}
}

func (f *fakeNet) record(format string, args ...any) {
	f.logMu.Lock()
	*f.log = append(*f.log, f.name+" "+fmt.Sprintf(format, args...))
	f.logMu.Unlock()
}

func (f *fakeNet) Listen(ifname string, multicast bool) (AdvertConn, error) {
	c := &fakeConn{net: f, in: make(chan Received, 64), closed: make(chan struct{})}
	f.hub.mu.Lock()
	f.hub.conns = append(f.hub.conns, c)
	f.hub.mu.Unlock()
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
	a, _ := Decode(payload)
	c.net.record("advert %d", a.Priority)
	c.net.hub.mu.Lock()
	defer c.net.hub.mu.Unlock()
	for _, o := range c.net.hub.conns {
		if o.net != c.net && (dst == MulticastGroup || dst == o.net.addr) {
			select {
			case o.in <- Received{Src: src, Dst: dst, TTL: TTL, Payload: payload, At: time.Now()}:
			default:
			}
		}
	}
	return nil
}

func (c *fakeConn) Close() error { c.once.Do(func() { close(c.closed) }); return nil }

func (f *fakeNet) PrimaryAddr(string, []netip.Addr) (netip.Addr, error) { return f.addr, nil }

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

type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

func instanceCfg(name string, vrid, prio int, vip string) hcl.VRRPInstance {
	return hcl.VRRPInstance{Name: name, Interface: "eth0", VirtualRouterID: vrid, Priority: prio, AdvertInt: time.Second,
		AuthType: "PASS", AuthPass: "secret", GarpMasterRepeat: 5, GarpMasterDelay: 5 * time.Second,
		VirtualIPs: []hcl.VIP{{Prefix: netip.MustParsePrefix(vip + "/24")}}}
}

// startNode runs a node on a fake network until the test ends.
func startNode(t *testing.T, cfg *hcl.Config, fn *fakeNet, ev *events) (*Node, context.CancelFunc, chan error) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	n, err := NewNode(cfg, Options{Logger: log, Network: fn, OnTransition: func(_ context.Context, tr Transition) error {
		fn.record("transition %s %s->%s", tr.Instance, tr.From, tr.To)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return n, cancel, done
}

func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stateOf(n *Node, name string) State {
	for _, s := range n.Status() {
		if s.Name == name {
			return s.State
		}
	}
	return StateInit
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

func TestNodeOwnerProgramsBeforeVIPsAndCleansUpOnStop(t *testing.T) {
	ev := &events{}
	hub := &fakeHub{}
	fn := newFakeNet(hub, "A", 1, &ev.log, &ev.mu)
	fn.vips[netip.MustParseAddr("192.0.2.100")] = true // held since a crash
	script, out := notifyScript(t)
	ic := instanceCfg("VI_1", 51, 255, "192.0.2.100")
	ic.Notify = hcl.Notify{Master: script + " master", Stop: script + " stop", Any: script}
	n, cancel, done := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{ic}}, fn, ev)
	waitUntil(t, 2*time.Second, "MASTER", func() bool { return stateOf(n, "VI_1") == StateMaster })
	waitUntil(t, 2*time.Second, "notify", func() bool { return len(readLines(out)) >= 2 })
	log := ev.snapshot()
	// The owner keeps the VIP it holds (no remove) and is MASTER at once.
	want := []string{"A transition VI_1 INIT->MASTER", "A add 192.0.2.100", "A garp 192.0.2.100 x5", "A advert 255"}
	if !slices.Equal(log[:len(want)], want) {
		t.Fatalf("start: got %q, want %q", log, want)
	}
	if got := readLines(out); !slices.Equal(got, []string{"master", "INSTANCE VI_1 MASTER 255"}) {
		t.Fatalf("notify: got %q", got)
	}
	mark := len(ev.snapshot())
	stopAt := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup
	if took := time.Since(stopAt); took > time.Second {
		t.Fatalf("Run took %v to return after cancel", took)
	}
	log = ev.snapshot()[mark:]
	want = []string{"A advert 0", "A remove 192.0.2.100", "A transition VI_1 MASTER->INIT"}
	if !slices.Equal(log, want) {
		t.Fatalf("stop: got %q, want %q", log, want)
	}
	if got := readLines(out); !slices.Equal(got[2:], []string{"stop", "INSTANCE VI_1 STOP 255"}) {
		t.Fatalf("notify at stop: got %q", got)
	}
}

func TestNodePairElectsOverFakeWire(t *testing.T) {
	ev := &events{}
	hub := &fakeHub{}
	fa, fb := newFakeNet(hub, "A", 1, &ev.log, &ev.mu), newFakeNet(hub, "B", 2, &ev.log, &ev.mu)
	na, cancelA, doneA := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 255, "192.0.2.100")}}, fa, ev)
	nb, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 100, "192.0.2.100")}}, fb, ev)
	waitUntil(t, 2*time.Second, "A MASTER", func() bool { return stateOf(na, "VI_1") == StateMaster })
	waitUntil(t, 3*time.Second, "B hears A", func() bool { return nb.Status()[0].Counters.AdvertsReceived > 0 })
	if stateOf(nb, "VI_1") != StateBackup || fb.holds("192.0.2.100") {
		t.Fatalf("B is %s", stateOf(nb, "VI_1"))
	}
	if ip := nb.Status()[0].MasterIP; ip != fa.addr {
		t.Fatalf("B sees master %v", ip)
	}
	// A stops: B hears priority 0 and takes over after Skew_Time.
	cancelA()
	<-doneA
	doneA <- nil
	at := time.Now()
	waitUntil(t, 2*time.Second, "B MASTER", func() bool { return stateOf(nb, "VI_1") == StateMaster })
	if took := time.Since(at); took > SkewTime(100)+250*time.Millisecond {
		t.Fatalf("B took over after %v, want about Skew_Time %v", took, SkewTime(100))
	}
	if !fb.holds("192.0.2.100") || nb.Status()[0].Counters.PriorityZeroRecvd != 1 {
		t.Fatalf("B holds VIP %v, priority-0 received %d", fb.holds("192.0.2.100"), nb.Status()[0].Counters.PriorityZeroRecvd)
	}
}

func TestNodeRestartedMasterResumesWithoutDroppingItsVIP(t *testing.T) {
	// A died as MASTER (kill -9): its VIP is still on the interface and B,
	// the BACKUP, is silent. The restarted A keeps the VIP, stays INIT for
	// ResumeInterval and becomes MASTER again, before B's
	// Master_Down_Interval could end.
	ev := &events{}
	hub := &fakeHub{}
	fa, fb := newFakeNet(hub, "A", 1, &ev.log, &ev.mu), newFakeNet(hub, "B", 2, &ev.log, &ev.mu)
	fa.vips[netip.MustParseAddr("192.0.2.100")] = true
	nb, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 100, "192.0.2.100")}}, fb, ev)
	at := time.Now()
	na, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 150, "192.0.2.100")}}, fa, ev)
	waitUntil(t, 3*time.Second, "A MASTER", func() bool { return stateOf(na, "VI_1") == StateMaster })
	took := time.Since(at)
	if want := ResumeInterval(time.Second, 150); took < want || took > want+500*time.Millisecond {
		t.Fatalf("A resumed after %v, want ResumeInterval %v", took, want)
	}
	if want := MasterDownInterval(time.Second, 100); took >= want {
		t.Fatalf("A resumed after %v, not before B's Master_Down_Interval %v", took, want)
	}
	for _, line := range ev.snapshot() {
		if line == "A remove 192.0.2.100" {
			t.Fatalf("A removed its held VIP: %q", ev.snapshot())
		}
	}
	waitUntil(t, 2*time.Second, "B hears A", func() bool { return nb.Status()[0].Counters.AdvertsReceived > 0 })
	if stateOf(nb, "VI_1") != StateBackup || !fa.holds("192.0.2.100") || fb.holds("192.0.2.100") {
		t.Fatalf("after resume: B %s, A holds %v, B holds %v", stateOf(nb, "VI_1"), fa.holds("192.0.2.100"), fb.holds("192.0.2.100"))
	}
}

func TestNodeRestartedNodeYieldsTheVIPToALiveMaster(t *testing.T) {
	// A's VIP is left on the interface, but B took over meanwhile and is
	// MASTER with a higher priority: A hears it, removes the VIP and is
	// BACKUP.
	ev := &events{}
	hub := &fakeHub{}
	fa, fb := newFakeNet(hub, "A", 1, &ev.log, &ev.mu), newFakeNet(hub, "B", 2, &ev.log, &ev.mu)
	nb, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 255, "192.0.2.100")}}, fb, ev)
	waitUntil(t, 2*time.Second, "B MASTER", func() bool { return stateOf(nb, "VI_1") == StateMaster })
	fa.vips[netip.MustParseAddr("192.0.2.100")] = true
	na, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 150, "192.0.2.100")}}, fa, ev)
	waitUntil(t, 3*time.Second, "A BACKUP", func() bool { return stateOf(na, "VI_1") == StateBackup })
	if fa.holds("192.0.2.100") || stateOf(nb, "VI_1") != StateMaster {
		t.Fatalf("A holds the VIP %v, B is %s", fa.holds("192.0.2.100"), stateOf(nb, "VI_1"))
	}
	for _, line := range ev.snapshot() {
		if line == "A advert 150" || strings.HasPrefix(line, "A garp") {
			t.Fatalf("A advertised or announced while yielding: %q", ev.snapshot())
		}
	}
}

func TestNodeCountsDropsByReason(t *testing.T) {
	ev := &events{}
	hub := &fakeHub{}
	fa := newFakeNet(hub, "A", 1, &ev.log, &ev.mu)
	na, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{instanceCfg("VI_1", 51, 255, "192.0.2.100")}}, fa, ev)
	waitUntil(t, 2*time.Second, "A MASTER", func() bool { return stateOf(na, "VI_1") == StateMaster })
	intruder := &fakeConn{net: newFakeNet(hub, "X", 9, &ev.log, &ev.mu)}
	bad := Advert{VRID: 51, Priority: 254, AuthType: AuthPassword, AdvertInt: 1, Password: PasswordOf("nope"),
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b, _ := bad.Marshal()
	intruder.Write(netip.MustParseAddr("10.0.0.9"), MulticastGroup, b)
	intruder.Write(netip.MustParseAddr("10.0.0.9"), MulticastGroup, b[:5])
	waitUntil(t, time.Second, "drops counted", func() bool {
		d := na.Status()[0].Counters.Drops
		return d[DropAuthPass] == 1 && d[DropLength] == 1
	})
	if stateOf(na, "VI_1") != StateMaster {
		t.Fatal("a dropped packet changed the state")
	}
}

func TestNodeSyncGroupAndTrackedInterface(t *testing.T) {
	ev := &events{}
	hub := &fakeHub{}
	fa := newFakeNet(hub, "A", 1, &ev.log, &ev.mu)
	x := instanceCfg("VI_X", 51, 255, "192.0.2.100")
	y := instanceCfg("VI_Y", 52, 100, "198.51.100.100")
	y.Interface = "eth1"
	y.TrackInterfaces = []hcl.TrackInterface{{Name: "eth1"}}
	script, out := notifyScript(t)
	cfg := &hcl.Config{Instances: []hcl.VRRPInstance{x, y},
		SyncGroups: []hcl.SyncGroup{{Name: "G", Group: []string{"VI_X", "VI_Y"}, Notify: hcl.Notify{Any: script}}}}
	na, _, _ := startNode(t, cfg, fa, ev)
	// VI_X is the owner and MASTER at once; VI_Y follows it.
	waitUntil(t, 2*time.Second, "both MASTER", func() bool {
		return stateOf(na, "VI_X") == StateMaster && stateOf(na, "VI_Y") == StateMaster
	})
	if !fa.holds("198.51.100.100") {
		t.Fatal("VI_Y forced MASTER without its VIP")
	}
	// VI_Y's link goes down: VI_Y is FAULT and takes VI_X along.
	fa.setLink("eth1", false)
	waitUntil(t, 2*time.Second, "both FAULT", func() bool {
		return stateOf(na, "VI_X") == StateFault && stateOf(na, "VI_Y") == StateFault
	})
	if fa.holds("192.0.2.100") || fa.holds("198.51.100.100") {
		t.Fatal("VIPs kept in FAULT")
	}
	fa.setLink("eth1", true)
	waitUntil(t, 5*time.Second, "VI_X MASTER again", func() bool { return stateOf(na, "VI_X") == StateMaster })
	waitUntil(t, 2*time.Second, "group notify", func() bool { return len(readLines(out)) >= 3 })
	got := readLines(out)
	if !slices.Equal(got[:2], []string{"GROUP G MASTER 255", "GROUP G FAULT 100"}) {
		t.Fatalf("group notify: %q", got)
	}
}

func TestNodeTrackScriptWeightAndFault(t *testing.T) {
	ev := &events{}
	hub := &fakeHub{}
	fa := newFakeNet(hub, "A", 1, &ev.log, &ev.mu)
	dir := t.TempDir()
	flag := filepath.Join(dir, "ok")
	check := filepath.Join(dir, "check.sh")
	os.WriteFile(check, []byte("#!/bin/sh\ntest -e "+flag+"\n"), 0o755)
	os.WriteFile(flag, nil, 0o644)
	ic := instanceCfg("VI_1", 51, 100, "192.0.2.100")
	ic.TrackScripts = []hcl.TrackScript{{Name: "chk"}, {Name: "chk0"}}
	cfg := &hcl.Config{
		Scripts: []hcl.VRRPScript{
			{Name: "chk", Script: check, Interval: 50 * time.Millisecond, Weight: -20, Rise: 1, Fall: 1},
			{Name: "chk0", Script: "/bin/true", Interval: time.Hour},
		},
		Instances: []hcl.VRRPInstance{ic},
	}
	na, _, _ := startNode(t, cfg, fa, ev)
	waitUntil(t, time.Second, "BACKUP", func() bool { return stateOf(na, "VI_1") == StateBackup })
	if p := na.Status()[0].Priority; p != 100 {
		t.Fatalf("priority %d with the script OK, want 100", p)
	}
	os.Remove(flag)
	waitUntil(t, time.Second, "priority 80", func() bool { return na.Status()[0].Priority == 80 })
	os.WriteFile(flag, nil, 0o644)
	waitUntil(t, time.Second, "priority 100", func() bool { return na.Status()[0].Priority == 100 })
}

func TestNewNodeRejectsBadConfig(t *testing.T) {
	ok := instanceCfg("VI_1", 51, 100, "192.0.2.100")
	tests := []struct {
		name string
		cfg  hcl.Config
		want string
	}{
		{"vrid", hcl.Config{Instances: []hcl.VRRPInstance{func() hcl.VRRPInstance { c := ok; c.VirtualRouterID = 0; return c }()}}, "virtual_router_id"},
		{"auth", hcl.Config{Instances: []hcl.VRRPInstance{func() hcl.VRRPInstance { c := ok; c.AuthType = "AH"; return c }()}}, "auth_type"},
		{"script", hcl.Config{Instances: []hcl.VRRPInstance{func() hcl.VRRPInstance {
			c := ok
			c.TrackScripts = []hcl.TrackScript{{Name: "nope"}}
			return c
		}()}}, "track_script nope"},
		{"group", hcl.Config{Instances: []hcl.VRRPInstance{ok}, SyncGroups: []hcl.SyncGroup{{Name: "G", Group: []string{"VI_2"}}}}, "VI_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewNode(&tt.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func TestNodeReloadKeepsStateAndAppliesDifferences(t *testing.T) {
	ev := &events{}
	hub := &fakeHub{}
	fa := newFakeNet(hub, "A", 1, &ev.log, &ev.mu)
	script, out := notifyScript(t)
	v1 := instanceCfg("VI_1", 51, 255, "192.0.2.100")
	v1.Notify.Any = script
	na, _, _ := startNode(t, &hcl.Config{Instances: []hcl.VRRPInstance{v1}}, fa, ev)
	waitUntil(t, 2*time.Second, "MASTER", func() bool { return stateOf(na, "VI_1") == StateMaster })
	waitUntil(t, 2*time.Second, "notify", func() bool { return len(readLines(out)) == 1 })

	// VI_1 gets a second VIP; VI_2 is new.
	v1b := v1
	v1b.VirtualIPs = append(slices.Clone(v1.VirtualIPs), hcl.VIP{Prefix: netip.MustParsePrefix("192.0.2.101/24")})
	v2 := instanceCfg("VI_2", 52, 255, "198.51.100.100")
	mark := len(ev.snapshot())
	if err := na.Reload(&hcl.Config{Instances: []hcl.VRRPInstance{v1b, v2}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Second, "VI_2 MASTER", func() bool { return stateOf(na, "VI_2") == StateMaster })
	log := ev.snapshot()[mark:]
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
	mark = len(ev.snapshot())
	if err := na.Reload(&hcl.Config{Instances: []hcl.VRRPInstance{v1b}}); err != nil {
		t.Fatal(err)
	}
	log = ev.snapshot()[mark:]
	if !slices.Contains(log, "A advert 0") || fa.holds("198.51.100.100") || len(na.Status()) != 1 {
		t.Fatalf("removing VI_2: %q, status %+v", log, na.Status())
	}
	if stateOf(na, "VI_1") != StateMaster {
		t.Fatal("VI_1 left MASTER")
	}
}
