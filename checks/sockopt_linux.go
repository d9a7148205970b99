package checks

import (
	"fmt"
	"syscall"
)

// markControl sets SO_MARK on the probe's socket before connect (needs
// CAP_NET_ADMIN, as in keepalived).
func markControl(mark uint32) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK, int(mark))
		})
		if err == nil && serr != nil {
			err = fmt.Errorf("setsockopt SO_MARK %d: %w", mark, serr)
		}
		return err
	}
}
