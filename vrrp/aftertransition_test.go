package vrrp

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestAfterTransitionComesOnceTheNewMastersActionsAreDone: the caller is
// told a transition is done (Options.AfterTransition) once for each call
// of its hook, and for a move to MASTER only after the VIP was added, the
// gratuitous ARPs and the first advert sent (RFC 3768 §6.4.2): lvsd's
// director holds scrapes and repair passes aside until then.
func TestAfterTransitionComesOnceTheNewMastersActionsAreDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fb := l.net("B", 2)
		cfg := hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", ""))
		n := NewNode(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Network: fb.network(), Clock: l.clock,
			OnTransition: func(_ context.Context, tr Transition) error {
				fb.record("hook %s->%s", tr.From, tr.To)
				return nil
			},
			AfterTransition: func(tr Transition) { fb.record("done %s->%s", tr.From, tr.To) },
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		l.settle()
		l.advance(MasterDownInterval(time.Second, 100))
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		log := l.snapshot()
		at := func(line string) int {
			t.Helper()
			i := slices.Index(log, line)
			if i < 0 {
				t.Fatalf("no %q in:\n%q", line, log)
			}
			return i
		}
		hook, add, garp, advert, told := at("B hook BACKUP->MASTER"), at("B add 192.0.2.100"), at("B garp 192.0.2.100 x5"), at("B advert 100"), at("B done BACKUP->MASTER")
		if !(hook < add && add < told && garp < told && advert < told) {
			t.Errorf("the takeover's steps in the order hook %d, VIP %d, GARP %d, advert %d, done %d, want done last:\n%q", hook, add, garp, advert, told, log)
		}
		var hooks, dones int
		for _, line := range log {
			switch {
			case len(line) > 7 && line[:7] == "B hook ":
				hooks++
			case len(line) > 7 && line[:7] == "B done ":
				dones++
			}
		}
		if hooks != dones || hooks < 2 {
			t.Errorf("%d hooks and %d dones over the start, the takeover and the stop, want as many of each:\n%q", hooks, dones, log)
		}
	})
}
