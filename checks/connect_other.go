//go:build !linux

package checks

import "errors"

// connector is Linux's (connect_linux.go); elsewhere TCP_CHECK attempts
// go through the Dialer on goroutines of their own.
type connector struct{}

func newConnector(func(*connectAttempt, Result)) (*connector, error) {
	return nil, errors.New("the TCP_CHECK connector needs Linux (epoll)")
}

func (*connector) submit(*connectAttempt) {}
func (*connector) stop()                  {}
func (*connector) run()                   {}
