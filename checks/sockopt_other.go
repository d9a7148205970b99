//go:build !linux

package checks

import (
	"errors"
	"syscall"
)

func markControl(mark uint32) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error {
		return errors.New("fwmark on probe sockets needs Linux (SO_MARK)")
	}
}
