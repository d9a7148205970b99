package lvstest

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
)

// SyntheticConfig builds the benchmark configuration: services TCP
// virtual services on port 80, 198.18.0.1 upwards (RFC 2544 benchmarking
// space), each with reals direct-routing real servers at weight 1:
// real j of service i is 10.(i/256).(i%256).(j+1). The namespace that loads
// it needs a route to 10.0.0.0/8. lvs_program is "always", so no VRRP
// instance is needed. SyntheticConfig(2000, 16) is the 34,000-object table.
func SyntheticConfig(services, reals int) *hcl.Config {
	cfg := &hcl.Config{Global: hcl.Global{LVSProgram: hcl.LVSProgramAlways, ReconcileInterval: time.Minute}}
	cfg.VirtualServers = make([]hcl.VirtualServer, 0, services)
	for i := range services {
		n := 198<<24 | 18<<16 | uint32(i+1)
		vip := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		vs := hcl.VirtualServer{
			Name:      fmt.Sprintf("%s:80", vip),
			Addr:      netip.AddrPortFrom(vip, 80),
			Protocol:  hcl.ProtoTCP,
			DelayLoop: 60 * time.Second,
			LBAlgo:    "wlc",
			LBKind:    hcl.KindDR,
			Quorum:    1,
			// A final configuration carries every default (hcl).
			PersistenceGranularity: 32,
		}
		vs.RealServers = make([]hcl.RealServer, reals)
		for j := range reals {
			rip := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(j + 1)})
			vs.RealServers[j] = hcl.RealServer{Addr: netip.AddrPortFrom(rip, 80), Weight: 1, LBKind: hcl.KindDR}
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// SyntheticTable is the desired table of SyntheticConfig.
func SyntheticTable(services, reals int) lvs.Table {
	return lvs.Desire(lvs.State{Config: SyntheticConfig(services, reals)}).Table
}

// WriteKeepalivedVirtualServers writes cfg's virtual servers as
// keepalived.conf virtual_server blocks without checkers (keepalived then
// counts every real server alive at once), so keepalived can load the same
// table as a reference in benchmarks.
func WriteKeepalivedVirtualServers(w io.Writer, cfg *hcl.Config) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, "global_defs {\n    router_id lvsd_bench\n}\n")
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if vs.FWMark != 0 {
			fmt.Fprintf(bw, "virtual_server fwmark %d {\n", vs.FWMark)
			if vs.IPv6 {
				fmt.Fprintf(bw, "    ip_family inet6\n")
			}
		} else {
			fmt.Fprintf(bw, "virtual_server %s %d {\n    protocol %s\n", vs.Addr.Addr(), vs.Addr.Port(), vs.Protocol)
		}
		fmt.Fprintf(bw, "    delay_loop %d\n    lb_algo %s\n    lb_kind %s\n",
			max(1, int(vs.DelayLoop/time.Second)), vs.LBAlgo, vs.LBKind)
		if vs.PersistenceTimeout > 0 {
			fmt.Fprintf(bw, "    persistence_timeout %d\n", int(vs.PersistenceTimeout/time.Second))
		}
		for _, rs := range vs.RealServers {
			if rs.Addr.Port() == 0 { // fwmark services: no port
				fmt.Fprintf(bw, "    real_server %s {\n        weight %d\n    }\n", rs.Addr.Addr(), rs.Weight)
				continue
			}
			fmt.Fprintf(bw, "    real_server %s %d {\n        weight %d\n    }\n", rs.Addr.Addr(), rs.Addr.Port(), rs.Weight)
		}
		fmt.Fprintf(bw, "}\n")
	}
	return bw.Flush()
}
