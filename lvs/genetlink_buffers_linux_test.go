package lvs

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
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

// The table reader holds the buffers of its answers only during a read:
// between reads (a repair pass every reconcile_interval) the daemon's
// heap does not hold them, whatever the read's outcome.
func TestTableReaderHoldsNoBuffersBetweenReads(t *testing.T) {
	r := &tableReader{sock: unknownFamilyWriter(t)}
	for _, read := range []struct {
		name string
		run  func() error
	}{
		{"a read of the table", func() error { _, _, err := r.read(); return err }},
		{"a read of some services", func() error {
			_, _, err := r.readServices([]Service{{Protocol: "TCP", Addr: netip.MustParseAddrPort("192.0.2.1:80")}})
			return err
		}},
		{"a second read of the table", func() error { _, _, err := r.read(); return err }},
	} {
		if err := read.run(); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("%s from a family the kernel lacks: %v, want ENOENT", read.name, err)
		}
		if r.rb != nil {
			t.Fatalf("after %s the reader still holds its buffers", read.name)
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
