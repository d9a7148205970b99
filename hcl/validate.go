package hcl

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agext/levenshtein"
)

// finalize derives what depends on the whole configuration (VIP devices,
// real-server and probe ports, the owning VRRP instance of each virtual
// server) and validates ranges and cross-references. Both readers (HCL and
// keepalived.conf) produce a defaulted Config and call it; each problem is
// reported at the attribute's position when known, else at its block.
func finalize(cfg *Config, keepalived bool, parts int) Diagnostics {
	v := &validator{cfg: cfg, keepalived: keepalived, parts: parts}
	v.global()
	v.scripts()
	v.trackFiles()
	v.trackProcesses() // tracking.go
	v.staticNet()      // vrrp_net.go
	v.instances()
	v.capInterfaceDelays() // interface_delays.go
	v.syncGroups()
	v.syncGroupTracking() // tracking.go
	v.virtualServers()
	v.lvsOptions()    // validate_lvs.go
	v.fullNAT()       // fullnat.go
	v.syncDaemon()    // validate_sync.go
	v.announceBlock() // announce.go
	v.alerts()        // alert.go
	return v.diags
}

type validator struct {
	cfg   *Config
	diags Diagnostics
	// keepalived is set for keepalived.conf input: validation runs past
	// what keepalived 2.2.7 runs past (HCL stays strict).
	keepalived bool
	// vmacs are the VMAC names given so far, and the name of each
	// "base MAC" (vrrp_net.go).
	vmacs map[string]string
	// parts, when more than 0, is how many runs the virtual servers are
	// validated in, whatever their number and the processors (tests);
	// 0 leaves it to Workers' rule (virtualServers).
	parts int
}

// at returns the position of attribute name in a block.
func at(pos Positions, name string, def Pos) Pos { return pos.Where(name, def) }

// suggest returns ` Did you mean "x"?` when a candidate is close to given.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 3 // the threshold HCL uses for its own suggestions
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func (v *validator) global() {
	g := &v.cfg.Global
	v.validateGlobalScripts() // global_scripts.go
	if g.LVSProgram != LVSProgramMaster && g.LVSProgram != LVSProgramAlways {
		v.diags.errorf(at(g.Positions, "lvs_program", g.Pos), "invalid lvs_program",
			"%q: want %q (program a virtual service while its instance is MASTER) or %q (on both nodes, like keepalived)",
			g.LVSProgram, LVSProgramMaster, LVSProgramAlways)
	}
	if g.NotifyTimeout <= 0 {
		v.diags.errorf(at(g.Positions, "notify_timeout", g.Pos), "invalid notify_timeout", "must be more than 0")
	}
	if g.ReconcileInterval < time.Second {
		v.diags.errorf(at(g.Positions, "reconcile_interval", g.Pos), "invalid reconcile_interval", "must be at least 1s")
	}
	if g.StatusPage && g.MetricsListen == "" {
		g.MetricsListen = defaultStatusListen
	}
	if g.MetricsListen != "" {
		host, _, err := net.SplitHostPort(g.MetricsListen)
		if err != nil {
			v.diags.errorf(at(g.Positions, "metrics_listen", g.Pos), "invalid metrics_listen", "%q: want HOST:PORT, e.g. \"127.0.0.1:9650\"", g.MetricsListen)
		} else if g.StatusPage && !isLoopback(host) {
			// The page has no authentication: it is for the director's
			// own operators (ssh -L), never for the network.
			v.diags.errorf(at(g.Positions, "metrics_listen", g.Pos), "status page on a non-loopback address",
				"status_page serves the director's state without authentication, so metrics_listen must be a loopback address (127.0.0.1, ::1 or localhost), not %q; reach the page with ssh -L 9650:127.0.0.1:9650", g.MetricsListen)
		}
	}
	if g.ControlSocket == "" {
		v.diags.errorf(at(g.Positions, "control_socket", g.Pos), "invalid control_socket", "must not be empty")
	}
}

// isLoopback tells whether a listen host is this machine's loopback.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (v *validator) instanceNames() map[string]bool {
	names := map[string]bool{}
	for _, in := range v.cfg.Instances {
		names[in.Name] = true
	}
	return names
}

// validateServicesMin is the number of virtual servers from which they
// are validated in runs, one goroutine each (a big table's 32,000 real
// servers).
const validateServicesMin = 512

// virtualServers validates every virtual server and its real servers and
// checkers. A big table is validated in runs of services, one goroutine
// per processor: a service's validation reads the rest of the model and
// writes only that service (its owner, its real servers' ports), except
// for duplicates, found first in order; each run's diagnostics are joined
// in order.
func (v *validator) virtualServers() {
	instances := v.instanceNames()
	owner := map[string]string{} // VIP address -> instance
	for _, in := range v.cfg.Instances {
		for _, vip := range in.VirtualIPs {
			// The first instance holding the address owns it (an
			// address in two instances is a keepalived.conf's only).
			if _, taken := owner[vip.Prefix.Addr().String()]; !taken {
				owner[vip.Prefix.Addr().String()] = in.Name
			}
		}
	}
	services := v.cfg.VirtualServers
	seen := map[string]Pos{}
	// The earlier definition of each service defined twice.
	var dupOf map[int]Pos
	for i := range services {
		vs := &services[i]
		if vs.FWMark == 0 && !vs.Addr.IsValid() {
			continue // the address error is already reported
		}
		key := vs.Key()
		if prev, dup := seen[key]; dup {
			if dupOf == nil {
				dupOf = map[int]Pos{}
			}
			dupOf[i] = prev
		}
		seen[key] = vs.Pos
	}
	parts := v.parts
	if parts == 0 {
		parts = Workers(len(services), validateServicesMin)
	}
	parts = max(min(parts, len(services)), 1)
	runs := make([]Diagnostics, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := len(services)*p/parts, len(services)*(p+1)/parts
		run := func() {
			w := &validator{cfg: v.cfg, keepalived: v.keepalived}
			// One set of real server addresses, emptied for each service:
			// a big table's 2,000 services allocated one each.
			rsSeen := map[netip.AddrPort]bool{}
			for i := from; i < to; i++ {
				prev, dup := dupOf[i]
				w.virtualServer(&services[i], dup, prev, instances, owner, rsSeen)
			}
			runs[p] = w.diags
		}
		if p == parts-1 {
			run()
		} else {
			wg.Go(run)
		}
	}
	wg.Wait()
	for _, d := range runs {
		v.diags = append(v.diags, d...)
	}
}

// virtualServer validates vs; dup says an earlier service, at prev, has
// its address or mark.
func (v *validator) virtualServer(vs *VirtualServer, dup bool, prev Pos, instances map[string]bool, owner map[string]string, rsSeen map[netip.AddrPort]bool) {
	where := func(attr string) Pos { return at(vs.Positions, attr, vs.Pos) }
	if vs.FWMark == 0 && !vs.Addr.IsValid() {
		return // the address error is already reported
	}
	if dup {
		v.diags.errorf(vs.Pos, "duplicate virtual_server", "virtual_server %q is also defined at %s", vs.Name, prev)
	}
	switch vs.Protocol {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
	default:
		v.diags.errorf(where("protocol"), "invalid protocol", "virtual_server %q: protocol %q: want TCP, UDP or SCTP", vs.Name, vs.Protocol)
	}
	if !slices.Contains(Schedulers(), vs.LBAlgo) {
		v.diags.errorf(where("lb_algo"), "unknown scheduler", "virtual_server %q: lb_algo %q is not an IPVS scheduler (%s).%s",
			vs.Name, vs.LBAlgo, strings.Join(Schedulers(), " "), suggest(vs.LBAlgo, Schedulers()))
	}
	for _, f := range vs.SchedulerFlags {
		if !slices.Contains([]string{"sh-fallback", "sh-port", "mh-fallback", "mh-port", "flag-3"}, f) {
			v.diags.errorf(where("scheduler_flags"), "unknown scheduler flag", "virtual_server %q: %q: want sh-fallback, sh-port, mh-fallback, mh-port or flag-3", vs.Name, f)
		} else if f != "flag-3" && f[:2] != vs.LBAlgo {
			v.diags.errorf(where("scheduler_flags"), "scheduler flag for another scheduler", "virtual_server %q: %q needs lb_algo %q", vs.Name, f, f[:2])
		}
	}
	if !validKind(vs.LBKind) {
		v.diags.errorf(where("lb_kind"), "invalid lb_kind", "virtual_server %q: lb_kind %q: want NAT, DR or TUN", vs.Name, vs.LBKind)
	}
	if vs.OnePacket && vs.Protocol != ProtoUDP && vs.FWMark == 0 {
		v.diags.errorf(where("ops"), "ops needs UDP", "virtual_server %q: one-packet scheduling applies to UDP services only", vs.Name)
	}
	if vs.PersistenceTimeout > 0 && vs.PersistenceTimeout < time.Second {
		v.diags.errorf(where("persistence_timeout"), "invalid persistence_timeout", "virtual_server %q: at least 1 second", vs.Name)
	}
	if vs.Quorum < 0 || vs.Hysteresis < 0 {
		v.diags.errorf(where("quorum"), "invalid quorum", "virtual_server %q: quorum and hysteresis must not be negative", vs.Name)
	}
	if vs.DelayLoop <= 0 {
		v.diags.errorf(where("delay_loop"), "invalid delay_loop", "virtual_server %q: delay_loop must be more than 0", vs.Name)
	}
	v.owner(vs, instances, owner)
	if vs.SorryServer != nil {
		ss := vs.SorryServer
		if ss.Addr.Addr().Is6() != vs.IPv6 {
			v.diags.errorf(ss.Pos, "sorry_server address family", "virtual_server %q: sorry_server %s is not of the service's address family", vs.Name, ss.Addr)
		}
		if !validKind(ss.LBKind) {
			v.diags.errorf(where("sorry_server_lvs_method"), "invalid sorry_server_lvs_method", "virtual_server %q: %q: want NAT, DR or TUN", vs.Name, ss.LBKind)
		}
		if ss.Addr.Port() == 0 && vs.FWMark == 0 {
			ss.Addr = portFrom(ss.Addr, vs.Addr.Port())
		}
	}
	if len(vs.RealServers) == 0 && vs.SorryServer == nil {
		v.diags.warnf(vs.Pos, "no real_server", "virtual_server %q has no real server and no sorry_server", vs.Name)
	}
	clear(rsSeen)
	for j := range vs.RealServers {
		v.realServer(vs, &vs.RealServers[j], rsSeen)
	}
}

func validKind(k string) bool { return k == KindNAT || k == KindDR || k == KindTUN || k == KindFNAT }

// owner sets the VRRP instance that owns a virtual server.
func (v *validator) owner(vs *VirtualServer, instances map[string]bool, owner map[string]string) {
	where := at(vs.Positions, "vrrp_instance", vs.Pos)
	if vs.VRRPInstance != "" {
		if !instances[vs.VRRPInstance] {
			v.diags.errorf(where, "unknown vrrp_instance", "virtual_server %q names vrrp_instance %q, which is not defined.%s", vs.Name, vs.VRRPInstance, suggest(vs.VRRPInstance, keys(instances)))
		}
		return
	}
	if vs.FWMark == 0 {
		if name, ok := owner[vs.Addr.Addr().String()]; ok {
			vs.VRRPInstance = name
			return
		}
	}
	if v.cfg.Global.LVSProgram == LVSProgramAlways {
		return
	}
	if vs.FWMark != 0 {
		v.diags.errorf(vs.Pos, "fwmark service without vrrp_instance", "virtual_server %q: set vrrp_instance = \"NAME\" to say which instance's mastership programs it (or lvs_program = \"always\")", vs.Name)
		return
	}
	v.diags.errorf(vs.Pos, "virtual_server outside every vrrp_instance", "virtual_server %q: no vrrp_instance has %s in virtual_ipaddress; add it there, set vrrp_instance = \"NAME\", or set lvs_program = \"always\" in global", vs.Name, vs.Addr.Addr())
}

func portFrom(ap netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), port)
}

func (v *validator) realServer(vs *VirtualServer, rs *RealServer, seen map[netip.AddrPort]bool) {
	where := func(attr string) Pos { return at(rs.Positions, attr, rs.Pos) }
	if !rs.Addr.IsValid() {
		return // reported by the reader
	}
	if rs.Addr.Port() == 0 && vs.FWMark == 0 {
		rs.Addr = portFrom(rs.Addr, vs.Addr.Port())
	}
	if seen[rs.Addr] {
		v.diags.errorf(rs.Pos, "duplicate real_server", "virtual_server %q: real_server %s is listed twice", vs.Name, rs.Addr)
	}
	seen[rs.Addr] = true
	if rs.Addr.Addr().Is6() != vs.IPv6 {
		v.diags.errorf(rs.Pos, "real_server address family", "virtual_server %q: real_server %s is not of the service's address family", vs.Name, rs.Addr)
	}
	if rs.LBKind == "" {
		// Readers without per real server methods (ldirectord.cf).
		rs.LBKind, rs.Tunnel = vs.LBKind, vs.Tunnel
	}
	if (rs.LBKind == KindDR || rs.LBKind == KindTUN) && vs.FWMark == 0 && rs.Addr.Port() != vs.Addr.Port() {
		v.diags.errorf(rs.Pos, "real_server port differs in "+rs.LBKind,
			"virtual_server %q: real_server %s: with lb_kind %s the kernel cannot rewrite ports, so the real server must listen on %d", vs.Name, rs.Addr, rs.LBKind, vs.Addr.Port())
	}
	if rs.LBKind != vs.LBKind && (rs.LBKind == KindFNAT || vs.LBKind == KindFNAT || !validKind(rs.LBKind)) {
		v.diags.errorf(where("lvs_method"), "invalid lvs_method", "virtual_server %q: real_server %s: %q (FNAT applies to a whole service; else NAT, DR or TUN)", vs.Name, rs.Addr, rs.LBKind)
	}
	if err := rs.Tunnel.validate(); err != nil || rs.LBKind != KindTUN && rs.Tunnel != (Tunnel{}) {
		v.diags.errorf(where("lvs_method"), "invalid tunnel", "virtual_server %q: real_server %s: %v", vs.Name, rs.Addr, err)
	}
	if rs.Weight < 0 || rs.Weight > 65535 {
		v.diags.errorf(where("weight"), "invalid weight", "real_server %s: weight %d is outside 0..65535", rs.Addr, rs.Weight)
	}
	if rs.UThreshold != 0 && rs.LThreshold > rs.UThreshold {
		v.diags.errorf(where("lthreshold"), "invalid lthreshold", "real_server %s: lthreshold %d is above uthreshold %d", rs.Addr, rs.LThreshold, rs.UThreshold)
	}
	for i := range rs.Checkers {
		v.checker(vs, rs, &rs.Checkers[i])
	}
}

func (v *validator) checker(vs *VirtualServer, rs *RealServer, c *Checker) {
	where := func(attr string) Pos { return at(c.Positions, attr, c.Pos) }
	label := fmt.Sprintf("real_server %s %s", rs.Addr, c.Kind)
	if c.Connect.Port() == 0 {
		c.Connect = portFrom(c.Connect, rs.Addr.Port())
	}
	if !c.Connect.Addr().IsValid() {
		c.Connect = netip.AddrPortFrom(rs.Addr.Addr(), c.Connect.Port())
	}
	if c.Kind != CheckMisc && c.Kind != CheckPing && c.Kind != CheckFile && c.Connect.Port() == 0 {
		v.diags.errorf(c.Pos, "missing connect_port", "%s: the real server has no port; set connect_port", label)
	}
	if c.Timeout <= 0 {
		v.diags.errorf(where("connect_timeout"), "invalid connect_timeout", "%s: must be more than 0", label)
	}
	if c.Retry < 0 {
		v.diags.errorf(where("retry"), "invalid retry", "%s: retry must not be negative", label)
	}
	if c.RetryDelay < 0 || c.DelayLoop <= 0 {
		v.diags.errorf(where("delay_loop"), "invalid delay", "%s: delay_loop must be more than 0 and delay_before_retry not negative", label)
	}
	if c.Rise < 1 {
		v.diags.errorf(where("rise"), "invalid rise", "%s: rise must be at least 1", label)
	}
	switch s := c.KindSettings.(type) {
	case *HTTPCheck:
		if len(s.URLs) == 0 {
			v.diags.errorf(c.Pos, "missing url", "%s needs at least one url { path = \"/\" }", label)
		}
		if !slices.Contains(HTTPVersions(), s.HTTPVersion) {
			v.diags.errorf(where("http_protocol"), "invalid http_protocol", "%s: %q: want \"1.0\", \"1.0C\" or \"1.1\"", label, s.HTTPVersion)
		}
		if s.CAFile != "" && !s.VerifyTLS {
			v.diags.warnf(where("ca_file"), "ca_file without tls_verify", "%s: ca_file is used only with tls_verify = true", label)
		}
		for i := range s.URLs {
			u := &s.URLs[i]
			uwhere := func(attr string) Pos { return at(u.Positions, attr, u.Pos) }
			if !strings.HasPrefix(u.Path, "/") {
				v.diags.errorf(uwhere("path"), "invalid url path", "%s: path %q must start with /", label, u.Path)
			}
			if len(u.StatusCodes) == 0 {
				u.StatusCodes = defaultStatusCodes()
			}
			if u.Virtualhost == "" {
				u.Virtualhost = s.Virtualhost
			}
			if u.Digest != "" && !isMD5Hex(u.Digest) {
				v.diags.errorf(uwhere("digest"), "invalid digest", "%s: digest must be 32 hex digits (an MD5 sum, as genhash prints)", label)
			}
			if u.Regex != "" {
				if _, err := CompileURLRegex(u.Regex, u.RegexOptions); err != nil {
					v.diags.errorf(uwhere("regex"), "invalid regex", "%s: %v", label, err)
				}
			} else if u.RegexNoMatch {
				v.diags.errorf(uwhere("regex_no_match"), "regex_no_match without regex", "%s: set regex too", label)
			}
		}
	case *UDPCheck:
		if s.MinReplyLength < 0 || s.MinReplyLength > 65535 || s.MaxReplyLength < 0 || s.MaxReplyLength > 65535 {
			v.diags.errorf(where("max_reply_length"), "invalid reply length", "%s: min_reply_length and max_reply_length are 0..65535", label)
		} else if s.MinReplyLength > s.MaxReplyLength {
			// check_udp.c reports it and runs the check, which fails.
			v.diags.warnf(where("min_reply_length"), "min_reply_length above max_reply_length", "%s: min_reply_length %d > max_reply_length %d - will always fail", label, s.MinReplyLength, s.MaxReplyLength)
		}
		if !s.RequireReply && (c.Positions.Where("min_reply_length", Pos{}) != Pos{} || c.Positions.Where("max_reply_length", Pos{}) != Pos{}) {
			v.diags.warnf(where("min_reply_length"), "reply length without require_reply", "%s: the reply length is checked only with require_reply", label)
		}
	case *DNSCheck:
		if !slices.Contains(DNSTypes(), s.Type) {
			v.diags.errorf(where("type"), "invalid DNS type", "%s: type %q: want one of %s.%s", label, s.Type, strings.Join(DNSTypes(), " "), suggest(s.Type, DNSTypes()))
		}
		if err := validDNSName(s.Name); err != nil {
			v.diags.errorf(where("name"), "invalid DNS name", "%s: %v", label, err)
		}
	case *FileCheck:
		i := slices.IndexFunc(v.cfg.TrackFiles, func(f TrackFile) bool { return f.Name == s.TrackFile })
		if i < 0 {
			names := map[string]bool{}
			for _, f := range v.cfg.TrackFiles {
				names[f.Name] = true
			}
			v.diags.errorf(where("track_file"), "unknown track_file", "%s: track_file %q is not defined.%s", label, s.TrackFile, suggest(s.TrackFile, keys(names)))
			break
		}
		tf := v.cfg.TrackFiles[i]
		s.Path = tf.File
		if s.Weight == fileWeightUnset {
			s.Weight, s.Reverse = tf.Weight, tf.Reverse
		}
	case *SMTPCheck:
		if strings.TrimSpace(s.HeloName) == "" || strings.ContainsAny(s.HeloName, "\r\n") {
			v.diags.errorf(where("helo_name"), "invalid helo_name", "%s: helo_name must be one line of text", label)
		}
	case *MiscCheck:
		if strings.TrimSpace(s.Path) == "" {
			v.diags.errorf(c.Pos, "missing misc_path", "%s needs misc_path", label)
		}
		if s.Timeout <= 0 {
			v.diags.errorf(where("misc_timeout"), "invalid misc_timeout", "%s: must be more than 0", label)
		}
	}
}

// trackFiles checks the track_file blocks: a unique name, an absolute
// file, a weight that fits in 32 bits.
func (v *validator) trackFiles() {
	seen := map[string]Pos{}
	for _, f := range v.cfg.TrackFiles {
		where := func(attr string) Pos { return at(f.Positions, attr, f.Pos) }
		if prev, dup := seen[f.Name]; dup {
			v.diags.errorf(f.Pos, "duplicate track_file", "track_file %q is also defined at %s", f.Name, prev)
		}
		seen[f.Name] = f.Pos
		if !strings.HasPrefix(f.File, "/") {
			v.diags.errorf(where("file"), "invalid track_file file", "track_file %q: file %q must be an absolute path", f.Name, f.File)
		}
		if f.Weight < -(1<<31-1) || f.Weight > 1<<31-1 {
			v.diags.errorf(where("weight"), "invalid track_file weight", "track_file %q: weight %d is outside -2147483647..2147483647", f.Name, f.Weight)
		}
	}
}

// validDNSName accepts DNS_CHECK's name as keepalived does: "." (the
// root) or labels with no empty one (check_dns.c dns_name_handler()),
// each at most 63 octets and the whole at most 253 (RFC 1035 §2.3.4).
func validDNSName(name string) error {
	if name == "." {
		return nil
	}
	trimmed := strings.TrimSuffix(name, ".")
	if trimmed == "" || len(trimmed) > 253 {
		return fmt.Errorf("%q is not a domain name", name)
	}
	for _, label := range strings.Split(trimmed, ".") {
		if label == "" {
			return fmt.Errorf("%q has an empty label", name)
		}
		if len(label) > 63 {
			return fmt.Errorf("%q has a label longer than 63 octets", name)
		}
	}
	return nil
}

func isMD5Hex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
