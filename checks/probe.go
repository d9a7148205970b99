package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Result is the outcome of one attempt of one check.
type Result struct {
	OK bool
	// Weight is the weight the check asks for: -1 asks nothing (the
	// configured weight, or the last one misc_dynamic set); MISC_CHECK
	// with misc_dynamic sets it from the exit status.
	Weight int
	// Reason says what happened in words a log reader wants:
	// "connect: connection refused", "status 503", "digest mismatch",
	// "timeout after 5s", "connected", "status 200".
	Reason  string
	Latency time.Duration
}

// prober runs one attempt of one check. It must return by ctx's deadline
// (connect_timeout, or misc_timeout for MISC_CHECK): the deadline covers the
// whole attempt, connect, TLS, request and response (keepalived #2351).
type prober interface {
	probe(ctx context.Context) Result
}

// failure builds a failed Result from err, naming timeouts by the budget
// they exhausted rather than by the syscall that noticed.
func failure(ctx context.Context, budget time.Duration, what string, err error) Result {
	return Result{Weight: -1, Reason: describeError(ctx, budget, what, err)}
}

func describeError(ctx context.Context, budget time.Duration, what string, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Sprintf("timeout after %s", budget)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("timeout after %s", budget)
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		// "connect: connection refused", "connect: no route to host"
		return se.Error()
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return what + ": " + errno.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return what + ": " + oe.Err.Error()
	}
	if what == "" {
		return err.Error()
	}
	return what + ": " + err.Error()
}

// failedProber fails every attempt with a fixed reason: a checker whose
// settings cannot work (a bad regex, an unreadable CA file). It keeps the
// real server down rather than silently up.
type failedProber struct{ reason string }

func (f failedProber) probe(context.Context) Result {
	return Result{Weight: -1, Reason: f.reason}
}
