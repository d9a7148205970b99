package resetguard

import (
	"errors"
	"net/netip"
	"testing"
)

// recordingImpl is a guardImpl that counts its calls and fails a hold on
// demand: the Guard's bookkeeping is pure logic.
type recordingImpl struct {
	failHold bool
	holds    int
	releases int
}

func (r *recordingImpl) hold([]netip.Addr) error {
	r.holds++
	if r.failHold {
		return errors.New("batch refused")
	}
	return nil
}

func (r *recordingImpl) release() (uint64, error) { r.releases++; return 0, nil }
func (r *recordingImpl) close() error             { return nil }

// TestReleaseAfterAFailedHoldStillFlushesTheChain: a Hold whose batch
// fails leaves the rules of an earlier Hold in the chain (a failed batch
// is aborted whole), so the next Release must still flush it; otherwise
// the old rules would drop the virtual addresses' resets until the
// director stops.
func TestReleaseAfterAFailedHoldStillFlushesTheChain(t *testing.T) {
	impl := &recordingImpl{}
	g := &Guard{impl: impl}
	a := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	if err := g.Hold(a); err != nil {
		t.Fatal(err)
	}
	impl.failHold = true
	if err := g.Hold([]netip.Addr{netip.MustParseAddr("192.0.2.2")}); err == nil {
		t.Fatal("the failing Hold returned no error")
	}
	if _, err := g.Release(); err != nil {
		t.Fatal(err)
	}
	if impl.releases != 1 {
		t.Errorf("Release after a failed Hold flushed the chain %d times, want 1 (the first Hold's rules stay otherwise)", impl.releases)
	}
}
