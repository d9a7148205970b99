package checks

import (
	"container/heap"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// connector runs the connects of TCP_CHECK attempts on one epoll instance,
// as keepalived's event loop does: a non-blocking connect per attempt,
// every socket in flight waited for by one epoll_wait whose timeout is the
// earliest deadline, SO_ERROR read when the socket turns writable, close.
// That is five syscalls per attempt and one wait per batch, where Go's
// dialer spends about a dozen (poller registration and removal,
// getpeername, getsockname, TCP_NODELAY) plus a goroutine, a context and a
// timer per attempt.
type connector struct {
	epfd     int
	wake     int // eventfd: submit and stop interrupt the wait
	complete func(*connectAttempt, Result)

	mu       sync.Mutex
	queue    []*connectAttempt // submitted, not started
	sleeping bool              // the loop is in (or about to enter) epoll_wait
	woken    bool              // the eventfd was written since
	stopped  bool

	// The loop's own state.
	inflight map[int32]*connectAttempt // by socket
	pending  deadlines
}

// newConnector opens the epoll instance; complete receives every attempt's
// Result on the loop's goroutine and must not block.
func newConnector(complete func(*connectAttempt, Result)) (*connector, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(wake)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &connector{epfd: epfd, wake: wake, complete: complete, inflight: map[int32]*connectAttempt{}}, nil
}

// submit hands an attempt to the loop, waking it only if it sleeps: a
// burst of attempts due together costs one wakeup.
func (c *connector) submit(a *connectAttempt) {
	c.mu.Lock()
	c.queue = append(c.queue, a)
	wake := c.sleeping && !c.woken
	c.woken = c.woken || wake
	c.mu.Unlock()
	if wake {
		c.signal()
	}
}

// stop makes run return; attempts in flight are abandoned (their sockets
// closed, no Result).
func (c *connector) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.signal()
}

func (c *connector) signal() {
	one := [8]byte{1} // the eventfd counter, host (little-endian) order
	unix.Write(c.wake, one[:])
}

// run is the loop: start what was submitted, wait for sockets or the
// earliest deadline, finish what is ready or overdue.
func (c *connector) run() {
	defer func() {
		for _, a := range c.inflight {
			unix.Close(a.fd)
		}
		unix.Close(c.wake)
		unix.Close(c.epfd)
	}()
	events := make([]unix.EpollEvent, 512)
	var spare []*connectAttempt
	for {
		c.mu.Lock()
		queue, stopped := c.queue, c.stopped
		c.queue = spare[:0]
		c.mu.Unlock()
		if stopped {
			return
		}
		for i, a := range queue {
			c.start(a)
			queue[i] = nil
		}
		spare = queue

		timeout := -1
		if len(c.pending) > 0 {
			// Rounded up: the wait never ends before the deadline.
			timeout = int((time.Until(c.pending[0].deadline) + time.Millisecond - 1) / time.Millisecond)
			timeout = max(timeout, 0)
		}
		c.mu.Lock()
		if len(c.queue) > 0 || c.stopped {
			timeout = 0
		} else {
			c.sleeping = true
		}
		c.mu.Unlock()
		n, err := unix.EpollWait(c.epfd, events, timeout)
		c.mu.Lock()
		c.sleeping, c.woken = false, false
		c.mu.Unlock()
		if err != nil {
			n = 0 // EINTR: the runtime's preemption signal
		}
		for _, ev := range events[:n] {
			if ev.Fd == int32(c.wake) {
				var buf [8]byte
				unix.Read(c.wake, buf[:])
				continue
			}
			if a := c.inflight[ev.Fd]; a != nil {
				c.finish(a, connectError(a.fd, ev.Events))
			}
		}
		now := time.Now()
		for len(c.pending) > 0 && !c.pending[0].deadline.After(now) {
			c.finish(c.pending[0], os.ErrDeadlineExceeded)
		}
	}
}

// start opens the attempt's socket and connects it without blocking.
func (c *connector) start(a *connectAttempt) {
	a.started = time.Now()
	a.deadline = a.started.Add(a.budget)
	fd, err := connectSocket(a.endpoint)
	if err == nil {
		// Connected at once (a local target can be).
		unix.Close(fd)
		c.complete(a, a.result(nil))
		return
	}
	if !errors.Is(err, unix.EINPROGRESS) {
		c.complete(a, a.result(err))
		return
	}
	if err := unix.EpollCtl(c.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)}); err != nil {
		unix.Close(fd)
		c.complete(a, a.result(os.NewSyscallError("epoll_ctl", err)))
		return
	}
	a.fd = fd
	c.inflight[int32(fd)] = a
	heap.Push(&c.pending, a)
}

// finish closes the attempt's socket (which also leaves the epoll set) and
// delivers its Result.
func (c *connector) finish(a *connectAttempt, err error) {
	delete(c.inflight, int32(a.fd))
	heap.Remove(&c.pending, a.index)
	unix.Close(a.fd)
	c.complete(a, a.result(err))
}

// connectError is the outcome of a connect the socket's epoll events
// reported: SO_ERROR, as keepalived reads it (tcp_socket_state).
func connectError(fd int, events uint32) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
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
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	fail := func(err error) (int, error) {
		unix.Close(fd)
		return -1, err
	}
	if ep.FWMark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(ep.FWMark)); err != nil {
			return fail(fmt.Errorf("setsockopt SO_MARK %d: %w", ep.FWMark, err))
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
	sa, err := sockaddrOf(remote)
	if err != nil {
		return fail(err)
	}
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return fd, nil
	case unix.EINPROGRESS, unix.EINTR:
		// EINTR: the connect goes on in the background, as Go's
		// dialer also treats it.
		return fd, unix.EINPROGRESS
	default:
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
