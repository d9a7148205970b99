//go:build linux

package checks

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
// budget exhausted (not earlier) when the SYN goes unanswered.
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
		{name: "listener", target: accepted, budget: time.Second, ok: true, reason: "connected"},
		{name: "closed port", target: closedPort(t), budget: time.Second, reason: "connect: connection refused"},
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
		closed6 := netip.AddrPortFrom(listener6.Addr(), closedPort(t).Port())
		tests = append(tests, []struct {
			name    string
			target  netip.AddrPort
			budget  time.Duration
			ok      bool
			reason  string
			minTook time.Duration
		}{
			{name: "IPv6 listener", target: listener6, budget: time.Second, ok: true, reason: "connected"},
			{name: "IPv6 closed port", target: closed6, budget: time.Second, reason: "connect: connection refused"},
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
	r := attempt(ep, time.Second)
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
	time.Sleep(2 * delayLoop)
	if st := m.Status(); !st[0].Up || st[0].Checkers[0].Attempts == 0 {
		t.Fatalf("before any change: %+v", st[0])
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
