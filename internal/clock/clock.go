// Package clock is the time source that lvsd's timed cores take by
// injection: the VRRP node (every RFC 3768 timer is a deadline on it) and
// the checks scheduler (keepalived's delay_loop, retry and delay_before_retry
// arithmetic). System is the wall clock; tests inject a fake so that protocol
// bounds are checked exactly, without sleeping.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the cores use.
type Timer interface {
	C() <-chan time.Time
	// Reset changes the timer to fire after d. The channel must have been
	// drained or the timer stopped (Go 1.23 timer semantics make this safe).
	Reset(d time.Duration)
	Stop() bool
}

// System is the wall clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (System) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time   { return s.t.C }
func (s systemTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s systemTimer) Stop() bool            { return s.t.Stop() }
