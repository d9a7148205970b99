package checks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/leakcheck"
	"github.com/lvsd/lvsd/internal/script"
)

// lingeringScripts fails the first MISC_CHECK attempt (so the real server
// goes down and its notify_down runs); every later script runs until its
// context is done and then takes linger to end, as a killed process group
// takes a moment to be reaped.
type lingeringScripts struct {
	linger  time.Duration
	checks  chan struct{} // one send per MISC_CHECK attempt
	notify  chan struct{} // one send per notify script
	started bool
}

func (l *lingeringScripts) Run(ctx context.Context, s script.Script) (script.Result, error) {
	if s.Command == "/lvsd-test/check" {
		first := !l.started // attempts of one check never overlap
		l.started = true
		l.checks <- struct{}{}
		if first {
			return script.Result{ExitCode: 1}, nil
		}
	} else {
		l.notify <- struct{}{}
	}
	<-ctx.Done()
	time.Sleep(l.linger)
	return script.Result{ExitCode: -1}, ctx.Err()
}

// TestRunWaitsForAttemptsAndNotifyScripts: when Run returns, no attempt
// and no notify script of the Manager still runs (issue 11, defect 7).
func TestRunWaitsForAttemptsAndNotifyScripts(t *testing.T) {
	cfg := hcltest.Load(t, `
global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" {
    notify_down = "/lvsd-test/notify down"
    MISC_CHECK {
      misc_path          = "/lvsd-test/check"
      delay_loop         = "20ms"
      retry              = 0
      delay_before_retry = "20ms"
    }
  }
}`)
	// Run must wait the linger out; one that did not would return with
	// the scripts' goroutines alive for about a second, which the leak
	// check's half second sees, while a goroutine that has finished gets
	// that half second to exit even on a loaded host.
	scripts := &lingeringScripts{linger: time.Second, checks: make(chan struct{}, 10), notify: make(chan struct{}, 10)}
	m := NewManager(cfg, Options{Scripts: scripts, Rand: func(int64) int64 { return 0 }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for _, c := range []chan struct{}{scripts.checks, scripts.notify, scripts.checks} {
		select {
		case <-c:
		case <-time.After(5 * time.Second):
			t.Fatal("the down transition's notify script and a second attempt did not start")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	leakcheck.None(t, "github.com/lvsd/lvsd/checks.", 500*time.Millisecond)
}
