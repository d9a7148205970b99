package checks

import (
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// connector runs the connects of TCP_CHECK attempts on one epoll instance,
// as keepalived's event loop does. The scheduler's goroutine starts each
// attempt itself (socket, non-blocking connect, and the socket joins the
// epoll set); the connector's goroutine wakes on a timer, reads the epoll
// instance without waiting, reads TCP_INFO of every socket that turned
// writable, closes it and hands the Result over, and fails the attempts
// past their deadline. That is five syscalls per attempt, where Go's
// dialer spends about a dozen (poller registration and removal,
// getpeername, getsockname, TCP_NODELAY) plus a goroutine, a context and a
// timer per attempt.
//
// The loop does not wake when a socket turns writable: it reads them at
// the wake grid's pace (readEvery, the grid's tick: at most 100 ms, 1/100
// of the shortest delay_loop, 1/10 of the shortest delay_before_retry),
// at the earliest attempt's deadline, and at the scheduler's next launch.
// A connect ends within a millisecond of its start (a handshake on the
// LAN, or a RST), so waking for each end woke the loop about once per
// attempt: in the checks benchmark's VM (388 attempts a second) 0.8-0.9
// voluntary context switches per connection, each the runtime's poller
// and clock reads around it, where the grid's launches alone wake it 17
// times a second. A verdict is at most one tick later than the connect's
// end, and so is the close (the real server sees the FIN that much later
// than keepalived sends it); the attempt's latency is the kernel's measure
// of the handshake (TCP_INFO's round-trip time), not the loop's.
//
// The connector's wait also serves the scheduler (plan): its deadline is
// the earlier of the earliest attempt's and the next planned launch, and
// launch and complete run at every wakeup, so the Manager launches due
// attempts on the same wakeup that finishes the ready ones (keepalived's
// thread master: one event loop for timers and sockets). The launches
// come first: finishing an attempt closes its socket (its FIN), 1.0-2.9
// ms a close in the emulated test VM (strace), and how many attempts
// ended since the last wakeup varies from one wakeup to the next, so a
// launch made after the closes started later by a varying amount. Made
// first, a launch follows only the wakeup's earlier launches, and a
// loopback connect made at once is finished in the same wakeup: lvsd's
// voluntary context switches fell from 0.61-0.90 to 0.41-0.42 per
// connection in the checks benchmark (two boots of three; the third was
// starved and all had 0.39-0.41; docs/benchmarks.md,
// "Session 17").
type connector struct {
	epfd     int
	timer    *time.Timer // the loop's wait, armed for armed
	quit     chan struct{}
	complete func(done []connectDone, now time.Time)
	// launch, if set (before run starts), runs at every wakeup before
	// the ended attempts are finished: the scheduler's launches.
	launch func(now time.Time)

	mu       sync.Mutex
	inflight map[int32]*connectAttempt // by socket
	pending  deadlines
	// peak is the most attempts in flight since the last wakeup; room
	// says when the room of a burst past maxKeptBatch (a map keeps its
	// room, and so does the heap) may go (giveBackLocked).
	peak int
	room burstRoom
	due  time.Time // the scheduler's next launch (plan); zero: none
	// readEvery: while attempts are in flight, the loop reads the ready
	// list at least this often (setReadEvery).
	readEvery time.Duration
	// schedules: complete always ends with plan, which arms the wait;
	// set before run starts.
	schedules bool
	armed     time.Time // the timer's instant; zero: none
	spent     bool      // armed has passed: set the next, whatever it is
	stopped   bool
	// clock is run's: its goroutine alone reads it.
	clock instants
}

// instants reads the clock for the connector's loop with one system
// call where time.Now makes two. time.Now reads the wall clock and the
// monotonic one, and under a hypervisor without a vDSO clock (the
// benchmark's emulated VM) each read is a system call; time.Since of an
// instant that carries a monotonic reading reads the monotonic clock
// alone. So now is the last full read plus the monotonic time since it,
// and the clock is read in full again once a second: every comparison
// and duration the schedule makes (deadlines, rounds, latencies) uses
// the monotonic readings, and a step of the wall clock shows in the
// wall readings (a check's LastCheck) within a second.
type instants struct {
	base time.Time // the last full read; zero: none yet
}

// fullReadEvery is how long instants goes on from one full read.
const fullReadEvery = time.Second

// now is the current instant.
func (c *instants) now() time.Time {
	if !c.base.IsZero() {
		if d := time.Since(c.base); d >= 0 && d < fullReadEvery {
			return c.base.Add(d)
		}
	}
	c.base = time.Now()
	return c.base
}

// connectDone is one attempt's outcome, and when its batch ended: one
// clock read serves the batch (under a hypervisor without a vDSO clock,
// each read is a system call).
type connectDone struct {
	attempt *connectAttempt
	result  Result
	at      time.Time
}

// newConnector opens the epoll instance; complete runs on the connector's
// goroutine at every wakeup, with the attempts that finished (maybe none)
// and the wakeup's instant.
func newConnector(complete func(done []connectDone, now time.Time)) (*connector, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	return &connector{epfd: epfd, timer: timer, quit: make(chan struct{}), complete: complete,
		inflight: map[int32]*connectAttempt{}, readEvery: maxWakeTick}, nil
}

// setReadEvery sets how often the loop reads the ready list while attempts
// are in flight: the wake grid's tick (maxWakeTick when d is not above 0).
func (c *connector) setReadEvery(d time.Duration) {
	if d <= 0 {
		d = maxWakeTick
	}
	c.mu.Lock()
	c.readEvery = d
	c.mu.Unlock()
}

// submit starts an attempt on the caller's goroutine. An attempt that ends
// at once (connected already, as a local target can be, or refused before
// any packet) returns its Result and done; any other finishes later on the
// connector's goroutine.
func (c *connector) submit(a *connectAttempt) (r Result, done bool) {
	if a.started.IsZero() {
		a.started = time.Now()
	}
	a.deadline = a.started.Add(a.budget)
	fd, err := connectSocket(a.endpoint)
	if err == nil {
		rawClose(fd)
		return a.result(nil, time.Now()), true
	}
	if !errors.Is(err, unix.EINPROGRESS) {
		return a.result(err, time.Now()), true
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		rawClose(fd)
		return a.result(os.ErrClosed, time.Now()), true
	}
	a.fd = fd
	c.inflight[int32(fd)] = a
	c.peak = max(c.peak, len(c.inflight))
	heap.Push(&c.pending, a)
	// Added under mu: the loop cannot see the socket's event before
	// the attempt is in inflight.
	err = rawEpollAdd(c.epfd, fd)
	if err != nil {
		c.forgetLocked(a)
	} else if !c.schedules {
		// A scheduling connector's wait is armed once for the whole
		// batch, by the plan that ends every launch (Manager.planLocked):
		// armed here too, it was set twice per wakeup, the first time to
		// the launch instant just passed.
		c.armLocked(a.started)
	}
	c.mu.Unlock()
	if err != nil {
		return a.result(os.NewSyscallError("epoll_ctl", err), time.Now()), true
	}
	return Result{}, false
}

// stop makes run return; attempts in flight are abandoned (their sockets
// closed, no Result).
func (c *connector) stop() {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.quit)
	}
	c.mu.Unlock()
}

// run is the loop: wait for the timer, launch what is due, finish what is
// ready or overdue, deliver the batch.
func (c *connector) run() {
	events := make([]unix.EpollEvent, 512)
	var done batch[connectDone]
	for {
		select {
		case <-c.quit:
			c.mu.Lock()
			for _, a := range c.inflight {
				rawClose(a.fd)
			}
			clear(c.inflight)
			c.pending = nil
			unix.Close(c.epfd)
			c.mu.Unlock()
			return
		case <-c.timer.C:
		}
		now := c.clock.now()
		if c.launch != nil {
			c.launch(now) // before the closes below (see connector)
		}
		c.mu.Lock()
		done.reuse(now)
		done.items = c.finishLocked(done.items, events, now)
		c.giveBackLocked(now)
		// The timer fired: set whatever comes next, even no deadline.
		c.spent = true
		if !c.schedules {
			c.armLocked(now)
		}
		c.mu.Unlock()
		c.complete(done.items, now)
	}
}

// finishLocked ends the attempts of one wakeup at now, appending them
// to done: first every socket the ready list holds, then every attempt
// past its deadline. A connect that ended while the loop slept (or waited
// for a processor, on a starved machine) is no timeout of the server's.
func (c *connector) finishLocked(done []connectDone, events []unix.EpollEvent, now time.Time) []connectDone {
	for len(c.inflight) > 0 {
		n := readyEvents(c.epfd, events)
		for _, ev := range events[:n] {
			if a := c.inflight[ev.Fd]; a != nil {
				rtt, e := connectOutcome(a.fd, ev.Events)
				c.forgetLocked(a)
				r := a.result(e, now)
				if e == nil && rtt > 0 {
					r.Latency = rtt
				}
				done = append(done, connectDone{a, r, now})
			}
		}
		if n < len(events) {
			// Drained: every socket reported is closed, which takes
			// it out of the set.
			break
		}
	}
	for len(c.pending) > 0 && !c.pending[0].deadline.After(now) {
		a := c.pending[0]
		c.forgetLocked(a)
		done = append(done, connectDone{a, a.result(os.ErrDeadlineExceeded, now), now})
	}
	return done
}

// plan makes the wait end by next, the scheduler's next launch (zero:
// none); now is the caller's instant. Safe from any goroutine: a deadline
// moved earlier wakes the waiting loop sooner.
func (c *connector) plan(next, now time.Time) {
	c.mu.Lock()
	c.due = next
	c.armLocked(now)
	c.mu.Unlock()
}

// readyEvents collects the sockets ready now, without waiting.
func readyEvents(epfd int, events []unix.EpollEvent) int {
	n, err := unix.EpollWait(epfd, events, 0)
	if err != nil {
		return 0
	}
	return n
}

// armLocked keeps the wait's deadline no later than the earliest
// attempt's, the scheduler's next launch and, while attempts are in
// flight, readEvery from now. It only ever moves the deadline earlier (or
// sets the next one once the last has passed): an attempt that ends
// before its deadline leaves the deadline where it was, and moving it at
// each submit and each end cost two runtime timer changes per attempt. A
// deadline already passed at now is replaced as a spent one is: the wait
// would only return at once.
func (c *connector) armLocked(now time.Time) {
	want := c.due
	if len(c.pending) > 0 {
		if want.IsZero() || c.pending[0].deadline.Before(want) {
			want = c.pending[0].deadline
		}
		if read := now.Add(c.readEvery); read.Before(want) {
			want = read
		}
	}
	passed := !c.armed.IsZero() && !c.armed.After(now)
	if c.spent || passed || (!want.IsZero() && (c.armed.IsZero() || want.Before(c.armed))) {
		c.armed, c.spent = want, false
		if want.IsZero() {
			c.timer.Stop()
		} else {
			c.timer.Reset(max(want.Sub(now), 0))
		}
	}
}

// forgetLocked closes the attempt's socket, which also takes it out of the
// epoll set.
func (c *connector) forgetLocked(a *connectAttempt) {
	delete(c.inflight, int32(a.fd))
	heap.Remove(&c.pending, a.index)
	rawClose(a.fd)
}

// giveBackLocked makes the map of sockets in flight and the deadline heap
// again, with what is in flight, once burstRoomFor has passed since more
// than maxKeptBatch attempts were in flight; now is the wakeup's instant.
func (c *connector) giveBackLocked(now time.Time) {
	over := c.room.over(c.peak, now)
	c.peak = len(c.inflight)
	if !over {
		return
	}
	inflight := make(map[int32]*connectAttempt, len(c.inflight))
	maps.Copy(inflight, c.inflight)
	c.inflight, c.pending = inflight, slices.Clone(c.pending)
}

// connectOutcome is the outcome of a connect the socket's epoll events
// reported, and the handshake's round-trip time as the kernel measured it
// (zero when it has none: a SYN sent again has no sample). TCP_INFO's
// state says connected (established, or closed by the peer since); any
// other state is read as keepalived reads every end (tcp_socket_state):
// SO_ERROR.
func connectOutcome(fd int, events uint32) (time.Duration, error) {
	info, err := rawTCPInfo(fd)
	if err != nil {
		return 0, os.NewSyscallError("getsockopt", err)
	}
	switch info.State {
	case tcpEstablished, tcpCloseWait:
		return time.Duration(info.Rtt) * time.Microsecond, nil
	}
	v, err := rawSoError(fd)
	if err != nil {
		return 0, os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return 0, os.NewSyscallError("connect", unix.Errno(v))
	}
	if events&unix.EPOLLOUT != 0 {
		return 0, nil
	}
	// Hung up without an error and without turning writable: connected
	// only if the kernel names a peer.
	if _, err := unix.Getpeername(fd); err != nil {
		return 0, os.NewSyscallError("connect", err)
	}
	return 0, nil
}

// TCP states (include/net/tcp_states.h) that TCP_INFO reports.
const (
	tcpEstablished = 1
	tcpCloseWait   = 8
)

// connectSocket opens a non-blocking TCP socket marked and bound as ep
// says and starts its connect. It returns the socket with a nil error
// (connected) or unix.EINPROGRESS; on any other error the socket is closed.
func connectSocket(ep Endpoint) (int, error) {
	remote := netip.AddrPortFrom(ep.Addr.Addr().Unmap(), ep.Addr.Port())
	family := unix.AF_INET
	if remote.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := rawSocket(family) // connect_raw_linux.go
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	fail := func(err error) (int, error) {
		rawClose(fd)
		return -1, err
	}
	if ep.FWMark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(ep.FWMark)); err != nil {
			return fail(fmt.Errorf("setsockopt SO_MARK %d: %w", ep.FWMark, err))
		}
	}
	if ep.BindIf != "" {
		if err := bindToDevice(fd, ep.BindIf); err != nil { // bindif_linux.go
			return fail(err)
		}
	}
	if ep.BindTo.IsValid() || ep.BindPort != 0 {
		local := ep.BindTo.Unmap()
		if !local.IsValid() {
			local = netip.IPv4Unspecified()
			if family == unix.AF_INET6 {
				local = netip.IPv6Unspecified()
			}
		}
		sa, err := sockaddrOf(netip.AddrPortFrom(local, ep.BindPort))
		if err != nil {
			return fail(err)
		}
		if err := unix.Bind(fd, sa); err != nil {
			return fail(os.NewSyscallError("bind", err))
		}
	}
	switch err := rawConnect(fd, remote); err {
	case nil:
		return fd, nil
	case unix.EINPROGRESS, unix.EINTR:
		// EINTR: the connect goes on in the background, as Go's
		// dialer also treats it.
		return fd, unix.EINPROGRESS
	default:
		if _, ok := err.(unix.Errno); !ok {
			return fail(err) // the zone's interface
		}
		return fail(os.NewSyscallError("connect", err))
	}
}

// sockaddrOf is ap as a socket address; a zone names the interface of a
// link-local IPv6 address.
func sockaddrOf(ap netip.AddrPort) (unix.Sockaddr, error) {
	a := ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if zone := a.Zone(); zone != "" {
		ifi, err := net.InterfaceByName(zone)
		if err != nil {
			return nil, fmt.Errorf("zone of %s: %w", a, err)
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, nil
}
