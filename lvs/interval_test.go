package lvs_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// TestManagerFollowsAReloadsReconcileInterval: the periodic repair runs at
// the reconcile_interval of the configuration in force. A reload that
// shortens it from an hour to 5 s brings the next pass to 5 s after the
// last (at once, when that is past), not an hour after; one that
// lengthens it again waits the new interval. Before, the interval of the
// configuration lvsd started with stayed until it stopped.
func TestManagerFollowsAReloadsReconcileInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lvstest.NewFakeKernel(nil)
		m := lvs.NewManager(k, lvs.ManagerOptions{})
		withInterval := func(d time.Duration) *hcl.Config {
			cfg := lvs.TestConfig()
			cfg.Global.LVSProgram = hcl.LVSProgramAlways
			cfg.Global.ReconcileInterval = d
			return cfg
		}
		m.SetConfig(withInterval(time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		deleteWeb := func() {
			k.Edit(func(t *lvs.Table) { *t = slices.DeleteFunc(*t, func(s lvs.Service) bool { return s.Key() == lvs.Web }) })
		}
		restored := func() bool {
			synctest.Wait()
			tbl, _ := k.Table()
			return tbl.Find(lvs.Web) != nil
		}
		start := time.Now()
		time.Sleep(time.Minute)
		deleteWeb()
		time.Sleep(time.Minute)
		if restored() {
			t.Fatal("repaired before the hour's pass")
		}
		m.SetConfig(withInterval(5 * time.Second))
		if !restored() {
			t.Fatalf("%v after the last pass, a reload to reconcile_interval 5s did not bring the next pass at once", time.Since(start))
		}
		deleteWeb()
		time.Sleep(4 * time.Second)
		if restored() {
			t.Fatal("repaired before the 5s interval")
		}
		time.Sleep(time.Second)
		if !restored() {
			t.Fatal("not repaired 5s after the last pass")
		}
		m.SetConfig(withInterval(time.Hour))
		deleteWeb()
		time.Sleep(30 * time.Second)
		if restored() {
			t.Fatal("repaired at the old 5s interval after a reload to an hour")
		}
		time.Sleep(time.Hour)
		if !restored() {
			t.Fatal("not repaired an hour after the reload's pass")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
