package vrrp

import (
	"context"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
)

// Network is everything the node needs from the operating system: the
// advert socket, the interface addresses, gratuitous ARP and link state.
// LinuxNetwork (network_linux.go) is the real one; tests inject fakes.
type Network interface {
	// Listen opens the advert socket of an interface: multicast joins
	// 224.0.0.18 there; unicast only receives packets sent to this host.
	Listen(ifname string, multicast bool) (AdvertConn, error)
	// PrimaryAddr returns the first IPv4 address of ifname that is not in
	// exclude (our own VIPs): the advert's source (RFC 3768 §5.2.1).
	PrimaryAddr(ifname string, exclude []netip.Addr) (netip.Addr, error)
	// HasVIP tells whether the address is configured on its device.
	HasVIP(vip hcl.VIP) (bool, error)
	// AddVIP configures a virtual address; an address already there is
	// not an error.
	AddVIP(vip hcl.VIP) error
	// RemoveVIP removes a virtual address; an absent address is not an
	// error.
	RemoveVIP(vip hcl.VIP) error
	// SendGARP broadcasts count gratuitous ARPs for ip on dev, each in
	// request and in reply form.
	SendGARP(dev string, ip netip.Addr, count int) error
	// LinkUp tells whether the interface is up with carrier.
	LinkUp(ifname string) (bool, error)
	// WatchLinks calls fn on every link state change until ctx ends.
	WatchLinks(ctx context.Context, fn func(ifname string, up bool)) error
	// Close releases what the network holds (ARP sockets).
	Close() error
}

// AdvertConn is a raw IP protocol-112 socket bound to one interface.
type AdvertConn interface {
	// Read blocks until a packet arrives or the conn is closed.
	Read() (Received, error)
	// Write sends one VRRP payload from src to dst with IP TTL 255.
	Write(src, dst netip.Addr, payload []byte) error
	Close() error
}
