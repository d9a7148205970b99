package checks

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The connector's own system calls (socket, connect, epoll_ctl, getsockopt
// TCP_INFO or SO_ERROR, close) go through RawSyscall. Each returns at once: the socket
// is non-blocking, so connect answers EINPROGRESS, and closing a socket
// without SO_LINGER never waits. Through Syscall the runtime would treat
// each as a call that may block: it marks the P as in a system call on
// entry and takes it back on exit, and its monitor hands the P to another
// thread when the call outlasts its 20 µs tick, which a loopback connect
// under emulation does (the whole handshake runs inside it). Measured in
// TestBenchChecksInVM (docs/benchmarks.md). The one call that may not
// return at once is connect on a director short of free local ports
// (every TCP_CHECK leaves a TIME_WAIT): the kernel's source-port search
// can then take milliseconds, during which this P is not handed on and a
// garbage collection waits for it. The daemon keeps every P after its
// start (goruntime.go), so VRRP's goroutine still runs on another.

// rawErr is e as an error, nil for 0.
func rawErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// rawSocket opens a non-blocking, close-on-exec TCP socket of family.
func rawSocket(family int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	return int(fd), rawErr(e)
}

// rawConnect starts fd's connect to ap, an address without a zone (a
// zoned one goes through sockaddrOf and unix.Connect). It builds the
// kernel's sockaddr on the stack: unix.Connect takes a Sockaddr
// allocated per call.
func rawConnect(fd int, ap netip.AddrPort) error {
	a := ap.Addr()
	if a.Is4() {
		rsa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		port := (*[2]byte)(unsafe.Pointer(&rsa.Port))
		port[0], port[1] = byte(ap.Port()>>8), byte(ap.Port())
		_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), unix.SizeofSockaddrInet4)
		return rawErr(e)
	}
	if a.Zone() == "" {
		rsa := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16()}
		port := (*[2]byte)(unsafe.Pointer(&rsa.Port))
		port[0], port[1] = byte(ap.Port()>>8), byte(ap.Port())
		_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), unix.SizeofSockaddrInet6)
		return rawErr(e)
	}
	sa, err := sockaddrOf(ap)
	if err != nil {
		return err
	}
	return unix.Connect(fd, sa)
}

// rawEpollAdd adds fd to epfd, to be reported when it turns writable.
func rawEpollAdd(epfd, fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)}
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), unix.EPOLL_CTL_ADD, uintptr(fd), uintptr(unsafe.Pointer(&ev)), 0, 0)
	return rawErr(e)
}

// rawSoError reads fd's pending error (SO_ERROR).
func rawSoError(fd int) (int, error) {
	var v int32
	l := uint32(unsafe.Sizeof(v))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	return int(v), rawErr(e)
}

// rawTCPInfo reads fd's TCP_INFO into a value on the stack
// (unix.GetsockoptTCPInfo allocates one per call).
func rawTCPInfo(fd int) (unix.TCPInfo, error) {
	var info unix.TCPInfo
	l := uint32(unsafe.Sizeof(info))
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO, uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&l)), 0)
	return info, rawErr(e)
}

// rawClose closes fd.
func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}
