package lvs_test

import (
	"context"
	"testing"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// Quorums reports every configured service's quorum as Status does
// (QuorumUp, LiveWeight, SorryActive), in every chunk of services it
// computes apart (desireInChunks), and reads nothing of the kernel for
// it: the start's quorum alerts come from lvsd's own state.
func TestQuorumsAreStatusesWithoutAKernelRead(t *testing.T) {
	const services, reals = 150, 3 // more than two chunks
	cfg := lvstest.SyntheticConfig(services, reals)
	k := lvstest.NewFakeKernel(nil)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(cfg)
	if _, err := m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Quorum 1: a service whose real servers are all down loses it, one
	// with one down keeps it with less weight.
	for _, vs := range []int{3, 20, 149} {
		for j, rs := range cfg.VirtualServers[vs].RealServers {
			if vs != 20 || j == 0 {
				m.SetVerdict(lvs.VerdictKey{Service: cfg.VirtualServers[vs].Key(), Real: rs.Addr}, lvs.Verdict{Weight: -1, Reason: "down"})
			}
		}
	}
	before := k.ReadsSoFar()
	quorums := m.Quorums()
	if after := k.ReadsSoFar(); after != before {
		t.Fatalf("Quorums read the kernel: %+v, before %+v", after, before)
	}
	if len(quorums) != services {
		t.Fatalf("Quorums has %d services, want %d", len(quorums), services)
	}
	down := 0
	for _, st := range m.Status() {
		q, ok := quorums[st.Key]
		if !ok {
			t.Fatalf("Quorums lacks %s", st.Key)
		}
		if q.Up != st.QuorumUp || q.LiveWeight != st.LiveWeight || q.SorryActive != st.SorryActive {
			t.Errorf("%s: Quorums says %+v, Status up %v, live weight %d, sorry %v", st.Key, q, st.QuorumUp, st.LiveWeight, st.SorryActive)
		}
		if !q.Up {
			down++
		}
	}
	if down != 2 || quorums[cfg.VirtualServers[20].Key()].LiveWeight != reals-1 {
		t.Fatalf("%d services without quorum (want 2), live weight of the one with a real server down %d (want %d)",
			down, quorums[cfg.VirtualServers[20].Key()].LiveWeight, reals-1)
	}
}
