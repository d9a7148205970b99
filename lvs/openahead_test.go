package lvs_test

import (
	"slices"
	"testing"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// The table read while the configuration was read (lvs.OpenAhead) is the
// first write's view: that write reads nothing more and costs what
// differs from it.
func TestFirstWriteStartsFromTheTableReadAhead(t *testing.T) {
	want := lvstest.SyntheticTable(3, 4)
	held := want.Clone()
	held[1].Destinations[2].Weight = 7
	k := lvstest.NewFakeKernel(held)
	m := lvs.NewManager(k, lvs.ManagerOptions{Table: held.Clone()})
	m.SetConfig(lvstest.SyntheticConfig(3, 4))
	if r := k.ReadsSoFar(); r.Tables != 0 {
		t.Fatalf("the first write read the table %d times, want none: it was read ahead", r.Tables)
	}
	if got := lvs.OpStrings(k.Applied); len(got) != 1 || k.Applied[0].Kind != lvs.OpEditDestination {
		t.Fatalf("applied %v, want the one edit of the weight that differs", got)
	}
	requireTable(t, k, want)
}

// A table read ahead may be older than the first write: when the kernel
// refuses an operation, lvsd reads the table and tries once more, as a
// write from its own view does. Here a service came between the read and
// the write with one real server at another weight and one missing: the
// retry edits the weight that the refused add left wrong.
func TestFirstWriteFromAStaleReadAheadRereadsAndRetries(t *testing.T) {
	want := lvstest.SyntheticTable(3, 4)
	came := want[:1].Clone()
	came[0].Destinations[0].Weight = 9
	came[0].Destinations = slices.Delete(came[0].Destinations, 3, 4)
	k := lvstest.NewFakeKernel(came)
	m := lvs.NewManager(k, lvs.ManagerOptions{Table: lvs.Table{}})
	m.SetConfig(lvstest.SyntheticConfig(3, 4))
	if r := k.ReadsSoFar(); r.Tables != 1 {
		t.Fatalf("read the table %d times, want once: after the refusal", r.Tables)
	}
	requireTable(t, k, want)
	if c := m.Counters(); c.Errors == 0 {
		t.Fatal("the refusals were not counted")
	}
}

// requireTable fails unless k holds want (settings and destinations).
func requireTable(t *testing.T, k *lvstest.FakeKernel, want lvs.Table) {
	t.Helper()
	got, _ := k.Table()
	if ops := lvs.Plan(want, got); len(ops) != 0 || len(got) != len(want) {
		t.Fatalf("the kernel holds %d services and differs from the desired table by %v", len(got), lvs.OpStrings(ops))
	}
}

// closeCounter is a fake kernel that counts its Close calls.
type closeCounter struct {
	*lvstest.FakeKernel
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// An Opening hands its kernel over once, with the table it read; one
// that was not handed over is closed by Close, one that was is the
// caller's to close.
func TestOpeningHandsItsKernelOverOnceAndClosesItOtherwise(t *testing.T) {
	held := lvstest.SyntheticTable(2, 2)
	k := &closeCounter{FakeKernel: lvstest.NewFakeKernel(held)}
	o := lvs.OpenAheadWith(func() (lvs.Kernel, error) { return k, nil })
	got, table, _, err := o.Wait()
	if err != nil || got != lvs.Kernel(k) {
		t.Fatalf("Wait = %v, %v; want the kernel opened", got, err)
	}
	if ops := lvs.Plan(held, table); len(ops) != 0 || len(table) != len(held) {
		t.Fatalf("the table read ahead differs from the kernel's by %v", lvs.OpStrings(ops))
	}
	if again, _, _, err := o.Wait(); again != nil || err == nil {
		t.Fatal("a second Wait handed the kernel over again")
	}
	o.Close()
	if k.closed != 0 {
		t.Fatal("Close closed a kernel that Wait had handed over")
	}

	left := &closeCounter{FakeKernel: lvstest.NewFakeKernel(nil)}
	o = lvs.OpenAheadWith(func() (lvs.Kernel, error) { return left, nil })
	o.Close()
	o.Close()
	if left.closed != 1 {
		t.Fatalf("an Opening nobody took closed its kernel %d times, want once", left.closed)
	}
	if _, table, _, err := lvs.OpenAheadWith(func() (lvs.Kernel, error) { return left, nil }).Wait(); err != nil || table == nil {
		t.Fatalf("an empty table read ahead is %#v, %v; want an empty, non-nil table (nil means unread)", table, err)
	}
}
