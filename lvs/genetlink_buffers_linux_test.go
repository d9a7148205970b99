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

// The table reader keeps the buffers of its answers for a second after a
// read, so that reads that come together (a status's chunks) share one
// set, and lets them go once no read came for that long: between repair
// passes (a reconcile_interval) the daemon's heap does not hold them,
// whatever the reads' outcome.
func TestTableReaderLetsItsBuffersGoWhenIdle(t *testing.T) {
	clock := newHandClock()
	r := &tableReader{sock: unknownFamilyWriter(t), now: clock.Now, after: clock.AfterFunc}
	held := func() *readBuffers {
		r.bufMu.Lock()
		defer r.bufMu.Unlock()
		return r.rb
	}
	readTable := func() error { _, _, err := r.read(); return err }
	readSome := func() error {
		_, _, err := r.readServices([]Service{{Protocol: "TCP", Addr: netip.MustParseAddrPort("192.0.2.1:80")}})
		return err
	}
	for _, step := range []struct {
		name    string
		advance time.Duration // before the step
		read    func() error  // nil: no read
		want    string        // "new", "same" (as the step before) or "none"
	}{
		{"a read of the table", 0, readTable, "new"},
		{"a read of some services half a second later", 500 * time.Millisecond, readSome, "same"},
		{"a second after the first read, half a second after the last", 500 * time.Millisecond, nil, "same"},
		{"a second after the last read", 500 * time.Millisecond, nil, "none"},
		{"the next pass's read", 10 * time.Second, readTable, "new"},
		{"a second later", time.Second, nil, "none"},
	} {
		clock.Advance(step.advance)
		before := held()
		if step.read != nil {
			if err := step.read(); !errors.Is(err, syscall.ENOENT) {
				t.Fatalf("%s from a family the kernel lacks: %v, want ENOENT", step.name, err)
			}
		}
		got := held()
		checkHeldBuffers(t, step.name, step.want, before, got)
	}
}

// A reader told to hold its buffers (a Manager whose passes come less
// than closePasses apart) keeps one set from one read to the next however
// far apart, and once told to stop, lets it go a second after the last
// read as before.
func TestTableReaderHoldsItsBuffersWhileTold(t *testing.T) {
	clock := newHandClock()
	r := &tableReader{sock: unknownFamilyWriter(t), now: clock.Now, after: clock.AfterFunc}
	held := func() *readBuffers {
		r.bufMu.Lock()
		defer r.bufMu.Unlock()
		return r.rb
	}
	readTable := func() {
		if _, _, err := r.read(); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("a read from a family the kernel lacks: %v, want ENOENT", err)
		}
	}
	for _, step := range []struct {
		name    string
		advance time.Duration // before the step
		hold    *bool         // told before the read, if not nil
		read    bool
		want    string // "new", "same" (as the step before) or "none"
	}{
		{"a read", 0, nil, true, "new"},
		{"told to hold half a second later", 500 * time.Millisecond, new(true), false, "same"},
		{"ten seconds later", 10 * time.Second, nil, false, "same"},
		{"the next pass's read", 0, nil, true, "same"},
		{"a minute later", time.Minute, nil, false, "same"},
		{"told to hold no longer, half a second on", 500 * time.Millisecond, new(false), false, "same"},
		{"a second after that", time.Second, nil, false, "none"},
		{"a read", 0, nil, true, "new"},
		{"a second after it", time.Second, nil, false, "none"},
		{"a read, told to hold again", 10 * time.Second, new(true), true, "new"},
		{"ten seconds later again", 10 * time.Second, nil, false, "same"},
	} {
		clock.Advance(step.advance)
		before := held()
		if step.hold != nil {
			r.holdBuffers(*step.hold)
		}
		if step.read {
			readTable()
		}
		got := held()
		checkHeldBuffers(t, step.name, step.want, before, got)
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

// checkHeldBuffers fails the test at a step whose reader holds got where
// it held before: want is "none" (no set), "new" (a set other than
// before) or "same" (before's).
func checkHeldBuffers(t *testing.T, step, want string, before, got *readBuffers) {
	t.Helper()
	switch {
	case want == "none" && got != nil:
		t.Fatalf("%s: the reader still holds its buffers", step)
	case want == "new" && (got == nil || got == before):
		t.Fatalf("%s: the reader holds %p (before %p), want a new set", step, got, before)
	case want == "same" && (got == nil || got != before):
		t.Fatalf("%s: the reader holds %p, want the set before, %p", step, got, before)
	}
}
