//go:build linux

package checks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/script"
	"golang.org/x/sys/unix"
)

// fullListener listens with a backlog of 0 and lets one connection fill
// its accept queue: the kernel then drops further SYNs, so a connect to it
// stays in progress until its deadline.
func fullListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	c, err := net.DialTimeout("tcp", addr.String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return addr
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return addr
}

// startConnector runs a connector; attempt submits one attempt and
// returns its Result, whether it ended at once or on the connector's
// goroutine. The test's cleanup stops the connector and waits for its loop.
func startConnector(t *testing.T) (attempt func(ep Endpoint, budget time.Duration) Result) {
	t.Helper()
	results := make(chan Result, 16)
	c, err := newConnector(func(done []connectDone, _ time.Time) {
		for _, d := range done {
			results <- d.result
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(c.run)
	t.Cleanup(func() { c.stop(); wg.Wait() })
	return func(ep Endpoint, budget time.Duration) Result {
		t.Helper()
		if r, done := c.submit(&connectAttempt{endpoint: ep, budget: budget}); done {
			return r
		}
		select {
		case r := <-results:
			return r
		case <-time.After(budget + 2*time.Second):
			t.Fatal("no result")
			return Result{}
		}
	}
}

// The connector's attempts end the way tcpProber's do through Go's dialer,
// with the same reasons: connected, refused, and the connect_timeout
// budget exhausted (not earlier) when the SYN goes unanswered. The kernel
// answers a handshake or a RST at once: their 5s budget only leaves a
// loaded host room.
func TestConnectorEndsAttemptsLikeTCPCheck(t *testing.T) {
	accepted := serve(t, func(net.Conn) {})
	tests := []struct {
		name    string
		target  netip.AddrPort
		budget  time.Duration
		ok      bool
		reason  string
		minTook time.Duration
	}{
		{name: "listener", target: accepted, budget: 5 * time.Second, ok: true, reason: "connected"},
		{name: "closed port", target: closedPort(t), budget: 5 * time.Second, reason: "connect: connection refused"},
		{name: "SYN dropped", target: fullListener(t), budget: 300 * time.Millisecond, reason: "timeout after 300ms", minTook: 300 * time.Millisecond},
	}
	// IPv6 takes its own sockaddr (connect_raw_linux.go).
	if ln6, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		t.Cleanup(func() { ln6.Close() })
		go func() {
			for {
				c, err := ln6.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		listener6 := netip.MustParseAddrPort(ln6.Addr().String())
		// A port free on ::1 itself (one free on 127.0.0.1 may not be).
		free6, err := net.Listen("tcp6", "[::1]:0")
		if err != nil {
			t.Fatal(err)
		}
		closed6 := netip.MustParseAddrPort(free6.Addr().String())
		free6.Close()
		tests = append(tests, []struct {
			name    string
			target  netip.AddrPort
			budget  time.Duration
			ok      bool
			reason  string
			minTook time.Duration
		}{
			{name: "IPv6 listener", target: listener6, budget: 5 * time.Second, ok: true, reason: "connected"},
			{name: "IPv6 closed port", target: closed6, budget: 5 * time.Second, reason: "connect: connection refused"},
		}...)
	} else {
		t.Logf("no IPv6 loopback: %v", err)
	}
	attempt := startConnector(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The same attempt through Go's dialer gives the same answer.
			ctx, cancel := context.WithTimeout(context.Background(), tt.budget)
			want := (&tcpProber{dialer: NetDialer{}, endpoint: Endpoint{Addr: tt.target}, timeout: tt.budget}).probe(ctx)
			cancel()
			r := attempt(Endpoint{Addr: tt.target}, tt.budget)
			if r.OK != tt.ok || r.Reason != tt.reason {
				t.Errorf("connector: ok %t reason %q, want %t %q", r.OK, r.Reason, tt.ok, tt.reason)
			}
			if want.OK != r.OK || want.Reason != r.Reason {
				t.Errorf("connector says ok %t %q, Go's dialer %t %q", r.OK, r.Reason, want.OK, want.Reason)
			}
			if r.Latency < tt.minTook {
				t.Errorf("ended after %v, before its budget %v", r.Latency, tt.minTook)
			}
		})
	}
}

// bindto, bind_port and fwmark reach the socket: the server sees the
// probe from bindto:bind_port, and a mark the kernel refuses (not root)
// fails the attempt instead of being ignored.
func TestConnectorBindsAndMarks(t *testing.T) {
	from := make(chan net.Addr, 1)
	target := serve(t, func(c net.Conn) { from <- c.RemoteAddr() })
	free, err := net.Listen("tcp", "127.0.0.7:0")
	if err != nil {
		t.Fatal(err)
	}
	bindPort := uint16(free.Addr().(*net.TCPAddr).Port)
	free.Close()

	attempt := startConnector(t)
	ep := Endpoint{Addr: target, BindTo: netip.MustParseAddr("127.0.0.7"), BindPort: bindPort, FWMark: 0x2a}
	r := attempt(ep, 5*time.Second)
	if syscall.Geteuid() != 0 {
		if r.OK || !strings.Contains(r.Reason, "operation not permitted") {
			t.Errorf("SO_MARK without CAP_NET_ADMIN: %+v, want a failed attempt", r)
		}
		return
	}
	if !r.OK {
		t.Fatalf("bound and marked attempt failed: %s", r.Reason)
	}
	select {
	case got := <-from:
		if want := netip.AddrPortFrom(ep.BindTo, bindPort).String(); got.String() != want {
			t.Errorf("server saw the probe from %s, want bindto:bind_port %s", got, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no connection accepted")
	}
}

// A connector stopped with attempts in flight returns at once (Run waits
// for it) instead of waiting for their deadlines.
func TestConnectorStopsWithAttemptsInFlight(t *testing.T) {
	results := make(chan Result, 1)
	c, err := newConnector(func(done []connectDone, _ time.Time) {
		for _, d := range done {
			results <- d.result
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); c.run() }()
	if r, ended := c.submit(&connectAttempt{endpoint: Endpoint{Addr: fullListener(t)}, budget: time.Minute}); ended {
		t.Fatalf("attempt on a full listener ended at once: %+v", r)
	}
	time.Sleep(50 * time.Millisecond)
	c.stop()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("connector still running 2s after stop")
	}
	if len(results) != 0 {
		t.Errorf("abandoned attempt delivered %+v", <-results)
	}
}

// The Manager with the operating system's dialer runs TCP_CHECK through
// the connector: a server that stops listening goes down within
// delay_loop + retry×(delay_before_retry + connect_timeout) + slack, and
// comes back up within delay_loop + slack once it listens again.
func TestManagerTCPCheckFollowsALoopbackServer(t *testing.T) {
	const (
		delayLoop  = 300 * time.Millisecond
		timeout    = 300 * time.Millisecond
		retryDelay = 100 * time.Millisecond
		slack      = 700 * time.Millisecond
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := netip.MustParseAddrPort(ln.Addr().String())
	cfg := load(t, service("192.0.2.1:80", real(target.String(), tcpChecker(1, retryDelay, timeout, delayLoop, "warmup = 0"))))
	m := NewManager(cfg, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	await := func(up bool, bound time.Duration) Event {
		t.Helper()
		since := time.Now()
		for {
			select {
			case ev := <-m.Events():
				if !ev.Initial && ev.Up == up {
					if took := time.Since(since); took > bound {
						t.Errorf("up=%t after %v, bound %v", up, took, bound)
					}
					return ev
				}
			case <-time.After(bound + time.Second):
				t.Fatalf("no up=%t event within %v", up, bound)
			}
		}
	}
	// Good rounds first: an attempt has run (two delay_loops on an idle
	// host; waited for, not slept, as a loaded host may run it later).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := m.Status() // empty until Run has applied the configuration
		if len(st) > 0 && !st[0].Up {
			t.Fatalf("before any change: %+v", st[0])
		}
		if len(st) > 0 && st[0].Checkers[0].Attempts > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt within 10s: %+v", st)
		}
	}
	if m.connector == nil {
		t.Fatal("the operating system's dialer did not get the connector")
	}
	ln.Close()
	if ev := await(false, delayLoop+retryDelay+timeout+slack); !strings.HasSuffix(ev.Reason, "connect: connection refused") {
		t.Errorf("down reason %q", ev.Reason)
	}
	ln2, err := net.Listen("tcp", target.String())
	if err != nil {
		t.Skipf("port %d taken meanwhile: %v", target.Port(), err)
	}
	defer ln2.Close()
	if ev := await(true, delayLoop+slack); !strings.HasSuffix(ev.Reason, "connected") {
		t.Errorf("up reason %q", ev.Reason)
	}
}

// acceptLog is a loopback listener that records when each connection
// arrived (after its connect started) and closes it.
type acceptLog struct {
	addr netip.AddrPort
	mu   sync.Mutex
	at   []time.Time
}

func listenAndLog(t *testing.T) *acceptLog {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &acceptLog{addr: netip.MustParseAddrPort(ln.Addr().String())}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			now := time.Now()
			c.Close()
			l.mu.Lock()
			l.at = append(l.at, now)
			l.mu.Unlock()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return l
}

func (l *acceptLog) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.at...)
}

// runManager runs m until the test's cleanup, which stops it and waits.
func runManager(t *testing.T, m *Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	go func() {
		for range m.Events() {
		}
	}()
}

// On the system clock the connector's goroutine is the schedule's timer:
// with the first rounds spread over the warmup (check i at i/12 of
// delay_loop), check i's k-th connect comes no sooner than its offset +
// k × delay_loop after the Manager started (never early, though other
// checks fall due all along), and each target is checked every round (it
// keeps up), beside a MISC_CHECK whose attempts run on goroutines of their
// own and are planned from Run's loop.
func TestConnectorSchedulesTCPChecksNeverEarly(t *testing.T) {
	const (
		checks    = 12
		delayLoop = 240 * time.Millisecond
		window    = 8 * delayLoop
	)
	var logs []*acceptLog
	var reals []string
	for range checks {
		l := listenAndLog(t)
		logs = append(logs, l)
		reals = append(reals, real(l.addr.String(), tcpChecker(1, delayLoop, time.Second, delayLoop, `warmup = "240ms"`)))
	}
	offset := func(i int) time.Duration { return time.Duration(i) * delayLoop / checks }
	var drawn atomic.Int64
	spread := func(int64) int64 { return int64(offset(int(drawn.Add(1) - 1))) }
	misc := `MISC_CHECK {
  misc_path  = "/lvsd-test/check"
  delay_loop = "240ms"
  warmup     = 0
}`
	reals = append(reals, real("10.0.0.1:80", misc))
	cfg := load(t, service("192.0.2.1:80", reals...))
	var miscRuns atomic.Int32
	scripts := &fakeScripts{exit: func(script.Script) (script.Result, error) { miscRuns.Add(1); return script.Result{}, nil }}
	m := NewManager(cfg, Options{Scripts: scripts, Rand: spread})
	before := time.Now()
	runManager(t, m)
	time.Sleep(window)
	m.mu.Lock() // Run set it before its first pass under mu
	schedules := m.connectorSchedules
	m.mu.Unlock()
	if !schedules {
		t.Fatal("the connector does not schedule on the system clock")
	}
	var at [][]time.Time
	for _, l := range logs {
		at = append(at, l.times())
	}
	miscRan := int(miscRuns.Load())
	// The sleep may have lasted longer than window on a loaded machine:
	// the most rounds a schedule that is never early can have run are
	// counted in the time that really passed.
	elapsed := time.Since(before)
	most := func(offset time.Duration) int { return 1 + int((elapsed-offset)/delayLoop) }
	rounds := int(window / delayLoop)
	for i, l := range logs {
		for k, a := range at[i] {
			if plan := before.Add(offset(i) + time.Duration(k)*delayLoop); a.Before(plan) {
				t.Errorf("%s: connect %d at %v, before its earliest plan %v", l.addr, k, a.Sub(before), plan.Sub(before))
			}
		}
		// The bounds say "scheduled and never twice per round": a
		// stalled test process (go test -race beside other packages on
		// a loaded machine) may lose rounds, never gain them.
		if n := len(at[i]); n < rounds/2 || n > most(offset(i)) {
			t.Errorf("%s: %d connects in %v of delay_loop %v, want %d to %d", l.addr, n, elapsed, delayLoop, rounds/2, most(offset(i)))
		}
	}
	if miscRan < rounds/2 || miscRan > most(0) {
		t.Errorf("MISC_CHECK ran %d times in %v of delay_loop %v, want %d to %d", miscRan, elapsed, delayLoop, rounds/2, most(0))
	}
}

// A reload under the connector's scheduling stops a removed check's
// connects and starts a new one's.
func TestConnectorSchedulingFollowsAReload(t *testing.T) {
	const delayLoop = 150 * time.Millisecond
	kept, removed, added := listenAndLog(t), listenAndLog(t), listenAndLog(t)
	checker := tcpChecker(1, delayLoop, time.Second, delayLoop, "warmup = 0")
	m := NewManager(load(t, service("192.0.2.1:80", real(kept.addr.String(), checker), real(removed.addr.String(), checker))), Options{})
	runManager(t, m)
	time.Sleep(3 * delayLoop)
	reloaded := load(t, service("192.0.2.1:80", real(kept.addr.String(), checker), real(added.addr.String(), checker)))
	m.Reload(reloaded)
	// Reload only hands the configuration to Run's loop: wait until the
	// loop has applied it, however late a loaded host runs it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		m.mu.Lock()
		applied := m.applied == reloaded
		m.mu.Unlock()
		if applied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reload was not applied within 10s")
		}
	}
	// An attempt of the removed check launched before may still be in
	// flight, or accepted and not yet logged.
	time.Sleep(2 * delayLoop)
	gone := len(removed.times())
	time.Sleep(4 * delayLoop)
	if n := len(removed.times()); n != gone {
		t.Errorf("the removed check connected %d more times after the reload", n-gone)
	}
	// A third of the rounds or more: a stalled test process loses rounds.
	if n := len(added.times()); n < 2 {
		t.Errorf("the added check connected %d times in the 6 delay_loops after the reload, want 2 or more", n)
	}
	if n := len(kept.times()); n < 4 {
		t.Errorf("the kept check connected %d times in 9 delay_loops, want 4 or more", n)
	}
}

// Under the connector's scheduling the concurrency bound holds: with
// every connect hanging until connect_timeout, no more than Concurrency
// attempts are in flight, and every check still gets its attempts.
func TestConnectorSchedulingKeepsTheConcurrencyBound(t *testing.T) {
	const (
		bound     = 2
		timeout   = 100 * time.Millisecond
		delayLoop = 150 * time.Millisecond
	)
	var reals []string
	for range 5 {
		reals = append(reals, real(fullListener(t).String(), tcpChecker(0, delayLoop, timeout, delayLoop, "warmup = 0")))
	}
	m := NewManager(load(t, service("192.0.2.1:80", reals...)), Options{Concurrency: bound})
	runManager(t, m)
	// Sampled for 8 connect_timeouts at least, and then until every
	// check has had an attempt and gone down (about 3 connect_timeouts
	// on an idle host; a loaded one may take longer, never forever).
	most := 0
	end := time.Now().Add(8 * timeout)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		m.mu.Lock()
		most = max(most, m.inflight)
		m.mu.Unlock()
		if time.Now().Before(end) {
			continue
		}
		st := m.Status()
		unchecked := []string{fmt.Sprintf("%d of %d real servers listed", len(st), len(reals))}
		if len(st) == len(reals) {
			unchecked = nil
		}
		for _, st := range st {
			if st.Checkers[0].Attempts == 0 || st.Up {
				unchecked = append(unchecked, fmt.Sprintf("%s (%d attempts, up %t)", st.Real, st.Checkers[0].Attempts, st.Up))
			}
		}
		if len(unchecked) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("never checked, or up after connects that time out: %v", unchecked)
			break
		}
	}
	if most > bound {
		t.Errorf("%d attempts in flight, bound %d", most, bound)
	}
}

// The connector's instants read the monotonic clock alone between full
// reads: each lies between time.Now read before and after it, never goes
// back, carries a monotonic reading, and a base older than fullReadEvery
// is read again in full.
func TestConnectorInstantsFollowTheClock(t *testing.T) {
	var c instants
	var last time.Time
	for i := range 2000 {
		if i == 1000 {
			// As if the last full read were long ago.
			c.base = time.Now().Add(-2 * fullReadEvery)
		}
		before := time.Now()
		now := c.now()
		after := time.Now()
		if now.Before(before) || now.After(after) {
			t.Fatalf("read %d: %v not within [%v, %v]", i, now, before, after)
		}
		if i == 1000 && now != c.base {
			t.Fatalf("read %d: a base older than %v was not read again in full (%v, base %v)", i, fullReadEvery, now, c.base)
		}
		if !strings.Contains(now.String(), " m=") {
			t.Fatalf("read %d: %v carries no monotonic reading", i, now)
		}
		if now.Before(last) {
			t.Fatalf("read %d: %v before the previous %v", i, now, last)
		}
		last = now
	}
}

// A wakeup reads the ready list before it fails an attempt for its
// deadline: an attempt whose connect has ended (the listener accepted it)
// but which the loop saw only late, as on a starved machine, or at its
// deadline, connected; it did not time out. Its latency is the kernel's
// measure of the handshake, not the time the loop took to look.
func TestConnectorTakesAConnectThatEndedBeforeFailingItsDeadline(t *testing.T) {
	tests := []struct {
		name string
		// started: how long before the wakeup the attempt started
		// (its budget is a second).
		started time.Duration
	}{
		{"deadline passed", 2 * time.Second},
		{"in time", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			target := netip.MustParseAddrPort(ln.Addr().String())
			c, err := newConnector(func([]connectDone, time.Time) {})
			if err != nil {
				t.Fatal(err)
			}
			defer c.stop()
			a := &connectAttempt{endpoint: Endpoint{Addr: target}, budget: time.Second, started: time.Now().Add(-tt.started)}
			if r, ended := c.submit(a); ended {
				t.Skipf("the connect ended at once (%q): nothing left for the loop", r.Reason)
			}
			conn, err := ln.Accept() // the handshake is done: the socket is writable
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
			events := make([]unix.EpollEvent, 8)
			c.mu.Lock()
			done := c.finishLocked(nil, events, time.Now())
			c.mu.Unlock()
			if len(done) != 1 || !done[0].result.OK {
				t.Fatalf("ended %+v, want the attempt connected", done)
			}
			if l := done[0].result.Latency; l <= 0 || l >= time.Second {
				t.Errorf("latency %v, want the handshake's round trip on loopback", l)
			}
		})
	}
}

// The loop does not wake for each connect that ends: the attempts
// started together end in one wakeup, readEvery after their start, and
// each one's latency is its handshake's, not the wait for that wakeup.
func TestConnectorReadsEndedConnectsOnItsGrid(t *testing.T) {
	const (
		attempts  = 20
		readEvery = 200 * time.Millisecond
	)
	target := serve(t, func(net.Conn) {})
	type wakeup struct {
		n   int
		now time.Time
	}
	wakeups := make(chan wakeup, attempts+1)
	c, err := newConnector(func(done []connectDone, now time.Time) {
		if len(done) > 0 {
			wakeups <- wakeup{len(done), now}
		}
		for _, d := range done {
			if !d.result.OK || d.result.Latency >= readEvery {
				t.Errorf("attempt ended %+v, want connected within its handshake's time", d.result)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c.setReadEvery(readEvery)
	var wg sync.WaitGroup
	wg.Go(c.run)
	t.Cleanup(func() { c.stop(); wg.Wait() })
	start := time.Now()
	submitted := 0
	for range attempts {
		if r, done := c.submit(&connectAttempt{endpoint: Endpoint{Addr: target}, budget: 5 * time.Second, started: start}); done {
			t.Logf("an attempt ended at once: %+v", r)
			continue
		}
		submitted++
	}
	if submitted == 0 {
		t.Skip("every connect ended at once: nothing left for the loop")
	}
	select {
	case w := <-wakeups:
		if w.n != submitted {
			t.Errorf("the first wakeup ended %d attempts, want all %d", w.n, submitted)
		}
		if w.now.Before(start.Add(readEvery)) {
			t.Errorf("the loop woke %v after the attempts' start, before readEvery %v", w.now.Sub(start), readEvery)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no wakeup ended the attempts before their deadline")
	}
}

// The connector gives back the room of a burst, burstRoomFor after the
// last wakeup that had more than maxKeptBatch attempts in flight: its map
// of sockets and its deadline heap are made again with what is in flight.
// A batch reused from wakeup to wakeup keeps nothing it held alive, and
// gives back its room past maxKeptBatch burstRoomFor after the last large
// batch. The wakeups are the test's calls, at instants it picks.
func TestConnectorGivesBackTheRoomOfABurst(t *testing.T) {
	const burst = maxKeptBatch + 44
	c, err := newConnector(func([]connectDone, time.Time) {})
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	// Every connect to a full listener stays in progress; the loop does
	// not run, so the burst stays in flight until the test ends it.
	target := fullListener(t)
	for range burst {
		if r, done := c.submit(&connectAttempt{endpoint: Endpoint{Addr: target}, budget: time.Minute}); done {
			t.Fatalf("an attempt on a full listener ended at once: %+v", r)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t0 := time.Now()
	c.giveBackLocked(t0)
	for len(c.pending) > 0 {
		c.forgetLocked(c.pending[0])
	}
	// The burst was in flight since the last wakeup: its room is kept
	// for burstRoomFor from this one.
	t1 := t0.Add(time.Second)
	c.giveBackLocked(t1)
	for _, at := range []time.Time{t1, t1.Add(burstRoomFor - time.Nanosecond)} {
		c.giveBackLocked(at)
		if cap(c.pending) < burst {
			t.Fatalf("%v after the burst: the deadline heap's room is %d, want the burst's %d kept", at.Sub(t1), cap(c.pending), burst)
		}
	}
	c.giveBackLocked(t1.Add(burstRoomFor))
	if len(c.inflight) != 0 || cap(c.pending) != 0 || !c.room.last.IsZero() {
		t.Errorf("%v after the burst: %d in flight, deadline heap's room %d, burst at %v; want them made again, empty",
			burstRoomFor, len(c.inflight), cap(c.pending), c.room.last)
	}

	var b batch[*connectAttempt]
	for range burst {
		b.items = append(b.items, &connectAttempt{})
	}
	room := cap(b.items)
	b.reuse(t0)
	if len(b.items) != 0 || cap(b.items) != room || b.items[:1][0] != nil {
		t.Errorf("a large batch reused: %d items, room %d (was %d), first %p; want it empty, cleared, its room kept", len(b.items), cap(b.items), room, b.items[:1][0])
	}
	b.items = append(b.items, &connectAttempt{})
	if b.reuse(t0.Add(burstRoomFor - time.Nanosecond)); cap(b.items) != room {
		t.Errorf("room given back %v after the last large batch", burstRoomFor-time.Nanosecond)
	}
	if b.reuse(t0.Add(burstRoomFor)); b.items != nil {
		t.Errorf("room %d kept %v after the last large batch", cap(b.items), burstRoomFor)
	}
	small := batch[*connectAttempt]{items: make([]*connectAttempt, 3, maxKeptBatch)}
	if small.reuse(t0.Add(time.Hour)); cap(small.items) != maxKeptBatch {
		t.Errorf("room within the bound was given back: %d", cap(small.items))
	}
}

// At a wakeup the scheduler's launches come before the attempts that ended
// are finished (their sockets closed): in launch, every attempt that
// connected is still in flight, and complete then gets them all, at the
// same instant.
func TestConnectorLaunchesBeforeItFinishes(t *testing.T) {
	const attempts = 8
	target := serve(t, func(net.Conn) {})
	type wakeup struct {
		n   int
		now time.Time
	}
	launches, completes := make(chan wakeup, 64), make(chan wakeup, 64)
	var c *connector
	c, err := newConnector(func(done []connectDone, now time.Time) {
		if len(done) > 0 {
			completes <- wakeup{len(done), now}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c.launch = func(now time.Time) {
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		launches <- wakeup{n, now}
	}
	c.setReadEvery(100 * time.Millisecond)
	submitted := 0
	for range attempts {
		if _, done := c.submit(&connectAttempt{endpoint: Endpoint{Addr: target}, budget: 5 * time.Second}); !done {
			submitted++
		}
	}
	if submitted == 0 {
		t.Skip("every connect ended at once: nothing left for the loop")
	}
	var wg sync.WaitGroup
	wg.Go(c.run)
	t.Cleanup(func() { c.stop(); wg.Wait() })
	select {
	case done := <-completes:
		var l wakeup
		select {
		case l = <-launches:
		default:
			t.Fatal("the wakeup that finished the attempts launched nothing before")
		}
		if l.n != submitted || !l.now.Equal(done.now) {
			t.Errorf("launch saw %d of %d attempts in flight at %v, finished at %v", l.n, submitted, l.now, done.now)
		}
		if done.n != submitted {
			t.Errorf("the wakeup finished %d attempts, want %d", done.n, submitted)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no wakeup finished the attempts")
	}
}
