package director

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/script/scripttest"
)

// TestStartupScriptRunsBeforeAndShutdownScriptAfterEverything: Run waits
// for startup_script before it starts anything (OnRunning comes after the
// script's line) and runs shutdown_script once every part has stopped; a
// startup script that outlives its timeout is killed and lvsd starts
// anyway, as keepalived 2.2.7 does.
func TestStartupScriptRunsBeforeAndShutdownScriptAfterEverything(t *testing.T) {
	for _, tt := range []struct {
		name, startupBody string
		want              string
		maxStart          time.Duration
	}{
		{"waits for the startup script", "sleep 0.3; echo \"startup $1\" >> \"$2\"", "startup up\nrunning\nshutdown down\n", 5 * time.Second},
		{"a startup script past its timeout is killed", "sleep 5; echo \"startup $1\" >> \"$2\"", "running\nshutdown down\n", 4 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, startup := scripttest.Write(t, tt.startupBody)
			_, shutdown := scripttest.Write(t, "echo \"shutdown $1\" >> \"$2\"")
			trace := filepath.Join(t.TempDir(), "trace")
			cfg := hcltest.Load(t, fmt.Sprintf(`
global {
  startup_script         = "%s up %s"
  startup_script_timeout = "1s"
  shutdown_script        = "%s down %s"
}
`, startup, trace, shutdown, trace))
			var mu sync.Mutex
			running := make(chan struct{})
			d, err := New(cfg, Options{OnRunning: func() {
				mu.Lock()
				defer mu.Unlock()
				f, _ := os.OpenFile(trace, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				f.WriteString("running\n")
				f.Close()
				close(running)
			}})
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			stop := startRun(t, d)
			select {
			case <-running:
			case <-time.After(tt.maxStart):
				t.Fatalf("not running %v after Run began", tt.maxStart)
			}
			if took := time.Since(began); took > tt.maxStart {
				t.Errorf("started after %v", took)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(trace)
			if got := string(b); got != tt.want {
				t.Errorf("trace:\n%s\nwant:\n%s", strings.TrimSpace(got), strings.TrimSpace(tt.want))
			}
		})
	}
}
