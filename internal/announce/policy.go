package announce

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
)

// Decision is what Decide says of one VIP.
type Decision struct {
	Prefix   netip.Prefix // the VIP as a /32 or /128
	Announce bool
	Reason   string // why, for logs and `lvsd status`
}

// Decide returns one decision per address of the configuration's virtual
// servers, sorted by prefix. A VIP is announced while every service on it
// is programmed (lvs.StateProgrammed) and has quorum (QuorumUp: gained at
// quorum + hysteresis, lost at quorum - hysteresis or no live weight,
// keepalived's update_quorum_state); it is withdrawn when one does not, and
// when the state of a service is unknown (no IPVS status yet). A non-empty
// withdrawAll withdraws every VIP with that reason (stopping, the
// maintenance file). fwmark services have no address and announce nothing.
// Decide is pure: the same inputs give the same decisions.
func Decide(cfg *hcl.Config, services []lvs.ServiceStatus, withdrawAll string) []Decision {
	if cfg == nil {
		return nil
	}
	byKey := make(map[string]*lvs.ServiceStatus, len(services))
	for i := range services {
		byKey[services[i].Key] = &services[i]
	}
	type vip struct {
		count  int
		reason string // the first reason to withdraw, "" while announced
	}
	vips := map[netip.Addr]*vip{}
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if !vs.Addr.IsValid() {
			continue
		}
		addr := vs.Addr.Addr().Unmap()
		v := vips[addr]
		if v == nil {
			v = &vip{}
			vips[addr] = v
		}
		v.count++
		if v.reason != "" {
			continue
		}
		key := vs.Key()
		st := byKey[key]
		switch {
		case withdrawAll != "":
			v.reason = withdrawAll
		case st == nil:
			v.reason = fmt.Sprintf("%s: no IPVS state yet", key)
		case st.State != lvs.StateProgrammed:
			v.reason = fmt.Sprintf("%s: %s, not programmed", key, st.State)
		case !st.QuorumUp:
			v.reason = fmt.Sprintf("%s: below quorum (live weight %d, quorum %d, hysteresis %d)", key, st.LiveWeight, st.Quorum, st.Hysteresis)
		}
	}
	out := make([]Decision, 0, len(vips))
	for addr, v := range vips {
		d := Decision{Prefix: netip.PrefixFrom(addr, addr.BitLen()), Announce: v.reason == "", Reason: v.reason}
		if d.Announce {
			d.Reason = fmt.Sprintf("%d service(s) programmed with quorum", v.count)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix.Addr().Less(out[j].Prefix.Addr()) })
	return out
}
