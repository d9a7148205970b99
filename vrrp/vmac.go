package vrrp

import (
	"fmt"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
)

// setupVMAC creates the instance's VMACs (use_vmac, and use_vmac_addr's
// on the other interfaces its addresses name; or use_ipvlan's ipvlan,
// ipvlan_linux.go) and returns the interface
// its adverts go through: the VMAC, so that they leave with the virtual
// router MAC as keepalived sends them, or the base interface with
// vmac_xmit_base.
func (n *Node) setupVMAC(in *instance) (string, error) {
	c := in.cfg
	for _, m := range vmacsOf(c) {
		if err := n.net.Routing.AddVMAC(m.Base, m, m.IPv6); err != nil {
			return "", fmt.Errorf("vrrp_instance %s: %w", c.Name, err)
		}
		if m.IPVLAN {
			in.log.Info("ipvlan interface up", "ipvlan", m.Name, "flag", m.IPVLANFlag, "address", m.Addr, "on", m.Base)
			continue
		}
		in.log.Info("VMAC interface up", "vmac", m.Name, "mac", m.MAC.String(), "on", m.Base)
	}
	if m := c.Net.VMAC; m != nil && !m.XmitBase {
		return m.Name, nil
	}
	return c.Interface, nil
}

// removeVMAC removes the instance's VMACs at stop, its addresses gone.
func (n *Node) removeVMAC(in *instance) {
	for _, m := range vmacsOf(in.cfg) {
		if err := n.net.Routing.RemoveVMAC(m.Base, m); err != nil {
			in.log.Error("removing VMAC failed", "vmac", m.Name, "err", err)
		}
	}
}

// vmacsOf lists an instance's VMACs: use_vmac's, then use_vmac_addr's.
func vmacsOf(c hcl.VRRPInstance) []hcl.VMAC {
	var out []hcl.VMAC
	if m := c.Net.VMAC; m != nil {
		out = append(out, *m)
	}
	return append(out, c.Net.AddrVMACs...)
}

// ipvlanSource is the advert source use_ipvlan's address gives an
// instance without unicast_src_ip (keepalived's vrrp_ipvlan_handler),
// else none.
func ipvlanSource(c hcl.VRRPInstance) netip.Addr {
	if m := c.Net.VMAC; m != nil && m.IPVLAN {
		return m.Addr.Addr()
	}
	return netip.Addr{}
}
