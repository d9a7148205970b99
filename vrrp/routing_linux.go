package vrrp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/lvsd/lvsd/hcl"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// netlinkRouting is Routing over rtnetlink, and the sysctls of
// /proc/sys/net. It remembers the sysctls it changed and for which VMACs,
// to put each back when the last VMAC that needed it goes (two VMACs on
// one base interface share its sysctls).
type netlinkRouting struct {
	mu    sync.Mutex
	saved map[string]*savedSysctl // sysctl path
	vmacs map[string]int          // VMAC name: the instances using it (two share one, as keepalived)
}

// savedSysctl is the value a sysctl had before lvsd changed it, and the
// VMACs that need the change.
type savedSysctl struct {
	value string
	users map[string]bool
}

func newNetlinkRouting() *netlinkRouting {
	return &netlinkRouting{saved: map[string]*savedSysctl{}, vmacs: map[string]int{}}
}

func ipNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func routeScope(s string) (netlink.Scope, error) {
	switch s {
	case "", "global", "universe":
		return netlink.SCOPE_UNIVERSE, nil
	case "site":
		return netlink.SCOPE_SITE, nil
	case "link":
		return netlink.SCOPE_LINK, nil
	case "host":
		return netlink.SCOPE_HOST, nil
	case "nowhere":
		return netlink.SCOPE_NOWHERE, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("scope %q", s)
	}
	return netlink.Scope(n), nil
}

// netlinkRoute is the rtnetlink form of a route: keepalived's defaults
// (scope global unless written, the main table, protocol keepalived).
func netlinkRoute(r hcl.Route) (*netlink.Route, error) {
	nr := &netlink.Route{Dst: ipNet(r.Dst), Table: r.Table, Priority: r.Metric, Protocol: netlink.RouteProtocol(r.Protocol)}
	if r.Dst.Bits() == 0 {
		// The default route: rtnetlink takes no destination.
		nr.Dst = nil
		nr.Family = netlink.FAMILY_V4
		if r.IPv6() {
			nr.Family = netlink.FAMILY_V6
		}
	}
	if r.Src.IsValid() {
		nr.Src = net.IP(r.Src.AsSlice())
	}
	switch r.Type {
	case hcl.RouteBlackhole:
		nr.Type = unix.RTN_BLACKHOLE
	case hcl.RouteUnreachable:
		nr.Type = unix.RTN_UNREACHABLE
	case hcl.RouteProhibit:
		nr.Type = unix.RTN_PROHIBIT
	case hcl.RouteThrow:
		nr.Type = unix.RTN_THROW
	default:
		nr.Type = unix.RTN_UNICAST
	}
	scope, err := routeScope(r.Scope)
	if err != nil {
		return nil, err
	}
	nr.Scope = scope
	if r.Dev != "" {
		l, err := netlink.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", r.Dev, err)
		}
		nr.LinkIndex = l.Attrs().Index
	}
	switch len(r.Via) {
	case 0:
	case 1:
		nr.Gw = net.IP(r.Via[0].AsSlice())
	default:
		for _, v := range r.Via {
			nr.MultiPath = append(nr.MultiPath, &netlink.NexthopInfo{LinkIndex: nr.LinkIndex, Gw: net.IP(v.AsSlice())})
		}
		nr.LinkIndex = 0
	}
	if r.OnLink {
		nr.Flags |= int(netlink.FLAG_ONLINK)
	}
	return nr, nil
}

func (*netlinkRouting) AddRoute(r hcl.Route) error {
	nr, err := netlinkRoute(r)
	if err == nil {
		err = netlink.RouteAdd(nr)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add route %s: %w", r, err)
	}
	return nil
}

func (*netlinkRouting) RemoveRoute(r hcl.Route) error {
	nr, err := netlinkRoute(r)
	if err == nil {
		err = netlink.RouteDel(nr)
	}
	if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove route %s: %w", r, err)
	}
	return nil
}

// netlinkRule is the rtnetlink form of a rule.
func netlinkRule(r hcl.Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = netlink.FAMILY_V4
	if r.IPv6Family {
		nr.Family = netlink.FAMILY_V6
	}
	nr.Priority = r.Priority
	nr.Src, nr.Dst = ipNet(r.From), ipNet(r.To)
	nr.IifName, nr.OifName = r.IIF, r.OIF
	nr.Protocol = uint8(r.Protocol)
	if r.FWMark != 0 || r.FWMask != 0 {
		nr.Mark = r.FWMark
		if r.FWMask != 0 {
			m := r.FWMask
			nr.Mask = &m
		}
	}
	switch r.Action {
	case hcl.RouteBlackhole:
		nr.Type = unix.FR_ACT_BLACKHOLE
	case hcl.RouteUnreachable:
		nr.Type = unix.FR_ACT_UNREACHABLE
	case hcl.RouteProhibit:
		nr.Type = unix.FR_ACT_PROHIBIT
	default:
		nr.Table = r.Table
	}
	return nr
}

func (*netlinkRouting) AddRule(r hcl.Rule) error {
	if err := netlink.RuleAdd(netlinkRule(r)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add rule %s: %w", r, err)
	}
	return nil
}

func (*netlinkRouting) RemoveRule(r hcl.Rule) error {
	if err := netlink.RuleDel(netlinkRule(r)); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("remove rule %s: %w", r, err)
	}
	return nil
}

// The sysctls keepalived 2.2.7 sets for a VMAC (vrrp_if_config.c, seen
// on its interfaces): on the VMAC arp_ignore 1 (answer ARP only for its
// own addresses), accept_local 1 (take the adverts it sent through the
// base interface), rp_filter 0 and promote_secondaries 1; on the base
// interface arp_ignore 1 and arp_filter 1, so that it does not answer ARP
// for the VIPs with its own MAC.
var (
	vmacSysctls = [][2]string{{"arp_ignore", "1"}, {"accept_local", "1"}, {"rp_filter", "0"}, {"promote_secondaries", "1"}}
	baseSysctls = [][2]string{{"arp_ignore", "1"}, {"arp_filter", "1"}}
)

func ipv4Sysctl(dev, name string) string {
	return filepath.Join("/proc/sys/net/ipv4/conf", dev, name)
}

// setSysctl writes value to path for VMAC user, remembering the value
// before (the first time only). nr.mu is held.
func (nr *netlinkRouting) setSysctl(user, path, value string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, ok := nr.saved[path]
	if !ok {
		s = &savedSysctl{value: string(bytes.TrimSpace(old)), users: map[string]bool{}}
		nr.saved[path] = s
	}
	s.users[user] = true
	return os.WriteFile(path, []byte(value), 0o644)
}

func (nr *netlinkRouting) AddVMAC(base string, m hcl.VMAC, ipv6 bool) error {
	if m.IPVLAN {
		return nr.addIPVLAN(base, m, ipv6) // ipvlan_linux.go
	}
	parent, err := netlink.LinkByName(base)
	if err != nil {
		return fmt.Errorf("VMAC %s: interface %s: %w", m.Name, base, err)
	}
	link, err := netlink.LinkByName(m.Name)
	switch {
	case err == nil:
		mv, ok := link.(*netlink.Macvlan)
		if !ok || mv.ParentIndex != parent.Attrs().Index || !bytes.Equal(mv.HardwareAddr, m.MAC) {
			return fmt.Errorf("VMAC %s: an interface of that name exists and is not a macvlan of %s with %s", m.Name, base, m.MAC)
		}
	default:
		mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: m.Name, ParentIndex: parent.Attrs().Index, HardwareAddr: m.MAC},
			Mode: netlink.MACVLAN_MODE_PRIVATE}
		if err := netlink.LinkAdd(mv); err != nil {
			return fmt.Errorf("VMAC %s on %s: %w", m.Name, base, err)
		}
		if link, err = netlink.LinkByName(m.Name); err != nil {
			return fmt.Errorf("VMAC %s: %w", m.Name, err)
		}
	}
	// As keepalived: the kernel makes no link-local address of the
	// virtual MAC (every node's VMAC has the same MAC, so the same
	// EUI-64 address); an IPv6 VMAC gets the base interface's link-local
	// address instead, without duplicate address detection and
	// deprecated, the source of its adverts and neighbour advertisements.
	_ = netlink.LinkSetIP6AddrGenMode(link, 1) // IN6_ADDR_GEN_MODE_NONE
	if ipv6 {
		ll, err := linkLocal(parent)
		if err != nil {
			return fmt.Errorf("VMAC %s: %w", m.Name, err)
		}
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(ll.AsSlice()), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD,
			PreferedLft: 0, ValidLft: math.MaxUint32}
		if err := netlink.AddrReplace(link, a); err != nil {
			return fmt.Errorf("VMAC %s: link-local %s: %w", m.Name, ll, err)
		}
	}
	nr.mu.Lock()
	var errs []error
	for _, s := range vmacSysctls {
		errs = append(errs, nr.setSysctl(m.Name, ipv4Sysctl(m.Name, s[0]), s[1]))
	}
	for _, s := range baseSysctls {
		errs = append(errs, nr.setSysctl(m.Name, ipv4Sysctl(base, s[0]), s[1]))
	}
	// keepalived.conf(5), use_vmac: with all.rp_filter set, every
	// interface gets the greater of its own and all's, and all 0, so that
	// the VMAC's 0 counts.
	if all, err := os.ReadFile(ipv4Sysctl("all", "rp_filter")); err == nil && strings.TrimSpace(string(all)) != "0" {
		v := strings.TrimSpace(string(all))
		ents, _ := os.ReadDir("/proc/sys/net/ipv4/conf")
		for _, e := range ents {
			if e.Name() == "all" || e.Name() == m.Name {
				continue
			}
			p := ipv4Sysctl(e.Name(), "rp_filter")
			if cur, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(cur)) < v {
				errs = append(errs, nr.setSysctl(m.Name, p, v))
			}
		}
		errs = append(errs, nr.setSysctl(m.Name, ipv4Sysctl("all", "rp_filter"), "0"))
	}
	nr.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("VMAC %s: sysctl: %w", m.Name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("VMAC %s: up: %w", m.Name, err)
	}
	nr.mu.Lock()
	nr.vmacs[m.Name]++
	nr.mu.Unlock()
	return nil
}

func (nr *netlinkRouting) RemoveVMAC(base string, m hcl.VMAC) error {
	nr.mu.Lock()
	if nr.vmacs[m.Name]--; nr.vmacs[m.Name] > 0 {
		nr.mu.Unlock()
		return nil // another instance still has it
	}
	delete(nr.vmacs, m.Name)
	nr.mu.Unlock()
	var errs []error
	if link, err := netlink.LinkByName(m.Name); err == nil {
		// Only the kind of link lvsd made under that name: an interface
		// of another kind that took the name meanwhile is not ours.
		_, macvlan := link.(*netlink.Macvlan)
		_, ipvlan := link.(*netlink.IPVlan)
		if (macvlan && !m.IPVLAN) || (ipvlan && m.IPVLAN) {
			errs = append(errs, netlink.LinkDel(link))
		}
	}
	nr.mu.Lock()
	for path, s := range nr.saved {
		if !s.users[m.Name] {
			continue
		}
		delete(s.users, m.Name)
		if len(s.users) > 0 {
			continue // another VMAC still needs it
		}
		delete(nr.saved, path)
		if strings.Contains(path, "/"+m.Name+"/") {
			continue // gone with the interface
		}
		if err := os.WriteFile(path, []byte(s.value), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	nr.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove VMAC %s: %w", m.Name, err)
	}
	return nil
}
