package director

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/vrrp"
)

// sysctl is one kernel setting, named as under /proc/sys.
type sysctl struct{ name, value string }

// clusterSysctls are the IPVS settings a director behind the router's ECMP
// needs (docs/cluster.md), each in the IPVS network namespace:
//   - sloppy_tcp, sloppy_sctp: a connection entry is created by any packet,
//     not only a SYN (INIT), so a flow the router moves to this director
//     mid-stream is forwarded instead of dropped;
//   - expire_nodest_conn: entries to a removed real server expire at their
//     next packet instead of black-holing the flow;
//   - expire_quiescent_template: persistence templates to a real server
//     with weight 0 expire, so persistent clients move too.
func clusterSysctls() []sysctl {
	return []sysctl{
		{"net/ipv4/vs/sloppy_tcp", "1"},
		{"net/ipv4/vs/sloppy_sctp", "1"},
		{"net/ipv4/vs/expire_nodest_conn", "1"},
		{"net/ipv4/vs/expire_quiescent_template", "1"},
	}
}

// writeSysctl writes /proc/sys/NAME.
func writeSysctl(name, value string) error {
	return os.WriteFile(filepath.Join("/proc/sys", name), []byte(value+"\n"), 0o644)
}

// applyClusterSysctls sets clusterSysctls when the configuration announces
// its VIPs (a cluster) and IPVS is open; a failure is logged, as keepalived
// logs a sysctl it cannot set, and the director runs on.
func (d *Director) applyClusterSysctls(cfg *hcl.Config) {
	if cfg.Announce == nil {
		return
	}
	set := d.opts.Sysctl
	if set == nil {
		set = writeSysctl
	}
	var done []string
	for _, s := range clusterSysctls() {
		if err := set(s.name, s.value); err != nil {
			d.log.Warn("cluster: cannot set IPVS setting", "sysctl", strings.ReplaceAll(s.name, "/", "."), "value", s.value, "err", err)
			continue
		}
		done = append(done, strings.ReplaceAll(s.name, "/", ".")+"="+s.value)
	}
	if len(done) > 0 {
		d.log.Info("cluster: IPVS settings", "sysctls", strings.Join(done, " "))
	}
}

// clusterVIPs are the addresses a director announcing its VIPs holds
// itself (docs/cluster.md): the address of every virtual server that no
// VRRP instance owns, as a /32 (/128) on lo, where the router's ECMP routes
// its traffic and no neighbour is answered for it from another link once
// arp_ignore is set.
func clusterVIPs(cfg *hcl.Config) []hcl.VIP {
	if cfg.Announce == nil {
		return nil
	}
	seen := map[netip.Addr]bool{}
	var out []hcl.VIP
	for _, vs := range cfg.VirtualServers {
		if !vs.Addr.IsValid() || vs.VRRPInstance != "" {
			continue
		}
		a := vs.Addr.Addr().Unmap()
		if seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, hcl.VIP{Prefix: netip.PrefixFrom(a, a.BitLen()), Dev: clusterVIPDevice, Raw: a.String()})
	}
	return out
}

// clusterVIPDevice is the link the cluster's VIPs live on.
const clusterVIPDevice = "lo"

// addClusterVIPs puts the cluster's VIPs on lo (an address already there
// is left as is). They stay when lvsd stops, as the IPVS table does, so the
// flows the router still sends while it converges are served.
func (d *Director) addClusterVIPs(cfg *hcl.Config) {
	if d.announcer == nil {
		return
	}
	addrs := d.opts.Network.Addresses
	if addrs == nil {
		addrs = vrrp.NewLinuxNetwork().Addresses
	}
	for _, vip := range clusterVIPs(cfg) {
		if err := addrs.AddVIP(vip); err != nil {
			d.log.Error("cluster: VIP", "vip", vip.Prefix, "dev", vip.Dev, "err", err)
			continue
		}
		d.log.Info("cluster: VIP held", "vip", vip.Prefix, "dev", vip.Dev)
	}
}
