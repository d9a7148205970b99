package vrrp

import "github.com/lvsd/lvsd/internal/clock"

// Clock is the time source of a Node: every timer of every instance
// (Adver_Timer, Master_Down_Timer, preempt_delay, GARP repeat and refresh,
// resume) is a deadline of a Machine, and Node waits for the nearest one on
// a Timer of this clock. The real one is SystemClock; a test injects a fake
// so that RFC 3768 bounds can be checked exactly, without sleeping.
type Clock = clock.Clock

// Timer is the part of *time.Timer a Node uses.
type Timer = clock.Timer

// SystemClock is the wall clock.
type SystemClock = clock.System
