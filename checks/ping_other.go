//go:build !linux

package checks

import (
	"errors"
	"net"
)

func listenICMP(Endpoint, bool) (net.PacketConn, bool, error) {
	return nil, false, errors.New("PING_CHECK needs Linux")
}
