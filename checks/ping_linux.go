package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// listenICMP opens the socket of one PING_CHECK attempt: an unprivileged
// ICMP datagram socket (the kernel demultiplexes echo replies by its
// identifier) where net.ipv4.ping_group_range admits lvsd's group, else a
// raw ICMP socket (CAP_NET_RAW). keepalived widens ping_group_range
// instead; lvsd leaves that sysctl alone. Bound to ep.BindTo and marked
// with ep.FWMark, bound to interface ep.BindIf when set.
func listenICMP(ep Endpoint, v6 bool) (conn net.PacketConn, raw bool, err error) {
	family, proto, network := syscall.AF_INET, syscall.IPPROTO_ICMP, "ip4:icmp"
	if v6 {
		family, proto, network = syscall.AF_INET6, syscall.IPPROTO_ICMPV6, "ip6:ipv6-icmp"
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, proto)
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		lc := net.ListenConfig{Control: socketOptions(ep)} // SO_MARK, SO_BINDTODEVICE
		bind := ""
		if ep.BindTo.IsValid() {
			bind = ep.BindTo.String()
		}
		c, err := lc.ListenPacket(context.Background(), network, bind)
		return c, true, err
	}
	if err != nil {
		return nil, false, os.NewSyscallError("socket", err)
	}
	if ep.FWMark != 0 {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_MARK, int(ep.FWMark)); err != nil {
			syscall.Close(fd)
			return nil, false, fmt.Errorf("setsockopt SO_MARK %d: %w", ep.FWMark, err)
		}
	}
	if ep.BindIf != "" {
		if err := bindToDevice(fd, ep.BindIf); err != nil {
			syscall.Close(fd)
			return nil, false, err
		}
	}
	if ep.BindTo.IsValid() {
		var sa syscall.Sockaddr
		if v6 {
			sa = &syscall.SockaddrInet6{Addr: ep.BindTo.As16()}
		} else {
			sa = &syscall.SockaddrInet4{Addr: ep.BindTo.Unmap().As4()}
		}
		if err := syscall.Bind(fd, sa); err != nil {
			syscall.Close(fd)
			return nil, false, os.NewSyscallError("bind", err)
		}
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close()
	c, err := net.FilePacketConn(f)
	return c, false, err
}
