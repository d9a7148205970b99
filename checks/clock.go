package checks

import "github.com/lvsd/lvsd/internal/clock"

// Clock is the time source of the scheduler. The real one is SystemClock; a
// test injects a fake so that retry and delay arithmetic can be checked
// without sleeping.
type Clock = clock.Clock

// Timer is the part of *time.Timer the scheduler uses.
type Timer = clock.Timer

// SystemClock is the wall clock.
type SystemClock = clock.System
