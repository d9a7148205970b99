package vrrp

import (
	"context"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
)

// Network is everything a Node needs from the operating system, in four
// small parts. NewLinuxNetwork (network_linux.go) returns the real ones; a
// test injects fakes of the parts it cares about. A nil part is taken from
// NewLinuxNetwork when Run starts.
type Network struct {
	Adverts   AdvertListener // advert sockets
	Addresses Addresses      // the interfaces' addresses and the VIPs
	Announcer Announcer      // gratuitous ARP, unsolicited neighbour advertisements
	Links     Links          // link state of the interfaces
	Routing   Routing        // routes, rules and VMAC interfaces (routing.go)
}

// AdvertListener opens advert sockets.
type AdvertListener interface {
	// Listen opens the IPv4 or IPv6 advert socket of an interface:
	// multicast joins 224.0.0.18 (ff02::12 for IPv6, RFC 5798 §5.1.2.2)
	// there; unicast only receives packets sent to this host.
	Listen(ifname string, ipv6, multicast bool) (AdvertConn, error)
}

// AdvertConn is a raw IP protocol-112 socket (IPv4 or IPv6) bound to one
// interface. The Linux ones (NewAdvertConn, NewAdvertConn6) are built on
// an injected net.PacketConn.
type AdvertConn interface {
	// Read blocks until a packet arrives or the conn is closed.
	Read() (Received, error)
	// Write sends one VRRP payload from src to dst with IP TTL (IPv6 Hop
	// Limit) 255.
	Write(src, dst netip.Addr, payload []byte) error
	Close() error
}

// Addresses manages the addresses of the interfaces.
type Addresses interface {
	// PrimaryAddr returns the advert's source on ifname: its first IPv4
	// address not in exclude (our own VIPs, RFC 3768 §5.2.1), or with
	// ipv6 its link-local address (RFC 5798 §5.1.2.1).
	PrimaryAddr(ifname string, ipv6 bool, exclude []netip.Addr) (netip.Addr, error)
	// HasVIP tells whether the address is configured on its device.
	HasVIP(vip hcl.VIP) (bool, error)
	// AddVIP configures a virtual address (an IPv6 one without duplicate
	// address detection, IFA_F_NODAD, as keepalived); an address already
	// there is not an error.
	AddVIP(vip hcl.VIP) error
	// RemoveVIP removes a virtual address; an absent address is not an
	// error.
	RemoveVIP(vip hcl.VIP) error
}

// Announcer tells the segment where a VIP now lives.
type Announcer interface {
	// SendGARP announces ip on dev count times: for an IPv4 address a
	// gratuitous ARP broadcast in request and in reply form, for an IPv6
	// address an unsolicited neighbour advertisement to ff02::1 (RFC 4861
	// §7.2.6; Override set, Router where dev forwards, as keepalived).
	SendGARP(dev string, ip netip.Addr, count int) error
	// Close releases the announcer's sockets.
	Close() error
}

// Links reports the link state of interfaces.
type Links interface {
	// LinkUp tells whether the interface is up with carrier.
	LinkUp(ifname string) (bool, error)
	// WatchLinks calls fn on every link state change until ctx ends; it
	// returns only then (or on an error).
	WatchLinks(ctx context.Context, fn func(ifname string, up bool)) error
}

// orLinux fills the parts a caller left nil with the operating system's.
func (n Network) orLinux() Network {
	if n.Adverts != nil && n.Addresses != nil && n.Announcer != nil && n.Links != nil && n.Routing != nil {
		return n
	}
	l := NewLinuxNetwork()
	if n.Adverts == nil {
		n.Adverts = l.Adverts
	}
	if n.Addresses == nil {
		n.Addresses = l.Addresses
	}
	if n.Announcer == nil {
		n.Announcer = l.Announcer
	}
	if n.Links == nil {
		n.Links = l.Links
	}
	if n.Routing == nil {
		n.Routing = l.Routing
	}
	return n
}
