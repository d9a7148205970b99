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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// connector runs the connects of TCP_CHECK attempts on one epoll instance,
// as keepalived's event loop does. The scheduler's goroutine starts each
// attempt itself (socket, non-blocking connect, and the socket joins the
// epoll set); the connector's goroutine waits for that epoll instance
// through Go's own poller (the instance is itself pollable), with the
// earliest attempt's deadline as the wait's deadline, reads SO_ERROR of
// every socket that turned writable, closes it and hands the Result over.
// That is five syscalls per attempt and one wakeup per batch of
// completions, where Go's dialer spends about a dozen (poller registration
// and removal, getpeername, getsockname, TCP_NODELAY) plus a goroutine, a
// context and a timer per attempt.
//
// The connector's wait also serves the scheduler (plan): its deadline is
// the earlier of the earliest attempt's and the next planned launch, and
// complete runs at every wakeup, so the Manager launches due attempts on
// the same wakeup that finishes the ready ones (keepalived's thread
// master: one event loop for timers and sockets). One TCP_CHECK then
// costs one goroutine wakeup, not two on two threads.
type connector struct {
	epfd     int
	poll     *os.File        // epfd in Go's poller: readable when a socket is ready
	raw      syscall.RawConn // of poll
	complete func(done []connectDone, now time.Time)

	mu       sync.Mutex
	inflight map[int32]*connectAttempt // by socket
	pending  deadlines
	// peak is the most attempts in flight since the last wakeup; room
	// says when the room of a burst past maxKeptBatch (a map keeps its
	// room, and so does the heap) may go (giveBackLocked).
	peak int
	room burstRoom
	due  time.Time // the scheduler's next launch (plan); zero: none
	// schedules: complete always ends with plan, which arms the wait;
	// set before run starts.
	schedules bool
	armed     time.Time // deadline set on poll; zero: none
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
	// Non-blocking, so that os.NewFile hands it to the runtime's poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	poll := os.NewFile(uintptr(epfd), "TCP_CHECK epoll")
	raw, err := poll.SyscallConn()
	if err != nil {
		poll.Close()
		return nil, err
	}
	return &connector{epfd: epfd, poll: poll, raw: raw, complete: complete, inflight: map[int32]*connectAttempt{}}, nil
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
	c.stopped = true
	c.mu.Unlock()
	c.poll.Close()
}

// run is the loop: wait until a socket is ready or the earliest deadline
// passes, finish what is ready or overdue, deliver the batch.
func (c *connector) run() {
	events := make([]unix.EpollEvent, 512)
	var done batch[connectDone]
	// Every wakeup looks at the ready list before it waits, even one
	// right after a wakeup that emptied it: RawRead resets the poller's
	// notice before its first look, which drops an edge that came while
	// the last batch was delivered (a socket that turned ready then would
	// wait for the next deadline). The look is made once: made at each
	// wakeup, it and what it sets were allocated at each (7 bytes per
	// connect at 37,205 targets).
	var n int
	var read readState
	look := func(uintptr) bool {
		read = readBeforeWait
		n = readyEvents(c.epfd, events)
		return n > 0
	}
	for {
		n, read = 0, notRead
		err := c.raw.Read(look)
		if err == nil {
			read = readAfterWait
		}
		c.mu.Lock()
		if c.stopped {
			for _, a := range c.inflight {
				unix.Close(a.fd)
			}
			c.mu.Unlock()
			return
		}
		now := c.clock.now()
		done.reuse(now)
		done.items = c.finishLocked(done.items, events, n, read, now)
		c.giveBackLocked(now)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Spent: set whatever comes next, even no deadline.
			c.spent = true
		}
		if !c.schedules {
			c.armLocked(now)
		}
		c.mu.Unlock()
		c.complete(done.items, now)
	}
}

// readState says what a wakeup of the connector's loop read of the ready
// list.
type readState int

const (
	// notRead: nothing. Go's RawRead returns a read deadline that has
	// already passed before it calls its function at all, and a loop
	// that runs late (a starved machine, one P busy elsewhere) finds the
	// instant it planned passed at every turn.
	notRead readState = iota
	// readBeforeWait: the list was empty before the wait, which its
	// deadline ended.
	readBeforeWait
	// readAfterWait: what the wait woke for is in events[:n].
	readAfterWait
)

// finishLocked ends the attempts of one wakeup at now, appending them
// to done: first every socket the ready list holds, then every attempt
// past its deadline. A wakeup that has not read the list since its wait
// reads it first when it holds attempts in flight and read nothing at
// all (a late loop's turn), or when one of them is past its deadline: a
// connect that ended while the loop waited for a processor is no
// timeout of the server's. Before that look, each late turn failed every
// attempt past its deadline, connected or not.
func (c *connector) finishLocked(done []connectDone, events []unix.EpollEvent, n int, read readState, now time.Time) []connectDone {
	if len(c.pending) > 0 && (read == notRead || read == readBeforeWait && !c.pending[0].deadline.After(now)) {
		n = readyEvents(c.epfd, events)
	}
	// The poller's notice is edge-triggered: drain the ready list.
	for n > 0 {
		for _, ev := range events[:n] {
			if a := c.inflight[ev.Fd]; a != nil {
				e := connectError(a.fd, ev.Events)
				c.forgetLocked(a)
				done = append(done, connectDone{a, a.result(e, now), now})
			}
		}
		if n < len(events) {
			// Drained: every socket reported is closed, which takes
			// it out of the set (a set whose sockets are
			// level-triggered would report a socket kept open again).
			break
		}
		n = readyEvents(c.epfd, events)
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
// attempt's and the scheduler's next launch. It only ever moves the
// deadline earlier (or sets the next one once the last has passed): an
// attempt that ends before its deadline leaves the deadline where it was,
// and the wait then wakes once for nothing. Most attempts end long before
// connect_timeout, and moving the deadline at each submit and each end
// cost two runtime timer changes per attempt. A deadline already passed at
// now is replaced as a spent one is: the wait would only return at once.
func (c *connector) armLocked(now time.Time) {
	want := c.due
	if len(c.pending) > 0 && (want.IsZero() || c.pending[0].deadline.Before(want)) {
		want = c.pending[0].deadline
	}
	passed := !c.armed.IsZero() && !c.armed.After(now)
	if c.spent || passed || (!want.IsZero() && (c.armed.IsZero() || want.Before(c.armed))) {
		c.armed, c.spent = want, false
		c.poll.SetReadDeadline(want)
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

// connectError is the outcome of a connect the socket's epoll events
// reported: SO_ERROR, as keepalived reads it (tcp_socket_state).
func connectError(fd int, events uint32) error {
	v, err := rawSoError(fd)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return os.NewSyscallError("connect", unix.Errno(v))
	}
	if events&unix.EPOLLOUT != 0 {
		return nil
	}
	// Hung up without an error and without turning writable: connected
	// only if the kernel names a peer.
	if _, err := unix.Getpeername(fd); err != nil {
		return os.NewSyscallError("connect", err)
	}
	return nil
}

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
