package director

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
	"github.com/lvsd/lvsd/vrrp"
)

func TestHistoryKeepsTheNewestEventsFirstAndIsBounded(t *testing.T) {
	var h history
	for i := range historySize + 10 {
		h.add(Event{Subject: fmt.Sprint(i)})
	}
	got := h.newestFirst()
	if len(got) != historySize {
		t.Fatalf("kept %d events, want %d", len(got), historySize)
	}
	if got[0].Subject != fmt.Sprint(historySize+9) || got[historySize-1].Subject != "10" {
		t.Errorf("newest %s, oldest %s; want %d and 10", got[0].Subject, got[historySize-1].Subject, historySize+9)
	}
}

// TestReportListsTransitionsWithTheirReasons: a VRRP transition reaches
// the snapshot (and the status screen) with its reason.
func TestReportListsTransitionsWithTheirReasons(t *testing.T) {
	cfg := hcltest.Load(t, `
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
}
`)
	d, err := New(cfg, Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.onTransition(context.Background(), vrrp.Transition{Instance: "VI_1", From: vrrp.StateBackup, To: vrrp.StateMaster, Reason: "master down timer expired"}); err != nil {
		t.Fatal(err)
	}
	r := d.Report()
	if len(r.Events) != 1 {
		t.Fatalf("events = %+v, want the one transition", r.Events)
	}
	e := r.Events[0]
	if e.Kind != EventVRRP || e.Subject != "VI_1" || e.From != "BACKUP" || e.To != "MASTER" || e.Reason != "master down timer expired" || time.Since(e.Time) > time.Minute {
		t.Errorf("event = %+v", e)
	}
	var b strings.Builder
	Render(&b, r, false)
	if !strings.Contains(b.String(), "RECENT EVENTS") || !strings.Contains(b.String(), "BACKUP → MASTER") {
		t.Errorf("status screen lacks the transition:\n%s", b.String())
	}
}
