package hcl

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file reads an ipvsadm rules file: the output of `ipvsadm-save` /
// `ipvsadm -S [-n]`, which `ipvsadm -R` reads back (ipvsadm(8)). The file
// is a static table: lvsd programs it on every node (lvs_program
// "always") without health checks, as ipvsadm -R does. ReadIPVSADMRules is
// the one parser of the format in lvsd; lvs/lvstest builds its tables
// with it too.

// IPVSADMService is one virtual service of a rules file (an -A line) with
// its real servers (the -a lines that name it), as written.
type IPVSADMService struct {
	// Protocol is ProtoTCP, ProtoUDP or ProtoSCTP; empty for a fwmark
	// service.
	Protocol string
	Addr     netip.AddrPort // invalid for a fwmark service
	FWMark   uint32
	IPv6     bool // the address family (-6 for a fwmark service)
	// Scheduler is -s (ipvsadm's default "wlc").
	Scheduler string
	// Persistent is -p; Timeout its seconds (ipvsadm's default 300).
	Persistent bool
	Timeout    uint32
	// Netmask is -M as a prefix length (32 or 128 when unset); ipvsadm
	// sets it with -p only.
	Netmask   int
	OnePacket bool // -o
	// SchedFlags are the -b flags as IPVS numbers them: 1, 2, 3 for
	// flag-1 (sh-fallback, mh-fallback), flag-2 (sh-port, mh-port), flag-3.
	SchedFlags []int
	Dests      []IPVSADMDest
	Pos        Pos
}

// Key identifies the service as Key of VirtualServer does.
func (s *IPVSADMService) Key() string {
	vs := VirtualServer{Addr: s.Addr, FWMark: s.FWMark, IPv6: s.IPv6, Protocol: s.Protocol}
	return vs.Key()
}

// IPVSADMDest is one real server of an IPVSADMService (an -a line).
type IPVSADMDest struct {
	Addr       netip.AddrPort // port 0 for a fwmark service's real server written without one
	Kind       string         // KindDR (-g, ipvsadm's default), KindNAT (-m) or KindTUN (-i)
	Weight     int            // -w, default 1
	UThreshold uint32         // -x
	LThreshold uint32         // -y
	Pos        Pos
}

// ReadIPVSADMRules parses an ipvsadm rules file. Every problem is reported
// with FILE:LINE; the services are in the order of their -A lines.
func ReadIPVSADMRules(path string, src []byte) ([]IPVSADMService, Diagnostics) {
	var diags Diagnostics
	var svcs []IPVSADMService
	index := map[string]int{}
	for n, line := range strings.Split(string(src), "\n") {
		pos := Pos{File: path, Line: n + 1}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if f[0] == "ipvsadm" || strings.HasSuffix(f[0], "/ipvsadm") {
			f = f[1:] // a script's line: the command ipvsadm -R reads follows
			if len(f) == 0 {
				continue
			}
		}
		switch f[0] {
		case "-A", "--add-service", "-a", "--add-server":
		case "-C", "--clear":
			diags.warnf(pos, "ipvsadm -C ignored", "lvsd programs the services of this file and leaves other services alone; it clears nothing")
			continue
		default:
			diags.errorf(pos, fmt.Sprintf("ipvsadm command %s is not a rule lvsd reads", f[0]), "a rules file holds -A (add service) and -a (add real server) lines, as ipvsadm -S prints them")
			continue
		}
		svc, dst, ok := parseIPVSADMLine(f, pos, &diags)
		if !ok {
			continue
		}
		key := svc.Key()
		if f[0] == "-A" || f[0] == "--add-service" {
			if i, dup := index[key]; dup {
				diags.errorf(pos, "service defined twice", "%s is also defined at %s", key, svcs[i].Pos)
				continue
			}
			index[key] = len(svcs)
			svcs = append(svcs, svc)
			continue
		}
		i, known := index[key]
		if !known {
			diags.errorf(pos, "real server of an undefined service", "%s is added to %s before an -A line defines it", dst.Addr, key)
			continue
		}
		s := &svcs[i]
		if slices.ContainsFunc(s.Dests, func(d IPVSADMDest) bool { return d.Addr == dst.Addr }) {
			diags.errorf(pos, "real server defined twice", "%s of %s", dst.Addr, key)
			continue
		}
		s.Dests = append(s.Dests, dst)
	}
	return svcs, diags
}

// parseIPVSADMLine reads the options of one -A or -a line.
func parseIPVSADMLine(f []string, pos Pos, diags *Diagnostics) (IPVSADMService, IPVSADMDest, bool) {
	isDest := f[0] == "-a" || f[0] == "--add-server"
	svc := IPVSADMService{Pos: pos}
	dst := IPVSADMDest{Kind: KindDR, Weight: defaultWeight, Pos: pos}
	var addr, realAddr, netmask string
	haveService, havePersistent := false, false
	ok := true
	bad := func(summary, detail string, args ...any) {
		diags.errorf(pos, summary, detail, args...)
		ok = false
	}
	for i := 1; i < len(f); i++ {
		opt := f[i]
		// --opt=value is the long form getopt also takes.
		var value string
		hasValue := false
		if strings.HasPrefix(opt, "--") {
			if k, v, cut := strings.Cut(opt, "="); cut {
				opt, value, hasValue = k, v, true
			}
		}
		next := func() (string, bool) {
			if hasValue {
				return value, true
			}
			if i+1 >= len(f) {
				bad("missing value", "option %s needs a value", opt)
				return "", false
			}
			i++
			return f[i], true
		}
		number := func(limit uint64) (uint64, bool) {
			v, got := next()
			if !got {
				return 0, false
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n > limit {
				bad("invalid number", "%s %q: want 0..%d", opt, v, limit)
				return 0, false
			}
			return n, true
		}
		switch opt {
		case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service":
			v, got := next()
			if !got {
				continue
			}
			svc.Protocol = map[string]string{"-t": ProtoTCP, "--tcp-service": ProtoTCP, "-u": ProtoUDP, "--udp-service": ProtoUDP, "--sctp-service": ProtoSCTP}[opt]
			addr, haveService = v, true
		case "-f", "--fwmark-service":
			n, got := number(math32)
			if !got {
				continue
			}
			if n == 0 {
				bad("invalid fwmark", "the firewall mark of a service is 1..%d", uint64(math32))
				continue
			}
			svc.FWMark, haveService = uint32(n), true
		case "-6", "--ipv6":
			svc.IPv6 = true
		case "-s", "--scheduler":
			svc.Scheduler, _ = next()
		case "-p", "--persistent":
			svc.Persistent, havePersistent = true, true
			svc.Timeout = ipvsadmPersistence
			// The timeout is optional: a value that is no option is it.
			if hasValue || i+1 < len(f) && !strings.HasPrefix(f[i+1], "-") {
				n, got := number(math32)
				if got {
					svc.Timeout = uint32(n)
				}
			}
		case "-M", "--netmask":
			netmask, _ = next()
		case "-o", "--ops":
			svc.OnePacket = true
		case "-b", "--sched-flags":
			v, got := next()
			if !got {
				continue
			}
			for _, fl := range strings.Split(v, ",") {
				n := map[string]int{"flag-1": 1, "sh-fallback": 1, "mh-fallback": 1, "flag-2": 2, "sh-port": 2, "mh-port": 2, "flag-3": 3}[fl]
				if n == 0 {
					bad("unknown scheduler flag", "-b %q: want flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback or mh-port", fl)
					continue
				}
				if !slices.Contains(svc.SchedFlags, n) {
					svc.SchedFlags = append(svc.SchedFlags, n)
				}
			}
			slices.Sort(svc.SchedFlags)
		case "-r", "--real-server":
			realAddr, _ = next()
		case "-g", "--gatewaying":
			dst.Kind = KindDR
		case "-m", "--masquerading":
			dst.Kind = KindNAT
		case "-i", "--ipip":
			dst.Kind = KindTUN
		case "-w", "--weight":
			if n, got := number(65535); got {
				dst.Weight = int(n)
			}
		case "-x", "--u-threshold":
			if n, got := number(math32); got {
				dst.UThreshold = uint32(n)
			}
		case "-y", "--l-threshold":
			if n, got := number(math32); got {
				dst.LThreshold = uint32(n)
			}
		case "--tun-type":
			if v, got := next(); got && v != "ipip" {
				bad("tunnel type not supported", "--tun-type %s: lvsd programs IPIP tunnels only", v)
			}
		case "-j", "--pe", "--persistence-engine":
			v, _ := next()
			bad("persistence engine not supported", "--pe %s: lvsd sets no IPVS persistence engine", v)
		case "--tun-port", "--tun-nocsum", "--tun-csum", "--tun-remcsum":
			if opt == "--tun-port" {
				next()
			}
			bad("tunnel option not supported", "%s: lvsd programs IPIP tunnels only", opt)
		case "-n", "--numeric":
		default:
			bad("unknown ipvsadm option", "%q", f[i])
		}
	}
	if !haveService {
		bad("no service", "%s needs -t, -u, --sctp-service or -f", f[0])
		return svc, dst, false
	}
	if svc.FWMark == 0 {
		ap, err := parseIPVSADMAddr(addr, svc.Protocol)
		if err != nil {
			bad("invalid service address", "%q: %v", addr, err)
			return svc, dst, false
		}
		svc.Addr, svc.IPv6 = ap, ap.Addr().Is6()
	}
	svc.Netmask = defaultGranularity(svc.IPv6)
	if netmask != "" {
		n, err := ipvsadmNetmask(netmask, svc.IPv6)
		switch {
		case err != nil:
			bad("invalid netmask", "-M %q: %v", netmask, err)
		case havePersistent:
			svc.Netmask = n
		default:
			diags.warnf(pos, "netmask without -p ignored", "-M %s sets the granularity of persistence; this service is not persistent", netmask)
		}
	}
	if svc.Scheduler == "" {
		svc.Scheduler = defaultScheduler // ipvsadm's default, as lvsd's
	}
	if isDest {
		if realAddr == "" {
			bad("no real server", "-a needs -r ADDRESS[:PORT]")
			return svc, dst, false
		}
		proto := svc.Protocol
		if proto == "" {
			proto = ProtoTCP
		}
		ap, err := parseIPVSADMAddr(realAddr, proto)
		if err != nil {
			bad("invalid real server", "-r %q: %v", realAddr, err)
			return svc, dst, false
		}
		dst.Addr = ap
		if dst.UThreshold != 0 && dst.LThreshold > dst.UThreshold {
			bad("invalid thresholds", "-y %d is above -x %d", dst.LThreshold, dst.UThreshold)
		}
	}
	return svc, dst, ok
}

// math32 is the largest 32-bit number.
const math32 = 1<<32 - 1

// ipvsadmPersistence is the timeout of a bare -p (ipvsadm's
// IPVS_SVC_PERSISTENT_TIMEOUT, 300 seconds).
const ipvsadmPersistence = 300

// parseIPVSADMAddr reads ADDR[:PORT] as ipvsadm prints it: [IPv6]:PORT,
// a port number or a service name (`ipvsadm -S` without -n prints names
// from /etc/services). Host names are refused: ipvsadm -S -n prints
// addresses.
func parseIPVSADMAddr(s, proto string) (netip.AddrPort, error) {
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return netip.AddrPort{}, fmt.Errorf("missing ]")
		}
		host, port = s[1:end], strings.TrimPrefix(s[end+1:], ":")
		if rest := s[end+1:]; rest != "" && !strings.HasPrefix(rest, ":") {
			return netip.AddrPort{}, fmt.Errorf("%q after the address", rest)
		}
	case strings.Count(s, ":") == 1:
		host, port, _ = strings.Cut(s, ":")
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IP address (lvsd reads addresses: save with ipvsadm -S -n)", host)
	}
	p, err := servicePort(port, proto)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(a.Unmap(), p), nil
}

// servicePort reads a port number or a service name of /etc/services.
func servicePort(port, proto string) (uint16, error) {
	if port == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil {
		return uint16(n), nil
	}
	network := strings.ToLower(proto)
	if network == "sctp" {
		network = "tcp" // services(5) names the SCTP ports as the TCP ones
	}
	if strings.Trim(port, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return 0, fmt.Errorf("port %q is neither a number nor a service name", port)
	}
	n, err := net.LookupPort(network, port)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("unknown service name %q (not in /etc/services for %s)", port, network)
	}
	return uint16(n), nil
}

// ipvsadmNetmask reads a persistence netmask: a prefix length, or an IPv4
// dotted quad with contiguous ones.
func ipvsadmNetmask(s string, ipv6 bool) (int, error) {
	limit := defaultGranularity(ipv6)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > limit {
			return 0, fmt.Errorf("prefix length 0..%d", limit)
		}
		return n, nil
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() || ipv6 {
		return 0, fmt.Errorf("want a prefix length or an IPv4 netmask")
	}
	b := m.As4()
	v := binary.BigEndian.Uint32(b[:])
	ones := bits.OnesCount32(v)
	if v != ^uint32(0)<<(32-ones) && ones != 0 {
		return 0, fmt.Errorf("the ones of a netmask are contiguous")
	}
	return ones, nil
}

// parseIPVSADM reads an ipvsadm rules file into a defaulted Config: one
// virtual_server per -A line with its real servers, no checkers, and
// lvs_program "always" (the table is static, as ipvsadm -R makes it).
func (l *Loader) parseIPVSADM(path string, src []byte) (*Config, Diagnostics) {
	svcs, diags := ReadIPVSADMRules(path, src)
	cfg := staticConfig(path)
	for i := range svcs {
		if vs, ok := ipvsadmVirtualServer(&svcs[i], &diags); ok {
			cfg.VirtualServers = append(cfg.VirtualServers, vs)
		}
	}
	return cfg, diags
}

// staticConfig is the global part of a configuration that programs IPVS
// with no VRRP: on every node, with no sync daemon (ldirectord.cf, ipvsadm
// rules).
func staticConfig(path string) *Config {
	cfg := &Config{Global: defaultGlobal(), Files: []string{path}}
	cfg.Global.LVSProgram = LVSProgramAlways
	cfg.Global.LVSSyncDaemon.Enabled = false
	cfg.Global.Pos = Pos{File: path, Line: 1}
	cfg.Global.Positions = NewPositions()
	return cfg
}

// ipvsadmVirtualServer turns one service of a rules file into the model.
// The model holds one forwarding method per service (lb_kind): a service
// whose real servers differ is refused at the line that differs.
func ipvsadmVirtualServer(s *IPVSADMService, diags *Diagnostics) (VirtualServer, bool) {
	vs := VirtualServer{
		Addr: s.Addr, FWMark: s.FWMark, IPv6: s.IPv6, Protocol: s.Protocol,
		DelayLoop: defaultDelayLoop, LBAlgo: s.Scheduler, LBKind: defaultKind,
		OnePacket: s.OnePacket, PersistenceGranularity: s.Netmask,
		Quorum: defaultQuorum, Pos: s.Pos, Positions: NewPositions(),
	}
	if s.FWMark != 0 {
		vs.Name = fmt.Sprintf("fwmark %d", s.FWMark)
		vs.Protocol = ProtoTCP // the model's; a fwmark service has none
	} else {
		vs.Name = s.Addr.String()
	}
	if s.Persistent {
		vs.PersistenceTimeout = time.Duration(s.Timeout) * time.Second
	}
	ok := true
	for _, n := range s.SchedFlags {
		if n == 3 || vs.LBAlgo != "sh" && vs.LBAlgo != "mh" {
			diags.errorf(s.Pos, fmt.Sprintf("scheduler flag-%d not supported with %s", n, vs.LBAlgo), "lvsd sets the flags of the sh and mh schedulers only (sh-fallback, sh-port, mh-fallback, mh-port)")
			ok = false
			continue
		}
		vs.SchedulerFlags = append(vs.SchedulerFlags, vs.LBAlgo+map[int]string{1: "-fallback", 2: "-port"}[n])
	}
	if len(s.Dests) > 0 {
		vs.LBKind = s.Dests[0].Kind
	}
	for _, d := range s.Dests {
		if d.Kind != vs.LBKind {
			diags.errorf(d.Pos, fmt.Sprintf("real server %s forwards by %s, the service's first real server by %s", d.Addr, d.Kind, vs.LBKind),
				"lvsd sets one forwarding method per virtual service (lb_kind); split the real servers into services of their own")
			ok = false
			continue
		}
		rs := RealServer{Addr: d.Addr, Weight: d.Weight, UThreshold: d.UThreshold, LThreshold: d.LThreshold, Pos: d.Pos, Positions: NewPositions()}
		if s.FWMark == 0 && (rs.Addr.Port() == 0 || d.Kind != KindNAT) {
			// ipvsadm: "The destination port must be equal to service
			// port in DR and TUN"; a real server without a port takes
			// the service's.
			if p := rs.Addr.Port(); p != 0 && p != s.Addr.Port() {
				diags.warnf(d.Pos, fmt.Sprintf("real server %s takes the service's port %d", rs.Addr, s.Addr.Port()), "with %s the kernel cannot map ports; ipvsadm sets the service's port too", d.Kind)
			}
			rs.Addr = netip.AddrPortFrom(rs.Addr.Addr(), s.Addr.Port())
		}
		vs.RealServers = append(vs.RealServers, rs)
	}
	return vs, ok
}
