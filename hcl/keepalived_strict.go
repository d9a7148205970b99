package hcl

import (
	"fmt"
	"math"
)

// This file applies vrrp_strict (global_defs) and an instance's
// strict_mode [BOOL] as keepalived 2.2.7's vrrp_complete_instance() does
// (vrrp/vrrp.c), each with keepalived's configuration error, so `-t`
// exits 5 where keepalived's does:
//
//   - an instance without virtual_ipaddress is refused, and with it the
//     file (keepalived's VRRP process stops: "No VIP specified; at least
//     one is required"); VRRPv3 refuses it too, strict or not;
//   - the initial state follows the priority: MASTER only at 255, and a
//     priority-255 instance written BACKUP starts MASTER ("State MASTER
//     must match being address owner");
//   - authentication is dropped, accept is reset in VRRPv2 and no_accept is
//     the default (keepalived_lenient.go, keepalived_vrrp_net.go);
//   - preempt_delay, down_timer_adverts other than 3, a use_vmac MAC and
//     vmac_xmit_base are reset;
//   - garp_lower_prio_repeat and garp_lower_prio_delay are reset to 0,
//     lower_prio_no_advert to true and higher_prio_send_advert to false:
//     a MASTER discards a lower-priority advert (RFC 3768 §6.4.3;
//     VRRPNet.LowerPriorityNoAdvert) where it otherwise answers it with
//     an advert and gratuitous ARPs, and sends nothing on a higher one
//     (as lvsd always does);
//   - the first address of a multicast IPv6 instance must be link-local
//     (without strict mode keepalived only logs it).
//
// What keepalived 2.2.7 does not do although its source reads so:
// unicast peers are not refused ("Unicast peers are not supported in
// strict mode" tests the unicast flag before it is set from the peers),
// and receiving is the same with or without strict mode (the TTL and
// address-list checks of vrrp_check_packet() do not look at it).

// kaStrictLoose is one of the lower-/higher-priority keywords written
// with a value strict mode resets.
type kaStrictLoose struct {
	pos     Pos
	warning string // keepalived's, after "(NAME) "
}

// strictOf says whether strict mode applies to the instance: its own
// strict_mode, else global_defs vrrp_strict.
func (r *kaReader) strictOf(name string) bool {
	if v, ok := r.strictMode[name]; ok {
		return v
	}
	return r.vrrpStrict
}

// strictKeyword reads strict_mode and the keywords strict mode resets; it
// says whether it took c.
func (r *kaReader) strictKeyword(c *kaNode, in *VRRPInstance) bool {
	loose := func(warning string) {
		if r.net.loose == nil {
			r.net.loose = map[int][]kaStrictLoose{}
		}
		i := len(r.cfg.Instances)
		r.net.loose[i] = append(r.net.loose[i], kaStrictLoose{c.pos, warning})
	}
	switch c.name {
	case "strict_mode":
		if v, ok := r.flag(c); ok {
			if r.strictMode == nil {
				r.strictMode = map[string]bool{}
			}
			r.strictMode[in.Name] = v
		}
	case "garp_lower_prio_repeat":
		if v, ok := r.integer(c, 0, math.MaxInt32); ok && v != 0 {
			loose("Strict mode requires no repeat garps. resetting")
		}
		r.outOfScope(c, kaInstanceScope)
	case "garp_lower_prio_delay":
		if v, ok := r.integer(c, 0, math.MaxUint32/100); ok && v != 0 {
			loose("Strict mode requires no repeat garp delay. resetting")
		}
		r.outOfScope(c, kaInstanceScope)
	case "lower_prio_no_advert":
		if v, ok := r.flag(c); ok && !v {
			loose("Strict mode requires no lower priority advert. resetting")
		}
		r.outOfScope(c, kaInstanceScope)
	case "higher_prio_send_advert":
		if v, ok := r.flag(c); ok && v {
			loose("strict mode requires higher_prio_send_advert to be clear. resetting")
		}
		r.outOfScope(c, kaInstanceScope)
	default:
		return false
	}
	return true
}

// strictNet sets, under strict mode, LowerPriorityNoAdvert and resets
// what netFinish would otherwise apply from use_vmac's MAC and
// vmac_xmit_base; it runs before them.
func (r *kaReader) strictNet(i int, in *VRRPInstance) {
	if !r.strictOf(in.Name) {
		return
	}
	in.Net.LowerPriorityNoAdvert = true
	if args, ok := r.net.vmac[i]; ok {
		if m, err := ParseVMAC(args, in.VirtualRouterID, false); err == nil && m.MAC != nil {
			r.warnf(in.Positions.Where("use_vmac", in.Pos), fmt.Sprintf("(%s): cannot specify MAC address with strict mode - clearing", in.Name),
				"the VMAC takes RFC 3768's 00:00:5e:00:01:%02x, as keepalived's does", in.VirtualRouterID)
			var kept []string
			if m.Named {
				kept = []string{m.Name}
			}
			r.net.vmac[i] = kept
		}
		if r.net.xmitBase[i] {
			r.warnf(in.Positions.Where("vmac_xmit_base", in.Pos), fmt.Sprintf("(%s) xmit_base is incompatible with strict mode - resetting", in.Name),
				"adverts go out on the VMAC, as keepalived's do")
			r.net.xmitBase[i] = false
			in.Positions.Delete("vmac_xmit_base")
		}
	}
}

// strictFinish applies strict mode's resets to an instance whose state
// and VIPs lenientFinish has settled (i is its index as read).
func (r *kaReader) strictFinish(i int, in *VRRPInstance) {
	if !r.strictOf(in.Name) {
		return
	}
	if in.PreemptDelay != 0 {
		r.warnf(in.Positions.Where("preempt_delay", in.Pos), fmt.Sprintf("(%s) preempt_delay is incompatible with strict mode - resetting", in.Name),
			"the instance preempts at once, as keepalived's does")
		in.PreemptDelay = 0
		in.Positions.Delete("preempt_delay")
	}
	adverts := in.DownTimerAdverts
	if adverts == 0 {
		adverts = r.cfg.Global.VRRPDownTimerAdverts
	}
	if adverts != 0 && adverts != defaultDownTimerAdverts {
		r.warnf(in.Positions.Where("down_timer_adverts", in.Pos), fmt.Sprintf("(%s) down_timer_adverts is incompatible with strict mode - resetting", in.Name),
			"Master_Down_Interval is RFC 3768's 3 adverts, as keepalived's is")
		in.DownTimerAdverts = defaultDownTimerAdverts
	}
	for _, l := range r.net.loose[i] {
		r.warnf(l.pos, fmt.Sprintf("(%s) %s", in.Name, l.warning), "a MASTER discards lower-priority adverts and answers none (RFC 3768 §6.4.3), as strict keepalived's does")
	}
	if instanceFamily(in) && len(in.UnicastPeers) == 0 && len(in.VirtualIPs) > 0 && !in.VirtualIPs[0].Prefix.Addr().IsLinkLocalUnicast() {
		r.warnf(in.Positions.Where("virtual_ipaddress", in.Pos), fmt.Sprintf("(%s) the first IPv6 VIP address must be link local", in.Name),
			"the instance runs, as keepalived's does")
	}
}
