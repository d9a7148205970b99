package lvs_test

import (
	"context"
	"slices"
	"testing"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

const flushService = `
virtual_server 192.0.2.50 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.50 80 {
  }
}
`

// TestFlushSettingsTakeAwayWhatKeepalivedSays: lvs_flush deletes the
// services lvsd does not own when it starts (its own are reconciled, not
// re-added); at stop, lvs_flush_on_stop VS deletes lvsd's services and
// leaves foreign ones, bare lvs_flush_on_stop empties the table, and
// neither leaves everything.
func TestFlushSettingsTakeAwayWhatKeepalivedSays(t *testing.T) {
	const own = "TCP:192.0.2.50:80"
	const foreign = "TCP:203.0.113.9:22"
	for _, tc := range []struct {
		name       string
		global     string
		afterStart []string
		afterStop  []string
	}{
		{"neither", "", []string{own, foreign}, []string{own, foreign}},
		{"lvs_flush", "lvs_flush", []string{own}, []string{own}},
		{"lvs_flush_on_stop VS", "lvs_flush_on_stop VS", []string{own, foreign}, []string{foreign}},
		{"lvs_flush_on_stop", "lvs_flush_on_stop", []string{own, foreign}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hcltest.LoadKeepalived(t, "global_defs {\n"+tc.global+"\n}\n"+flushService)
			start := lvs.Desire(lvs.State{Config: cfg}).Table
			k := lvstest.NewFakeKernel(append(start, foreignService))
			m := lvs.NewManager(k, lvs.ManagerOptions{})
			m.SetConfig(cfg)
			if got := tableKeys(k); !slices.Equal(got, tc.afterStart) {
				t.Errorf("after start: %v, want %v", got, tc.afterStart)
			}
			for _, op := range k.Applied {
				if op.Kind == lvs.OpDeleteService && op.Service.Key() == own {
					t.Errorf("start deleted lvsd's own service: %v", lvs.OpStrings(k.Applied))
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := m.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if got := tableKeys(k); !slices.Equal(got, tc.afterStop) {
				t.Errorf("after stop: %v, want %v", got, tc.afterStop)
			}
		})
	}
}

func tableKeys(k *lvstest.FakeKernel) []string {
	t, _ := k.Table()
	var keys []string
	for i := range t {
		keys = append(keys, t[i].Key())
	}
	slices.Sort(keys)
	return keys
}
