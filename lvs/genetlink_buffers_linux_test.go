package lvs

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// noSuchFamily is a generic-netlink family id the kernel never gives
// (genl_register_family allocates ids up to GENL_MAX_ID, 1023): a request
// to it is answered ENOENT, which needs neither IPVS nor a module.
const noSuchFamily = 0xfff0

// unknownFamilyWriter is a batch writer whose family the kernel lacks.
func unknownFamilyWriter(t *testing.T) *batchWriter {
	t.Helper()
	w, err := openBatchSocket("")
	if err != nil {
		t.Fatalf("generic netlink socket: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	w.family = noSuchFamily
	return w
}

// The table reader keeps the pages of its answers' buffers resident for a
// second after a read, so that reads that come together (a status's
// chunks) fault them in once, and gives them back once no read came for
// that long: between repair passes (a reconcile_interval) they are not
// in memory, whatever the reads' outcome. The buffers are the same ones
// all along, outside the Go heap (pages).
func TestTableReaderGivesItsBuffersPagesBackWhenIdle(t *testing.T) {
	clock := newHandClock()
	r := &tableReader{sock: unknownFamilyWriter(t), now: clock.Now, after: clock.AfterFunc}
	defer r.mem.unmap()
	resident := func() (*readBuffers, int) {
		r.bufMu.Lock()
		defer r.bufMu.Unlock()
		if r.rb == nil {
			return nil, 0
		}
		return r.rb, residentPages(t, r.mem.b)
	}
	readTable := func() error { _, _, err := r.read(); return err }
	readSome := func() error {
		_, _, err := r.readServices([]Service{{Protocol: "TCP", Addr: netip.MustParseAddrPort("192.0.2.1:80")}})
		return err
	}
	var first *readBuffers
	for _, step := range []struct {
		name     string
		advance  time.Duration // before the step
		read     func() error  // nil: no read
		resident bool
	}{
		{"a read of the table", 0, readTable, true},
		{"a read of some services half a second later", 500 * time.Millisecond, readSome, true},
		{"a second after the first read, half a second after the last", 500 * time.Millisecond, nil, true},
		{"a second after the last read", 500 * time.Millisecond, nil, false},
		{"the next pass's read", 10 * time.Second, readTable, true},
		{"a second later", time.Second, nil, false},
	} {
		clock.Advance(step.advance)
		if step.read != nil {
			if err := step.read(); !errors.Is(err, syscall.ENOENT) {
				t.Fatalf("%s from a family the kernel lacks: %v, want ENOENT", step.name, err)
			}
		}
		rb, n := resident()
		if first == nil {
			first = rb
		}
		switch {
		case rb == nil || rb != first:
			t.Fatalf("%s: the reader's buffers are %p, want the first read's %p", step.name, rb, first)
		case !r.mem.mapped:
			t.Fatalf("%s: the reader's buffers are not outside the Go heap", step.name)
		case (n > 0) != step.resident:
			t.Fatalf("%s: %d pages of the reader's buffers resident, want some: %v", step.name, n, step.resident)
		}
	}
}

// Closing a reader unmaps its buffers, but not under a read that is
// using them: that read's parse would fault on them.
func TestTableReaderClosesWithoutUnmappingARead(t *testing.T) {
	for _, reading := range []bool{false, true} {
		r := &tableReader{sock: unknownFamilyWriter(t)}
		r.takeBuffers()
		if !reading {
			r.giveBuffersBack()
		}
		b := r.rb.bufs[0]
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if r.mem.mapped != reading {
			t.Fatalf("a read in progress %v: after Close the buffers are mapped: %v", reading, r.mem.mapped)
		}
		if reading {
			b[0] = 1 // the read's buffer is still there
		}
	}
}

// A write makes its batch buffer at its size and keeps it only when it is
// small: the start's write of the whole table (here 1,000 real servers,
// some 160 KB) does not leave its buffer in the steady heap, a health
// event's few operations reuse theirs.
func TestBatchWriterKeepsOnlyASmallBuffer(t *testing.T) {
	w := unknownFamilyWriter(t)
	svc := Service{Protocol: "TCP", Addr: netip.MustParseAddrPort("192.0.2.1:80"), Scheduler: "wlc", Netmask: 32}
	ops := make([]Op, 1000)
	for i := range ops {
		ops[i] = Op{Kind: OpAddDestination, Service: svc, Destination: Destination{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80), Forward: ForwardRoute, Weight: 1}}
	}
	for _, write := range []struct {
		name     string
		ops      []Op
		wantKept bool
	}{
		{"the whole table", ops, false},
		{"a health event", ops[:3], true},
		{"another health event", ops[3:5], true},
		{"the whole table again", ops, false},
	} {
		done, refused, err := w.Apply(write.ops)
		if err != nil || done != len(write.ops) || len(refused) != len(write.ops) {
			t.Fatalf("%s to a family the kernel lacks: %d done, %d refused, %v; want all answered and refused", write.name, done, len(refused), err)
		}
		if cap(w.buf) > keepBatchBuf || (cap(w.buf) > 0) != write.wantKept {
			t.Fatalf("after %s the writer keeps a buffer of %d bytes; want one kept: %v, and never more than %d", write.name, cap(w.buf), write.wantKept, keepBatchBuf)
		}
	}
}
