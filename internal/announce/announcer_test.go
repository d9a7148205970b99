package announce_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/lvs"
)

// fakeSpeaker records what the announcer sends.
type fakeSpeaker struct {
	mu       sync.Mutex
	started  *hcl.Announce
	stopped  bool
	routes   map[netip.Prefix]bool
	log      []string
	announce chan struct{}
}

func newFakeSpeaker() *fakeSpeaker {
	return &fakeSpeaker{routes: map[netip.Prefix]bool{}, announce: make(chan struct{}, 64)}
}

func (f *fakeSpeaker) Start(_ context.Context, cfg *hcl.Announce) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = cfg
	return nil
}

func (f *fakeSpeaker) Announce(_ context.Context, p netip.Prefix) error {
	f.mu.Lock()
	f.routes[p] = true
	f.log = append(f.log, "+"+p.String())
	f.mu.Unlock()
	f.announce <- struct{}{}
	return nil
}

func (f *fakeSpeaker) Withdraw(_ context.Context, p netip.Prefix) error {
	f.mu.Lock()
	delete(f.routes, p)
	f.log = append(f.log, "-"+p.String())
	f.mu.Unlock()
	f.announce <- struct{}{}
	return nil
}

func (f *fakeSpeaker) Peers(context.Context) []announce.PeerStatus { return nil }

func (f *fakeSpeaker) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	f.log = append(f.log, "stop")
}

func (f *fakeSpeaker) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for p := range f.routes {
		out = append(out, p.String())
	}
	slices.Sort(out)
	return out
}

func (f *fakeSpeaker) waitFor(t *testing.T, want []string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !slices.Equal(f.snapshot(), want) {
		select {
		case <-f.announce:
		case <-deadline:
			t.Fatalf("routes %v, want %v", f.snapshot(), want)
		}
	}
}

func TestAnnouncerFollowsQuorumAndWithdrawsEverythingBeforeStopping(t *testing.T) {
	cfg := loadCluster(t)
	var mu sync.Mutex
	services := healthy(cfg)
	sp := newFakeSpeaker()
	a := announce.New(cfg, announce.Options{Speaker: sp, Interval: time.Hour, Services: func() []lvs.ServiceStatus {
		mu.Lock()
		defer mu.Unlock()
		return services
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	sp.waitFor(t, []string{"192.0.2.100/32", "192.0.2.200/32", "2001:db8::100/128"})
	if sp.started != cfg.Announce {
		t.Errorf("speaker started with %v", sp.started)
	}

	mu.Lock()
	services = with(services, "TCP:192.0.2.200:80", func(s *lvs.ServiceStatus) { s.QuorumUp = false })
	mu.Unlock()
	a.Kick()
	sp.waitFor(t, []string{"192.0.2.100/32", "2001:db8::100/128"})

	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := a.Status(context.Background())
		if st.Changes == 4 && len(st.Decisions) == 3 && !st.Decisions[1].Announce {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v", st)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := sp.snapshot(); len(got) != 0 {
		t.Errorf("routes left after stop: %v", got)
	}
	if last := sp.log[len(sp.log)-1]; last != "stop" {
		t.Errorf("the speaker stopped before the last withdrawal: %v", sp.log)
	}
}

// TestMaintenanceFileWithdrawsWithoutStopping: while the maintenance file
// exists every VIP is withdrawn and the speaker keeps running; once it is
// removed the VIPs are announced again.
func TestMaintenanceFileWithdrawsWithoutStopping(t *testing.T) {
	base := loadCluster(t)
	maint := filepath.Join(t.TempDir(), "maintenance")
	cfg := *base
	an := *base.Announce
	an.MaintenanceFile = maint
	cfg.Announce = &an
	sp := newFakeSpeaker()
	a := announce.New(&cfg, announce.Options{Speaker: sp, Interval: time.Hour, Services: func() []lvs.ServiceStatus { return healthy(&cfg) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	all := []string{"192.0.2.100/32", "192.0.2.200/32", "2001:db8::100/128"}
	sp.waitFor(t, all)

	if err := os.WriteFile(maint, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sp.waitFor(t, nil)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := a.Status(context.Background())
		if len(st.Decisions) > 0 && st.Decisions[0].Reason == "maintenance file "+maint+" exists" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("decisions under maintenance: %+v", st.Decisions)
		}
	}
	sp.mu.Lock()
	stopped := sp.stopped
	sp.mu.Unlock()
	if stopped {
		t.Error("the maintenance file stopped the speaker")
	}

	if err := os.Remove(maint); err != nil {
		t.Fatal(err)
	}
	sp.waitFor(t, all)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
