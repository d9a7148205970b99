package resetguard

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inFreshNetns runs f on a locked thread in a new network namespace with
// lo up (root only), so the guard's table and the test's resets stay
// there.
func inFreshNetns(t *testing.T, f func() error) error {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	ch := make(chan error, 1)
	go func() {
		// The thread stays locked: it dies with the goroutine, and its
		// namespace with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- err
			return
		}
		lo, err := net.InterfaceByName("lo")
		if err == nil {
			err = setUp(lo.Index)
		}
		if err != nil {
			ch <- err
			return
		}
		ch <- f()
	}()
	return <-ch
}

// setUp sets the link up with an ioctl (no netlink library needed).
func setUp(index int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// dialClosed connects from 127.0.0.1 to a port of 127.0.0.2 nobody
// listens on: the stack answers the SYN with a RST from 127.0.0.2
// (connection refused) unless the guard drops it (timeout).
func dialClosed() error {
	d := net.Dialer{Timeout: 400 * time.Millisecond, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	c, err := d.Dial("tcp", "127.0.0.2:9")
	if err == nil {
		c.Close()
	}
	return err
}

// TestGuardDropsTheStacksResets: while held, a connection to a closed
// port of the guarded address is not refused (its RST is dropped, the
// client times out); after Release it is refused again, and Release
// counts the resets it held back.
func TestGuardDropsTheStacksResets(t *testing.T) {
	var unavailable error
	err := inFreshNetns(t, func() error {
		if err := dialClosed(); !errors.Is(err, syscall.ECONNREFUSED) {
			return errors.New("before the guard: " + errString(err) + ", want connection refused")
		}
		g, err := Hold([]netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.2")})
		if err != nil {
			unavailable = err
			return nil
		}
		if got := g.Addrs(); len(got) != 2 {
			return errors.New("the guard holds duplicate addresses")
		}
		var ne net.Error
		if err := dialClosed(); !errors.As(err, &ne) || !ne.Timeout() {
			g.Release()
			return errors.New("while held: " + errString(err) + ", want a timeout")
		}
		dropped, err := g.Release()
		if err != nil {
			return err
		}
		if dropped == 0 {
			return errors.New("Release counted no dropped reset")
		}
		if err := dialClosed(); !errors.Is(err, syscall.ECONNREFUSED) {
			return errors.New("after Release: " + errString(err) + ", want connection refused")
		}
		return Clear() // no table left: no error
	})
	if unavailable != nil {
		t.Skipf("nftables unavailable here: %v", unavailable)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "connected"
	}
	return err.Error()
}
