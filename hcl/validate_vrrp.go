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

// maxAdvertAddresses is the most addresses one advertisement can carry:
// its Count IP Addrs field is one octet (RFC 3768 §5.3.5, RFC 5798 §5.2.5).
const maxAdvertAddresses = 255

// VRRPv3's interval is 12 bits of centiseconds (RFC 5798 §5.2.7).
const (
	centisecond    = 10 * time.Millisecond
	maxAdvertIntV3 = 4095 * centisecond
	vrrpVersionV2  = 2
	vrrpVersionV3  = 3
	familyNameIPv4 = "IPv4"
	familyNameIPv6 = "IPv6"
)

func familyName(ipv6 bool) string {
	if ipv6 {
		return familyNameIPv6
	}
	return familyNameIPv4
}

// instanceFamily is an instance's address family, as keepalived decides
// it: native_ipv6, else its first virtual_ipaddress, else its first
// unicast peer, else unicast_src_ip; IPv4 without any.
func instanceFamily(in *VRRPInstance) bool {
	switch {
	case in.IPv6:
		return true
	case len(in.VirtualIPs) > 0:
		return in.VirtualIPs[0].Prefix.Addr().Is6()
	case len(in.UnicastPeers) > 0:
		return in.UnicastPeers[0].Is6()
	case in.UnicastSrcIP.IsValid():
		return in.UnicastSrcIP.Is6()
	}
	return false
}

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
	for i := range v.cfg.Instances {
		in := &v.cfg.Instances[i]
		where := func(attr string) Pos { return at(in.Positions, attr, in.Pos) }
		if names[in.Name] {
			v.diags.errorf(in.Pos, "duplicate vrrp_instance", "vrrp_instance %q is defined twice", in.Name)
		}
		names[in.Name] = true
		v.version(in, where)
		if in.State != StateMaster && in.State != StateBackup {
			v.diags.errorf(where("state"), "invalid state", "vrrp_instance %q: state %q: want MASTER or BACKUP", in.Name, in.State)
		}
		if in.Interface == "" {
			v.diags.errorf(in.Pos, "missing interface", "vrrp_instance %q needs interface", in.Name)
		}
		if in.VirtualRouterID < 1 || in.VirtualRouterID > 255 {
			if ok := in.Positions.Has("virtual_router_id"); !ok {
				v.diags.errorf(in.Pos, "missing virtual_router_id", "vrrp_instance %q needs virtual_router_id (1-255)", in.Name)
			} else {
				v.diags.errorf(where("virtual_router_id"), "invalid virtual_router_id", "vrrp_instance %q: %d is outside 1..255 (RFC 3768 §5.3.3)", in.Name, in.VirtualRouterID)
			}
		} else if in.Interface != "" {
			// The same VRID may serve IPv4 and IPv6 in two instances
			// (RFC 5798 §7.3: separate virtual routers per family;
			// keepalived #2146).
			key := fmt.Sprintf("%s/%d/%s", in.Interface, in.VirtualRouterID, familyName(in.IPv6))
			if prev, dup := vrids[key]; dup {
				v.diags.errorf(where("virtual_router_id"), "duplicate virtual_router_id",
					"vrrp_instance %q and %q (%s) both use VRID %d on %s for %s", in.Name, prev.Name, prev.Pos, in.VirtualRouterID, in.Interface, familyName(in.IPv6))
			} else {
				vrids[key] = in
			}
		}
		if in.Priority < 1 || in.Priority > 255 {
			v.diags.errorf(where("priority"), "invalid priority", "vrrp_instance %q: priority %d is outside 1..255 (RFC 3768 §5.3.4)", in.Name, in.Priority)
		} else if in.Priority == 255 && in.State == StateBackup && !in.StartBackup {
			v.diags.warnf(where("priority"), "priority 255 on a BACKUP", "vrrp_instance %q: priority 255 means address owner and always takes over (RFC 3768 §5.3.4)", in.Name)
		}
		switch {
		case in.Version == vrrpVersionV3 && (in.AdvertInt < centisecond || in.AdvertInt > maxAdvertIntV3):
			v.diags.errorf(where("advert_int"), "invalid advert_int", "vrrp_instance %q: advert_int %s is outside 0.01..40.95 seconds (VRRPv3, RFC 5798 §5.2.7)", in.Name, in.AdvertInt)
		case in.Version == vrrpVersionV3 && in.AdvertInt%centisecond != 0:
			rounded := max(in.AdvertInt.Round(centisecond), centisecond)
			v.diags.warnf(where("advert_int"), "advert_int rounded", "vrrp_instance %q: VRRPv3 carries centiseconds (RFC 5798 §5.2.7); %s is used as %s", in.Name, in.AdvertInt, rounded)
			in.AdvertInt = rounded
		case in.Version == vrrpVersionV3:
		case in.AdvertInt < time.Second || in.AdvertInt > 255*time.Second:
			v.diags.errorf(where("advert_int"), "invalid advert_int", "vrrp_instance %q: advert_int %s is outside 1..255 seconds (VRRPv2, RFC 3768 §5.3.7; fractions need version 3)", in.Name, in.AdvertInt)
		case in.AdvertInt%time.Second != 0:
			rounded := in.AdvertInt.Round(time.Second)
			v.diags.warnf(where("advert_int"), "advert_int rounded", "vrrp_instance %q: VRRPv2 carries whole seconds (RFC 3768 §5.3.7); %s is used as %s", in.Name, in.AdvertInt, rounded)
			in.AdvertInt = rounded
		}
		if in.Version == vrrpVersionV3 && (in.AuthType != "" || in.AuthPass != "") {
			v.diags.errorf(where("auth_type"), "authentication in VRRPv3", "vrrp_instance %q: VRRPv3 has no authentication (RFC 5798 §9); remove the authentication block or use version 2", in.Name)
		}
		switch in.AuthType {
		case "":
			if in.AuthPass != "" {
				v.diags.errorf(where("auth_pass"), "auth_pass without auth_type", "vrrp_instance %q: set auth_type = \"PASS\"", in.Name)
			}
		case "PASS", "AH":
			// AH: keepalived's IPSEC-AH, HMAC-MD5-96 keyed with the
			// same 8 bytes (vrrp/ah.go).
			if in.AuthPass == "" {
				v.diags.errorf(where("auth_type"), "missing auth_pass", "vrrp_instance %q: auth_type %s needs auth_pass", in.Name, in.AuthType)
			}
			if len(in.AuthPass) > 8 {
				v.diags.errorf(where("auth_pass"), "auth_pass too long", "vrrp_instance %q: auth_pass has %d characters; VRRPv2 carries at most 8 (RFC 3768 §5.3.10), and keepalived would silently use only the first 8", in.Name, len(in.AuthPass))
			}
		default:
			v.diags.errorf(where("auth_type"), "invalid auth_type", "vrrp_instance %q: %q: want PASS or AH (or leave authentication out)", in.Name, in.AuthType)
		}
		if len(in.VirtualIPs) == 0 {
			v.diags.warnf(in.Pos, "no virtual_ipaddress", "vrrp_instance %q moves no address", in.Name)
		}
		if len(in.VirtualIPs) > maxAdvertAddresses {
			v.diags.errorf(in.VirtualIPs[maxAdvertAddresses].Pos, "too many virtual_ipaddress",
				"vrrp_instance %q has %d addresses; a VRRPv2 advert carries at most %d (Count IP Addrs is one octet, RFC 3768 §5.3.5)",
				in.Name, len(in.VirtualIPs), maxAdvertAddresses)
		}
		v.instanceNet(in, where) // vrrp_net.go
		for j := range in.VirtualIPs {
			vip := &in.VirtualIPs[j]
			if vip.Dev == "" {
				vip.Dev = in.Interface
			}
			if vip.Prefix.Addr().Is6() != in.IPv6 {
				v.diags.errorf(vip.Pos, "mixed address families", "vrrp_instance %q: %s is not %s; an instance carries one address family (RFC 5798 §5.2.9, as keepalived): put the other family in a second instance, with the same VRID if you like, tied by a vrrp_sync_group", in.Name, vip.Prefix.Addr(), familyName(in.IPv6))
			}
			addr := vip.Prefix.Addr().String()
			if other, dup := vips[addr]; dup {
				if v.keepalived {
					// keepalived 2.2.7 runs both instances, each
					// adding the address as its master; a virtual
					// server on it belongs to the first.
					v.diags.warnf(vip.Pos, "duplicate virtual_ipaddress", "%s is in vrrp_instance %q and %q (keepalived runs both; virtual servers on it follow %q)", addr, other, in.Name, other)
					continue
				}
				v.diags.errorf(vip.Pos, "duplicate virtual_ipaddress", "%s is in vrrp_instance %q and %q", addr, other, in.Name)
			}
			vips[addr] = in.Name
		}
		if in.UnicastSrcIP.IsValid() && in.UnicastSrcIP.Is6() != in.IPv6 {
			v.diags.errorf(where("unicast_src_ip"), "invalid unicast_src_ip", "vrrp_instance %q: unicast_src_ip %s is not %s, the instance's family", in.Name, in.UnicastSrcIP, familyName(in.IPv6))
		}
		for _, p := range in.UnicastPeers {
			if p.Is6() != in.IPv6 {
				v.diags.errorf(where("unicast_peer"), "invalid unicast_peer", "vrrp_instance %q: unicast_peer %s is not %s, the instance's family", in.Name, p, familyName(in.IPv6))
			}
		}
		for _, knob := range []struct {
			attr string
			on   bool
		}{{"v3_checksum_as_v2", in.V3ChecksumAsV2}, {"old_unicast_checksum", in.OldUnicastChecksum}} {
			if knob.on && (in.Version != vrrpVersionV3 || in.IPv6) {
				v.diags.warnf(where(knob.attr), knob.attr+" has no effect", "vrrp_instance %q: %s applies to VRRPv3 over IPv4 only", in.Name, knob.attr)
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
		v.trackScripts(in)
		v.trackedObjects(fmt.Sprintf("vrrp_instance %q", in.Name), in.Positions, in.Pos, &in.TrackFiles, &in.TrackProcesses) // tracking.go
		if in.DownTimerAdverts == 0 {
			in.DownTimerAdverts = v.cfg.Global.VRRPDownTimerAdverts
		}
		if in.DownTimerAdverts < 1 || in.DownTimerAdverts > maxDownTimerAdverts {
			v.diags.errorf(where("down_timer_adverts"), "invalid down_timer_adverts", "vrrp_instance %q: %d adverts is outside 1..100", in.Name, in.DownTimerAdverts)
		}
	}
}

// version settles an instance's address family and VRRP version: its
// own, else global vrrp_version; IPv6 needs VRRPv3 (RFC 3768 is IPv4
// only), so an IPv6 instance without a version of its own is version 3.
func (v *validator) version(in *VRRPInstance, where func(string) Pos) {
	in.IPv6 = instanceFamily(in)
	own := in.Positions.Has("version")
	if !own {
		in.Version = v.cfg.Global.VRRPVersion
		if in.IPv6 {
			in.Version = vrrpVersionV3
		}
	}
	switch {
	case in.Version != vrrpVersionV2 && in.Version != vrrpVersionV3:
		pos := where("version")
		if !own {
			pos = at(v.cfg.Global.Positions, "vrrp_version", v.cfg.Global.Pos)
		}
		v.diags.errorf(pos, "invalid version", "vrrp_instance %q: VRRP version %d: want 2 (RFC 3768) or 3 (RFC 5798)", in.Name, in.Version)
	case in.Version == vrrpVersionV2 && in.IPv6:
		v.diags.errorf(where("version"), "IPv6 with VRRPv2", "vrrp_instance %q: VRRPv2 (RFC 3768) carries IPv4 only; IPv6 needs version 3 (RFC 5798)", in.Name)
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

// trackScripts checks an instance's track_script references through
// resolveTracked (tracking.go): an unknown vrrp_script is an error, a
// repeat a warning (keepalived runs past a repeated track_script with
// the first; so does lvsd, saying so). Each kept entry's weight and
// direction are its own when written, else the vrrp_script's
// (keepalived's rule), so that consumers read TrackScript.Weight and
// nothing else.
func (v *validator) trackScripts(in *VRRPInstance) {
	in.TrackScripts = resolveTracked(v, trackedKind[VRRPScript]{
		owner: fmt.Sprintf("vrrp_instance %q", in.Name), at: at(in.Positions, "track_script", in.Pos),
		unknown: "unknown vrrp_script", repeat: "duplicate track_script",
		blocks: v.cfg.Scripts, blockName: func(b VRRPScript) string { return b.Name },
	}, in.TrackScripts, func(t *TrackScript, b VRRPScript) {
		inheritTrack(&t.Weight, &t.Reverse, t.WeightSet, t.ReverseSet, b.Weight, b.Reverse)
	})
}
