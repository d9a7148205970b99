// Package netnstest runs a test's function in a network namespace of its
// own: a thread locked to the function's goroutine, unshared from the
// test's namespace, with its loopback up. What the function makes there
// (sockets, nftables tables, sysctls under /proc/sys/net) is gone with the
// thread, and the host's namespace never sees it. Tests only.
package netnstest

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// Run runs f in a fresh network namespace with lo up and returns its
// error, or the namespace's; it skips t when not run as root. f runs on a
// goroutine of its own whose thread stays locked, so that the thread dies
// with it and takes the namespace along once nothing else holds it.
func Run(t testing.TB, f func() error) error {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- err
			return
		}
		if err := LoopbackUp(); err != nil {
			ch <- err
			return
		}
		ch <- f()
	}()
	return <-ch
}

// LoopbackUp sets lo up in the calling thread's network namespace, with
// an ioctl (no netlink library needed).
func LoopbackUp() error {
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
