package checks

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/script"
)

// fakeClock is a manual clock; timers fire when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

type fakeTimer struct {
	clock  *fakeClock
	c      chan time.Time
	when   time.Time
	active bool
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{clock: f, c: make(chan time.Time, 1), when: f.now.Add(d), active: true}
	f.timers = append(f.timers, t)
	f.fireLocked()
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Reset(d time.Duration) {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	select { // Go 1.23 semantics: no stale value after Reset
	case <-t.c:
	default:
	}
	t.when, t.active = f.now.Add(d), true
	f.fireLocked()
}

func (t *fakeTimer) Stop() bool {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	was := t.active
	t.active = false
	select {
	case <-t.c:
	default:
	}
	return was
}

// Advance moves the clock and fires the timers it passes.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.fireLocked()
}

func (f *fakeClock) fireLocked() {
	for _, t := range f.timers {
		if t.active && !t.when.After(f.now) {
			t.active = false
			select {
			case t.c <- f.now:
			default:
			}
		}
	}
}

// pendingFires reports whether a fired timer value waits to be received.
func (f *fakeClock) pendingFires() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.timers {
		if len(t.c) > 0 {
			return true
		}
	}
	return false
}

// fakeDialer answers from a function of the endpoint; "hang" behaviour
// is simulated by advancing the fake clock by the attempt's budget.
type fakeDialer struct {
	mu    sync.Mutex
	calls map[string]int
	// answer returns nil (connect succeeds), or an error.
	answer func(ep Endpoint) error
}

func (d *fakeDialer) DialTCP(ctx context.Context, ep Endpoint) (net.Conn, error) {
	d.mu.Lock()
	if d.calls == nil {
		d.calls = map[string]int{}
	}
	d.calls[ep.Addr.String()]++
	answer := d.answer
	d.mu.Unlock()
	if err := answer(ep); err != nil {
		return nil, err
	}
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}

func (d *fakeDialer) count(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[addr]
}

// errRefused looks like the kernel's refusal.
var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errors.New("connection refused"))}

// harness drives a Manager on a fake clock one event at a time.
type harness struct {
	t      *testing.T
	m      *Manager
	clock  *fakeClock
	cancel context.CancelFunc
	done   chan struct{}
}

func startHarness(t *testing.T, m *Manager, clock *fakeClock) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, m: m, clock: clock, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		m.Run(ctx)
	}()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

// settle waits until the manager has nothing to do at the current time.
func (h *harness) settle() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.m.mu.Lock()
		idle := h.m.waiting && h.m.applied != nil && h.m.applied == h.m.cfg && h.m.inflight == 0 && len(h.m.results) == 0 &&
			(h.m.sched.next().IsZero() || h.m.sched.next().After(h.clock.Now()))
		h.m.mu.Unlock()
		if idle && !h.clock.pendingFires() && len(h.m.reload) == 0 {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
	h.t.Fatal("manager did not settle")
}

// runUntil advances the fake clock to at, stopping at every planned
// attempt on the way so each runs at its exact time.
func (h *harness) runUntil(at time.Time) {
	h.t.Helper()
	for {
		h.settle()
		h.m.mu.Lock()
		next := h.m.sched.next()
		h.m.mu.Unlock()
		now := h.clock.Now()
		if next.IsZero() || next.After(at) {
			if at.After(now) {
				h.clock.Advance(at.Sub(now))
			}
			h.settle()
			return
		}
		if next.After(now) {
			h.clock.Advance(next.Sub(now))
		}
	}
}

// events returns every event emitted so far without waiting for more.
func (h *harness) events() []Event {
	h.t.Helper()
	h.settle()
	var out []Event
	for {
		// The forwarder may still be moving queued events.
		h.m.qmu.Lock()
		queued := len(h.m.pending)
		h.m.qmu.Unlock()
		select {
		case ev := <-h.m.Events():
			out = append(out, ev)
			continue
		default:
		}
		if queued == 0 {
			select {
			case ev := <-h.m.Events():
				out = append(out, ev)
				continue
			case <-time.After(5 * time.Millisecond):
			}
			return out
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeScripts records scripts and answers with an exit code per command.
type fakeScripts struct {
	mu   sync.Mutex
	runs []script.Script
	exit func(s script.Script) (script.Result, error)
}

func (f *fakeScripts) Run(ctx context.Context, s script.Script) (script.Result, error) {
	f.mu.Lock()
	f.runs = append(f.runs, s)
	exit := f.exit
	f.mu.Unlock()
	if exit == nil {
		return script.Result{}, nil
	}
	return exit(s)
}

func (f *fakeScripts) ran() []script.Script {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]script.Script(nil), f.runs...)
}
