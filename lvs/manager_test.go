package lvs_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// programmedTable is what testConfig looks like in the kernel on a MASTER
// with every real server up.
func programmedTable() lvs.Table {
	return lvs.Desire(lvs.State{Config: lvs.TestConfig(), Active: map[string]bool{"VI_1": true}}).Table
}

var foreignService = lvs.Service{Protocol: "TCP", Addr: lvs.AP("203.0.113.9:22"), Scheduler: "rr", Netmask: 32,
	Destinations: []lvs.Destination{{Addr: lvs.AP("10.5.5.5:22"), Forward: lvs.ForwardMasq, Weight: 1}}}

func TestManagerAdoptsTheTableItFindsAndLeavesForeignServicesAlone(t *testing.T) {
	k := lvstest.NewFakeKernel(append(programmedTable(), foreignService))
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if err := m.SetActive("VI_1", true); err != nil {
		t.Fatal(err)
	}
	if n, err := m.Reconcile(context.Background()); n != 0 || err != nil {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	if len(k.Applied) != 0 {
		t.Fatalf("adopting a correct table applied %v", lvs.OpStrings(k.Applied))
	}
	var foreign []string
	for _, st := range m.Status() {
		if st.State == lvs.StateForeign {
			foreign = append(foreign, st.Key)
		}
	}
	if !slices.Equal(foreign, []string{"TCP:203.0.113.9:22"}) {
		t.Fatalf("foreign services reported: %v", foreign)
	}
}

func TestManagerRestartDropsNothingBeforeMastershipIsKnown(t *testing.T) {
	k := lvstest.NewFakeKernel(programmedTable())
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig()) // VI_1 undecided: held
	if _, err := m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(k.Applied) != 0 {
		t.Fatalf("undecided instance: applied %v", lvs.OpStrings(k.Applied))
	}
}

func TestManagerProgramsOnMasterAndWithdrawsOnBackup(t *testing.T) {
	k := lvstest.NewFakeKernel(lvs.Table{foreignService})
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if err := m.SetActive("VI_1", true); err != nil {
		t.Fatal(err)
	}
	got, _ := k.Table()
	want := append(programmedTable(), foreignService)
	want.Sort()
	if ops := lvs.Plan(want, got); len(ops) != 0 || len(got) != 3 {
		t.Fatalf("after MASTER the table differs: %v", lvs.OpStrings(ops))
	}
	if err := m.SetActive("VI_1", false); err != nil {
		t.Fatal(err)
	}
	got, _ = k.Table()
	if len(got) != 1 || got[0].Key() != foreignService.Key() {
		t.Fatalf("after BACKUP the table holds %v", got)
	}
}

func TestManagerRepairsOutsideEditsOnTheNextPass(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	m.SetConfig(cfg)
	k.ResetApplied()
	// ipvsadm -d -t 192.0.2.100:80 -r 10.0.0.1:80; ipvsadm -e … -w 9
	k.Edit(func(t *lvs.Table) {
		s := t.Find(lvs.Web)
		s.Destinations = s.Destinations[1:]
		s.Destinations[0].Weight = 9
	})
	n, err := m.Reconcile(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	want := []string{
		"+ add destination 10.0.0.1:80 to TCP 192.0.2.100:80 route weight 3",
		"~ edit destination 10.0.0.2:80 of TCP 192.0.2.100:80: weight 9 -> 3",
	}
	if got := lvs.OpStrings(k.Applied); !slices.Equal(got, want) {
		t.Fatalf("repair:\ngot  %q\nwant %q", got, want)
	}
}

func TestManagerRunRepairsPeriodicallyAndNeverFlushesOnExit(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{Interval: time.Millisecond})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	m.SetConfig(cfg)
	k.Edit(func(t *lvs.Table) { *t = slices.DeleteFunc(*t, func(s lvs.Service) bool { return s.Key() == lvs.Web }) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tbl, _ := k.Table()
		if tbl.Find(lvs.Web) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not restore the deleted service")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if tbl, _ := k.Table(); len(tbl) != 2 {
		t.Fatalf("table after exit: %d services, want 2 (no flush)", len(tbl))
	}
}

func TestManagerOmegaClearsItsServicesOnExit(t *testing.T) {
	k := lvstest.NewFakeKernel(lvs.Table{foreignService})
	m := lvs.NewManager(k, lvs.ManagerOptions{Interval: time.Hour})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	cfg.VirtualServers[0].Omega = true
	m.SetConfig(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	tbl, _ := k.Table()
	var keys []string
	for _, s := range tbl {
		keys = append(keys, s.Key())
	}
	if !slices.Equal(keys, []string{"FWM:1:inet", "TCP:203.0.113.9:22"}) {
		t.Fatalf("after omega exit: %v", keys)
	}
}

func TestManagerHealthEventCostsOneOperation(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if err := m.SetActive("VI_1", true); err != nil {
		t.Fatal(err)
	}
	k.ResetApplied()
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.1:80")}, lvs.Down("connection refused"))
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.1:80")}, lvs.Down("connection refused")) // repeated: nothing
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.2:80")}, lvs.Verdict{Up: true, Weight: 5})
	want := []string{
		"- delete destination 10.0.0.1:80 of TCP 192.0.2.100:80",
		"~ edit destination 10.0.0.2:80 of TCP 192.0.2.100:80: weight 3 -> 5",
	}
	if got := lvs.OpStrings(k.Applied); !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestManagerReportsQuorumChanges(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	var mu sync.Mutex
	var events []string
	m := lvs.NewManager(k, lvs.ManagerOptions{OnQuorum: func(vs hcl.VirtualServer, up bool) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, vs.Key()+map[bool]string{true: " up", false: " down"}[up])
	}})
	cfg := lvs.TestConfig()
	cfg.VirtualServers[0].SorryServer = &hcl.SorryServer{Addr: lvs.AP("10.9.9.9:80")}
	m.SetConfig(cfg)
	if err := m.SetActive("VI_1", true); err != nil {
		t.Fatal(err)
	}
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.1:80")}, lvs.Down("x"))
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.2:80")}, lvs.Down("x"))
	tbl, _ := k.Table()
	if got := lvs.Weights(tbl, lvs.Web); !slices.Equal(got, []string{"10.9.9.9:80=01"}) {
		t.Fatalf("sorry server not in: %v", got)
	}
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.2:80")}, lvs.UpVerdict)
	tbl, _ = k.Table()
	if got := lvs.Weights(tbl, lvs.Web); !slices.Equal(got, []string{"10.0.0.2:80=03"}) {
		t.Fatalf("sorry server not out: %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, []string{lvs.Web + " down", lvs.Web + " up"}) {
		t.Fatalf("quorum events %v", events)
	}
}

func TestManagerReloadDeletesServicesDroppedFromConfiguration(t *testing.T) {
	k := lvstest.NewFakeKernel(lvs.Table{foreignService})
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	m.SetConfig(cfg)
	next := lvs.TestConfig()
	next.Global.LVSProgram = hcl.LVSProgramAlways
	next.VirtualServers = next.VirtualServers[:1]
	next.VirtualServers[0].LBAlgo = "rr"
	k.ResetApplied()
	m.SetConfig(next)
	want := []string{
		"~ edit service TCP 192.0.2.100:80: scheduler wlc -> rr",
		"- delete destination 10.0.0.3:0 of FWM 1",
		"- delete service FWM 1",
	}
	if got := lvs.OpStrings(k.Applied); !slices.Equal(got, want) {
		t.Fatalf("reload:\ngot  %q\nwant %q", got, want)
	}
}

func TestKernelRefusalsNameTheServiceAndRealServer(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	k.Schedulers = []string{"wlc", "rr"}
	k.Refuse = func(op lvs.Op) error {
		if op.Kind == lvs.OpAddDestination && op.Destination.Addr == lvs.AP("10.0.0.2:80") {
			return syscall.EINVAL
		}
		return nil
	}
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	cfg.VirtualServers[1].LBAlgo = "mh"
	m.SetConfig(cfg)
	_, err := m.Reconcile(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`service FWM:1:inet: scheduler "mh" refused by kernel: kernel module ip_vs_mh not loaded`,
		"real server 10.0.0.2:80 of TCP:192.0.2.100:80 refused by kernel (invalid argument): is there a unicast route to it?",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	var opErr *lvs.Refusal
	if !errors.As(err, &opErr) {
		t.Errorf("error is not a *Refusal: %T", err)
	}
	if c := m.Counters(); c.Errors == 0 || c.Reconciles == 0 {
		t.Errorf("refusals not counted: %+v", c)
	}
	// Only what took effect is counted as applied, by kind.
	want := map[string]uint64{}
	for _, op := range k.Applied {
		want[op.Kind.String()]++
	}
	if c := m.Counters(); !maps.Equal(c.Applied, want) {
		t.Errorf("applied by kind %v, want %v (the refused operations left out)", c.Applied, want)
	}
}

func TestManagerCountsOperationsByKindAndReconciles(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if err := m.SetActive("VI_1", true); err != nil {
		t.Fatal(err)
	}
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.1:80")}, lvs.Down("connection refused"))
	c := m.Counters()
	want := map[string]uint64{}
	for _, op := range k.Applied {
		want[op.Kind.String()]++
	}
	if len(want) == 0 || !maps.Equal(c.Applied, want) {
		t.Fatalf("applied by kind %v, want %v", c.Applied, want)
	}
	if c.Applied["delete destination"] != 1 || c.Errors != 0 {
		t.Fatalf("counters %+v", c)
	}
	// SetConfig, SetActive, SetVerdict: three passes.
	if c.Reconciles != 3 || c.ReconcileTime < c.LastReconcile || c.LastReconcile <= 0 {
		t.Fatalf("reconciles %d, total %v, last %v", c.Reconciles, c.ReconcileTime, c.LastReconcile)
	}
}

func TestManagerStatusShowsHealthWeightsAndCounters(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	_ = m.SetActive("VI_1", true)
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.1:80")}, lvs.Down("connection refused"))
	k.Edit(func(t *lvs.Table) { t.Find(lvs.Web).Stats.Conns = 42 })
	st := m.Status()
	if len(st) != 2 {
		t.Fatalf("%d services", len(st))
	}
	w := st[0]
	if w.Key != lvs.Web || w.State != lvs.StateProgrammed || !w.InKernel || w.Stats.Conns != 42 || w.LiveWeight != 3 {
		t.Fatalf("status %+v", w)
	}
	r1 := w.Destinations[0]
	if r1.Up || r1.InKernel || r1.Reason != "connection refused" || r1.ConfiguredWeight != 3 {
		t.Fatalf("r1 %+v", r1)
	}
	if r2 := w.Destinations[1]; !r2.Up || !r2.InKernel || r2.Weight != 3 {
		t.Fatalf("r2 %+v", r2)
	}
}

func TestManagerRetriesWithAFreshReadWhenItsViewWasStale(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if err := m.SetActive("VI_1", true); err != nil {
		t.Fatal(err)
	}
	// ipvsadm -D -t 192.0.2.100:80 behind lvsd's back; then a health event
	// whose edit the kernel refuses (no such service).
	k.Edit(func(t *lvs.Table) { *t = slices.DeleteFunc(*t, func(s lvs.Service) bool { return s.Key() == lvs.Web }) })
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.2:80")}, lvs.Verdict{Up: true, Weight: 5})
	got, _ := k.Table()
	if w := lvs.Weights(got, lvs.Web); !slices.Equal(w, []string{"10.0.0.1:80=03", "10.0.0.2:80=05"}) {
		t.Fatalf("after retry: %v", w)
	}
}

// slowReadKernel is a kernel whose whole-table reads take their snapshot
// and then wait for release while blocking is on: a dump of a big table in
// progress (a /metrics scrape, `lvsd status`, the periodic repair).
type slowReadKernel struct {
	lvs.Kernel
	blocking atomic.Bool
	reading  chan struct{} // one value per blocked read, once its snapshot is taken
	release  chan struct{} // closed to let blocked reads return
}

func (k *slowReadKernel) Table() (lvs.Table, error) {
	t, err := k.Kernel.Table()
	k.block()
	return t, err
}

// ProcTable is the steady repair pass's read (repairpass.go).
func (k *slowReadKernel) ProcTable(dst []byte) ([]byte, error) {
	b, err := k.Kernel.ProcTable(dst)
	k.block()
	return b, err
}

func (k *slowReadKernel) block() {
	if k.blocking.Load() {
		k.reading <- struct{}{}
		<-k.release
	}
}

func TestManagerWritesNeverWaitForASlowKernelRead(t *testing.T) {
	readers := []struct {
		name string
		read func(*lvs.Manager)
		// steady: a pass has read the whole table already, so the read
		// is the steady pass's (/proc/net/ip_vs).
		steady bool
	}{
		{"status", func(m *lvs.Manager) { m.Status() }, false},
		{"periodic repair", func(m *lvs.Manager) { _, _ = m.Reconcile(context.Background()) }, false},
		{"steady repair pass", func(m *lvs.Manager) { _, _ = m.Reconcile(context.Background()) }, true},
	}
	writers := []struct {
		name  string
		write func(*lvs.Manager) error
		// applied reports whether the write reached the kernel.
		applied func(lvs.Table) bool
	}{
		{
			name:    "takeover",
			write:   func(m *lvs.Manager) error { return m.SetActive("VI_1", true) },
			applied: func(t lvs.Table) bool { return t.Find(lvs.Web) != nil },
		},
		{
			name: "health event",
			write: func(m *lvs.Manager) error {
				m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.2:80")}, lvs.Verdict{Up: true, Weight: 5})
				return nil
			},
			applied: func(t lvs.Table) bool { return slices.Contains(lvs.Weights(t, lvs.Web), "10.0.0.2:80=05") },
		},
		{
			name: "reload",
			write: func(m *lvs.Manager) error {
				next := lvs.TestConfig()
				next.VirtualServers[0].LBAlgo = "rr"
				m.SetConfig(next)
				return nil
			},
			applied: func(t lvs.Table) bool { s := t.Find(lvs.Web); return s != nil && s.Scheduler == "rr" },
		},
	}
	for _, r := range readers {
		for _, w := range writers {
			t.Run(w.name+" during "+r.name, func(t *testing.T) {
				fake := lvstest.NewFakeKernel(nil)
				k := &slowReadKernel{Kernel: fake, reading: make(chan struct{}, 1), release: make(chan struct{})}
				m := lvs.NewManager(k, lvs.ManagerOptions{})
				m.SetConfig(lvs.TestConfig())
				if w.name != "takeover" {
					if err := m.SetActive("VI_1", true); err != nil {
						t.Fatal(err)
					}
				}
				if r.steady {
					if _, err := m.Reconcile(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				k.blocking.Store(true)
				readDone := make(chan struct{})
				go func() {
					defer close(readDone)
					r.read(m)
				}()
				released := false
				release := func() {
					if !released {
						released = true
						close(k.release)
						<-readDone
					}
				}
				defer release()
				<-k.reading // the read has its snapshot and is still going

				wrote := make(chan error, 1)
				go func() { wrote <- w.write(m) }()
				select {
				case err := <-wrote:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(10 * time.Second): // catches a deadlock only
					t.Fatalf("%s waited for a kernel read that was still in progress", w.name)
				}
				if tbl, _ := fake.Table(); !w.applied(tbl) {
					t.Fatalf("%s returned before reaching the kernel: %v", w.name, lvs.Weights(tbl, lvs.Web))
				}
				// The read finishes with a snapshot older than the
				// write; what it does with it must not undo the write.
				release()
				if tbl, _ := fake.Table(); !w.applied(tbl) {
					t.Fatalf("the %s undid the %s: %v", r.name, w.name, lvs.Weights(tbl, lvs.Web))
				}
				if c := m.Counters(); c.Errors != 0 {
					t.Fatalf("%d kernel errors: the %s acted on its stale snapshot", c.Errors, r.name)
				}
			})
		}
	}
}

// readCountingKernel counts the reads of the whole table.
type readCountingKernel struct {
	lvs.Kernel
	reads atomic.Int64
}

func (k *readCountingKernel) Table() (lvs.Table, error) {
	k.reads.Add(1)
	return k.Kernel.Table()
}

func TestManagerRefusalCostsOtherServicesNoTableRead(t *testing.T) {
	fake := lvstest.NewFakeKernel(nil)
	// The fwmark service's real server has no route: refused every time.
	fake.Refuse = func(op lvs.Op) error {
		if op.Kind == lvs.OpAddDestination && op.Destination.Addr == lvs.AP("10.0.0.3:0") {
			return syscall.EINVAL
		}
		return nil
	}
	k := &readCountingKernel{Kernel: fake}
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if err := m.SetActive("VI_1", true); err == nil {
		t.Fatal("the refusal was not reported")
	}
	k.reads.Store(0)
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.1:80")}, lvs.Down("connection refused"))
	if n := k.reads.Load(); n != 0 {
		t.Fatalf("a health event of the web service read the table %d times: the fwmark service's refusal made all of lvsd's view unknown", n)
	}
	tbl, _ := fake.Table()
	if w := lvs.Weights(tbl, lvs.Web); !slices.Equal(w, []string{"10.0.0.2:80=03"}) {
		t.Fatalf("web after the health event: %v", w)
	}
	// A write to the refused service reads first: its state is unknown.
	m.SetVerdict(lvs.VerdictKey{Service: "FWM:1:inet", Real: lvs.AP("10.0.0.3:0")}, lvs.Down("timeout"))
	if n := k.reads.Load(); n == 0 {
		t.Fatal("a write to the service whose write was refused trusted lvsd's view")
	}
}

// A setter takes the Manager's inputs lock first. A periodic repair and a
// status of a big table compute the desired state of every service; if
// they held that lock for the whole computation, a takeover arriving
// meanwhile would wait for all of it. They hold it for a chunk of
// services at a time, so the setters' waits stay far below one whole
// table's computation, however often repairs and scrapes run.
func TestSettersWaitForNoWholeTableComputation(t *testing.T) {
	const services, reals = 2000, 16
	cfg := lvstest.SyntheticConfig(services, reals)
	k := lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals))
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(cfg)
	whole := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		lvs.Desire(lvs.State{Config: cfg})
		whole = min(whole, time.Since(start))
	}

	// One goroutine runs repairs and statuses back to back, so that the
	// setter's goroutine has a processor of its own to wait on the lock
	// with (two busy goroutines would measure the scheduler instead).
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_, _ = m.Reconcile(ctx)
			m.Status()
		}
	}()
	var waits []time.Duration
	for i := range 200 {
		start := time.Now()
		// An instance that owns no service: the setter's whole cost is
		// the wait for the inputs lock.
		if err := m.SetActive("VI_OTHER", i%2 == 0); err != nil {
			t.Fatal(err)
		}
		waits = append(waits, time.Since(start))
		time.Sleep(time.Millisecond)
	}
	stop()
	wg.Wait()
	slices.Sort(waits)
	p50 := waits[len(waits)/2]
	t.Logf("the whole table's desired state takes %v; setter waits p50 %v, p90 %v, max %v",
		whole, p50, waits[len(waits)*9/10], waits[len(waits)-1])
	// The median: the tail measures the host's scheduler and the
	// garbage collector as much as the lock.
	if p50 > whole/8 {
		t.Fatalf("setters waited %v (median) while repairs and scrapes ran: an eighth of the whole table's computation (%v) or more", p50, whole)
	}
}

// The repair diffs only the services whose read differs from lvsd's view
// of them; once a pass has adopted the kernel's own form of every
// service, every kind of outside edit must still differ and be repaired.
func TestManagerRepairsEveryOutsideEditAfterACleanPass(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*lvs.Table)
	}{
		{"weight", func(t *lvs.Table) { t.Find(lvs.Web).Destinations[0].Weight = 9 }},
		// An edit /proc/net/ip_vs does not print waits for the rotation:
		// TestManagerRepairsWhatProcDoesNotShowInItsRotationSlot.
		{"forwarding method", func(t *lvs.Table) { t.Find(lvs.Web).Destinations[0].Forward = lvs.ForwardMasq }},
		{"real server deleted", func(t *lvs.Table) { s := t.Find(lvs.Web); s.Destinations = s.Destinations[1:] }},
		{"real server added", func(t *lvs.Table) {
			s := t.Find(lvs.Web)
			s.Destinations = append(s.Destinations, lvs.Destination{Addr: lvs.AP("10.0.0.99:80"), Forward: lvs.ForwardRoute, Weight: 1})
		}},
		{"scheduler", func(t *lvs.Table) { t.Find(lvs.Web).Scheduler = "rr" }},
		{"persistence", func(t *lvs.Table) { s := t.Find(lvs.Web); s.Flags |= lvs.FlagPersistent; s.Timeout = 30 }},
		{"service deleted", func(t *lvs.Table) {
			*t = slices.DeleteFunc(*t, func(s lvs.Service) bool { return s.Key() == lvs.Web })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := lvstest.NewFakeKernel(nil)
			m := lvs.NewManager(k, lvs.ManagerOptions{})
			cfg := lvs.TestConfig()
			cfg.Global.LVSProgram = hcl.LVSProgramAlways
			m.SetConfig(cfg)
			for range 2 { // the first pass adopts the kernel's form
				if n, err := m.Reconcile(context.Background()); n != 0 || err != nil {
					t.Fatalf("clean pass = %d, %v", n, err)
				}
			}
			k.Edit(tc.edit)
			if n, err := m.Reconcile(context.Background()); n == 0 || err != nil {
				t.Fatalf("repair after the edit = %d, %v", n, err)
			}
			got, _ := k.Table()
			if ops := lvs.Plan(lvs.Desire(lvs.State{Config: cfg}).Table, got); len(ops) != 0 {
				t.Fatalf("after the repair the kernel still differs: %q", lvs.OpStrings(ops))
			}
		})
	}
}

// At a start the checkers report every real server, those without a
// checker as up ("no checkers"): on a big table one verdict per real
// server. A verdict that leaves the real server as it was writes nothing.
func TestManagerVerdictThatChangesNothingCostsNoWrite(t *testing.T) {
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	m.SetConfig(cfg)
	k.ResetApplied()
	before := m.Counters().Reconciles
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for _, rs := range vs.RealServers {
			m.SetVerdict(lvs.VerdictKey{Service: vs.Key(), Real: rs.Addr}, lvs.Verdict{Up: true, Weight: -1, Reason: "no checkers"})
		}
	}
	if c := m.Counters(); c.Reconciles != before || len(k.Applied) != 0 {
		t.Fatalf("verdicts that change nothing made %d writes and applied %q", c.Reconciles-before, lvs.OpStrings(k.Applied))
	}
	// One that changes something still writes.
	m.SetVerdict(lvs.VerdictKey{Service: lvs.Web, Real: lvs.AP("10.0.0.2:80")}, lvs.Verdict{Up: true, Weight: 5})
	if c := m.Counters(); c.Reconciles != before+1 || len(k.Applied) != 1 {
		t.Fatalf("a changed weight made %d writes and applied %q", c.Reconciles-before, lvs.OpStrings(k.Applied))
	}
}

// A write records the services it wrote in lvsd's view with their real
// servers in one block, as a read does (one allocation, not one a
// service: a takeover records them before its VIPs come up); a health
// event's write then makes a block for its one service.
func TestAWriteRecordsItsViewsInOneBlock(t *testing.T) {
	cfg := lvstest.SyntheticConfig(50, 4)
	m := lvs.NewManager(lvstest.NewFakeKernel(nil), lvs.ManagerOptions{})
	m.SetConfig(cfg)
	if got := lvs.ViewBlocks(m); got != 1 {
		t.Fatalf("after the start's write of 50 services the view's real servers are in %d blocks, want 1", got)
	}
	// The first service in the table's order (the block's first): its new
	// block, and the start's keeps the others.
	first := lvstest.SyntheticTable(50, 4)[0]
	m.SetVerdict(lvs.VerdictKey{Service: first.Key(), Real: first.Destinations[0].Addr}, lvs.Verdict{Up: false, Reason: "test"})
	if got := lvs.ViewBlocks(m); got != 2 {
		t.Fatalf("after a health event's write the view's real servers are in %d blocks, want 2", got)
	}
}

// appliedKernel takes every write at once: what a write then costs is
// lvsd's part after the kernel's.
type appliedKernel struct{ *lvstest.FakeKernel }

func (appliedKernel) Apply(ops []lvs.Op) (int, []lvs.Refusal, error) { return len(ops), nil, nil }

// BenchmarkWriteRecordsItsViews is what a write of the 2,000 x 16 table
// (the start's, a reload's, the takeover of an instance that owns it)
// costs after the kernel took it: recording the services written in
// lvsd's view, which a takeover does before its VIPs come up.
func BenchmarkWriteRecordsItsViews(b *testing.B) {
	const services, reals = 2000, 16
	cfg := lvstest.SyntheticConfig(services, reals)
	m := lvs.NewManager(appliedKernel{lvstest.NewFakeKernel(nil)}, lvs.ManagerOptions{})
	m.SetConfig(cfg)
	d := lvs.Desire(lvs.State{Config: cfg})
	ops := lvs.WriteOps(d.Table)
	b.ReportAllocs()
	for b.Loop() {
		if n, err := lvs.ApplyWrite(m, &d, ops); n != len(ops) || err != nil {
			b.Fatal(n, err)
		}
	}
}
