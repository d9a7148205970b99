package checks

import (
	"context"
	"net"
	"net/netip"
)

// Endpoint is where a probe connects and from where: connect_ip/connect_port,
// bindto/bind_port, and the fwmark set on the socket (SO_MARK) so policy
// routing can steer probes, as keepalived's fwmark checker option does.
type Endpoint struct {
	Addr     netip.AddrPort
	BindTo   netip.Addr // invalid: the kernel chooses
	BindPort uint16
	FWMark   uint32
	BindIf   string // bind_if: SO_BINDTODEVICE (bindif_linux.go), "" for none
}

// Dialer opens the TCP connection of a probe. The Linux implementation is
// NetDialer; unit tests inject a fake.
type Dialer interface {
	DialTCP(ctx context.Context, ep Endpoint) (net.Conn, error)
}

// PacketDialer opens the connected UDP socket of a UDP_CHECK or
// DNS_CHECK. NetDialer implements it; a Dialer that does not is paired
// with NetDialer's.
type PacketDialer interface {
	DialUDP(ctx context.Context, ep Endpoint) (net.Conn, error)
}

// NetDialer dials with the operating system's sockets.
type NetDialer struct{}

// DialTCP connects to ep.Addr before ctx's deadline, bound to ep.BindTo and
// ep.BindPort when set, with SO_MARK ep.FWMark when non-zero.
func (NetDialer) DialTCP(ctx context.Context, ep Endpoint) (net.Conn, error) {
	// No TCP keep-alive: a probe's connection lives one exchange, and Go's
	// default would cost three setsockopt calls per check (measured in the
	// VM benchmark at keepalived #2318's scale, where syscalls dominate).
	d := net.Dialer{KeepAlive: -1}
	if ep.BindTo.IsValid() || ep.BindPort != 0 {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(ep.BindTo, ep.BindPort))
	}
	d.Control = socketOptions(ep) // bindif_linux.go: SO_MARK, SO_BINDTODEVICE
	return d.DialContext(ctx, "tcp", ep.Addr.String())
}

// DialUDP connects a UDP socket to ep.Addr, bound and marked as DialTCP's.
// A connected socket receives the ICMP errors its datagrams cause as
// errors of its next read (ECONNREFUSED for port unreachable).
func (NetDialer) DialUDP(ctx context.Context, ep Endpoint) (net.Conn, error) {
	var d net.Dialer
	if ep.BindTo.IsValid() || ep.BindPort != 0 {
		d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(ep.BindTo, ep.BindPort))
	}
	d.Control = socketOptions(ep) // bindif_linux.go: SO_MARK, SO_BINDTODEVICE
	return d.DialContext(ctx, "udp", ep.Addr.String())
}
