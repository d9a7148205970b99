//go:build !linux

package checks

import (
	"errors"
	"syscall"
)

func bindToDevice(int, string) error {
	return errors.New("bind_if needs Linux (SO_BINDTODEVICE)")
}

func socketOptions(ep Endpoint) func(network, address string, c syscall.RawConn) error {
	if ep.BindIf != "" {
		return func(string, string, syscall.RawConn) error { return bindToDevice(0, ep.BindIf) }
	}
	if ep.FWMark != 0 {
		return markControl(ep.FWMark)
	}
	return nil
}
