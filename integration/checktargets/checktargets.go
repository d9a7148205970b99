// Package checktargets is the target side of the health-check benchmarks
// (integration's TestBenchChecks37kTargets on the host, the VM's
// TestBenchChecksVsKeepalived): many TCP targets on 127.x.y.z addresses,
// one listener per port on 0.0.0.0, holding each connection until the
// checker closes it, recording when each target is
// connected to (when the kernel took the connection, not when the
// listener accepted it), and the spread of the interval between two checks of one
// target. dns.go holds the answer of the DNS servers the functional
// DNS_CHECK tests run (integration's namespace lab, the VM's group lab). It
// is a package of its own so both test binaries share it; it owns no lvsd
// behaviour.
package checktargets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"time"

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
}

// Recorder accepts connections on the target ports and notes, per target,
// when each arrived.
type Recorder struct {
	mu      sync.Mutex
	seen    map[netip.AddrPort][]int64
	accepts int
	unclean int // connections that ended otherwise than by the checker's FIN
	epoch   time.Time
	lns     []net.Listener
	wg      sync.WaitGroup
}

// Listen starts a Recorder on 0.0.0.0:BasePort.. with acceptors per port.
func Listen(acceptors int) (*Recorder, error) {
	r := &Recorder{seen: map[netip.AddrPort][]int64{}, epoch: time.Now()}
	for p := range Ports {
		ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp4", fmt.Sprintf("0.0.0.0:%d", BasePort+p))
		if err != nil {
			r.Close()
			return nil, err
		}
		r.lns = append(r.lns, ln)
		for range max(acceptors, 1) {
			r.wg.Add(1)
			go r.accept(ln)
		}
	}
	return r, nil
}

func (r *Recorder) accept(ln net.Listener) {
	defer r.wg.Done()
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		at := time.Since(r.epoch) - handshakeAge(c)
		local, perr := netip.ParseAddrPort(c.LocalAddr().String())
		// Held until the checker closes: a listener that closed first
		// left the checker's socket in CLOSE_WAIT, and when the
		// listener's kernel then reset its orphaned end (past the orphan
		// limit under emulation) the checker's SO_ERROR read EPIPE, a
		// failed attempt retried delay_before_retry later by both
		// keepalived and lvsd.
		go r.hold(c)
		if perr != nil {
			continue
		}
		r.mu.Lock()
		r.seen[local] = append(r.seen[local], int64(at))
		r.accepts++
		r.mu.Unlock()
	}
}

// hold reads c until the checker closes it (or resets it), then closes
// it: a TCP_CHECK sends nothing, so the read returns at the checker's FIN.
func (r *Recorder) hold(c net.Conn) {
	var b [64]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				r.mu.Lock()
				r.unclean++
				r.mu.Unlock()
			}
			break
		}
	}
	c.Close()
}

// handshakeAge is how long ago the kernel took c's last ACK (TCP_INFO's
// tcpi_last_ack_recv: the handshake's, or the checker's FIN right after
// it; jiffies, 4 ms at HZ=250): a connection counts when it was made, not
// when this process, starved on an emulated machine, got to accept it.
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
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			age = time.Duration(info.Last_ack_recv) * time.Millisecond
		}
	})
	return age
}

// Mark forgets everything seen so far and starts a new window.
func (r *Recorder) Mark() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.seen)
	r.accepts = 0
	r.unclean = 0
	r.epoch = time.Now()
}

// Close stops accepting.
func (r *Recorder) Close() {
	for _, ln := range r.lns {
		ln.Close()
	}
	r.wg.Wait()
}

// Figures gives the percentiles of the intervals between consecutive
// connections to each target seen in the window (see Intervals for from).
func (r *Recorder) Figures(from int) Figures {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := Intervals(r.seen, from, r.accepts, time.Since(r.epoch))
	f.Unclean = r.unclean
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
	return Figures{Accepts: accepts, Targets: len(seen), Count: len(intervals), Window: int64(window),
		P1: pct(0.01), P50: pct(0.50), P99: pct(0.99), Max: pct(1)}
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
