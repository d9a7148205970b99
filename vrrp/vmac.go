package vrrp

// setupVMAC creates the instance's VMAC (use_vmac) and returns the
// interface its adverts go through: the VMAC, so that they leave with
// the virtual router MAC as keepalived sends them, or the base interface
// with vmac_xmit_base.
func (n *Node) setupVMAC(in *instance) (string, error) {
	c := in.cfg
	m := c.Net.VMAC
	if m == nil {
		return c.Interface, nil
	}
	if err := n.net.Routing.AddVMAC(c.Interface, *m, c.IPv6); err != nil {
		return "", err
	}
	in.log.Info("VMAC interface up", "vmac", m.Name, "mac", m.MAC.String(), "on", c.Interface)
	if m.XmitBase {
		return c.Interface, nil
	}
	return m.Name, nil
}

// removeVMAC removes the instance's VMAC at stop, its addresses gone.
func (n *Node) removeVMAC(in *instance) {
	m := in.cfg.Net.VMAC
	if m == nil {
		return
	}
	if err := n.net.Routing.RemoveVMAC(in.cfg.Interface, *m); err != nil {
		in.log.Error("removing VMAC failed", "vmac", m.Name, "err", err)
	}
}
