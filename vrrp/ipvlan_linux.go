package vrrp

import (
	"fmt"
	"net"

	"github.com/lvsd/lvsd/hcl"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ipvlanFlags are ip-link(8)'s ipvlan flags by use_ipvlan's words.
var ipvlanFlags = map[string]netlink.IPVlanFlag{
	hcl.IPVLANBridge:  netlink.IPVLAN_FLAG_BRIDGE,
	hcl.IPVLANPrivate: netlink.IPVLAN_FLAG_PRIVATE,
	hcl.IPVLANVEPA:    netlink.IPVLAN_FLAG_VEPA,
}

// addIPVLAN is AddVMAC for use_ipvlan, as keepalived 2.2.7's
// netlink_link_add_ipvlan does it: an ipvlan in mode l2 with the flag
// asked for on base (one of that name, base and mode left by a crash is
// taken over), IPv6 off for an IPv4 instance, its address added, up. It
// shares base's MAC, so no sysctl changes: base and ipvlan answer ARP
// with the same address.
func (nr *netlinkRouting) addIPVLAN(base string, m hcl.VMAC, ipv6 bool) error {
	parent, err := netlink.LinkByName(base)
	if err != nil {
		return fmt.Errorf("ipvlan %s: interface %s: %w", m.Name, base, err)
	}
	link, err := netlink.LinkByName(m.Name)
	switch {
	case err == nil:
		iv, ok := link.(*netlink.IPVlan)
		if !ok || iv.ParentIndex != parent.Attrs().Index || iv.Mode != netlink.IPVLAN_MODE_L2 {
			return fmt.Errorf("ipvlan %s: an interface of that name exists and is not an l2 ipvlan of %s", m.Name, base)
		}
	default:
		iv := &netlink.IPVlan{LinkAttrs: netlink.LinkAttrs{Name: m.Name, ParentIndex: parent.Attrs().Index},
			Mode: netlink.IPVLAN_MODE_L2, Flag: ipvlanFlags[m.IPVLANFlag]}
		if err := netlink.LinkAdd(iv); err != nil {
			return fmt.Errorf("ipvlan %s on %s: %w (the kernel needs the ipvlan module)", m.Name, base, err)
		}
		if link, err = netlink.LinkByName(m.Name); err != nil {
			return fmt.Errorf("ipvlan %s: %w", m.Name, err)
		}
	}
	if !ipv6 {
		_ = netlink.LinkSetIP6AddrGenMode(link, 1) // IN6_ADDR_GEN_MODE_NONE: keepalived turns IPv6 off
	}
	if m.Addr.IsValid() {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(m.Addr.Addr().AsSlice()), Mask: net.CIDRMask(m.Addr.Bits(), m.Addr.Addr().BitLen())}}
		if m.Addr.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrReplace(link, a); err != nil {
			return fmt.Errorf("ipvlan %s: address %s: %w", m.Name, m.Addr, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("ipvlan %s: up: %w", m.Name, err)
	}
	nr.mu.Lock()
	nr.vmacs[m.Name]++
	nr.mu.Unlock()
	return nil
}
