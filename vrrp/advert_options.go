package vrrp

import (
	"fmt"
	"net/netip"
)

// SocketOptions are what an advert socket is opened with besides its
// interface and family: keepalived's mcast_dst_ip (vrrp_mcast_group4/6),
// unicast_ttl and auth_type AH.
type SocketOptions struct {
	// Group is the multicast group joined and read (multicast sockets).
	Group netip.Addr
	// TTL is the IP TTL (IPv6 Hop Limit) of the adverts a unicast socket
	// sends; multicast adverts always carry 255 (RFC 3768 §5.2.3).
	TTL int
	// AH carries the adverts in IPsec AH, IP protocol 51 (ah.go).
	AH bool
}

// DefaultSocketOptions are the RFC's: 224.0.0.18 (ff02::12), TTL 255,
// no AH.
func DefaultSocketOptions(ipv6 bool) SocketOptions {
	g := MulticastGroup
	if ipv6 {
		g = MulticastGroup6
	}
	return SocketOptions{Group: g, TTL: TTL}
}

// OptionsListener is an AdvertListener that opens sockets with other
// SocketOptions than the RFC's (the Linux one does; a test's fake need
// not).
type OptionsListener interface {
	ListenOptions(ifname string, ipv6, multicast bool, o SocketOptions) (AdvertConn, error)
}

// socketOptions are the options of an instance's advert socket, from its
// final configuration.
func (in *instance) socketOptions() SocketOptions {
	o := DefaultSocketOptions(in.cfg.IPv6)
	if len(in.cfg.UnicastPeers) == 0 {
		o.Group = in.cfg.Net.McastGroup
	} else {
		o.TTL = in.cfg.Net.UnicastTTL
	}
	o.AH = in.cfg.AuthType == "AH"
	return o
}

// listen opens an advert socket: with Listen when the options are the
// RFC's, else with the listener's ListenOptions.
func (n *Node) listen(ifname string, ipv6, multicast bool, o SocketOptions) (AdvertConn, error) {
	if o == DefaultSocketOptions(ipv6) {
		return n.net.Adverts.Listen(ifname, ipv6, multicast)
	}
	ol, ok := n.net.Adverts.(OptionsListener)
	if !ok {
		return nil, fmt.Errorf("advert socket on %s: %T opens no sockets with %+v", ifname, n.net.Adverts, o)
	}
	return ol.ListenOptions(ifname, ipv6, multicast, o)
}
