package lvs_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// passLine is the pattern integration/vm/scenarios/takeover_test.go
// (tkPassLine) reads each periodic repair pass's start and end with, from
// the text log of `lvsd run --debug`. That test aims VRRP takeovers into a
// pass, and skips when it finds none: if this line changed, the takeover
// test would stop measuring without failing. Change both together.
var passLine = regexp.MustCompile(`time=(\S+) level=DEBUG msg="periodic IPVS repair pass".* took=(\S+)`)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run logs each periodic pass at debug level, in the form the takeover
// test parses: its end's time and how long it took.
func TestRunLogsEachRepairPassWithItsDuration(t *testing.T) {
	var out syncBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := lvs.NewManager(lvstest.NewFakeKernel(nil), lvs.ManagerOptions{Logger: log, Interval: time.Millisecond})
	cfg := lvs.TestConfig()
	cfg.Global.LVSProgram = hcl.LVSProgramAlways
	m.SetConfig(cfg)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var found []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if found = passLine.FindStringSubmatch(out.String()); found != nil {
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if found == nil {
		t.Fatalf("no line of a periodic pass matches %v in:\n%s", passLine, out.String())
	}
	if _, err := time.Parse(time.RFC3339Nano, found[1]); err != nil {
		t.Errorf("the pass's time %q: %v", found[1], err)
	}
	if took, err := time.ParseDuration(found[2]); err != nil || took < 0 {
		t.Errorf("the pass's duration %q: %v, %v", found[2], took, err)
	}
}
