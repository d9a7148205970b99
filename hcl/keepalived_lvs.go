package hcl

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file reads keepalived's virtual_server blocks (check/check_parser.c,
// check_data.c, check_api.c, check_http.c, check_misc.c of keepalived 2.2.7)
// and applies keepalived's defaults and corrections in the order its
// validate_check_config() does.

type kaVS struct {
	vs          VirtualServer
	inh         checkerSettings
	rss         []*kaRS
	protocolSet bool
	algoSet     bool
	kindSet     bool
	weight      int
	flags       []*kaNode
	family      string
	inhibit     bool
}

type kaRS struct {
	rs         RealServer
	inh        checkerSettings
	checks     []*kaCheck
	weightSet  bool
	inhibitSet bool
	kind       string
	tunnel     Tunnel
	kindPos    Pos
}

type kaCheck struct {
	c           Checker
	inh         checkerSettings
	connectIP   opt[netip.Addr]
	connectPort opt[uint16]
	miscTimeout opt[time.Duration]
}

var kaVSScope = map[string]kaScope{
	"ha_suspend": warnOnly("lvsd runs health checks on both nodes all the time"),
	"snmp_name":  warnOnly("lvsd has no SNMP agent"),
	"hashed":     warnOnly("keepalived ignores it too"),
}

var kaRSScope = map[string]kaScope{
	"snmp_name": warnOnly("lvsd has no SNMP agent"),
	"BFD_CHECK": refuse("lvsd does not speak BFD"),
}

var kaCheckScope = map[string]kaScope{
	"log_all_failures": warnOnly("lvsd logs every state change"),
}

var kaURLScope = map[string]kaScope{
	"regex_stack": warnOnly("lvsd uses Go regular expressions"),
}

func (r *kaReader) virtualServer(n *kaNode) {
	if !r.block(n) {
		return
	}
	k := &kaVS{weight: defaultWeight, rss: r.rssBuf}
	defer r.releaseRSs(k)
	vs := &k.vs
	// Room for the service's own keywords: its real servers record theirs
	// in their own Positions.
	room := 0
	for _, c := range n.block {
		if c.name != "real_server" {
			room++
		}
	}
	vs.Pos, vs.Positions = n.pos, r.positions.newFor(room)
	vs.DelayLoop, vs.Quorum = defaultDelayLoop, defaultQuorum
	args := n.argText()
	switch {
	case len(args) >= 1 && args[0] == "group":
		r.groupServer(n, k, args) // keepalived_group.go
		return
	case len(args) == 2 && args[0] == "fwmark":
		m, err := strconv.ParseUint(args[1], 10, 32)
		if err != nil || m == 0 {
			r.errf(n.pos, fmt.Sprintf("invalid virtual_server fwmark %q", args[1]), "want 1-4294967295")
			return
		}
		vs.FWMark = uint32(m)
		vs.Name = fmt.Sprintf("fwmark %d", m)
	default:
		ap, ok := r.addrPort(n, n.args)
		if !ok {
			return
		}
		vs.Addr = ap
		vs.IPv6 = ap.Addr().Is6()
		vs.Name = ap.String()
	}
	for _, c := range n.block {
		r.vsKeyword(k, c)
	}
	if r.vsComplete(k) {
		r.cfg.VirtualServers = append(r.cfg.VirtualServers, k.vs)
	}
}

// inherited reads a keyword every level accepts; it says whether c was one.
func (r *kaReader) inherited(inh *checkerSettings, pos Positions, c *kaNode) bool {
	switch c.name {
	case "connect_timeout":
		if v, ok := r.seconds(c, true); ok {
			if v == 0 {
				r.errf(c.pos, "invalid connect_timeout 0", "must be more than 0")
			} else {
				inh.timeout.put(v)
				pos.Set(c.name, c.pos)
			}
		}
	case "delay_loop":
		if v, ok := r.seconds(c, true); ok {
			if v == 0 {
				r.errf(c.pos, "invalid delay_loop 0", "must be more than 0")
			} else {
				inh.delayLoop.put(v)
				pos.Set(c.name, c.pos)
			}
		}
	case "warmup":
		if v, ok := r.seconds(c, true); ok {
			inh.warmup.put(v)
			pos.Set(c.name, c.pos)
		}
	case "delay_before_retry":
		if v, ok := r.seconds(c, true); ok {
			inh.retryDelay.put(v)
			pos.Set(c.name, c.pos)
		}
	case "retry":
		if v, ok := r.integer(c, 0, math.MaxInt32); ok {
			inh.retry.put(int(v))
			pos.Set(c.name, c.pos)
		}
	case "alpha":
		if v, ok := r.flag(c); ok {
			inh.alpha.put(v)
			pos.Set(c.name, c.pos)
		}
	case "virtualhost":
		if v, ok := r.one(c); ok {
			inh.virtualhost.put(v)
			pos.Set(c.name, c.pos)
		}
	default:
		return false
	}
	return true
}

func (r *kaReader) vsKeyword(k *kaVS, c *kaNode) {
	vs := &k.vs
	if r.inherited(&k.inh, vs.Positions, c) {
		return
	}
	mark := func(key string) { vs.Positions.Set(key, c.pos) }
	switch c.name {
	case "ip_family":
		if v, ok := r.one(c); ok {
			if v != "inet" && v != "inet6" {
				r.errf(c.pos, fmt.Sprintf("invalid ip_family %q", v), "want inet or inet6")
				return
			}
			k.family = v
			mark("ip_family")
		}
	case "protocol":
		if v, ok := r.one(c); ok {
			p := strings.ToUpper(v)
			if p != ProtoTCP && p != ProtoUDP && p != ProtoSCTP {
				r.warnf(c.pos, fmt.Sprintf("Unknown protocol %s - ignoring", v), "want TCP, UDP or SCTP")
				return
			}
			vs.Protocol, k.protocolSet = p, true
			mark("protocol")
		}
	case "lb_algo", "lvs_sched":
		if v, ok := r.one(c); ok {
			if !slices.Contains(Schedulers(), v) {
				r.warnf(c.pos, fmt.Sprintf("Invalid lvs_scheduler '%s' - ignoring", v), "want one of %s.%s", strings.Join(Schedulers(), ", "), suggest(v, Schedulers()))
				return
			}
			vs.LBAlgo, k.algoSet = v, true
			mark("lb_algo")
		}
	case "lb_kind", "lvs_method":
		if v, t, ok := r.kind(c); ok {
			vs.LBKind, vs.Tunnel, k.kindSet = v, t, true
			mark("lb_kind")
		}
	case "laddr_group_name":
		if v, ok := r.one(c); ok {
			vs.LocalAddressGroup = v
			mark("laddr_group_name")
		}
	case "persistence_engine":
		if v, ok := r.one(c); ok {
			// check_parser.c pengine_handler() takes any name; the
			// kernel knows sip only (ip_vs_pe_sip.c).
			if v != "sip" {
				r.errf(c.pos, fmt.Sprintf("invalid persistence_engine %q", v), "the kernel's only persistence engine is sip")
				return
			}
			vs.PersistenceEngine = v
			mark("persistence_engine")
		}
	case "sorry_server_inhibit":
		if !r.none(c) {
			return
		}
		if vs.SorryServer == nil {
			r.warnf(c.pos, "Ignoring sorry_server inhibit used before or without sorry_server", "as keepalived does")
			return
		}
		vs.SorryServer.Inhibit = true
		mark("sorry_server_inhibit")
	case "ops":
		if r.none(c) {
			vs.OnePacket = true
			mark("ops")
		}
	case "sh-port", "sh-fallback", "mh-port", "mh-fallback", "flag-1", "flag-2", "flag-3":
		if r.none(c) {
			k.flags = append(k.flags, c)
			mark("scheduler_flags")
		}
	case "persistence_timeout":
		if !r.noBlock(c) {
			return
		}
		if len(c.args) == 0 {
			// check_parser.c pto_handler(): a bare keyword means 360s.
			vs.PersistenceTimeout = defaultPersistence
			mark("persistence_timeout")
			return
		}
		if v, ok := r.integer(c, 1, math.MaxInt32); ok {
			vs.PersistenceTimeout = time.Duration(v) * time.Second
			mark("persistence_timeout")
		}
	case "persistence_granularity":
		if v, ok := r.one(c); ok {
			ipv6 := vs.IPv6 || (vs.FWMark != 0 && !strings.Contains(v, "."))
			bits, err := parseNetmask(v, ipv6)
			if err != nil {
				r.errf(c.pos, fmt.Sprintf("invalid persistence_granularity %q", v), "%v", err)
				return
			}
			vs.PersistenceGranularity = bits
			mark("persistence_granularity")
			// pgr_handler(): granularity makes the service persistent.
			if vs.PersistenceTimeout == 0 {
				vs.PersistenceTimeout = defaultPersistence
			}
		}
	case "quorum":
		if v, ok := r.integer(c, 1, math.MaxUint32); ok {
			vs.Quorum = int(v)
			mark("quorum")
		}
	case "hysteresis":
		if v, ok := r.integer(c, 0, math.MaxUint32); ok {
			vs.Hysteresis = int(v)
			mark("hysteresis")
		}
	case "quorum_up", "quorum_down":
		if v, u, ok := r.notifyScript(c); ok { // notify_users.go
			if c.name == "quorum_up" {
				vs.QuorumUp = v
			} else {
				vs.QuorumDown = v
			}
			vs.QuorumUsers.set(c.name, u)
			mark(c.name)
		}
	case "omega":
		if r.none(c) {
			vs.Omega = true
			mark("omega")
		}
	case "inhibit_on_failure":
		if r.none(c) {
			k.inhibit = true
			mark("inhibit_on_failure")
		}
	case "weight":
		if v, ok := r.integer(c, 1, 65535); ok {
			k.weight = int(v)
			mark("weight")
		}
	case "sorry_server":
		if !r.noBlock(c) {
			return
		}
		if ap, ok := r.addrPort(c, c.args); ok {
			vs.SorryServer = &SorryServer{Addr: ap, Pos: c.pos}
			mark("sorry_server")
		}
	case "sorry_server_lvs_method":
		v, t, ok := r.kind(c)
		if !ok {
			return
		}
		if vs.SorryServer == nil {
			r.warnf(c.pos, "sorry_server forwarding used without sorry_server - ignoring", "as keepalived does")
			return
		}
		vs.SorryServer.LBKind, vs.SorryServer.Tunnel = v, t
		mark("sorry_server_lvs_method")
	case "real_server":
		r.realServer(k, c)
	case "smtp_alert":
		r.smtpAlert(c, &vs.SMTPAlert, vs.Positions) // keepalived_alert.go
	default:
		if !r.outOfScope(c, kaVSScope) {
			r.unknown(c, "virtual_server "+vs.Name)
		}
	}
}

// kind reads a forwarding method, with TUN's tunnel settings
// (check_parser.c forwarding_handler(): TUN [type ipip|gue port N|gre
// [nocsum|csum|remcsum]]).
func (r *kaReader) kind(c *kaNode) (string, Tunnel, bool) {
	if !r.noBlock(c) {
		return "", Tunnel{}, false
	}
	if len(c.args) == 0 {
		r.errf(c.pos, fmt.Sprintf("keyword %s needs a value", c.name), "want NAT, DR or TUN")
		return "", Tunnel{}, false
	}
	v := c.args[0].text
	if v == "FULLNAT" {
		v = KindFNAT // DPVS's keepalived reads both
	}
	if v != KindNAT && v != KindDR && v != KindTUN && v != KindFNAT {
		r.errf(c.pos, fmt.Sprintf("invalid %s %q", c.name, v), "want NAT, DR, TUN or FNAT")
		return "", Tunnel{}, false
	}
	if len(c.args) == 1 {
		return v, Tunnel{}, true
	}
	if v != KindTUN {
		r.errf(c.pos, fmt.Sprintf("keyword %s %s options are not supported by lvsd", c.name, v), "only TUN takes options (its tunnel type)")
		return "", Tunnel{}, false
	}
	t, err := ParseTunnel(c.argText()[1:])
	if err != nil {
		r.errf(c.pos, fmt.Sprintf("invalid %s TUN settings", c.name), "%v", err)
		return "", Tunnel{}, false
	}
	return v, t, true
}

func (r *kaReader) realServer(k *kaVS, n *kaNode) {
	if !r.block(n) {
		return
	}
	ap, ok := r.addrPort(n, n.args)
	if !ok {
		return
	}
	rsk := r.newRS()
	rs := &rsk.rs
	rs.Addr, rs.Pos, rs.Positions = ap, n.pos, r.positions.newFor(len(n.block))
	for _, c := range n.block {
		if r.inherited(&rsk.inh, rs.Positions, c) {
			continue
		}
		switch c.name {
		case "weight":
			if v, ok := r.integer(c, 0, 65535); ok {
				rs.Weight, rsk.weightSet = int(v), true
				rs.Positions.Set("weight", c.pos)
			}
		case "lvs_method":
			if v, t, ok := r.kind(c); ok {
				rsk.kind, rsk.tunnel, rsk.kindPos = v, t, c.pos
			}
		case "uthreshold", "lthreshold":
			if v, ok := r.integer(c, 0, math.MaxUint32); ok {
				if c.name == "uthreshold" {
					rs.UThreshold = uint32(v)
				} else {
					rs.LThreshold = uint32(v)
				}
				rs.Positions.Set(c.name, c.pos)
			}
		case "inhibit_on_failure":
			if v, ok := r.flag(c); ok {
				rs.InhibitOnFailure, rsk.inhibitSet = v, true
				rs.Positions.Set("inhibit_on_failure", c.pos)
			}
		case "notify_up", "notify_down":
			if v, u, ok := r.notifyScript(c); ok { // notify_users.go
				if c.name == "notify_up" {
					rs.NotifyUp = v
				} else {
					rs.NotifyDown = v
				}
				rs.NotifyUsers.set(c.name, u)
				rs.Positions.Set(c.name, c.pos)
			}
		case CheckTCP, CheckHTTP, CheckSSL, CheckMisc, CheckUDP, CheckDNS, CheckPing, CheckSMTP, CheckFile:
			rsk.checks = append(rsk.checks, r.checker(c, rs.Addr.String())...)
		case "smtp_alert":
			r.smtpAlert(c, &rs.SMTPAlert, rs.Positions) // keepalived_alert.go
		default:
			if !r.outOfScope(c, kaRSScope) {
				r.unknown(c, "real_server "+rs.Addr.String())
			}
		}
	}
	k.rss = append(k.rss, rsk)
}

// newRS returns a zeroed kaRS cut from a slab that every virtual server
// reuses (releaseRSs): a kaRS lives only until its real server is copied
// into the model (vsComplete), so a big table's 32,000 real servers cost
// one slab instead of 14 MB of them. A slab is never grown, so the
// pointers stay valid: a virtual server with more real servers than a
// slab holds gets a new one.
func (r *kaReader) newRS() *kaRS {
	if r.rsUsed == len(r.rsSlab) {
		r.rsSlab, r.rsUsed = make([]kaRS, 256), 0
	}
	rsk := &r.rsSlab[r.rsUsed]
	r.rsUsed++
	return rsk
}

// releaseRSs hands the slab back once a virtual server is in the model
// (or dropped): nothing keeps a *kaRS past virtualServer.
func (r *kaReader) releaseRSs(k *kaVS) {
	clear(r.rsSlab[:r.rsUsed])
	r.rsUsed = 0
	clear(k.rss)
	r.rssBuf = k.rss[:0]
}

// checker reads a checker block: one checker, or one per host block of an
// SMTP_CHECK (keepalived_checkers.go); nil drops it.
func (r *kaReader) checker(n *kaNode, rsName string) []*kaCheck {
	if !r.block(n) {
		return nil
	}
	if len(n.args) > 0 {
		r.errf(n.pos, fmt.Sprintf("%s takes no value", n.name), "got %q", n.args[0].text)
	}
	ck := &kaCheck{}
	c := &ck.c
	c.Kind, c.Pos, c.Positions = n.name, n.pos, r.positions.newFor(len(n.block))
	c.Rise = defaultRise
	c.KindSettings = defaultKindSettings(n.name)
	http, misc := c.HTTP(), c.Misc()
	web := http != nil
	in := fmt.Sprintf("%s of real_server %s", n.name, rsName)
	var hosts []*kaSMTPHost
	for _, e := range n.block {
		if r.inherited(&ck.inh, c.Positions, e) || r.checkerKeyword(ck, e, in, &hosts) {
			continue
		}
		mark := func() { c.Positions.Set(e.name, e.pos) }
		switch {
		case e.name == "connect_ip" && n.name != CheckMisc:
			if v, ok := r.addr(e); ok {
				ck.connectIP.put(v)
				mark()
			}
		case e.name == "connect_port" && n.name != CheckMisc:
			if v, ok := r.integer(e, 1, 65535); ok {
				ck.connectPort.put(uint16(v))
				mark()
			}
		case e.name == "bindto" && n.name != CheckMisc:
			if v, ok := r.addr(e); ok {
				c.BindTo = v
				mark()
			}
		case e.name == "bind_port" && n.name != CheckMisc:
			if v, ok := r.integer(e, 1, 65535); ok {
				c.BindPort = uint16(v)
				mark()
			}
		case e.name == "fwmark" && n.name != CheckMisc:
			if v, ok := r.integer(e, 1, math.MaxUint32); ok {
				c.FWMark = uint32(v)
				mark()
			}
		case e.name == "nb_get_retry" && web:
			if v, ok := r.integer(e, 0, math.MaxInt32); ok {
				r.warnf(e.pos, "nb_get_retry is deprecated - please use 'retry'", "read as retry, as keepalived does")
				ck.inh.retry.put(int(v))
				c.Positions.Set("retry", e.pos)
			}
		case e.name == "http_protocol" && web:
			if v, ok := r.one(e); ok {
				// keepalived's 1.0C is HTTP/1.0 with "Connection: close".
				if !slices.Contains(HTTPVersions(), v) {
					r.warnf(e.pos, fmt.Sprintf("invalid http_protocol %q", v), "want 1.0, 1.0C or 1.1; ignored")
					continue
				}
				http.HTTPVersion = v
				mark()
			}
		case e.name == "fast_recovery":
			// Read for every kind, as before; HTTP_GET and SSL_GET keep
			// it (to write it back), the others have no use for it.
			if v, ok := r.flag(e); ok {
				if web {
					http.FastRecovery = v
				}
				mark()
			}
		case e.name == "bind_if" && n.name != CheckMisc && n.name != CheckFile:
			if v, ok := r.one(e); ok {
				c.BindIf = v
				mark()
			}
		case e.name == "enable_sni" && web:
			if v, ok := r.flag(e); ok {
				http.EnableSNI = v
				mark()
			}
		case e.name == "url" && web:
			if u, ok := r.url(e, in); ok {
				http.URLs = append(http.URLs, u)
			}
		case e.name == "misc_path" && n.name == CheckMisc:
			if v, ok := r.firstWordCommand(e); ok { // notify_users.go
				misc.Path = v
				mark()
			}
		case e.name == "misc_timeout" && n.name == CheckMisc:
			if v, ok := r.seconds(e, false); ok {
				ck.miscTimeout.put(v)
				mark()
			}
		case e.name == "misc_dynamic" && n.name == CheckMisc:
			if r.none(e) {
				misc.Dynamic = true
				mark()
			}
		case e.name == "user" && n.name == CheckMisc:
			if !r.noBlock(e) {
				continue
			}
			if len(e.args) < 1 || len(e.args) > 2 {
				r.errf(e.pos, "invalid user", "want USER [GROUP]")
				continue
			}
			misc.User = e.args[0].text
			if len(e.args) == 2 {
				misc.Group = e.args[1].text
			}
			mark()
		default:
			if !r.outOfScope(e, kaCheckScope) {
				r.unknown(e, in)
			}
		}
	}
	if web && len(http.URLs) == 0 {
		r.warnf(n.pos, "HTTP/SSL_GET checker has no urls specified - ignoring", "%s is dropped, as keepalived does", in)
		return nil
	}
	if misc != nil && misc.Path == "" {
		r.errf(n.pos, "MISC_CHECK needs misc_path", "%s", in)
		return nil
	}
	return r.checkerEnd(ck, hosts) // keepalived_checkers.go
}

func (r *kaReader) url(n *kaNode, in string) (URL, bool) {
	if !r.block(n) {
		return URL{}, false
	}
	u := URL{Pos: n.pos, Positions: r.positions.new()}
	for _, c := range n.block {
		mark := func() { u.Positions.Set(c.name, c.pos) }
		switch c.name {
		case "path":
			if v, ok := r.one(c); ok {
				u.Path = v
				mark()
			}
		case "digest":
			if v, ok := r.one(c); ok {
				if len(v) != 32 || strings.Trim(strings.ToLower(v), "0123456789abcdef") != "" {
					r.warnf(c.pos, fmt.Sprintf("invalid digest '%s'", v), "want 32 hexadecimal digits (MD5); ignored, as keepalived does")
					continue
				}
				u.Digest = strings.ToLower(v)
				mark()
			}
		case "status_code":
			if !r.noBlock(c) {
				continue
			}
			if len(c.args) == 0 {
				r.errf(c.pos, "keyword status_code needs a value", "e.g. 200 or 200-299")
				continue
			}
			for _, a := range c.args {
				sr, err := ParseStatusRange(a.text)
				if err != nil {
					r.warnf(c.pos, fmt.Sprintf("Invalid HTTP_GET status code '%s'", a.text), "%v; ignored, as keepalived does", err)
					continue
				}
				u.StatusCodes = append(u.StatusCodes, sr)
			}
			mark()
		case "virtualhost":
			if v, ok := r.one(c); ok {
				u.Virtualhost = v
				mark()
			}
		case "regex":
			if v, ok := r.one(c); ok {
				u.Regex = v
				mark()
			}
		case "regex_no_match":
			if r.none(c) {
				u.RegexNoMatch = true
				mark()
			}
		case "regex_options":
			if !r.noBlock(c) {
				continue
			}
			var opts []string
			for _, o := range c.argText() {
				if err := checkRegexOption(o); err != nil {
					r.errf(c.pos, "invalid regex_options", "%v", err)
					continue
				}
				opts = append(opts, o)
			}
			u.RegexOptions = append(u.RegexOptions, opts...)
			mark()
		case "regex_min_offset", "regex_max_offset":
			if v, ok := r.integer(c, 0, math.MaxInt32); ok {
				if c.name == "regex_min_offset" {
					u.RegexMinOffset = int(v)
				} else {
					u.RegexMaxOffset = int(v)
				}
				mark()
			}
		default:
			if !r.outOfScope(c, kaURLScope) {
				r.unknown(c, "url of "+in)
			}
		}
	}
	if u.Path == "" {
		r.warnf(n.pos, "HTTP/SSL_GET checker url has no path - ignoring", "url of %s is dropped, as keepalived does", in)
		return URL{}, false
	}
	if len(u.StatusCodes) == 0 {
		u.StatusCodes = defaultStatusCodes()
	}
	if u.RegexNoMatch && u.Regex == "" {
		r.notef(u.Positions.Where("regex_no_match", Pos{}), "regex parameters specified without regex - ignoring", "url of %s, as keepalived does", in)
		u.RegexNoMatch = false
	}
	return u, true
}

// vsComplete applies keepalived's defaults and corrections
// (check_data.c validate_check_config()); false drops the service.
func (r *kaReader) vsComplete(k *kaVS) bool {
	vs := &k.vs
	name := vs.Name
	if len(k.rss) == 0 {
		r.warnf(vs.Pos, fmt.Sprintf("virtual server %s has no real servers - ignoring", name), "as keepalived does")
		return false
	}
	// Address family: fixed by the address; for fwmark services by
	// ip_family, else by the sorry and real servers (vs_end_handler()).
	if vs.FWMark != 0 {
		switch {
		case k.family != "":
			vs.IPv6 = k.family == "inet6"
		case vs.SorryServer != nil:
			vs.IPv6 = vs.SorryServer.Addr.Addr().Is6()
		default:
			vs.IPv6 = k.rss[0].rs.Addr.Addr().Is6()
		}
	} else if k.family != "" && (k.family == "inet6") != vs.IPv6 {
		r.errf(vs.Positions.Where("ip_family", Pos{}), fmt.Sprintf("ip_family %s conflicts with the address of virtual server %s", k.family, name), "")
	}
	if vs.SorryServer != nil && vs.SorryServer.Addr.Addr().Is6() != vs.IPv6 {
		r.warnf(vs.SorryServer.Pos, fmt.Sprintf("address family of virtual server and sorry server %s don't match - skipping sorry server", vs.SorryServer.Addr), "as keepalived does")
		vs.SorryServer = nil
		vs.Positions.Delete("sorry_server")
		vs.Positions.Delete("sorry_server_lvs_method")
	}
	if vs.FWMark == 0 {
		if !k.protocolSet {
			r.warnf(vs.Pos, fmt.Sprintf("virtual server %s: no protocol set - defaulting to UDP", name),
				"keepalived's default; write protocol TCP if that is what you mean")
			vs.Protocol = kaDefaultProtocol
		}
		if vs.OnePacket && vs.Protocol != ProtoUDP {
			r.warnf(vs.Positions.Where("ops", Pos{}), fmt.Sprintf("virtual server %s: one packet scheduling requires UDP - resetting", name), "as keepalived does")
			vs.OnePacket = false
			vs.Positions.Delete("ops")
		}
		if vs.PersistenceTimeout == 0 && vs.Addr.Port() == 0 {
			r.warnf(vs.Pos, fmt.Sprintf("virtual server %s: zero port only valid for persistent services - setting", name), "persistence_timeout 360, as keepalived does")
			vs.PersistenceTimeout = defaultPersistence
		}
	} else {
		if k.protocolSet {
			r.warnf(vs.Positions.Where("protocol", Pos{}), fmt.Sprintf("virtual server %s: protocol specified for fwmark - protocol will be ignored", name), "as keepalived does")
		} else {
			vs.Protocol = ProtoTCP
		}
	}
	if !k.algoSet {
		r.warnf(vs.Pos, fmt.Sprintf("virtual server %s: no scheduler set, setting default '%s'", name, defaultScheduler), "keepalived's default")
		vs.LBAlgo = defaultScheduler
	}
	if !k.kindSet {
		r.warnf(vs.Pos, fmt.Sprintf("virtual server %s: no forwarding method set, setting default NAT", name), "keepalived's default")
		vs.LBKind = defaultKind
	}
	vs.InhibitOnFailure = k.inhibit
	vs.Alpha = k.inh.alpha.or(false)
	vs.DelayLoop = k.inh.delayLoop.or(defaultDelayLoop)
	vs.Virtualhost = k.inh.virtualhost.or("")
	r.schedulerFlags(k)

	weightSum := 0
	vs.RealServers = slices.Grow(vs.RealServers, len(k.rss))
	for i, rsk := range k.rss {
		rs := &rsk.rs
		if rs.Addr.Addr().Is6() != vs.IPv6 && rsk.kind != KindTUN && vs.LBKind != KindTUN {
			r.warnf(rs.Pos, fmt.Sprintf("address family of virtual server and real server %s don't match - skipping real server", rs.Addr), "as keepalived does")
			continue
		}
		if slices.ContainsFunc(k.rss[:i], func(o *kaRS) bool { return o.rs.Addr == rs.Addr }) {
			r.warnf(rs.Pos, fmt.Sprintf("VS %s: real server %s is duplicated - removing second rs", name, rs.Addr), "as keepalived does")
			continue
		}
		rs.LBKind, rs.Tunnel = vs.LBKind, vs.Tunnel
		if rsk.kind != "" {
			rs.LBKind, rs.Tunnel = rsk.kind, rsk.tunnel
			rs.Positions.Set("lvs_method", rsk.kindPos)
		}
		if !rsk.weightSet {
			rs.Weight = k.weight
		}
		if !rsk.inhibitSet {
			rs.InhibitOnFailure = k.inhibit
		}
		// Checkers connect to the port written (else the service's), taken
		// before keepalived clears or resets it for DR/TUN (check_data.c
		// corrects the real server after its checkers copied its address).
		// (A copy only for a real server with checkers: a kaRS is 456
		// bytes, and a big table's real servers often have none.)
		var checked kaRS
		if len(rsk.checks) > 0 {
			checked = *rsk
			if checked.rs.Addr.Port() == 0 {
				checked.rs.Addr = netip.AddrPortFrom(rs.Addr.Addr(), vs.Addr.Port())
			}
		}
		r.fixPort(vs, rs.LBKind, &rs.Addr, rs.Pos, "real server")
		for _, ck := range rsk.checks {
			rs.Checkers = append(rs.Checkers, r.resolveChecker(k, &checked, ck))
		}
		weightSum += rs.Weight
		vs.RealServers = append(vs.RealServers, *rs)
	}
	if vs.SorryServer != nil {
		if vs.SorryServer.LBKind == "" {
			vs.SorryServer.LBKind = vs.LBKind
		}
		r.fixPort(vs, vs.LBKind, &vs.SorryServer.Addr, vs.SorryServer.Pos, "")
	}
	if vs.Quorum > weightSum {
		r.warnf(vs.Positions.Where("quorum", vs.Pos), fmt.Sprintf("quorum %d for %s exceeds total weight of real servers %d, reducing quorum to %d", vs.Quorum, name, weightSum, weightSum), "as keepalived does")
		vs.Quorum = weightSum
	}
	if vs.Hysteresis >= vs.Quorum && vs.Hysteresis > 0 {
		h := max(vs.Quorum-1, 0)
		r.warnf(vs.Positions.Where("hysteresis", vs.Pos), fmt.Sprintf("virtual server %s: hysteresis %d >= quorum %d; setting hysteresis to %d", name, vs.Hysteresis, vs.Quorum, h), "as keepalived does")
		vs.Hysteresis = h
	}
	if vs.PersistenceGranularity == 0 {
		vs.PersistenceGranularity = defaultGranularity(vs.IPv6)
	}
	return true
}

// fixPort applies keepalived's port rules for real and sorry servers
// forwarded with kind: the service's port when none is given; for DR/TUN
// the service's port (or none for fwmark services) whatever is written.
//
// role is "real server" (the warning then names it by its address as
// written) or "" for the sorry server; the name is built only for a
// warning, not for each of a big table's real servers.
func (r *kaReader) fixPort(vs *VirtualServer, kind string, ap *netip.AddrPort, pos Pos, role string) {
	what := func() string {
		if role == "" {
			return "sorry server"
		}
		return role + " " + ap.String()
	}
	nat := kind == KindNAT || kind == KindFNAT
	if vs.FWMark != 0 {
		if !nat && ap.Port() != 0 {
			r.warnf(pos, fmt.Sprintf("fwmark virtual server %s, %s has port specified - clearing", vs.Name, what()), "as keepalived does")
			*ap = netip.AddrPortFrom(ap.Addr(), 0)
		}
		return
	}
	switch {
	case ap.Port() == 0:
		*ap = netip.AddrPortFrom(ap.Addr(), vs.Addr.Port())
	case !nat && ap.Port() != vs.Addr.Port():
		r.warnf(pos, fmt.Sprintf("virtual server %s and %s ports don't match - resetting", vs.Name, what()), "DR and TUN keep the service's port, as keepalived does")
		*ap = netip.AddrPortFrom(ap.Addr(), vs.Addr.Port())
	}
}

// schedulerFlags maps sh-port, flag-1, ... to the model's flag names.
func (r *kaReader) schedulerFlags(k *kaVS) {
	vs := &k.vs
	for _, c := range k.flags {
		var f string
		switch c.name {
		case "flag-1":
			f = vs.LBAlgo + "-fallback" // IP_VS_SVC_F_SCHED1
		case "flag-2":
			f = vs.LBAlgo + "-port" // IP_VS_SVC_F_SCHED2
		default:
			f = c.name
		}
		if f != "flag-3" && (vs.LBAlgo != "sh" && vs.LBAlgo != "mh" || !strings.HasPrefix(f, vs.LBAlgo+"-")) {
			r.warnf(c.pos, fmt.Sprintf("%s only applies to sh scheduler - ignoring", c.name), "virtual server %s uses %s, as keepalived does", vs.Name, vs.LBAlgo)
			continue
		}
		if !slices.Contains(vs.SchedulerFlags, f) {
			vs.SchedulerFlags = append(vs.SchedulerFlags, f)
		}
	}
	if len(vs.SchedulerFlags) == 0 {
		vs.Positions.Delete("scheduler_flags")
	}
}

// resolveChecker fills a checker's settings from itself, its real server
// and its virtual server, then keepalived's per-kind defaults
// (check_data.c, check_api.c, check_http.c, check_misc.c).
func (r *kaReader) resolveChecker(k *kaVS, rsk *kaRS, ck *kaCheck) Checker {
	c := ck.c
	// The model's checker gets settings of its own: a group's members
	// each resolve the block's one kaCheck, and resolve writes them.
	c.OwnSettings()
	rs := rsk.rs
	c.Connect = netip.AddrPortFrom(ck.connectIP.or(rs.Addr.Addr()), ck.connectPort.or(rs.Addr.Port()))
	inheritance{&ck.inh, &rsk.inh, &k.inh}.resolve(&c, kaCheckerDefaults(c.Kind))
	// check_misc.c: no misc_timeout means the service's delay_loop.
	if m := c.Misc(); m != nil {
		m.Timeout = ck.miscTimeout.or(k.vs.DelayLoop)
	}
	if c.Kind == CheckFile {
		fileCheckSettings(&c) // its own schedule, nothing inherited
	}
	return c
}
