package checks

import (
	"context"
	"fmt"

	"github.com/lvsd/lvsd/internal/script"
)

// miscProber is MISC_CHECK: the script's exit status decides. Without
// misc_dynamic, 0 is up and anything else down. With misc_dynamic
// (keepalived): 0 up (the weight unchanged), 1 down, N >= 2 up with weight
// N-2. A script that outlives misc_timeout is killed (its whole process
// group) and counts as a failure.
type miscProber struct {
	scripts script.Runner
	script  script.Script
	dynamic bool
}

func (m *miscProber) probe(ctx context.Context) Result {
	res, err := m.scripts.Run(ctx, m.script)
	switch {
	case err != nil:
		return Result{Weight: -1, Reason: err.Error()}
	case res.TimedOut:
		return Result{Weight: -1, Reason: fmt.Sprintf("timeout after %s", m.script.Timeout)}
	case res.ExitCode == 0:
		return Result{OK: true, Weight: -1, Reason: "exit status 0"}
	case m.dynamic && res.ExitCode >= 2:
		return Result{OK: true, Weight: res.ExitCode - 2, Reason: fmt.Sprintf("exit status %d", res.ExitCode)}
	case res.ExitCode < 0:
		return Result{Weight: -1, Reason: "killed by a signal"}
	default:
		return Result{Weight: -1, Reason: fmt.Sprintf("exit status %d", res.ExitCode)}
	}
}
