package vrrp

import "time"

// Clock is the time source of a Node: every timer of every instance
// (Adver_Timer, Master_Down_Timer, preempt_delay, GARP repeat and refresh,
// resume) is a deadline of a Machine, and Node waits for the nearest one on
// a Timer of this clock. The real one is SystemClock; a test injects a fake
// so that RFC 3768 bounds can be checked exactly, without sleeping.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer a Node uses.
type Timer interface {
	C() <-chan time.Time
	// Reset changes the timer to fire after d. The channel must have been
	// drained or the timer stopped (Go 1.23 timer semantics make this safe).
	Reset(d time.Duration)
	Stop() bool
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time   { return s.t.C }
func (s systemTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s systemTimer) Stop() bool            { return s.t.Stop() }
