package lvs

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// batchWriter writes IPVS commands over one generic-netlink socket, many
// per sendmsg. Only the last message of a batch asks for an ack; the
// kernel processes a batch's messages in order inside the sendmsg and
// answers each failure with its own NLMSG_ERROR, so once the last one is
// answered every failure of the batch has been read. ipvsadm and
// keepalived instead pay one round trip per command.
type batchWriter struct {
	fd     int
	family uint16
	seq    uint32
	// maxBatch bounds the bytes sent per sendmsg (kept under the default
	// socket send buffer).
	maxBatch int
	// buf holds a batch: made for a write at its size (opMessageGuess per
	// operation, maxBatch at most), kept for the next one only if it
	// is small (keepBatchBuf: a health event's, a few services'), so the
	// first write's 128 KiB or more leave the steady heap (0.17 MB of it
	// on the checks benchmark's table before).
	buf  []byte
	rbuf []byte
}

const (
	defaultMaxBatch = 128 << 10
	// opMessageGuess is room for one operation's message (a real server's
	// is 150-170 bytes); keepBatchBuf is the largest batch buffer kept.
	opMessageGuess = 192
	keepBatchBuf   = 16 << 10
	netlinkCapAck  = 10 // NETLINK_CAP_ACK: errors without the request echoed
	ackTimeout     = 30 * time.Second
)

// openGenetlink opens a NETLINK_GENERIC socket in the network namespace
// at netnsPath ("" = the current one).
func openGenetlink(netnsPath string) (int, error) {
	if netnsPath == "" {
		return unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	// A fresh locked goroutine: if switching back fails, its thread dies
	// with it instead of serving other goroutines in the wrong namespace.
	go func() {
		runtime.LockOSThread()
		fd, err := socketInNamespace(netnsPath)
		if err == nil || !errors.Is(err, errRestoreNamespace) {
			runtime.UnlockOSThread()
		}
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

var errRestoreNamespace = errors.New("cannot return to the original network namespace")

func socketInNamespace(netnsPath string) (int, error) {
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return -1, err
	}
	defer orig.Close()
	target, err := os.Open(netnsPath)
	if err != nil {
		return -1, fmt.Errorf("network namespace %s: %w", netnsPath, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return -1, fmt.Errorf("entering network namespace %s: %w", netnsPath, err)
	}
	fd, serr := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		if serr == nil {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("%w: %v", errRestoreNamespace, err)
	}
	return fd, serr
}

func newBatchWriter(netnsPath string) (*batchWriter, error) {
	w, err := openBatchSocket(netnsPath)
	if err != nil {
		return nil, err
	}
	if err := w.resolveFamily(); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// openBatchSocket opens and sets up the socket of newBatchWriter, whose
// family is still to be resolved.
func openBatchSocket(netnsPath string) (*batchWriter, error) {
	fd, err := openGenetlink(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("generic netlink socket: %w", err)
	}
	// rbuf takes one datagram, which the kernel caps at 32 KiB
	// (readBufSize): a buffer of 1 MB stayed in the daemon's live heap.
	w := &batchWriter{fd: fd, maxBatch: defaultMaxBatch, rbuf: make([]byte, readBufSize)}
	// Room for many error answers at once; FORCE needs CAP_NET_ADMIN,
	// which programming IPVS needs anyway.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 1<<20) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, netlinkCapAck, 1)
	tv := unix.NsecToTimeval(ackTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return w, nil
}

func (w *batchWriter) Close() error { return unix.Close(w.fd) }

func (w *batchWriter) resolveFamily() error {
	w.seq++
	if err := unix.Sendto(w.fd, familyRequest(w.seq, "IPVS"), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("asking for the IPVS netlink family: %w", err)
	}
	n, _, err := unix.Recvfrom(w.fd, w.rbuf, 0)
	if err != nil {
		return fmt.Errorf("asking for the IPVS netlink family: %w", err)
	}
	id, err := parseFamilyID(w.rbuf[:n])
	if errors.Is(err, syscall.ENOENT) {
		return errNoIPVS
	}
	if err != nil {
		return fmt.Errorf("IPVS netlink family: %w", err)
	}
	w.family = id
	return nil
}

// Apply sends ops in batches. It returns how many operations the kernel
// answered, the refused ones among them, and what stopped it early.
func (w *batchWriter) Apply(ops []Op) (int, []Refusal, error) {
	if need := min(len(ops)*opMessageGuess, w.maxBatch+opMessageGuess); cap(w.buf) < need {
		w.buf = make([]byte, 0, need)
	}
	defer func() {
		if cap(w.buf) > keepBatchBuf {
			w.buf = nil
		}
	}()
	var refused []Refusal
	done := 0
	for start := 0; start < len(ops); {
		w.buf = w.buf[:0]
		first := w.seq + 1
		end := start
		lastAt := 0
		for end < len(ops) && (end == start || len(w.buf) < w.maxBatch) {
			w.seq++
			lastAt = len(w.buf)
			var err error
			w.buf, err = appendOpMessage(w.buf, w.family, w.seq, nlmFRequest, &ops[end])
			if err != nil {
				return done, refused, err
			}
			end++
		}
		// Ask for an ack on the last message only.
		native.PutUint16(w.buf[lastAt+6:], nlmFRequest|nlmFAck)
		last := w.seq
		if err := unix.Sendto(w.fd, w.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return done, refused, fmt.Errorf("sending %d IPVS commands: %w", end-start, err)
		}
		failed, err := w.readAcks(first, last)
		if err != nil {
			return done, refused, err
		}
		for seq := first; seq <= last; seq++ {
			if errno, ok := failed[seq]; ok {
				refused = append(refused, Refusal{Op: ops[start+int(seq-first)], Err: errno})
			}
		}
		done = end
		start = end
	}
	return done, refused, nil
}

// readAcks reads answers until the one for last, and returns the failures
// among first..last by sequence number.
func (w *batchWriter) readAcks(first, last uint32) (map[uint32]syscall.Errno, error) {
	failed := map[uint32]syscall.Errno{}
	for {
		n, _, err := unix.Recvfrom(w.fd, w.rbuf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if errors.Is(err, unix.ENOBUFS) {
				return nil, errors.New("IPVS answers lost (socket buffer overrun): table state unknown, re-read needed")
			}
			return nil, fmt.Errorf("reading IPVS answers: %w", err)
		}
		acks, err := parseAcks(w.rbuf[:n])
		if err != nil {
			return nil, fmt.Errorf("reading IPVS answers: %w", err)
		}
		for _, a := range acks {
			if a.seq < first || a.seq > last {
				continue // a late answer to something earlier
			}
			if a.errno != 0 {
				failed[a.seq] = a.errno
			}
			if a.seq == last {
				return failed, nil
			}
		}
	}
}

// daemonCommand sends one IPVS_CMD_NEW_DAEMON or IPVS_CMD_DEL_DAEMON and
// returns the kernel's answer (a syscall.Errno, or nil).
func (w *batchWriter) daemonCommand(cmd uint8, d *SyncDaemon) error {
	w.seq++
	msg, err := daemonMessage(w.family, w.seq, cmd, d)
	if err != nil {
		return err
	}
	return w.command(msg, "an IPVS daemon command")
}

// command sends one request framed with w.seq and returns the kernel's
// answer to it (a syscall.Errno, or nil); what names it in an error.
func (w *batchWriter) command(msg []byte, what string) error {
	if err := unix.Sendto(w.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sending %s: %w", what, err)
	}
	failed, err := w.readAcks(w.seq, w.seq)
	if err != nil {
		return err
	}
	if errno, ok := failed[w.seq]; ok {
		return errno
	}
	return nil
}

// daemons dumps the running sync daemons (IPVS_CMD_GET_DAEMON).
func (w *batchWriter) daemons() ([]SyncDaemon, error) {
	w.seq++
	msg, err := daemonMessage(w.family, w.seq, ipvsCmdGetDaemon, nil)
	if err != nil {
		return nil, err
	}
	if err := unix.Sendto(w.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("asking for the IPVS sync daemons: %w", err)
	}
	var out []SyncDaemon
	for {
		n, _, err := unix.Recvfrom(w.fd, w.rbuf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return nil, fmt.Errorf("reading the IPVS sync daemons: %w", err)
		}
		ds, done, err := parseDaemonDump(w.rbuf[:n], w.family, w.seq)
		out = append(out, ds...)
		if done {
			return out, err
		}
	}
}
