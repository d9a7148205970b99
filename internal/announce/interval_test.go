package announce_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/lvs"
)

// TestAnnouncerFollowsAReloadsReconcileInterval: without a kick the
// announcer decides again every reconcile_interval of the configuration
// in force, a reload's too. A quorum lost behind its back is withdrawn
// at the hour's decision under an hour, and within 5 s once a reload made
// it 5 s. Before, the interval it started with stayed.
func TestAnnouncerFollowsAReloadsReconcileInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := loadCluster(t)
		cfg.Global.ReconcileInterval = time.Hour
		var mu sync.Mutex
		services := healthy(cfg)
		sp := newFakeSpeaker()
		a := announce.New(cfg, announce.Options{Speaker: sp, Services: func() []lvs.ServiceStatus {
			mu.Lock()
			defer mu.Unlock()
			return services
		}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		all := []string{"192.0.2.100/32", "192.0.2.200/32", "2001:db8::100/128"}
		sp.waitFor(t, all)
		lose := func(vip string) {
			mu.Lock()
			services = with(services, vip, func(s *lvs.ServiceStatus) { s.QuorumUp = false })
			mu.Unlock()
		}
		lose("TCP:192.0.2.200:80")
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := sp.snapshot(); len(got) != 3 {
			t.Fatalf("a minute into an hour's interval, with no kick: %v, want the three routes still", got)
		}
		reloaded := *cfg
		reloaded.Global.ReconcileInterval = 5 * time.Second
		a.SetConfig(&reloaded) // decides at once (a kick)
		sp.waitFor(t, []string{"192.0.2.100/32", "2001:db8::100/128"})
		lose("TCP:192.0.2.100:80")
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if got := sp.snapshot(); len(got) != 2 {
			t.Fatalf("4 s after the reload's decision: %v, want no change before its 5 s interval", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := sp.snapshot(); len(got) != 1 {
			t.Fatalf("5 s after the reload's decision: %v, want 192.0.2.100 withdrawn", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
