package lvs_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// gateKernel is a fake kernel that logs, in order, each read of some
// services and the start and end of each Apply. afterRead, when set, runs
// after the nth read (counting from 1) before it returns; Apply waits for
// release while it is set.
type gateKernel struct {
	*lvstest.FakeKernel
	mu        sync.Mutex
	events    []string
	reads     int
	afterRead func(n int)
	release   chan struct{}
	entered   chan struct{} // closed as an Apply begins that waits for release
}

func (k *gateKernel) log(e string) {
	k.mu.Lock()
	k.events = append(k.events, e)
	k.mu.Unlock()
}

func (k *gateKernel) Services(which []lvs.Service) (lvs.Table, error) {
	t, err := k.FakeKernel.Services(which)
	k.mu.Lock()
	k.reads++
	n, after := k.reads, k.afterRead
	k.events = append(k.events, "read")
	k.mu.Unlock()
	if after != nil {
		after(n)
	}
	return t, err
}

func (k *gateKernel) Apply(ops []lvs.Op) (int, []lvs.Refusal, error) {
	k.mu.Lock()
	release, entered := k.release, k.entered
	k.events = append(k.events, "apply begins")
	k.mu.Unlock()
	if release != nil {
		close(entered)
		<-release
	}
	done, refused, err := k.FakeKernel.Apply(ops)
	k.log("apply ends")
	return done, refused, err
}

// newBigStatusManager is a Manager of a table of 100 services × 4 real
// servers, adopted from the kernel, whose status reads age by a clock the
// test moves and wait for pending writes as long as they last.
func newBigStatusManager(t *testing.T) (*lvs.Manager, *gateKernel, *lvs.HandClock) {
	t.Helper()
	const services, reals = 100, 4
	k := &gateKernel{FakeKernel: lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals))}
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(lvstest.SyntheticConfig(services, reals))
	clock := lvs.NewHandClock()
	lvs.SetStatusClock(m, clock)
	lvs.SetStatusYieldMax(m, time.Hour)
	lvs.SetStatusYieldBudget(m, time.Hour)
	return m, k, clock
}

// A status reads a big table a chunk of services at a time, and a write
// of lvsd's that begins during the read (a takeover, a health event) runs
// with no status read beside it: the status goes on after the write.
func TestStatusReadStepsAsideForAWriteBetweenChunks(t *testing.T) {
	m, k, clock := newBigStatusManager(t)
	chunks := (100 + lvs.StatusChunk - 1) / lvs.StatusChunk
	before := k.ReadsSoFar()
	st := m.Status()
	if got := k.ReadsSoFar(); got.Tables != before.Tables || got.ServiceReads-before.ServiceReads != chunks || got.Services-before.Services != 100 {
		t.Fatalf("a status read %d tables and %d services in %d reads; want %d services in %d reads, no whole table",
			got.Tables-before.Tables, got.Services-before.Services, got.ServiceReads-before.ServiceReads, 100, chunks)
	}
	if len(st) != 100 || slices.ContainsFunc(st, func(s lvs.ServiceStatus) bool { return !s.InKernel || len(s.Destinations) != 4 }) {
		t.Fatalf("the status of the chunked read: %d services, want 100 in the kernel with 4 real servers each", len(st))
	}

	// The next status (a second later, so it reads): after its second
	// chunk a health event takes a real server down; its Apply waits
	// until the test lets it go.
	clock.Advance(2 * time.Second)
	down := lvs.VerdictKey{Service: st[50].Key, Real: st[50].Destinations[0].Addr}
	wrote := make(chan struct{})
	k.mu.Lock()
	k.events, k.reads = nil, 0
	k.release, k.entered = make(chan struct{}), make(chan struct{})
	entered := k.entered
	k.afterRead = func(n int) {
		if n != 2 {
			return
		}
		go func() {
			defer close(wrote)
			m.SetVerdict(down, lvs.Down("connection refused"))
		}()
		<-entered // the write is at the kernel: the status's next chunk comes after it
	}
	k.mu.Unlock()
	statusDone := make(chan []lvs.ServiceStatus, 1)
	go func() { statusDone <- m.Status() }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second): // catches a deadlock only
		t.Fatal("the health event's write never reached the kernel")
	}
	// Time for a status that did not step aside to read beside the write.
	time.Sleep(50 * time.Millisecond)
	k.mu.Lock()
	close(k.release)
	k.release = nil
	k.mu.Unlock()
	var after []lvs.ServiceStatus
	select {
	case after = <-statusDone:
	case <-time.After(10 * time.Second): // catches a deadlock only
		t.Fatal("the status never finished after the write")
	}
	<-wrote
	k.mu.Lock()
	events := slices.Clone(k.events)
	k.mu.Unlock()
	want := []string{"read", "read", "apply begins", "apply ends"}
	for range chunks - 2 {
		want = append(want, "read")
	}
	if !slices.Equal(events, want) {
		t.Fatalf("kernel calls %s; want %s (no status read while the write is at the kernel)", strings.Join(events, ", "), strings.Join(want, ", "))
	}
	if len(after) != 100 {
		t.Fatalf("the status beside the write shows %d services, want 100", len(after))
	}
}

// Statuses within a second of a read share it (counters and outside edits
// show up to a second late), but lvsd's own writes show at once.
func TestStatusShowsLvsdsWritesAtOnceAndTheKernelsCountersWithinASecond(t *testing.T) {
	m, k, clock := newBigStatusManager(t)
	first := m.Status()
	key := first[3].Key
	conns := func(st []lvs.ServiceStatus) uint64 {
		for _, s := range st {
			if s.Key == key {
				return s.Stats.Conns
			}
		}
		t.Fatalf("no %s in the status", key)
		return 0
	}
	k.Edit(func(tbl *lvs.Table) { tbl.Find(key).Stats.Conns = 42 })
	reads := k.ReadsSoFar()
	clock.Advance(900 * time.Millisecond)
	if got := conns(m.Status()); got != 0 || k.ReadsSoFar() != reads {
		t.Fatalf("0.9 s after a read: %d connections, reads %+v -> %+v; want the read shared (0 connections, no new read)", got, reads, k.ReadsSoFar())
	}
	clock.Advance(200 * time.Millisecond)
	if got := conns(m.Status()); got != 42 {
		t.Fatalf("1.1 s after a read: %d connections, want the kernel's 42", got)
	}
	// A health event takes a real server out (weight 0 or deleted): the
	// next status, at once, shows it.
	real := first[3].Destinations[0].Addr
	m.SetVerdict(lvs.VerdictKey{Service: key, Real: real}, lvs.Down("connection refused"))
	for _, s := range m.Status() {
		if s.Key != key {
			continue
		}
		for _, d := range s.Destinations {
			if d.Addr == real && d.InKernel && d.Weight != 0 {
				t.Fatalf("the status after a health event shows %s in the kernel with weight %d", real, d.Weight)
			}
		}
	}
}

// A big table's status reads the services lvsd knows of: a foreign
// service added behind lvsd's back shows from the next repair pass on.
func TestStatusShowsAForeignServiceFromTheNextRepairPass(t *testing.T) {
	m, k, clock := newBigStatusManager(t)
	k.Edit(func(tbl *lvs.Table) { *tbl = append(*tbl, foreignService) })
	foreign := func() bool {
		return slices.ContainsFunc(m.Status(), func(s lvs.ServiceStatus) bool {
			return s.Key == foreignService.Key() && s.State == lvs.StateForeign && s.InKernel
		})
	}
	clock.Advance(2 * time.Second)
	if foreign() {
		t.Fatal("the status shows a service no repair pass has seen yet: it read the whole table")
	}
	if _, err := m.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if !foreign() {
		t.Fatal("the foreign service the repair pass found is not in the status")
	}
}
