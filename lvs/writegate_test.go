package lvs_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// A repair pass computes the desired state of the services it compares
// a chunk at a time, and each chunk after any pending write of lvsd's (a
// takeover raises the gate as SetActive starts): a write that begins
// during the computation waits for the chunk in progress at most, never
// for the rest of the table's. Both passes that compute many services:
// one whose view of the kernel is unknown (after a refused write: every
// service) and one that finds every service edited behind lvsd's back.
// In a synctest bubble, so "the pass waits" is the bubble's own fact
// (every goroutine durably blocked), not a guess from elapsed time.
func TestRepairPassComputesEachChunkAfterThePendingWrites(t *testing.T) {
	const services, reals = 200, 2
	const chunks = (services + 63) / 64 // chunkServices
	down := lvs.VerdictKey{Service: "TCP:198.18.0.1:80", Real: lvs.AP("10.0.0.1:80")}
	for _, tc := range []struct {
		name     string
		prepare  func(*lvstest.FakeKernel, *lvs.Manager)
		verdicts map[lvs.VerdictKey]lvs.Verdict // the desired table's
	}{
		{"a pass after a refused write", func(fake *lvstest.FakeKernel, m *lvs.Manager) {
			fake.Refuse = func(lvs.Op) error { return fmt.Errorf("refused") }
			m.SetVerdict(down, lvs.Down("connection refused"))
			fake.Refuse = nil
		}, map[lvs.VerdictKey]lvs.Verdict{down: lvs.Down("connection refused")}},
		{"a pass that finds every service edited", func(fake *lvstest.FakeKernel, _ *lvs.Manager) {
			fake.Edit(func(t *lvs.Table) {
				for i := range *t {
					(*t)[i].Destinations[0].Weight = 7
				}
			})
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals))
				m := lvs.NewManager(fake, lvs.ManagerOptions{RereadPasses: 1000})
				cfg := lvstest.SyntheticConfig(services, reals)
				m.SetConfig(cfg)
				for range 2 { // the start's passes: the next one is steady
					if _, err := m.Reconcile(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				tc.prepare(fake, m)
				// A write begins after the pass's first chunk and lasts
				// until lower.
				var computed atomic.Int32
				var lower func()
				lvs.SetChunkObserver(m, func() {
					if computed.Add(1) == 1 {
						lower = m.HoldForTakeover()
					}
				})
				done := make(chan error, 1)
				go func() {
					_, err := m.Reconcile(context.Background())
					done <- err
				}()
				synctest.Wait()
				if n := computed.Load(); n != 1 {
					t.Fatalf("the pass computed %d chunks with a write pending, want only the one before it began", n)
				}
				select {
				case err := <-done:
					t.Fatalf("the pass ended (%v) with a write pending", err)
				default:
				}
				lower()
				synctest.Wait()
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatal("the pass still waits with no write pending")
				}
				if n := computed.Load(); n != chunks {
					t.Fatalf("the pass computed %d chunks, want %d", n, chunks)
				}
				got, _ := fake.Table()
				if ops := lvs.Plan(lvs.Desire(lvs.State{Config: cfg, Verdicts: tc.verdicts}).Table, got); len(ops) != 0 {
					t.Fatalf("the pass left the kernel unrepaired: %q", lvs.OpStrings(ops))
				}
			})
		})
	}
}

// A write that never ends holds a repair pass back for at most
// statusYieldMax a chunk and the pass's budget in all: the pass is not
// starved. Its view unknown (a refused write), the pass computes every
// service: four chunks, three waits of which the budget pays.
func TestRepairPassGoesOnPastAWriteThatOutlastsItsBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const services, reals = 200, 2
		fake := lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals))
		m := lvs.NewManager(fake, lvs.ManagerOptions{})
		cfg := lvstest.SyntheticConfig(services, reals)
		m.SetConfig(cfg)
		fake.Refuse = func(lvs.Op) error { return fmt.Errorf("refused") }
		down := lvs.VerdictKey{Service: "TCP:198.18.0.1:80", Real: lvs.AP("10.0.0.1:80")}
		m.SetVerdict(down, lvs.Down("connection refused"))
		fake.Refuse = nil
		lvs.SetStatusYieldMax(m, 300*time.Millisecond)
		lvs.SetStatusYieldBudget(m, 700*time.Millisecond)
		lower := m.HoldForTakeover()
		defer lower()
		start := time.Now()
		if _, err := m.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 700*time.Millisecond {
			t.Fatalf("the pass took %v beside a write that never ends, want its budget of 700ms (300ms a chunk)", took)
		}
		got, _ := fake.Table()
		if ops := lvs.Plan(lvs.Desire(lvs.State{Config: cfg, Verdicts: map[lvs.VerdictKey]lvs.Verdict{down: lvs.Down("")}}).Table, got); len(ops) != 0 {
			t.Fatalf("the pass left the kernel unrepaired: %q", lvs.OpStrings(ops))
		}
	})
}

// A status waits for pending writes before each chunk it reads and each
// it describes, but for statusYieldBudget in all: beside writes that
// never end (a storm of them), a status of 100 services (7 chunks read, 7
// described, statusYieldMax each) takes the budget, not 14 limits, and
// is whole.
func TestStatusWaitsForWritesAtMostItsBudgetInAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const services, reals = 100, 4
		m := lvs.NewManager(lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals)), lvs.ManagerOptions{})
		m.SetConfig(lvstest.SyntheticConfig(services, reals))
		lower := m.HoldForTakeover()
		defer lower()
		start := time.Now()
		st := m.Status()
		if took := time.Since(start); took != lvs.StatusYieldBudget {
			t.Fatalf("the status took %v beside a write that never ends, want its budget %v", took, lvs.StatusYieldBudget)
		}
		if len(st) != services || !st[services-1].InKernel || len(st[services-1].Destinations) != reals {
			t.Fatalf("the status shows %d services, want %d in the kernel", len(st), services)
		}
	})
}

// SetActive raises the write gate before it takes lvs's inputs lock (mu):
// a takeover that finds mu held by a chunk of a status's description or
// of a repair's computation already holds back every chunk after that
// one while it waits for mu. The test holds mu as such a chunk would;
// a SetActive that took mu before raising the gate would never raise it
// while mu is held, and the test fails at its deadline.
func TestSetActiveRaisesTheWriteGateBeforeTakingTheInputsLock(t *testing.T) {
	fake := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(fake, lvs.ManagerOptions{})
	m.SetConfig(lvs.TestConfig())
	if lvs.WritePending(m) {
		t.Fatal("a write pending before the takeover")
	}
	release := lvs.HoldInputs(m)
	done := make(chan error, 1)
	go func() { done <- m.SetActive("VI_1", true) }()
	// Until the gate is up; the deadline is reached only by a SetActive
	// that does not raise it before it waits for mu (or by a deadlock).
	for deadline := time.Now().Add(10 * time.Second); !lvs.WritePending(m); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			release()
			<-done
			t.Fatal("SetActive waited for the inputs lock without raising the write gate first")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("SetActive returned (%v) with the inputs lock held", err)
	default:
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if lvs.WritePending(m) {
		t.Fatal("the write gate is still up after the takeover")
	}
	got, _ := fake.Table()
	if !slices.ContainsFunc(got, func(s lvs.Service) bool { return s.Key() == lvs.Web }) {
		t.Fatalf("the takeover did not program %s", lvs.Web)
	}
}

// HoldForTakeover holds statuses (and repair passes) back as a write
// does, from its call to its release, past SetActive's own write: a
// status begun meanwhile waits at its first chunk until the release (or
// its budget), and a second release lowers nothing more.
func TestHoldForTakeoverHoldsStatusesUntilItsRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const services, reals = 20, 2
		m := lvs.NewManager(lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals)), lvs.ManagerOptions{})
		m.SetConfig(lvstest.SyntheticConfig(services, reals))
		release := m.HoldForTakeover()
		if err := m.SetActive("VI_1", true); err != nil {
			t.Fatal(err)
		}
		if !lvs.WritePending(m) {
			t.Fatal("the hold ended with SetActive's write")
		}
		start := time.Now()
		done := make(chan time.Duration, 1)
		go func() {
			m.Status()
			done <- time.Since(start)
		}()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		select {
		case took := <-done:
			t.Fatalf("a status went on after %v while the takeover was held", took)
		default:
		}
		release()
		if took := <-done; took != 100*time.Millisecond {
			t.Errorf("the status ended %v after its start, want at the release (100ms)", took)
		}
		release()
		if lvs.WritePending(m) {
			t.Fatal("the hold is still up after its release")
		}
		lower := m.HoldForTakeover()
		defer lower()
		if !lvs.WritePending(m) {
			t.Fatal("a new hold leaves the gate down: the second release lowered it below zero")
		}
	})
}

// A steady repair pass that finds nothing changed computes no desired
// state, but it parses /proc/net/ip_vs and compares it with lvsd's view,
// tens of milliseconds of the test VM's CPU on a big table: it does both
// a chunk of services at a time, each after any pending write or
// takeover's hold, within the pass's budget. Here the hold is up before
// the pass begins, and the pass ends only once it is released.
func TestSteadyRepairPassParsesAndComparesAfterThePendingWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const services, reals = 200, 2
		fake := lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals))
		m := lvs.NewManager(fake, lvs.ManagerOptions{RereadPasses: 1000})
		m.SetConfig(lvstest.SyntheticConfig(services, reals))
		for range 2 { // the start's passes: the next one is steady
			if _, err := m.Reconcile(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		release := m.HoldForTakeover()
		start := time.Now()
		done := make(chan time.Duration, 1)
		go func() {
			if _, err := m.Reconcile(context.Background()); err != nil {
				t.Error(err)
			}
			done <- time.Since(start)
		}()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		select {
		case took := <-done:
			t.Fatalf("the steady pass ended after %v with a takeover held", took)
		default:
		}
		release()
		if took := <-done; took != 100*time.Millisecond {
			t.Errorf("the steady pass ended %v after its start, want at the release (100ms)", took)
		}
	})
}
