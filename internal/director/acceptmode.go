package director

import (
	"errors"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/acceptmode"
)

// acceptModeOnTransition keeps lvsd's accept-mode table (internal/acceptmode)
// in step with mastership: an instance with no_accept that becomes MASTER
// has its addresses dropped before it adds them (onTransition runs first),
// and released after it removed them on the way out, as keepalived
// 2.2.7 sets its "firewall drop rule" before "setting VIPs" and removes
// it after "removing VIPs". The table is opened with the first such
// MASTER and removed when Run ends.
func (d *Director) acceptModeOnTransition(instance string, master bool) error {
	d.mu.Lock()
	d.masters[instance] = master
	d.mu.Unlock()
	in, ok := instanceNamed(d.Config(), instance)
	if master && ok && in.Net.NoAccept {
		t, err := d.acceptTable()
		if err != nil {
			return err
		}
		return t.Hold(instance, acceptModeAddrs(in))
	}
	d.mu.Lock()
	t := d.acceptMode
	d.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.Release(instance)
}

// reloadAcceptMode applies a reload to the instances that are MASTER: one
// that gained no_accept (or new addresses) is held, one that lost it or
// is gone released.
func (d *Director) reloadAcceptMode(cfg *hcl.Config) {
	d.mu.Lock()
	var masters []string
	for name, m := range d.masters {
		if m {
			masters = append(masters, name)
		}
	}
	t := d.acceptMode
	d.mu.Unlock()
	var errs []error
	for _, name := range masters {
		if in, ok := instanceNamed(cfg, name); ok && in.Net.NoAccept {
			errs = append(errs, d.acceptModeOnTransition(name, true))
		}
	}
	if t != nil {
		for _, name := range t.Instances() {
			if in, ok := instanceNamed(cfg, name); !ok || !in.Net.NoAccept {
				errs = append(errs, t.Release(name))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		d.log.Error("reload: accept mode", "err", err)
	}
}

// acceptTable opens the table once.
func (d *Director) acceptTable() (*acceptmode.Table, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.acceptMode == nil {
		t, err := acceptmode.Open(d.log.With("part", "acceptmode"))
		if err != nil {
			return nil, err
		}
		d.acceptMode = t
	}
	return d.acceptMode, nil
}

// clearAcceptMode deletes a table an earlier lvsd left (killed while a
// no_accept instance was MASTER) when this run starts VRRP: the first
// no_accept MASTER makes its own.
func (d *Director) clearAcceptMode() {
	if err := acceptmode.Clear(); err != nil {
		d.log.Debug("accept mode: clearing an earlier table", "err", err)
	}
}

// removeAcceptMode deletes the table at stop, the VIPs gone.
func (d *Director) removeAcceptMode() {
	d.mu.Lock()
	t := d.acceptMode
	d.acceptMode = nil
	d.mu.Unlock()
	if t == nil {
		return
	}
	if err := t.Remove(); err != nil {
		d.log.Error("accept mode table", "err", err)
	}
}

func instanceNamed(cfg *hcl.Config, name string) (hcl.VRRPInstance, bool) {
	for _, in := range cfg.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return hcl.VRRPInstance{}, false
}

// acceptModeAddrs are the addresses an instance holds while MASTER: its
// virtual and excluded addresses (keepalived drops both, its vips set).
func acceptModeAddrs(in hcl.VRRPInstance) []netip.Addr {
	var out []netip.Addr
	for _, v := range in.VirtualIPs {
		out = append(out, v.Prefix.Addr())
	}
	for _, v := range in.Net.ExcludedIPs {
		out = append(out, v.Prefix.Addr())
	}
	return out
}
