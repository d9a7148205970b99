//go:build !linux

package checks

import (
	"errors"
	"time"
)

// connectDone is one attempt's outcome.
type connectDone struct {
	attempt *connectAttempt
	at      time.Time
	result  Result
}

// connector is Linux's (connect_linux.go); elsewhere TCP_CHECK attempts
// go through the Dialer on goroutines of their own.
type connector struct{ schedules bool }

func newConnector(func([]connectDone, time.Time)) (*connector, error) {
	return nil, errors.New("the TCP_CHECK connector needs Linux (epoll)")
}

func (*connector) submit(*connectAttempt) (Result, bool) { return Result{}, false }
func (*connector) stop()                                 {}
func (*connector) run()                                  {}
func (*connector) plan(next, now time.Time)              {}
func (*connector) setReadEvery(time.Duration)            {}
