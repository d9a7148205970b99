package checks

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// bindToDevice binds a probe's socket to an interface (bind_if,
// SO_BINDTODEVICE; needs CAP_NET_RAW, as in keepalived): its packets
// leave through that interface whatever the routing table says, and
// only answers arriving there are seen.
func bindToDevice(fd int, ifname string) error {
	if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname); err != nil {
		return fmt.Errorf("setsockopt SO_BINDTODEVICE %s: %w", ifname, err)
	}
	return nil
}

// socketOptions is the Control function of a probe's Go dialer: SO_MARK
// for fwmark (markControl), SO_BINDTODEVICE for bind_if; nil when ep
// sets neither.
func socketOptions(ep Endpoint) func(network, address string, c syscall.RawConn) error {
	if ep.BindIf == "" {
		if ep.FWMark == 0 {
			return nil
		}
		return markControl(ep.FWMark)
	}
	return func(network, address string, c syscall.RawConn) error {
		if ep.FWMark != 0 {
			if err := markControl(ep.FWMark)(network, address, c); err != nil {
				return err
			}
		}
		var serr error
		if err := c.Control(func(fd uintptr) { serr = bindToDevice(int(fd), ep.BindIf) }); err != nil {
			return err
		}
		return serr
	}
}
