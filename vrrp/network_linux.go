package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// NewLinuxNetwork returns the Network of the running kernel (of the
// network namespace the process runs in): raw IP-112 sockets, netlink
// addresses and links, gratuitous ARP over AF_PACKET.
func NewLinuxNetwork() Network {
	return Network{
		Adverts:   rawListener{},
		Addresses: netlinkAddresses{},
		Announcer: &arpAnnouncer{clients: map[string]*arp.Client{}},
		Links:     netlinkLinks{},
	}
}

// rawListener opens raw IP protocol-112 sockets.
type rawListener struct{}

// Listen opens a raw IP protocol-112 socket bound to ifname
// (SO_BINDTODEVICE, like keepalived) and makes it an AdvertConn.
func (rawListener) Listen(ifname string, multicast bool) (AdvertConn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifname, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
		}); err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("raw VRRP socket on %s: %w", ifname, err)
	}
	c, err := NewAdvertConn(ifi, pc, multicast)
	if err != nil {
		pc.Close()
		return nil, err
	}
	return c, nil
}

type rawConn struct {
	rc  *ipv4.RawConn
	buf []byte
}

// NewAdvertConn makes an AdvertConn of pc, a raw IPv4 protocol-112 socket
// (net.ListenPacket("ip4:112", …), *net.IPConn) on ifi, the way
// mdlayher/arp's New(ifi, conn) takes its socket: multicast joins
// 224.0.0.18 on ifi with TTL 255 and no loop. The conn owns pc once it
// is returned; on an error pc stays the caller's to close.
func NewAdvertConn(ifi *net.Interface, pc net.PacketConn, multicast bool) (AdvertConn, error) {
	if _, ok := pc.(*net.IPConn); !ok {
		return nil, fmt.Errorf("advert socket on %s: %T is not a raw IP socket", ifi.Name, pc)
	}
	rc, err := ipv4.NewRawConn(pc)
	if err != nil {
		return nil, fmt.Errorf("raw VRRP socket on %s: %w", ifi.Name, err)
	}
	if multicast {
		group := &net.IPAddr{IP: net.IP(MulticastGroup.AsSlice())}
		for _, f := range []func() error{
			func() error { return rc.JoinGroup(ifi, group) },
			func() error { return rc.SetMulticastInterface(ifi) },
			func() error { return rc.SetMulticastLoopback(false) },
			func() error { return rc.SetMulticastTTL(TTL) },
		} {
			if err := f(); err != nil {
				return nil, fmt.Errorf("multicast on %s: %w", ifi.Name, err)
			}
		}
	}
	return &rawConn{rc: rc, buf: make([]byte, 65536)}, nil
}

func (c *rawConn) Read() (Received, error) {
	for {
		h, p, _, err := c.rc.ReadFrom(c.buf)
		if err != nil {
			return Received{}, err
		}
		if h == nil {
			continue
		}
		src, _ := netip.AddrFromSlice(h.Src.To4())
		dst, _ := netip.AddrFromSlice(h.Dst.To4())
		return Received{Src: src, Dst: dst, TTL: h.TTL, Payload: append([]byte(nil), p...), At: time.Now()}, nil
	}
}

func (c *rawConn) Write(src, dst netip.Addr, payload []byte) error {
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      0xc0, // internetwork control, as keepalived
		TotalLen: ipv4.HeaderLen + len(payload),
		TTL:      TTL,
		Protocol: IPProtocol,
		Src:      net.IP(src.AsSlice()),
		Dst:      net.IP(dst.AsSlice()),
	}
	return c.rc.WriteTo(h, payload, nil)
}

func (c *rawConn) Close() error { return c.rc.Close() }

// netlinkAddresses manages addresses over rtnetlink.
type netlinkAddresses struct{}

// PrimaryAddr returns the first primary IPv4 address of ifname not in exclude.
func (netlinkAddresses) PrimaryAddr(ifname string, exclude []netip.Addr) (netip.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", ifname, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if ok && !contains(exclude, ip) {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv4 address of its own", ifname)
}

func vipAddr(vip hcl.VIP) (netlink.Link, *netlink.Addr, error) {
	link, err := netlink.LinkByName(vip.Dev)
	if err != nil {
		return nil, nil, fmt.Errorf("VIP %s: device %s: %w", vip.Prefix, vip.Dev, err)
	}
	a := &netlink.Addr{
		IPNet: &net.IPNet{IP: net.IP(vip.Prefix.Addr().AsSlice()), Mask: net.CIDRMask(vip.Prefix.Bits(), vip.Prefix.Addr().BitLen())},
		Label: vip.Label,
	}
	if vip.Broadcast.IsValid() {
		a.Broadcast = net.IP(vip.Broadcast.AsSlice())
	}
	switch vip.Scope {
	case "", "global", "universe":
		a.Scope = unix.RT_SCOPE_UNIVERSE
	case "site":
		a.Scope = unix.RT_SCOPE_SITE
	case "link":
		a.Scope = unix.RT_SCOPE_LINK
	case "host":
		a.Scope = unix.RT_SCOPE_HOST
	case "nowhere":
		a.Scope = unix.RT_SCOPE_NOWHERE
	default:
		s, err := strconv.Atoi(vip.Scope)
		if err != nil || s < 0 || s > 255 {
			return nil, nil, fmt.Errorf("VIP %s: scope %q", vip.Prefix, vip.Scope)
		}
		a.Scope = s
	}
	return link, a, nil
}

// HasVIP tells whether the VIP's address is on its device.
func (netlinkAddresses) HasVIP(vip hcl.VIP) (bool, error) {
	link, _, err := vipAddr(vip)
	if err != nil {
		return false, err
	}
	fam := netlink.FAMILY_V4
	if vip.Prefix.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(link, fam)
	if err != nil {
		return false, fmt.Errorf("VIP %s: addresses of %s: %w", vip.Prefix, vip.Dev, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == vip.Prefix.Addr() {
			return true, nil
		}
	}
	return false, nil
}

// AddVIP adds the address (label, scope, broadcast as configured).
func (netlinkAddresses) AddVIP(vip hcl.VIP) error {
	link, a, err := vipAddr(vip)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add VIP %s dev %s: %w", vip.Prefix, vip.Dev, err)
	}
	return nil
}

// RemoveVIP removes the address.
func (netlinkAddresses) RemoveVIP(vip hcl.VIP) error {
	link, a, err := vipAddr(vip)
	if err != nil {
		return err
	}
	if err := netlink.AddrDel(link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove VIP %s dev %s: %w", vip.Prefix, vip.Dev, err)
	}
	return nil
}

// arpAnnouncer sends gratuitous ARP with one mdlayher/arp client per
// device, each built with arp.New on an AF_PACKET socket it opens.
type arpAnnouncer struct {
	mu      sync.Mutex
	clients map[string]*arp.Client
}

// etherTypeARP is the EtherType of ARP (RFC 826).
const etherTypeARP = 0x0806

func (n *arpAnnouncer) arpClient(dev string) (*arp.Client, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.clients[dev]; ok {
		return c, nil
	}
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, fmt.Errorf("GARP on %s: %w", dev, err)
	}
	pc, err := packet.Listen(ifi, packet.Raw, etherTypeARP, nil)
	if err != nil {
		return nil, fmt.Errorf("GARP on %s: %w", dev, err)
	}
	c, err := arp.New(ifi, pc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("GARP on %s: %w", dev, err)
	}
	n.clients[dev] = c
	return c, nil
}

// SendGARP broadcasts count gratuitous ARP requests and count replies
// announcing ip at dev's hardware address (sender = target = ip).
func (n *arpAnnouncer) SendGARP(dev string, ip netip.Addr, count int) error {
	if !ip.Is4() {
		return nil
	}
	c, err := n.arpClient(dev)
	if err != nil {
		return err
	}
	hw := c.HardwareAddr()
	req, err := arp.NewPacket(arp.OperationRequest, hw, ip, ethernet.Broadcast, ip)
	if err != nil {
		return fmt.Errorf("GARP %s on %s: %w", ip, dev, err)
	}
	rep, err := arp.NewPacket(arp.OperationReply, hw, ip, hw, ip)
	if err != nil {
		return fmt.Errorf("GARP %s on %s: %w", ip, dev, err)
	}
	for range count {
		for _, p := range []*arp.Packet{req, rep} {
			if err := c.WriteTo(p, ethernet.Broadcast); err != nil {
				return fmt.Errorf("GARP %s on %s: %w", ip, dev, err)
			}
		}
	}
	return nil
}

func linkIsUp(l netlink.Link) bool {
	a := l.Attrs()
	return a.Flags&net.FlagUp != 0 && a.RawFlags&unix.IFF_RUNNING != 0
}

// netlinkLinks follows links over rtnetlink.
type netlinkLinks struct{}

// LinkUp tells whether ifname is administratively up with carrier.
func (netlinkLinks) LinkUp(ifname string) (bool, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return false, fmt.Errorf("interface %s: %w", ifname, err)
	}
	return linkIsUp(l), nil
}

// WatchLinks reports link changes from an rtnetlink subscription.
func (netlinkLinks) WatchLinks(ctx context.Context, fn func(string, bool)) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
	})
	if err != nil {
		return fmt.Errorf("link subscription: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return fmt.Errorf("link subscription: %w", err)
		case u, ok := <-ch:
			if !ok {
				return errors.New("link subscription closed")
			}
			fn(u.Attrs().Name, u.Header.Type != unix.RTM_DELLINK && linkIsUp(u.Link))
		}
	}
}

// Close closes the ARP sockets.
func (n *arpAnnouncer) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for dev, c := range n.clients {
		c.Close()
		delete(n.clients, dev)
	}
	return nil
}
