package hcl

import (
	"fmt"
	"strings"
	"time"
)

// Validation of the VRRP part of a configuration: vrrp_script,
// vrrp_instance and vrrp_sync_group. Everything vrrp.NewNode relies on is
// checked here, with the place of the problem, so that the vrrp package
// takes the model as final and never fails on it.

// maxAdvertAddresses is the most addresses one VRRPv2 advertisement can
// carry: its Count IP Addrs field is one octet (RFC 3768 §5.3.5).
const maxAdvertAddresses = 255

func (v *validator) scripts() {
	seen := map[string]bool{}
	for i := range v.cfg.Scripts {
		s := &v.cfg.Scripts[i]
		if seen[s.Name] {
			v.diags.errorf(s.Pos, "duplicate vrrp_script", "vrrp_script %q is defined twice", s.Name)
		}
		seen[s.Name] = true
		if strings.TrimSpace(s.Script) == "" {
			v.diags.errorf(s.Pos, "missing script", "vrrp_script %q needs script", s.Name)
		}
		if s.Interval <= 0 {
			v.diags.errorf(at(s.Positions, "interval", s.Pos), "invalid interval", "vrrp_script %q: interval must be more than 0", s.Name)
		}
		if s.Timeout <= 0 {
			v.diags.errorf(at(s.Positions, "timeout", s.Pos), "invalid timeout", "vrrp_script %q: timeout must be more than 0", s.Name)
		}
		if s.Weight < -253 || s.Weight > 253 {
			v.diags.errorf(at(s.Positions, "weight", s.Pos), "invalid weight", "vrrp_script %q: weight %d is outside -253..253", s.Name, s.Weight)
		}
		if s.Rise < 1 || s.Fall < 1 {
			v.diags.errorf(at(s.Positions, "rise", s.Pos), "invalid rise/fall", "vrrp_script %q: rise and fall must be at least 1", s.Name)
		}
	}
}

func (v *validator) instances() {
	names := map[string]bool{}
	vrids := map[string]*VRRPInstance{} // "iface/vrid"
	vips := map[string]string{}         // address -> instance
	scripts := map[string]*VRRPScript{}
	for i := range v.cfg.Scripts {
		if _, dup := scripts[v.cfg.Scripts[i].Name]; !dup {
			scripts[v.cfg.Scripts[i].Name] = &v.cfg.Scripts[i]
		}
	}
	for i := range v.cfg.Instances {
		in := &v.cfg.Instances[i]
		where := func(attr string) Pos { return at(in.Positions, attr, in.Pos) }
		if names[in.Name] {
			v.diags.errorf(in.Pos, "duplicate vrrp_instance", "vrrp_instance %q is defined twice", in.Name)
		}
		names[in.Name] = true
		if in.State != StateMaster && in.State != StateBackup {
			v.diags.errorf(where("state"), "invalid state", "vrrp_instance %q: state %q: want MASTER or BACKUP", in.Name, in.State)
		}
		if in.Interface == "" {
			v.diags.errorf(in.Pos, "missing interface", "vrrp_instance %q needs interface", in.Name)
		}
		if in.VirtualRouterID < 1 || in.VirtualRouterID > 255 {
			if _, ok := in.Positions["virtual_router_id"]; !ok {
				v.diags.errorf(in.Pos, "missing virtual_router_id", "vrrp_instance %q needs virtual_router_id (1-255)", in.Name)
			} else {
				v.diags.errorf(where("virtual_router_id"), "invalid virtual_router_id", "vrrp_instance %q: %d is outside 1..255 (RFC 3768 §5.3.3)", in.Name, in.VirtualRouterID)
			}
		} else if in.Interface != "" {
			key := fmt.Sprintf("%s/%d", in.Interface, in.VirtualRouterID)
			if prev, dup := vrids[key]; dup {
				v.diags.errorf(where("virtual_router_id"), "duplicate virtual_router_id",
					"vrrp_instance %q and %q (%s) both use VRID %d on %s", in.Name, prev.Name, prev.Pos, in.VirtualRouterID, in.Interface)
			} else {
				vrids[key] = in
			}
		}
		if in.Priority < 1 || in.Priority > 255 {
			v.diags.errorf(where("priority"), "invalid priority", "vrrp_instance %q: priority %d is outside 1..255 (RFC 3768 §5.3.4)", in.Name, in.Priority)
		} else if in.Priority == 255 && in.State == StateBackup {
			v.diags.warnf(where("priority"), "priority 255 on a BACKUP", "vrrp_instance %q: priority 255 means address owner and always takes over (RFC 3768 §5.3.4)", in.Name)
		}
		if in.AdvertInt < time.Second || in.AdvertInt > 255*time.Second {
			v.diags.errorf(where("advert_int"), "invalid advert_int", "vrrp_instance %q: advert_int %s is outside 1..255 seconds (VRRPv2, RFC 3768 §5.3.7)", in.Name, in.AdvertInt)
		} else if in.AdvertInt%time.Second != 0 {
			rounded := in.AdvertInt.Round(time.Second)
			v.diags.warnf(where("advert_int"), "advert_int rounded", "vrrp_instance %q: VRRPv2 carries whole seconds (RFC 3768 §5.3.7); %s is used as %s", in.Name, in.AdvertInt, rounded)
			in.AdvertInt = rounded
		}
		switch in.AuthType {
		case "":
			if in.AuthPass != "" {
				v.diags.errorf(where("auth_pass"), "auth_pass without auth_type", "vrrp_instance %q: set auth_type = \"PASS\"", in.Name)
			}
		case "PASS":
			if in.AuthPass == "" {
				v.diags.errorf(where("auth_type"), "missing auth_pass", "vrrp_instance %q: auth_type PASS needs auth_pass", in.Name)
			}
			if len(in.AuthPass) > 8 {
				v.diags.errorf(where("auth_pass"), "auth_pass too long", "vrrp_instance %q: auth_pass has %d characters; VRRPv2 carries at most 8 (RFC 3768 §5.3.10), and keepalived would silently use only the first 8", in.Name, len(in.AuthPass))
			}
		case "AH":
			v.diags.errorf(where("auth_type"), "unsupported auth_type", "vrrp_instance %q: AH authentication is not supported by lvsd (use PASS or none)", in.Name)
		default:
			v.diags.errorf(where("auth_type"), "invalid auth_type", "vrrp_instance %q: %q: want PASS (or leave authentication out)", in.Name, in.AuthType)
		}
		if len(in.VirtualIPs) == 0 {
			v.diags.warnf(in.Pos, "no virtual_ipaddress", "vrrp_instance %q moves no address", in.Name)
		}
		if len(in.VirtualIPs) > maxAdvertAddresses {
			v.diags.errorf(in.VirtualIPs[maxAdvertAddresses].Pos, "too many virtual_ipaddress",
				"vrrp_instance %q has %d addresses; a VRRPv2 advert carries at most %d (Count IP Addrs is one octet, RFC 3768 §5.3.5)",
				in.Name, len(in.VirtualIPs), maxAdvertAddresses)
		}
		for j := range in.VirtualIPs {
			vip := &in.VirtualIPs[j]
			if vip.Dev == "" {
				vip.Dev = in.Interface
			}
			if !vip.Prefix.Addr().Is4() {
				v.diags.errorf(vip.Pos, "IPv6 virtual_ipaddress", "vrrp_instance %q: %s: VRRPv2 (RFC 3768) carries IPv4 addresses only", in.Name, vip.Prefix.Addr())
			}
			addr := vip.Prefix.Addr().String()
			if other, dup := vips[addr]; dup {
				v.diags.errorf(vip.Pos, "duplicate virtual_ipaddress", "%s is in vrrp_instance %q and %q", addr, other, in.Name)
			}
			vips[addr] = in.Name
		}
		if in.UnicastSrcIP.IsValid() && !in.UnicastSrcIP.Is4() {
			v.diags.errorf(where("unicast_src_ip"), "invalid unicast_src_ip", "vrrp_instance %q: VRRPv2 needs an IPv4 unicast_src_ip", in.Name)
		}
		for _, p := range in.UnicastPeers {
			if !p.Is4() {
				v.diags.errorf(where("unicast_peer"), "invalid unicast_peer", "vrrp_instance %q: %s: VRRPv2 needs IPv4 peers", in.Name, p)
			}
		}
		if in.PreemptDelay < 0 || in.PreemptDelay > 1000*time.Second {
			v.diags.errorf(where("preempt_delay"), "invalid preempt_delay", "vrrp_instance %q: preempt_delay must be 0..1000 seconds (keepalived's range)", in.Name)
		}
		// keepalived reads a repeat count of 0 as 1 (the keepalived.conf
		// reader does so with its warning); HCL refuses it.
		for _, c := range []struct {
			attr string
			n    int
		}{{"garp_master_repeat", in.GarpMasterRepeat}, {"garp_master_refresh_repeat", in.GarpMasterRefreshRepeat}} {
			if c.n < 1 {
				v.diags.errorf(where(c.attr), "invalid "+c.attr, "vrrp_instance %q: %s must be at least 1", in.Name, c.attr)
			}
		}
		v.trackScripts(in, scripts)
	}
}

func (v *validator) syncGroups() {
	names := v.instanceNames()
	member := map[string]string{}
	seen := map[string]bool{}
	for _, g := range v.cfg.SyncGroups {
		if seen[g.Name] {
			v.diags.errorf(g.Pos, "duplicate vrrp_sync_group", "vrrp_sync_group %q is defined twice", g.Name)
		}
		seen[g.Name] = true
		if len(g.Group) == 0 {
			v.diags.errorf(g.Pos, "empty vrrp_sync_group", "vrrp_sync_group %q needs group = [instances]", g.Name)
		}
		for _, m := range g.Group {
			if !names[m] {
				v.diags.errorf(at(g.Positions, "group", g.Pos), "unknown vrrp_instance", "vrrp_sync_group %q names %q, which is not defined.%s", g.Name, m, suggest(m, keys(names)))
				continue
			}
			if other, dup := member[m]; dup {
				v.diags.errorf(at(g.Positions, "group", g.Pos), "instance in two sync groups", "vrrp_instance %q is in vrrp_sync_group %q and %q", m, other, g.Name)
			}
			member[m] = g.Name
		}
	}
}

// trackScripts checks an instance's track_script references, keeps the
// first of a repeated one, and resolves each one's weight: the weight written on the track_script when set, else
// the vrrp_script's own (keepalived's rule), so that consumers read
// TrackScript.Weight and nothing else.
func (v *validator) trackScripts(in *VRRPInstance, scripts map[string]*VRRPScript) {
	names := make(map[string]bool, len(scripts))
	for name := range scripts {
		names[name] = true
	}
	where := at(in.Positions, "track_script", in.Pos)
	seen := map[string]bool{}
	kept := in.TrackScripts[:0]
	for _, ts := range in.TrackScripts {
		s, ok := scripts[ts.Name]
		if !ok {
			v.diags.errorf(where, "unknown vrrp_script", "vrrp_instance %q tracks %q, which is not defined.%s", in.Name, ts.Name, suggest(ts.Name, keys(names)))
			continue
		}
		if seen[ts.Name] {
			// keepalived runs past a repeated track_script with the
			// first; so does lvsd, saying so.
			v.diags.warnf(where, "duplicate track_script", "vrrp_instance %q tracks %q twice; the first is used", in.Name, ts.Name)
			continue
		}
		seen[ts.Name] = true
		if !ts.WeightSet {
			ts.Weight = s.Weight
		}
		kept = append(kept, ts)
	}
	in.TrackScripts = kept
}
