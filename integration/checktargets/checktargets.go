// Package checktargets is the target side of the health-check benchmarks
// (integration's TestBenchChecks37kTargets on the host, the VM's
// TestBenchChecksVsKeepalived): many TCP targets on 127.x.y.z addresses,
// one listener per port on 0.0.0.0, holding each connection until the
// checker closes it (at little cost per connection: raw system calls and
// one epoll set, since it shares the machine with the daemons it
// measures), recording when each target is
// connected to (when the kernel took the connection, not when the
// listener accepted it), and the spread of the interval between two checks of one
// target. dns.go holds the answer of the DNS servers the functional
// DNS_CHECK tests run (integration's namespace lab, the VM's group lab). It
// is a package of its own so both test binaries share it; it owns no lvsd
// behaviour.
package checktargets

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ports and BasePort: targets use ports BasePort..BasePort+Ports-1.
const (
	Ports    = 8
	BasePort = 31000
)

// Target is the address of the i-th target: Ports ports on each of many
// 127.x.y.z addresses (lo answers all of 127/8).
func Target(i int) netip.AddrPort {
	idx := i/Ports + 1
	addr := netip.AddrFrom4([4]byte{127, byte(1 + idx>>16), byte(idx >> 8), byte(idx)})
	return netip.AddrPortFrom(addr, uint16(BasePort+i%Ports))
}

// Figures are what a Recorder saw, times in nanoseconds: the percentiles
// of the intervals between consecutive connections to one target.
type Figures struct {
	Accepts, Targets, Count int
	Window                  int64 // since Listen or the last Mark
	// Unclean counts the connections of the window that ended otherwise
	// than by the checker's FIN (a reset, an error).
	Unclean           int
	P1, P50, P99, Max int64
	// SYN holds the percentiles of the same intervals read from each
	// connection's SYN: its TCP timestamp option (RFC 7323), the
	// checker's kernel's millisecond clock when the checker called
	// connect (plus an offset the kernel keeps for each address pair,
	// so that two connections to one target differ by their clock's
	// difference). It is the checker's own schedule, apart from when
	// the target's side of the kernel got to the handshake (under
	// emulation the softirq that completes it is squeezed into
	// ksoftirqd, a thread the daemons and listeners compete with, and
	// late by tens of milliseconds now and then) and from this
	// listener. Zero when the SYNs carried no timestamp.
	SYN struct {
		Count             int
		P1, P50, P99, Max int64
	}
	// LatePerSecond counts, for each second of the window, the
	// connections that came more than 1 % of the median interval after
	// their target's one before (by the second they came in): a daemon
	// late now and then, as a burst of other work makes it, shows its
	// late ones gathered in a few seconds; the machine's noise spreads
	// them.
	LatePerSecond []int `json:",omitempty"`
}

// Recorder accepts connections on the target ports and notes, per target,
// when each arrived. It costs the machine little per connection, since it
// shares the benchmark VM's two emulated CPUs with the daemons it measures:
// raw accept4, getsockname, TCP_INFO, TCP_SAVED_SYN and read calls, no goroutine and no
// poller registration per connection (Go's net.Listener spent about twice
// the system calls and two goroutine switches on each).
type Recorder struct {
	mu   sync.Mutex
	seen map[netip.AddrPort][]int64
	// synTS is each target's connections' SYN timestamps (TSval, ms),
	// in the order they came.
	synTS   map[netip.AddrPort][]uint32
	accepts int
	unclean int // connections that ended otherwise than by the checker's FIN
	epoch   time.Time
	lns     []*os.File       // the listening sockets, in Go's poller
	addrs   []netip.AddrPort // where each listens
	held    *holder
	wg      sync.WaitGroup
}

// Listen starts a Recorder on 0.0.0.0:BasePort.. with acceptors per port.
func Listen(acceptors int) (*Recorder, error) {
	addrs := make([]string, Ports)
	for p := range Ports {
		addrs[p] = fmt.Sprintf("0.0.0.0:%d", BasePort+p)
	}
	return listenOn(addrs, acceptors)
}

// listenOn starts a Recorder on addrs (IPv4 host:port).
func listenOn(addrs []string, acceptors int) (*Recorder, error) {
	held, err := newHolder()
	if err != nil {
		return nil, err
	}
	r := &Recorder{seen: map[netip.AddrPort][]int64{}, synTS: map[netip.AddrPort][]uint32{}, epoch: time.Now(), held: held}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		held.run(r.ended)
	}()
	for _, a := range addrs {
		ln, at, err := listenTCP4(a)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.lns, r.addrs = append(r.lns, ln), append(r.addrs, at)
		raw, err := ln.SyscallConn()
		if err != nil {
			r.Close()
			return nil, err
		}
		for range max(acceptors, 1) {
			r.wg.Add(1)
			go r.accept(raw)
		}
	}
	return r, nil
}

// listenTCP4 opens a non-blocking listening socket on addr (host:port,
// IPv4) with the largest backlog the namespace's somaxconn allows, as a
// file in Go's poller (a net.Listener's raw connection cannot wait for
// the socket to turn readable), and says where it listens.
func listenTCP4(addr string) (*os.File, netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, netip.AddrPort{}, os.NewSyscallError("socket", err)
	}
	fail := func(what string, err error) (*os.File, netip.AddrPort, error) {
		unix.Close(fd)
		return nil, netip.AddrPort{}, fmt.Errorf("listen on %s: %w", addr, os.NewSyscallError(what, err))
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	// The kernel keeps each connection's SYN for TCP_SAVED_SYN (took).
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_SAVE_SYN, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, 1<<16); err != nil { // the kernel caps it at somaxconn
		return fail("listen", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	in4 := sa.(*unix.SockaddrInet4)
	return os.NewFile(uintptr(fd), "listener "+addr), netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port)), nil
}

// accept takes every connection the listening socket has each time it
// turns readable, until the listener is closed.
func (r *Recorder) accept(ln syscall.RawConn) {
	defer r.wg.Done()
	for {
		err := ln.Read(func(fd uintptr) bool {
			for {
				c, _, err := unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
				if err == unix.ECONNABORTED || err == unix.EINTR {
					continue
				}
				if err != nil {
					// EAGAIN: wait. Any other (out of files): the next
					// connection wakes the wait again.
					return false
				}
				r.took(c)
			}
		})
		if err != nil {
			return // closed
		}
	}
}

// took records connection c, counted when the kernel made it (not when
// this process, starved on an emulated machine, got to accept it), and
// holds it until the checker closes it. A listener that closed first left
// the checker's socket in CLOSE_WAIT, and when the listener's kernel then
// reset its orphaned end (past the orphan limit under emulation) the
// checker's SO_ERROR read EPIPE, a failed attempt retried
// delay_before_retry later by both keepalived and lvsd.
func (r *Recorder) took(c int) {
	at := time.Since(r.epoch) - fdHandshakeAge(c)
	var local netip.AddrPort
	if sa, err := unix.Getsockname(c); err == nil {
		if in4, ok := sa.(*unix.SockaddrInet4); ok {
			local = netip.AddrPortFrom(netip.AddrFrom4(in4.Addr), uint16(in4.Port))
		}
	}
	tsval, hasTS := synTimestamp(c)
	if local.IsValid() {
		r.mu.Lock()
		r.seen[local] = append(r.seen[local], int64(at))
		if hasTS {
			r.synTS[local] = append(r.synTS[local], tsval)
		}
		r.accepts++
		r.mu.Unlock()
	}
	// A TCP_CHECK sends nothing and closes at once: its FIN has usually
	// arrived by the accept, and the connection ends here.
	if end, over := readEnd(c); over {
		r.ended(c, end)
		return
	}
	r.held.hold(c)
}

// readEnd reads c without waiting: over when the checker ended the
// connection (clean: by its FIN), not over when it is still open.
func readEnd(c int) (clean, over bool) {
	var b [64]byte
	for {
		n, err := unix.Read(c, b[:])
		switch {
		case err == unix.EAGAIN:
			return false, false
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, true // a reset, an error
		case n == 0:
			return true, true // the FIN
		}
	}
}

// ended closes c, which the checker ended (clean: by its FIN).
func (r *Recorder) ended(c int, clean bool) {
	if !clean {
		r.mu.Lock()
		r.unclean++
		r.mu.Unlock()
	}
	unix.Close(c)
}

// holder waits, on one epoll instance served by one goroutine, for the
// checker's end of each connection still open at its accept.
type holder struct {
	epfd int
	poll *os.File // epfd in Go's poller
	raw  syscall.RawConn

	mu   sync.Mutex
	open map[int32]bool
}

func newHolder() (*holder, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	poll := os.NewFile(uintptr(epfd), "held connections")
	raw, err := poll.SyscallConn()
	if err != nil {
		poll.Close()
		return nil, err
	}
	return &holder{epfd: epfd, poll: poll, raw: raw, open: map[int32]bool{}}, nil
}

// hold watches c until the checker ends it.
func (h *holder) hold(c int) {
	h.mu.Lock()
	h.open[int32(c)] = true
	h.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c)}
	if err := unix.EpollCtl(h.epfd, unix.EPOLL_CTL_ADD, c, &ev); err != nil {
		h.mu.Lock()
		delete(h.open, int32(c))
		h.mu.Unlock()
		unix.Close(c)
	}
}

// run hands every held connection the checker ended to ended, until the
// holder is closed; then it closes those still open.
func (h *holder) run(ended func(c int, clean bool)) {
	events := make([]unix.EpollEvent, 256)
	for {
		err := h.raw.Read(func(uintptr) bool {
			for {
				n, err := unix.EpollWait(h.epfd, events, 0)
				if err != nil || n == 0 {
					return false
				}
				for _, ev := range events[:n] {
					c := int(ev.Fd)
					clean, over := readEnd(c)
					if !over {
						continue
					}
					h.mu.Lock()
					delete(h.open, ev.Fd)
					h.mu.Unlock()
					ended(c, clean) // closing c takes it out of the set
				}
			}
		})
		if err != nil {
			break
		}
	}
	h.mu.Lock()
	for c := range h.open {
		unix.Close(int(c))
	}
	clear(h.open)
	h.mu.Unlock()
}

// close makes run return.
func (h *holder) close() { h.poll.Close() }

// handshakeAge is fdHandshakeAge of c's socket.
func handshakeAge(c net.Conn) time.Duration {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	var age time.Duration
	rc.Control(func(fd uintptr) { age = fdHandshakeAge(int(fd)) })
	return age
}

// fdHandshakeAge is how long ago the kernel made socket c's connection:
// TCP_INFO's tcpi_last_data_recv, the time since the segment that last
// carried data, which the kernel sets to the handshake's when it makes
// the connection (tcp_create_openreq_child, icsk_ack.lrcvtime) and which
// a TCP_CHECK, sending none, never moves (jiffies, 4 ms at HZ=250). A
// connection counts when it was made, not when this process, starved on
// an emulated machine, got to accept it. tcpi_last_ack_recv, read here
// before, moves with every ACK, the checker's FIN's too: a checker that
// closes at its next wakeup (lvsd's connector, up to one wake-grid tick
// after the connect) was dated at its close whenever this process
// accepted after the FIN, at its connect otherwise, and the interval
// between two such checks read a tick long or short.
func fdHandshakeAge(c int) time.Duration {
	if info, err := unix.GetsockoptTCPInfo(c, unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
		return time.Duration(info.Last_data_recv) * time.Millisecond
	}
	return 0
}

// synTimestamp reads the SYN the kernel saved for accepted socket c
// (TCP_SAVE_SYN on the listener: its IPv4 and TCP headers, given once)
// and returns its timestamp option's TSval.
func synTimestamp(c int) (uint32, bool) {
	var buf [120]byte // an IPv4 header and a TCP header, options included, at most 60 bytes each
	n := uint32(len(buf))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(c), unix.IPPROTO_TCP, unix.TCP_SAVED_SYN,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0); e != 0 {
		return 0, false
	}
	return tsvalOf(buf[:min(int(n), len(buf))])
}

// tsvalOf finds the TCP timestamp option's TSval in an IPv4 packet's
// headers (RFC 7323 section 3: kind 8, length 10, TSval, TSecr).
func tsvalOf(pkt []byte) (uint32, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return 0, false
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || len(pkt) < ihl+20 {
		return 0, false
	}
	tcp := pkt[ihl:]
	doff := int(tcp[12]>>4) * 4
	if doff < 20 || len(tcp) < doff {
		return 0, false
	}
	for opts := tcp[20:doff]; len(opts) > 0; {
		switch kind := opts[0]; kind {
		case 0: // end of options
			return 0, false
		case 1: // no-operation
			opts = opts[1:]
		default:
			if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
				return 0, false
			}
			if kind == 8 && opts[1] == 10 {
				return binary.BigEndian.Uint32(opts[2:6]), true
			}
			opts = opts[opts[1]:]
		}
	}
	return 0, false
}

// Mark forgets everything seen so far and starts a new window.
func (r *Recorder) Mark() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.seen)
	clear(r.synTS)
	r.accepts = 0
	r.unclean = 0
	r.epoch = time.Now()
}

// Close stops accepting and closes the connections still held.
func (r *Recorder) Close() {
	for _, ln := range r.lns {
		ln.Close()
	}
	r.held.close()
	r.wg.Wait()
}

// Figures gives the percentiles of the intervals between consecutive
// connections to each target seen in the window (see Intervals for from).
func (r *Recorder) Figures(from int) Figures {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := Intervals(r.seen, from, r.accepts, time.Since(r.epoch))
	f.Unclean = r.unclean
	// Each target's SYN timestamps as instants on a timeline of its
	// own (ms from its first, the 32-bit clock's wrap undone), for
	// Intervals.
	byTarget := make(map[netip.AddrPort][]int64, len(r.synTS))
	for t, ts := range r.synTS {
		at := make([]int64, len(ts))
		for i := 1; i < len(ts); i++ {
			at[i] = at[i-1] + int64(int32(ts[i]-ts[i-1]))*int64(time.Millisecond)
		}
		byTarget[t] = at
	}
	syn := Intervals(byTarget, from, 0, 0)
	f.SYN.Count, f.SYN.P1, f.SYN.P50, f.SYN.P99, f.SYN.Max = syn.Count, syn.P1, syn.P50, syn.P99, syn.Max
	return f
}

// Intervals sorts each target's instants (nanoseconds) and gives the
// percentiles of the intervals between consecutive ones, from each
// target's from-th interval on (0 and 1 both mean all of them; 2 skips
// the first round, which also carries the checker's start-up).
func Intervals(seen map[netip.AddrPort][]int64, from, accepts int, window time.Duration) Figures {
	var intervals []int64
	for _, ts := range seen {
		slices.Sort(ts)
		for i := max(from, 1); i < len(ts); i++ {
			intervals = append(intervals, ts[i]-ts[i-1])
		}
	}
	slices.Sort(intervals)
	pct := func(p float64) int64 {
		if len(intervals) == 0 {
			return 0
		}
		return intervals[min(len(intervals)-1, int(p*float64(len(intervals))))]
	}
	f := Figures{Accepts: accepts, Targets: len(seen), Count: len(intervals), Window: int64(window),
		P1: pct(0.01), P50: pct(0.50), P99: pct(0.99), Max: pct(1)}
	if f.P50 > 0 && window > 0 {
		f.LatePerSecond = make([]int, int(window/time.Second)+1)
		for _, ts := range seen {
			for i := max(from, 1); i < len(ts); i++ {
				if d := ts[i] - ts[i-1]; d > f.P50+f.P50/100 && ts[i] >= 0 {
					f.LatePerSecond[min(int(ts[i]/int64(time.Second)), len(f.LatePerSecond)-1)]++
				}
			}
		}
	}
	return f
}

// RaiseNofile lifts the soft open-files limit to the hard one (children
// inherit it).
func RaiseNofile() error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	rl.Cur = rl.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
}
