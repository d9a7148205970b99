package checks

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// The scheduler never starts an attempt before its plan, whatever steps
// the clock takes: on a fake clock that jumps by irregular amounts (up to
// a third of delay_loop), with the checks' first rounds spread over the
// warmup so that one check's wakeup falls between another's rounds, the
// k-th round of a check that passes starts in
// [first plan + k×delay_loop, first plan + k×delay_loop + the step that
// crossed it), the bound derived from delay_loop alone; a failing check's
// retry starts no earlier than delay_before_retry after the failure, and
// its later rounds keep the same rhythm.
func TestSchedulerNeverRunsACheckEarly(t *testing.T) {
	const (
		delayLoop  = 6 * time.Second
		retryDelay = time.Second
		maxStep    = delayLoop / 3
		run        = 10 * time.Minute
	)
	clock := newFakeClock()
	var mu sync.Mutex
	started := map[netip.AddrPort][]time.Time{}
	failing := netip.MustParseAddrPort("10.0.0.9:80")
	d := &fakeDialer{answer: func(ep Endpoint) error {
		mu.Lock()
		started[ep.Addr] = append(started[ep.Addr], clock.Now())
		mu.Unlock()
		if ep.Addr == failing {
			return errRefused
		}
		return nil
	}}
	c := tcpChecker(1, retryDelay, 2*time.Second, delayLoop, `warmup = "6s"`)
	targets := []string{"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:8080", failing.String()}
	var reals []string
	for _, a := range targets {
		reals = append(reals, real(a, c))
	}
	cfg := load(t, service("192.0.2.1:80", reals...))
	// First rounds at these offsets into the warmup, in config order.
	offsets := []time.Duration{0, 1300 * time.Millisecond, 2950 * time.Millisecond, 4100 * time.Millisecond}
	firstPlan := map[netip.AddrPort]time.Time{}
	for i, a := range targets {
		firstPlan[netip.MustParseAddrPort(a)] = clock.Now().Add(offsets[i])
	}
	var draws int
	m := NewManager(cfg, Options{Clock: clock, Dialer: d, Scripts: &fakeScripts{}, Rand: func(n int64) int64 {
		o := offsets[draws%len(offsets)]
		draws++
		return int64(o)
	}})
	h := startHarness(t, m, clock)
	steps := rand.New(rand.NewPCG(19, 2318))
	end := clock.Now().Add(run)
	for clock.Now().Before(end) {
		h.settle()
		clock.Advance(time.Duration(steps.Int64N(int64(maxStep))) + time.Millisecond)
	}
	h.settle()

	mu.Lock()
	defer mu.Unlock()
	if len(started) != 4 {
		t.Fatalf("%d targets checked, want 4", len(started))
	}
	for addr, at := range started {
		if min := int(run/delayLoop) - 1; len(at) < min {
			t.Errorf("%s: %d attempts in %v, want at least %d", addr, len(at), run, min)
		}
		first := firstPlan[addr]
		if addr != failing {
			for k, a := range at {
				plan := first.Add(time.Duration(k) * delayLoop)
				if a.Before(plan) {
					t.Errorf("%s: round %d started at +%v, %v before its plan +%v", addr, k, a.Sub(first), plan.Sub(a), plan.Sub(first))
				}
				if late := a.Sub(plan); late >= maxStep {
					t.Errorf("%s: round %d started %v late, more than one clock step", addr, k, late)
				}
			}
			continue
		}
		// Refused from the start: the first round fails and is retried
		// (retry = 1), which takes the check down; every later round is
		// one attempt, planned from the first round's plan.
		if at[0].Before(first) || at[0].Sub(first) >= maxStep {
			t.Errorf("%s: first round started at +%v, want [+0s, +%v)", addr, at[0].Sub(first), maxStep)
		}
		if retry := at[1].Sub(at[0]); retry < retryDelay || retry >= retryDelay+maxStep {
			t.Errorf("%s: retry %v after the failure, want [%v, %v)", addr, retry, retryDelay, retryDelay+maxStep)
		}
		for k, a := range at[2:] {
			plan := first.Add(time.Duration(k+1) * delayLoop)
			if a.Before(plan) || a.Sub(plan) >= maxStep {
				t.Errorf("%s: round %d started at +%v, want [+%v, +%v)", addr, k+1, a.Sub(first), plan.Sub(first), plan.Add(maxStep).Sub(first))
			}
		}
	}
}

// The wake grid never moves a wakeup earlier and delays it by less than
// one tick; instants on the grid stay where they are, on either side of
// its origin.
func TestWakeGridRoundsUpWithinOneTick(t *testing.T) {
	origin := time.Now()
	const tick = 10 * time.Millisecond
	g := wakeGrid{origin: origin, tick: tick}
	for _, tt := range []struct {
		name string
		at   time.Duration // from origin
		want time.Duration
	}{
		{"origin", 0, 0},
		{"just after a point", time.Nanosecond, tick},
		{"inside a tick", 23 * time.Millisecond, 30 * time.Millisecond},
		{"just before a point", 30*time.Millisecond - time.Nanosecond, 30 * time.Millisecond},
		{"on a point", 6 * time.Second, 6 * time.Second},
		{"before the origin", -13 * time.Millisecond, -10 * time.Millisecond},
		{"on a point before the origin", -20 * time.Millisecond, -20 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := g.up(origin.Add(tt.at)).Sub(origin)
			if got != tt.want {
				t.Errorf("up(origin%+v) = origin%+v, want origin%+v", tt.at, got, tt.want)
			}
		})
	}
	if got := (wakeGrid{origin: origin}).up(origin.Add(time.Nanosecond)); !got.Equal(origin.Add(time.Nanosecond)) {
		t.Errorf("without a tick the instant moved to %v", got.Sub(origin))
	}
	if got := g.up(time.Time{}); !got.IsZero() {
		t.Errorf("no launch planned became %v", got)
	}
}

// The grid's tick is at most maxWakeTick, 1/100 of every check's
// delay_loop and 1/10 of its delay_before_retry.
func TestGridTickIsAFractionOfTheShortestDelay(t *testing.T) {
	check := func(loop, retry time.Duration) *probe {
		return &probe{checker: &hcl.Checker{DelayLoop: loop, RetryDelay: retry}}
	}
	for _, tt := range []struct {
		name   string
		probes []*probe
		want   time.Duration
	}{
		{"none", nil, maxWakeTick},
		{"keepalived's defaults", []*probe{check(60*time.Second, time.Second)}, maxWakeTick},
		{"the checks benchmark's", []*probe{check(6*time.Second, time.Second)}, 60 * time.Millisecond},
		{"a short retry", []*probe{check(6*time.Second, 500*time.Millisecond)}, 50 * time.Millisecond},
		{"a shorter retry", []*probe{check(60*time.Second, 100*time.Millisecond)}, 10 * time.Millisecond},
		{"the shortest decides", []*probe{check(6*time.Second, 3*time.Second), check(200*time.Millisecond, 0)}, 2 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := gridTick(tt.probes); got != tt.want {
				t.Errorf("tick %v, want %v", got, tt.want)
			}
		})
	}
}
