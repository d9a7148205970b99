package announce_test

import (
	"context"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/lvs"
)

// TestDrainWithdrawsEveryVIPAndUndoAnnouncesThemAgain: SetDrain withdraws
// every VIP with its reason while the speaker keeps its sessions, and
// SetDrain("") hands the decision back to the quorum.
func TestDrainWithdrawsEveryVIPAndUndoAnnouncesThemAgain(t *testing.T) {
	cfg := loadCluster(t)
	sp := newFakeSpeaker()
	a := announce.New(cfg, announce.Options{Speaker: sp, Interval: time.Hour, Services: func() []lvs.ServiceStatus { return healthy(cfg) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	all := []string{"192.0.2.100/32", "192.0.2.200/32", "2001:db8::100/128"}
	sp.waitFor(t, all)
	if a.Withdrawn() {
		t.Fatal("Withdrawn with every VIP announced")
	}

	a.SetDrain("lvsd drain")
	sp.waitFor(t, nil)
	for deadline := time.Now().Add(5 * time.Second); !a.Withdrawn(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the routes are gone but Withdrawn says no")
		}
	}
	st := a.Status(context.Background())
	for _, d := range st.Decisions {
		if d.Announce || d.Reason != "lvsd drain" {
			t.Errorf("while drained: %+v", d)
		}
	}
	sp.mu.Lock()
	stopped := sp.stopped
	sp.mu.Unlock()
	if stopped {
		t.Error("draining stopped the speaker")
	}

	if reason, since := a.Draining(); reason != "lvsd drain" || since.IsZero() {
		t.Errorf("Draining() = %q, %v while drained", reason, since)
	}
	a.SetDrain("")
	sp.waitFor(t, all)
	if reason, since := a.Draining(); reason != "" || !since.IsZero() {
		t.Errorf("Draining() = %q, %v after the undo", reason, since)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
