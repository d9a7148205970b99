package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// NewLinuxNetwork returns the Network of the running kernel (of the
// network namespace the process runs in): raw IP-112 sockets (IPv4 and
// IPv6), netlink addresses and links, gratuitous ARP over AF_PACKET and
// unsolicited neighbour advertisements over ICMPv6 (mdlayher/ndp).
func NewLinuxNetwork() Network {
	return Network{
		Adverts:   rawListener{},
		Addresses: &netlinkAddresses{},
		Announcer: &announcer{arp: map[string]*arp.Client{}, ndp: map[string]*ndp.Conn{}},
		Links:     netlinkLinks{},
		Routing:   newNetlinkRouting(),
	}
}

// rawListener opens raw IP protocol-112 sockets.
type rawListener struct{}

// Listen opens a raw IP (or IPv6) protocol-112 socket bound to ifname
// (SO_BINDTODEVICE, like keepalived) and makes it an AdvertConn.
func (l rawListener) Listen(ifname string, six, multicast bool) (AdvertConn, error) {
	return l.ListenOptions(ifname, six, multicast, DefaultSocketOptions(six))
}

// ListenOptions opens the socket with o (advert_options.go): its
// multicast group, the TTL of its unicast adverts, and IP protocol 51
// instead of 112 for IPsec AH.
func (rawListener) ListenOptions(ifname string, six, multicast bool, o SocketOptions) (AdvertConn, error) {
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
	network, any := "ip4:112", "0.0.0.0"
	if six {
		network, any = "ip6:112", "::"
	}
	if o.AH {
		network = "ip4:51" // IPsec AH (RFC 2402), VRRP inside (ah.go)
	}
	pc, err := lc.ListenPacket(context.Background(), network, any)
	if err != nil {
		return nil, fmt.Errorf("raw VRRP socket on %s: %w", ifname, err)
	}
	newConn := newAdvertConn
	if six {
		newConn = newAdvertConn6
	}
	c, err := newConn(ifi, pc, multicast, o)
	if err != nil {
		pc.Close()
		return nil, err
	}
	return c, nil
}

type rawConn struct {
	rc  *ipv4.RawConn
	buf []byte
	ttl int // of what Write sends: 255, or unicast_ttl on a unicast socket
	ah  *ahState
}

// NewAdvertConn makes an AdvertConn of pc, a raw IPv4 protocol-112 socket
// (net.ListenPacket("ip4:112", …), *net.IPConn) on ifi, the way
// mdlayher/arp's New(ifi, conn) takes its socket: multicast joins
// 224.0.0.18 on ifi with TTL 255 and no loop. The conn owns pc once it
// is returned; on an error pc stays the caller's to close.
func NewAdvertConn(ifi *net.Interface, pc net.PacketConn, multicast bool) (AdvertConn, error) {
	return newAdvertConn(ifi, pc, multicast, DefaultSocketOptions(false))
}

func newAdvertConn(ifi *net.Interface, pc net.PacketConn, multicast bool, o SocketOptions) (AdvertConn, error) {
	if _, ok := pc.(*net.IPConn); !ok {
		return nil, fmt.Errorf("advert socket on %s: %T is not a raw IP socket", ifi.Name, pc)
	}
	rc, err := ipv4.NewRawConn(pc)
	if err != nil {
		return nil, fmt.Errorf("raw VRRP socket on %s: %w", ifi.Name, err)
	}
	if multicast {
		group := &net.IPAddr{IP: net.IP(o.Group.AsSlice())}
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
	c := &rawConn{rc: rc, buf: make([]byte, 65536), ttl: TTL}
	if !multicast {
		c.ttl = o.TTL
	}
	if o.AH {
		c.ah = &ahState{}
	}
	return c, nil
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
		r := Received{Src: src, Dst: dst, TTL: h.TTL, Payload: append([]byte(nil), p...), At: time.Now()}
		if c.ah != nil && !c.ah.split(&r, h) { // ah.go
			continue
		}
		return r, nil
	}
}

func (c *rawConn) Write(src, dst netip.Addr, payload []byte) error {
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      0xc0, // internetwork control, as keepalived
		TotalLen: ipv4.HeaderLen + len(payload),
		TTL:      c.ttl,
		Protocol: IPProtocol,
		Src:      net.IP(src.AsSlice()),
		Dst:      net.IP(dst.AsSlice()),
	}
	return c.rc.WriteTo(h, payload, nil)
}

func (c *rawConn) Close() error { return c.rc.Close() }

type rawConn6 struct {
	pc       *ipv6.PacketConn
	ifi      *net.Interface
	buf      []byte
	hopLimit int // of what Write sends: 255, or unicast_ttl on a unicast socket
}

// NewAdvertConn6 makes an AdvertConn of pc, a raw IPv6 protocol-112 socket
// (net.ListenPacket("ip6:112", …), *net.IPConn) on ifi: adverts go with
// Hop Limit 255 (RFC 5798 §5.1.2.3); multicast joins ff02::12 on ifi
// without loop. The hop limit and destination of each packet read come
// from its control message. The conn owns pc once it is returned; on an
// error pc stays the caller's to close.
func NewAdvertConn6(ifi *net.Interface, pc net.PacketConn, multicast bool) (AdvertConn, error) {
	return newAdvertConn6(ifi, pc, multicast, DefaultSocketOptions(true))
}

func newAdvertConn6(ifi *net.Interface, pc net.PacketConn, multicast bool, o SocketOptions) (AdvertConn, error) {
	if _, ok := pc.(*net.IPConn); !ok {
		return nil, fmt.Errorf("advert socket on %s: %T is not a raw IP socket", ifi.Name, pc)
	}
	p := ipv6.NewPacketConn(pc)
	steps := []func() error{
		func() error { return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst, true) },
		func() error { return p.SetHopLimit(TTL) },
	}
	if multicast {
		group := &net.IPAddr{IP: net.IP(o.Group.AsSlice())}
		steps = append(steps,
			func() error { return p.JoinGroup(ifi, group) },
			func() error { return p.SetMulticastInterface(ifi) },
			func() error { return p.SetMulticastLoopback(false) },
			func() error { return p.SetMulticastHopLimit(TTL) },
		)
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return nil, fmt.Errorf("IPv6 advert socket on %s: %w", ifi.Name, err)
		}
	}
	c := &rawConn6{pc: p, ifi: ifi, buf: make([]byte, 65536), hopLimit: TTL}
	if !multicast {
		c.hopLimit = o.TTL
	}
	return c, nil
}

func (c *rawConn6) Read() (Received, error) {
	for {
		n, cm, from, err := c.pc.ReadFrom(c.buf)
		if err != nil {
			return Received{}, err
		}
		ipa, ok := from.(*net.IPAddr)
		if cm == nil || !ok {
			continue
		}
		src, _ := netip.AddrFromSlice(ipa.IP)
		dst, _ := netip.AddrFromSlice(cm.Dst)
		return Received{Src: src.Unmap(), Dst: dst.Unmap(), TTL: cm.HopLimit, Payload: append([]byte(nil), c.buf[:n]...), At: time.Now()}, nil
	}
}

func (c *rawConn6) Write(src, dst netip.Addr, payload []byte) error {
	cm := &ipv6.ControlMessage{HopLimit: c.hopLimit, Src: net.IP(src.AsSlice()), IfIndex: c.ifi.Index}
	_, err := c.pc.WriteTo(payload, cm, &net.IPAddr{IP: net.IP(dst.AsSlice()), Zone: c.ifi.Name})
	return err
}

func (c *rawConn6) Close() error { return c.pc.Close() }

// netlinkAddresses manages addresses over rtnetlink. The VIPs go over one
// socket kept open from their first write to Close (a netlink.Handle), to
// each device's index as first looked up: a takeover's AddVIP is one
// request and its answer on that socket. netlink.LinkByName and
// netlink.AddrAdd opened, bound and closed a socket each, and the lookup
// decoded the whole link (its statistics among them), on the path from
// the transition hook to the gratuitous ARP. A device deleted and made
// again has a new index (the kernel does not reuse one), so a request to
// the old one fails with ENODEV and is made once more after a new lookup.
type netlinkAddresses struct {
	mu    sync.Mutex
	h     *netlink.Handle // nil until the first VIP request, and after a failed one
	index map[string]int  // device name -> index
}

// PrimaryAddr returns the first primary IPv4 address of ifname not in
// exclude, or its link-local IPv6 address (one past duplicate address
// detection first).
func (*netlinkAddresses) PrimaryAddr(ifname string, six bool, exclude []netip.Addr) (netip.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", ifname, err)
	}
	if six {
		return linkLocal(link)
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

// linkLocal returns the link-local address of link, the source of IPv6
// adverts (RFC 5798 §5.1.2.1): a settled one rather than one still in
// duplicate address detection.
func linkLocal(link netlink.Link) (netip.Addr, error) {
	name := link.Attrs().Name
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", name, err)
	}
	var tentative netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || !ip.IsLinkLocalUnicast() {
			continue
		}
		if a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return ip, nil
		}
		if !tentative.IsValid() {
			tentative = ip
		}
	}
	if tentative.IsValid() {
		return tentative, nil
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no IPv6 link-local address", name)
}

// vipAddr is the address of vip as netlink adds it.
func vipAddr(vip hcl.VIP) (*netlink.Addr, error) {
	a := &netlink.Addr{
		IPNet: &net.IPNet{IP: net.IP(vip.Prefix.Addr().AsSlice()), Mask: net.CIDRMask(vip.Prefix.Bits(), vip.Prefix.Addr().BitLen())},
		Label: vip.Label,
	}
	if vip.Broadcast.IsValid() {
		a.Broadcast = net.IP(vip.Broadcast.AsSlice())
	} else if vip.Prefix.Addr().Is4() {
		// No broadcast address unless brd is written, as keepalived
		// adds them (netlink would compute one; zero means none).
		a.Broadcast = net.IPv4zero
	}
	if vip.Prefix.Addr().Is6() {
		// keepalived adds IPv6 VIPs without duplicate address detection:
		// the address serves at once, and the peer that held it a moment
		// ago must not make it fail.
		a.Flags |= unix.IFA_F_NODAD
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
			return nil, fmt.Errorf("VIP %s: scope %q", vip.Prefix, vip.Scope)
		}
		a.Scope = s
	}
	return a, nil
}

// onDevice makes request with the kept socket and dev's index. When the
// index was kept from an earlier request and the kernel has no device of
// it (ENODEV: dev was deleted and made again), it looks dev up again and
// makes the request once more. After a failure other than the kernel's
// answer, the next request opens a new socket (dropOnFailure).
func (a *netlinkAddresses) onDevice(dev string, request func(*netlink.Handle, netlink.Link) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.h == nil {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("rtnetlink: %w", err)
		}
		a.h = h
	}
	idx, kept := a.index[dev]
	if !kept {
		var err error
		if idx, err = a.lookup(dev); err != nil {
			return err
		}
	}
	err := request(a.h, deviceOf(dev, idx))
	if kept && errors.Is(err, unix.ENODEV) {
		if idx, err = a.lookup(dev); err != nil {
			return err
		}
		err = request(a.h, deviceOf(dev, idx))
	}
	a.dropOnFailure(err)
	return err
}

// lookup reads dev's index and keeps it.
func (a *netlinkAddresses) lookup(dev string) (int, error) {
	link, err := a.h.LinkByName(dev)
	if err != nil {
		a.dropOnFailure(err)
		return 0, fmt.Errorf("device %s: %w", dev, err)
	}
	if a.index == nil {
		a.index = map[string]int{}
	}
	a.index[dev] = link.Attrs().Index
	return link.Attrs().Index, nil
}

// deviceOf is the link a request names: its index, and its name, which
// netlink checks a label against.
func deviceOf(dev string, idx int) netlink.Link {
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx, Name: dev}}
}

// dropOnFailure closes the kept socket after a failure that is not an
// answer of the kernel's to the request: the next request opens another.
func (a *netlinkAddresses) dropOnFailure(err error) {
	var errno syscall.Errno
	var notFound netlink.LinkNotFoundError
	if err == nil || errors.As(err, &errno) || errors.As(err, &notFound) || a.h == nil {
		return
	}
	a.h.Close()
	a.h = nil
}

// Close closes the kept socket.
func (a *netlinkAddresses) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.h != nil {
		a.h.Close()
		a.h = nil
	}
	return nil
}

// HasVIP tells whether the VIP's address is on its device.
func (a *netlinkAddresses) HasVIP(vip hcl.VIP) (bool, error) {
	fam := netlink.FAMILY_V4
	if vip.Prefix.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	var addrs []netlink.Addr
	err := a.onDevice(vip.Dev, func(h *netlink.Handle, link netlink.Link) (err error) {
		addrs, err = h.AddrList(link, fam)
		return err
	})
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
func (a *netlinkAddresses) AddVIP(vip hcl.VIP) error {
	addr, err := vipAddr(vip)
	if err != nil {
		return err
	}
	err = a.onDevice(vip.Dev, func(h *netlink.Handle, link netlink.Link) error { return h.AddrAdd(link, addr) })
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add VIP %s dev %s: %w", vip.Prefix, vip.Dev, err)
	}
	return nil
}

// RemoveVIP removes the address.
func (a *netlinkAddresses) RemoveVIP(vip hcl.VIP) error {
	addr, err := vipAddr(vip)
	if err != nil {
		return err
	}
	err = a.onDevice(vip.Dev, func(h *netlink.Handle, link netlink.Link) error { return h.AddrDel(link, addr) })
	if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove VIP %s dev %s: %w", vip.Prefix, vip.Dev, err)
	}
	return nil
}

// announcer sends gratuitous ARP with one mdlayher/arp client per device,
// each built with arp.New on an AF_PACKET socket it opens, and unsolicited
// neighbour advertisements with one mdlayher/ndp conn per device.
type announcer struct {
	mu  sync.Mutex
	arp map[string]*arp.Client
	ndp map[string]*ndp.Conn
}

// etherTypeARP is the EtherType of ARP (RFC 826).
const etherTypeARP = 0x0806

func (n *announcer) arpClient(dev string) (*arp.Client, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.arp[dev]; ok {
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
	n.arp[dev] = c
	return c, nil
}

// SendGARP broadcasts count gratuitous ARP requests and count replies
// announcing ip at dev's hardware address (sender = target = ip); for an
// IPv6 address it sends count unsolicited neighbour advertisements.
func (n *announcer) SendGARP(dev string, ip netip.Addr, count int) error {
	if ip.Is6() {
		return n.sendNA(dev, ip, count)
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

// allNodes is the link-local all-nodes group, where unsolicited neighbour
// advertisements go (RFC 4861 §7.2.6).
var allNodes = netip.MustParseAddr("ff02::1")

// ndpConn returns the ICMPv6 socket of dev, bound to its link-local
// address (keepalived's NA source), opening it on first use. It reads
// nothing: an ICMPv6 filter blocks every type.
func (n *announcer) ndpConn(dev string) (*ndp.Conn, *net.Interface, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, nil, fmt.Errorf("NA on %s: %w", dev, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.ndp[dev]; ok {
		return c, ifi, nil
	}
	c, _, err := ndp.Listen(ifi, ndp.LinkLocal)
	if err != nil {
		return nil, nil, fmt.Errorf("NA on %s: %w", dev, err)
	}
	var block ipv6.ICMPFilter
	block.SetAll(true)
	if err := c.SetICMPFilter(&block); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("NA on %s: %w", dev, err)
	}
	n.ndp[dev] = c
	return c, ifi, nil
}

// sendNA sends count unsolicited neighbour advertisements for ip to
// ff02::1 (RFC 4861 §7.2.6): Override set, so neighbours replace the old
// master's link-layer address; Router set only where dev forwards IPv6,
// as keepalived; the target link-layer address option carries dev's MAC.
// A socket that fails is closed, so the next round opens a new one (its
// link-local address may have been in duplicate address detection).
func (n *announcer) sendNA(dev string, ip netip.Addr, count int) error {
	c, ifi, err := n.ndpConn(dev)
	if err != nil {
		return err
	}
	na := &ndp.NeighborAdvertisement{
		Router:        forwards(dev),
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: ifi.HardwareAddr}},
	}
	for range count {
		if err := c.WriteTo(na, nil, allNodes); err != nil {
			n.mu.Lock()
			delete(n.ndp, dev)
			n.mu.Unlock()
			c.Close()
			return fmt.Errorf("NA %s on %s: %w", ip, dev, err)
		}
	}
	return nil
}

// forwards tells whether dev forwards IPv6 (its forwarding sysctl), the
// Router flag of its neighbour advertisements (RFC 4861 §4.4).
func forwards(dev string) bool {
	b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + dev + "/forwarding")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// Close closes the ARP and ICMPv6 sockets.
func (n *announcer) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for dev, c := range n.arp {
		c.Close()
		delete(n.arp, dev)
	}
	for dev, c := range n.ndp {
		c.Close()
		delete(n.ndp, dev)
	}
	return nil
}
