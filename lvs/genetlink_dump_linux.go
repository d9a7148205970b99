package lvs

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tableReader reads the whole table over a generic-netlink socket of its
// own (genetlink_dump.go has the protocol). A dump answer is queued while
// the request is sent (netlink_dump runs inside sendmsg), and each read of
// an answer queues the next part, the last one NLMSG_DONE, inside that
// recvmsg; so one recvmmsg after each sendto collects a whole dump, and a
// read of N services costs 2N+2 system calls and no waiting. moby/ipvs
// pays four calls per dump and a fresh 64 KiB buffer per datagram.
type tableReader struct {
	sock *batchWriter // the socket setup and family of the writer's kind
	req  []byte
	// rb holds the answers' buffers, made by the first read; their
	// datagrams' memory is mem, outside the Go heap (pages). Its pages
	// stay resident for readBuffersIdle after each read, so that the
	// reads that come together (a status's chunks of 16 services, a
	// repair pass's two reads) fault them in once, and are given back
	// once no read came for that long: between repair passes (a
	// reconcile_interval) they are address space only. On the heap, a
	// set (0.26 MB on the checks benchmark's table) was either kept in
	// the steady heap or made again, garbage, every pass
	// (docs/benchmarks.md, "Session 11"). bufMu guards them against the
	// release's timer; reads are serial (linuxKernel.readMu).
	bufMu     sync.Mutex
	rb        *readBuffers
	mem       pages
	reading   bool                        // a read uses rb
	lastUse   time.Time                   // when the last read ended
	idleArmed bool                        // a release is scheduled
	now       func() time.Time            // time.Now; tests set it
	after     func(time.Duration, func()) // time.AfterFunc; tests set it
	cost      ReadCost                    // of the read in progress
	// lastServices and lastDests size the next read's slices.
	lastServices, lastDests int
}

// readBuffers are the datagram buffers of one recvmmsg and the headers
// that point at them.
type readBuffers struct {
	bufs [readSlots][]byte
	iovs [readSlots]unix.Iovec
	msgs [readSlots]unix.Mmsghdr
}

// readSlots is how many datagrams one recvmmsg takes; readBufSize is
// each one's buffer: the kernel caps a dump's datagram at 32 KiB
// (netlink_recvmsg's max_recvmsg_len, SKB_WITH_OVERHEAD(32768)).
const (
	readSlots   = 8
	readBufSize = 32 << 10
	// readBuffersIdle is how long the buffers outlive the last read:
	// longer than a status waits between two chunks (statusYieldMax).
	readBuffersIdle = time.Second
)

func newTableReader(netnsPath string) (*tableReader, error) {
	sock, err := newBatchWriter(netnsPath)
	if err != nil {
		return nil, err
	}
	sock.rbuf = nil // the reader has its own buffers, made on first use
	return &tableReader{sock: sock}, nil
}

// Close closes the reader's socket and unmaps its buffers, unless a read
// is using them (a status read the daemon's stop or a reload did not wait
// for): that read ends on the closed socket, and the mapping goes with the
// reader (pages' cleanup).
func (r *tableReader) Close() error {
	r.bufMu.Lock()
	if !r.reading {
		r.mem.unmap()
		r.rb = nil
	}
	r.bufMu.Unlock()
	return r.sock.Close()
}

// read dumps the table: services in dump order, each one's destinations
// in its list order (Destination.Position), not yet sorted.
func (r *tableReader) read() (Table, ReadCost, error) {
	start := time.Now()
	r.cost = ReadCost{}
	r.takeBuffers()
	defer r.giveBuffersBack()
	t := make(Table, 0, r.lastServices)
	err := r.dump(nil, func(b []byte, seq uint32) (bool, error) {
		var done bool
		var err error
		t, done, err = parseServiceDump(b, r.sock.family, seq, t)
		return done, err
	})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, r.cost, fmt.Errorf("%w (%w)", errNoIPVS, err)
		}
		return nil, r.cost, fmt.Errorf("reading IPVS services: %w", err)
	}
	// Every service's real servers are cut from one slice, as many as
	// the previous read found.
	slab := make([]Destination, 0, r.lastDests)
	total := 0
	for i := range t {
		s := &t[i]
		room := cap(slab) - len(slab)
		s.Destinations = slab[len(slab):]
		err := r.dump(s, func(b []byte, seq uint32) (bool, error) {
			return parseDestDump(b, r.sock.family, seq, s)
		})
		if err != nil {
			return nil, r.cost, fmt.Errorf("reading real servers of %s: %w", s.Key(), err)
		}
		n := len(s.Destinations)
		total += n
		switch {
		case n == 0:
			s.Destinations = nil
		case n <= room: // appended in place, not moved out
			s.Destinations = s.Destinations[:n:n]
			slab = slab[:len(slab)+n]
		}
	}
	r.lastServices, r.lastDests = len(t), total
	r.cost.Took = time.Since(start)
	return t, r.cost, nil
}

// takeBuffers gives the read about to start its buffers, made on the
// first read.
func (r *tableReader) takeBuffers() {
	r.bufMu.Lock()
	defer r.bufMu.Unlock()
	r.reading = true
	if r.rb != nil {
		return
	}
	rb := &readBuffers{}
	data := r.mem.get(readSlots * readBufSize)
	for i := range rb.bufs {
		rb.bufs[i] = data[i*readBufSize : (i+1)*readBufSize : (i+1)*readBufSize]
		rb.iovs[i].Base = &rb.bufs[i][0]
		rb.iovs[i].SetLen(readBufSize)
		rb.msgs[i].Hdr.Iov = &rb.iovs[i]
		rb.msgs[i].Hdr.SetIovlen(1)
	}
	r.rb = rb
}

// giveBuffersBack ends takeBuffers: the pages stay for readBuffersIdle.
func (r *tableReader) giveBuffersBack() {
	r.bufMu.Lock()
	defer r.bufMu.Unlock()
	r.reading = false
	r.lastUse = r.clock()
	if !r.idleArmed {
		r.idleArmed = true
		r.afterFunc(readBuffersIdle, r.releaseIdle)
	}
}

// releaseIdle gives the buffers' pages back if no read used them for
// readBuffersIdle, or looks again when that will be the case.
func (r *tableReader) releaseIdle() {
	r.bufMu.Lock()
	defer r.bufMu.Unlock()
	r.idleArmed = false
	if r.reading {
		return // the read's end looks again
	}
	if idle := r.clock().Sub(r.lastUse); idle < readBuffersIdle {
		r.idleArmed = true
		r.afterFunc(readBuffersIdle-idle, r.releaseIdle)
		return
	}
	r.mem.drop()
}

func (r *tableReader) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

func (r *tableReader) afterFunc(d time.Duration, f func()) {
	if r.after != nil {
		r.after(d, f)
		return
	}
	time.AfterFunc(d, f)
}

// readServices reads the services which names, each with a GET_SERVICE
// request and its GET_DEST dump request in one sendto, and the answers of
// both in one recvmmsg: what read costs per service, for the few a
// repair pass reads. A service the kernel does not hold is left out.
func (r *tableReader) readServices(which []Service) (Table, ReadCost, error) {
	start := time.Now()
	r.cost = ReadCost{}
	r.takeBuffers()
	defer r.giveBuffersBack()
	var t Table
	for i := range which {
		s, ok, err := r.readService(&which[i])
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				err = fmt.Errorf("%w (%w)", errNoIPVS, err)
			}
			return nil, r.cost, fmt.Errorf("reading %s: %w", which[i].Key(), err)
		}
		if ok {
			t = append(t, s)
		}
	}
	r.cost.Services = len(which)
	r.cost.Took = time.Since(start)
	return t, r.cost, nil
}

// readService reads one service and its real servers (ok false: the
// kernel has no such service).
func (r *tableReader) readService(id *Service) (Service, bool, error) {
	w := r.sock
	w.seq += 2
	getSeq, dumpSeq := w.seq-1, w.seq
	r.req = serviceRequest(r.req[:0], w.family, getSeq, id)
	r.req = dumpRequest(r.req, w.family, dumpSeq, id)
	r.cost.Requests++ // the GET_SERVICE; dump counts its own
	var svc Service
	answered := false
	var answerErr error
	dests := id.identity() // the real servers' family defaults to the service's
	err := r.exchange(dumpSeq, func(b []byte) (bool, error) {
		if !answered {
			s, ok, err := parseServiceAnswer(b, w.family, getSeq)
			if ok || err != nil {
				svc, answered, answerErr = s, true, err
			}
		}
		return parseDestDump(b, w.family, dumpSeq, &dests)
	})
	switch {
	case err != nil:
		return svc, false, err
	case !answered:
		return svc, false, errors.New("no answer to IPVS_CMD_GET_SERVICE")
	case errors.Is(answerErr, unix.ESRCH):
		return svc, false, nil
	case answerErr != nil:
		return svc, false, answerErr
	}
	svc.Destinations = dests.Destinations
	return svc, true, nil
}

// dump sends the dump request for svc (the services when nil) and hands
// each datagram of the answer to parse until it reports the end.
func (r *tableReader) dump(svc *Service, parse func(b []byte, seq uint32) (bool, error)) error {
	w := r.sock
	w.seq++
	seq := w.seq
	r.req = dumpRequest(r.req[:0], w.family, seq, svc)
	return r.exchange(seq, func(b []byte) (bool, error) { return parse(b, seq) })
}

// exchange sends r.req, which ends with the dump request seq, and hands
// each datagram of the answers to parse until it reports the dump's end.
func (r *tableReader) exchange(seq uint32, parse func(b []byte) (bool, error)) error {
	w := r.sock
	if err := unix.Sendto(w.fd, r.req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sending a dump request: %w", err)
	}
	r.cost.Requests++
	r.cost.Syscalls++
	var failed error
	for {
		n, err := r.recvmmsg()
		if err != nil {
			return err
		}
		for i := range n {
			m := &r.rb.msgs[i]
			b := r.rb.bufs[i][:m.Len]
			if m.Hdr.Flags&unix.MSG_TRUNC != 0 && failed == nil {
				failed = fmt.Errorf("a dump answer of more than %d bytes", readBufSize)
			}
			var done bool
			if failed == nil {
				var err error
				if done, err = parse(b); err != nil {
					failed = err
					if !done {
						continue // the rest of the dump is still to be read
					}
				}
			} else {
				// Read the dump to its end, or the kernel would refuse the
				// socket's next dump (EBUSY).
				done, _ = walkDump(b, w.family, seq, func(uint8, []byte) error { return nil })
			}
			if done {
				// A dump ends with its NLMSG_DONE: nothing of it follows.
				return failed
			}
		}
	}
}

// recvmmsg receives up to readSlots datagrams, waiting for the first only
// (MSG_WAITFORONE). x/sys/unix has the types but no wrapper for it.
func (r *tableReader) recvmmsg() (int, error) {
	rb := r.rb
	for i := range rb.msgs {
		rb.msgs[i].Len = 0
		rb.msgs[i].Hdr.Flags = 0
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.sock.fd),
			uintptr(unsafe.Pointer(&rb.msgs[0])), uintptr(len(rb.msgs)), unix.MSG_WAITFORONE, 0, 0)
		runtime.KeepAlive(rb)
		r.cost.Syscalls++
		switch errno {
		case 0:
			r.cost.Datagrams += int(n)
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.ENOBUFS:
			return 0, errors.New("IPVS dump answers lost (socket buffer overrun)")
		}
		return 0, fmt.Errorf("reading IPVS dump answers: %w", errno)
	}
}
