package lvs_test

import (
	"context"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// A repair pass reads /proc/net/ip_vs into a buffer outside the Go heap
// and gives its pages back at its end, whether it keeps the parse for the
// next pass (passes close together) or not: between passes the file costs
// the daemon no memory.
func TestRepairPassGivesTheFilesPagesBack(t *testing.T) {
	for _, interval := range []time.Duration{time.Second, lvs.ClosePasses} {
		k := &procSizeKernel{FakeKernel: lvstest.NewFakeKernel(nil)}
		m := lvs.NewManager(k, lvs.ManagerOptions{Interval: interval})
		cfg := lvs.TestConfig()
		cfg.Global.LVSProgram = hcl.LVSProgramAlways
		m.SetConfig(cfg)
		for pass := range 3 {
			if n, err := m.Reconcile(context.Background()); n != 0 || err != nil {
				t.Fatalf("passes %s apart, pass %d = %d, %v", interval, pass, n, err)
			}
			if n := lvs.ProcBufferResident(t, m); n != 0 {
				t.Fatalf("passes %s apart, after pass %d: %d pages of the file's buffer resident, want none", interval, pass, n)
			}
		}
		if len(k.lens) < 2 || k.lens[len(k.lens)-1] == 0 {
			t.Fatalf("passes %s apart: the file was read %d times (last %v bytes), want a steady pass's read", interval, len(k.lens), k.lens)
		}
	}
}
