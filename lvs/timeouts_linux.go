package lvs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SetTimeouts implements TimeoutKernel (IPVS_CMD_SET_CONFIG) on the
// writer's socket.
func (k *linuxKernel) SetTimeouts(t Timeouts) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	w := k.writer
	w.seq++
	msg := timeoutsMessage(w.family, w.seq, t)
	if err := unix.Sendto(w.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sending IPVS_CMD_SET_CONFIG: %w", err)
	}
	failed, err := w.readAcks(w.seq, w.seq)
	if err != nil {
		return err
	}
	if errno, ok := failed[w.seq]; ok {
		return errno
	}
	return nil
}
