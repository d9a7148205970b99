package hcl

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file reads ldirectord's configuration (ldirectord.cf, ldirectord(8)
// of resource-agents 4.x, read_config() and ld_setup()) into the model.
// ldirectord runs on one director while another cluster manager moves
// the VIPs, so the result programs IPVS on every node (lvs_program
// "always") with no VRRP instance. Each keyword is applied with
// ldirectord's meaning, mapped onto lvsd's checkers; what lvsd cannot do
// is refused with its FILE:LINE, and what changes nothing in the table
// (e-mail, log files) is a warning. docs/ldirectord.md lists every keyword.

// ldirectord's defaults (set_defaults() and the virtual section's).
const (
	ldCheckInterval    = 10 * time.Second // checkinterval
	ldCheckTimeout     = 5                // DEFAULT_CHECKTIMEOUT, seconds
	ldNegotiateTimeout = 30               // DEFAULT_NEGOTIATETIMEOUT, seconds
	ldFailureCount     = 1                // failurecount
	ldScheduler        = "wrr"            // a virtual's scheduler
	ldCheckCommand     = "/bin/true"      // checkcommand
)

// ldGlobal holds the global settings a virtual section may override.
type ldGlobal struct {
	checkTimeout, negotiateTimeout opt[int] // seconds
	checkInterval                  time.Duration
	checkCount                     int
	failureCount                   int
	fallback, fallback6            *ldFallback
	fallbackCommand                string
	quiescent                      bool
	cleanStop                      bool
	fork                           bool
}

// ldFallback is a fallback line: ADDR[:PORT] [gate|masq|ipip].
type ldFallback struct {
	addr netip.Addr
	port string // as written; empty takes the virtual's
	kind string
	pos  Pos
}

// ldVirtual is one virtual section as written.
type ldVirtual struct {
	pos                            Pos
	ipv6                           bool
	addr                           netip.Addr
	port                           string // as written: a number or a service name
	fwmark                         uint32
	protocol                       string // tcp, udp or fwm
	service                        string
	checkType                      string
	connects                       int // checktype=N
	checkCommand                   string
	request, receive               string
	requestSet                     bool
	checkTimeout, negotiateTimeout opt[int]
	checkCount, failureCount       opt[int]
	checkInterval                  opt[time.Duration]
	checkPort                      uint16
	scheduler                      string
	persistent                     opt[int]
	netmask                        string
	schedFlags                     string
	ops                            bool
	httpMethod                     string
	virtualhost                    string
	fallback                       *ldFallback
	fallbackCommand                opt[string]
	quiescent, cleanStop           opt[bool]
	reals                          []ldLine
	positions                      Positions
}

// ldLine is a value and the place it was written.
type ldLine struct {
	text string
	pos  Pos
}

// ldReader turns ldirectord.cf lines into the model.
type ldReader struct {
	diags    *Diagnostics
	global   ldGlobal
	virtuals []*ldVirtual
}

// ldKeyword matches keyword = value (ldirectord's `^keyword\s*=\s*(.*)`).
var ldKeyword = regexp.MustCompile(`^([a-z0-9_-]+)\s*=\s*(.*)$`)

// parseLdirectord reads an ldirectord.cf into a defaulted Config.
func (l *Loader) parseLdirectord(path string, src []byte) (*Config, Diagnostics) {
	var diags Diagnostics
	r := &ldReader{diags: &diags, global: ldGlobal{
		checkInterval: ldCheckInterval, checkCount: 1, failureCount: ldFailureCount, cleanStop: true,
	}}
	var cur *ldVirtual
	for n, raw := range strings.Split(string(src), "\n") {
		pos := Pos{File: path, Line: n + 1}
		line := strings.TrimRight(raw, " \t\r")
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		line = strings.TrimSpace(line)
		if indented && cur != nil {
			// ldirectord strips a comment from a virtual section's line.
			if i := strings.Index(line, "#"); i >= 0 {
				line = strings.TrimSpace(line[:i])
			}
		} else if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i]) // a global line's comment
		} else if i := strings.Index(line, "\t#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		m := ldKeyword.FindStringSubmatch(line)
		if m == nil {
			if line == "supervised" && !indented {
				r.diags.warnf(pos, "bare supervised", "ldirectord reads it as supervised=yes; lvsd runs in the foreground under its service manager")
				continue
			}
			r.diags.errorf(pos, "not an ldirectord setting", "%q: want keyword=value", line)
			continue
		}
		key, value := m[1], strings.TrimSpace(m[2])
		switch {
		case key == "virtual" || key == "virtual6":
			cur = r.virtual(key == "virtual6", value, pos)
		case indented && cur != nil:
			r.virtualKeyword(cur, key, value, pos)
		case indented:
			r.diags.errorf(pos, "indented line outside a virtual section", "%q: a virtual= line comes first", line)
		default:
			cur = nil
			r.globalKeyword(key, value, pos)
		}
	}
	cfg := staticConfig(path)
	seen := map[string]Pos{}
	for _, v := range r.virtuals {
		vs, ok := r.virtualServer(v)
		if !ok {
			continue
		}
		if prev, dup := seen[vs.Key()]; dup {
			r.diags.errorf(v.pos, "duplicate virtual server", "%s is also defined at %s", vs.Name, prev)
			continue
		}
		seen[vs.Key()] = v.pos
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg, diags
}

// unquote removes one pair of enclosing double quotes.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// yesNo reads ldirectord's yes|no.
func (r *ldReader) yesNo(key, value string, pos Pos) (bool, bool) {
	switch value {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	r.diags.errorf(pos, key+" must be 'yes' or 'no'", "got %q", value)
	return false, false
}

// seconds reads a whole number of seconds, more than 0.
func (r *ldReader) seconds(key, value string, pos Pos) (int, bool) {
	return r.positive(key, value, pos, "a whole number of seconds")
}

// count reads a number above 0.
func (r *ldReader) count(key, value string, pos Pos) (int, bool) {
	return r.positive(key, value, pos, "a number")
}

// positive reads a whole number above 0; want names it in the error.
func (r *ldReader) positive(key, value string, pos Pos, want string) (int, bool) {
	n, err := strconv.Atoi(value)
	if err != nil || n <= 0 {
		r.diags.errorf(pos, "invalid "+key, "%q: want %s above 0", value, want)
		return 0, false
	}
	return n, true
}

// ldWarnOnly are the settings that change nothing in the IPVS table and
// that lvsd does not act on: each is a warning with its reason.
var ldWarnOnly = map[string]string{
	"emailalert":       "lvsd sends no e-mail; watch its log or /metrics",
	"emailalertfreq":   "lvsd sends no e-mail",
	"emailalertstatus": "lvsd sends no e-mail",
	"emailalertfrom":   "lvsd sends no e-mail",
	"smtp":             "lvsd sends no e-mail",
	"logfile":          "lvsd logs to standard error (its service manager's journal)",
	"supervised":       "lvsd runs in the foreground under its service manager",
	"autoreload":       "lvsd reloads its configuration on SIGHUP (systemctl reload lvsd)",
	"monitorfile":      "lvsd logs every real server's state change",
}

// ldRefused are the settings whose action lvsd never takes.
var ldRefused = map[string]string{
	"callback":       "lvsd runs no command when its configuration changes",
	"execute":        "lvsd runs one configuration per process; start another lvsd for another file",
	"maintenancedir": "lvsd has no maintenance directory; set a real server's weight to 0 and reload",
	"connecttimeout": "deprecated in favour of negotiatetimeout (ldirectord refuses it too)",
	"timeout":        "deprecated in favour of checktimeout and negotiatetimeout (ldirectord refuses it too)",
}

func (r *ldReader) globalKeyword(key, value string, pos Pos) {
	g := &r.global
	if why, ok := ldWarnOnly[key]; ok {
		if key == "supervised" || key == "autoreload" {
			r.yesNo(key, value, pos)
		}
		if key == "emailalertstatus" {
			r.emailAlertStatus(value, pos)
		}
		r.diags.warnf(pos, key+" is not used by lvsd", "%s", why)
		return
	}
	if why, ok := ldRefused[key]; ok {
		r.diags.errorf(pos, key+" is not supported by lvsd", "%s", why)
		return
	}
	switch key {
	case "checktimeout":
		if n, ok := r.seconds(key, value, pos); ok {
			g.checkTimeout.put(n)
		}
	case "negotiatetimeout":
		if n, ok := r.seconds(key, value, pos); ok {
			g.negotiateTimeout.put(n)
		}
	case "checkinterval":
		if n, ok := r.seconds(key, value, pos); ok {
			g.checkInterval = time.Duration(n) * time.Second
		}
	case "checkcount":
		if n, ok := r.count(key, value, pos); ok {
			g.checkCount = n
			r.diags.warnf(pos, "checkcount is deprecated", "ldirectord warns too; see failurecount (checkcount counts ping attempts only)")
		}
	case "failurecount":
		if n, ok := r.count(key, value, pos); ok {
			g.failureCount = n
		}
	case "fallback", "fallback6":
		g6 := key == "fallback6"
		if fb, ok := r.parseFallback(value, g6, pos); ok {
			if g6 {
				g.fallback6 = fb
			} else {
				g.fallback = fb
			}
		}
	case "fallbackcommand":
		g.fallbackCommand = unquote(value)
	case "quiescent":
		g.quiescent, _ = r.yesNo(key, value, pos)
	case "readdquiescent":
		// lvsd keeps a quiescent real server in the table at weight 0
		// whatever removed it, as readdquiescent=yes does.
		if yes, ok := r.yesNo(key, value, pos); ok && !yes {
			r.diags.warnf(pos, "readdquiescent=no: lvsd puts a removed quiescent real server back", "lvsd reconciles the table: a real server removed by hand comes back at weight 0 on the next repair")
		}
	case "cleanstop":
		g.cleanStop, _ = r.yesNo(key, value, pos)
	case "fork":
		g.fork, _ = r.yesNo(key, value, pos)
	default:
		r.diags.errorf(pos, "unknown ldirectord setting "+key, "ldirectord refuses it too.%s", suggest(key, ldGlobalKeywords()))
	}
}

// ldGlobalKeywords are the keywords of the global section.
func ldGlobalKeywords() []string {
	return []string{"checktimeout", "negotiatetimeout", "checkinterval", "checkcount", "failurecount", "fallback", "fallback6",
		"fallbackcommand", "autoreload", "callback", "logfile", "execute", "fork", "supervised", "quiescent", "readdquiescent",
		"emailalert", "emailalertfreq", "emailalertstatus", "emailalertfrom", "cleanstop", "smtp", "maintenancedir"}
}

// emailAlertStatus checks emailalertstatus as parse_emailalertstatus().
func (r *ldReader) emailAlertStatus(value string, pos Pos) {
	parts := regexp.MustCompile(`\s*,\s*`).Split(value, -1)
	for _, p := range parts {
		if !slices.Contains([]string{"all", "none", "starting", "running", "stopping", "reloading"}, p) {
			r.diags.errorf(pos, "invalid email alert status", "at %q", p)
		}
		if p != "none" && slices.Contains(parts, "none") {
			r.diags.errorf(pos, "invalid email alert status", "%q specified with \"none\"", p)
		}
	}
}

// parseFallback reads ADDR[:PORT] [gate|masq|ipip] (parse_fallback()).
func (r *ldReader) parseFallback(value string, ipv6 bool, pos Pos) (*ldFallback, bool) {
	f := strings.Fields(value)
	if len(f) == 0 || len(f) > 2 {
		r.diags.errorf(pos, "invalid fallback server", "%q: want ADDRESS[:PORT] [gate|masq|ipip]", value)
		return nil, false
	}
	fb := &ldFallback{kind: KindDR, pos: pos}
	if len(f) == 2 {
		k, ok := ldKind(f[1])
		if !ok {
			r.diags.errorf(pos, "forward method must be gate, masq or ipip", "got %q", f[1])
			return nil, false
		}
		fb.kind = k
	}
	a, port, err := ldHostPort(f[0], ipv6)
	if err != nil {
		r.diags.errorf(pos, "invalid fallback server", "%v", err)
		return nil, false
	}
	fb.addr, fb.port = a, port
	return fb, true
}

// ldKind maps ldirectord's forwarding methods to lb_kind.
func ldKind(s string) (string, bool) {
	k, ok := map[string]string{"gate": KindDR, "masq": KindNAT, "ipip": KindTUN}[s]
	return k, ok
}

// ldHostPort splits ADDR[:PORT] or [IPv6][:PORT]; the port is returned
// as written (a number or a service name).
func ldHostPort(s string, ipv6 bool) (netip.Addr, string, error) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return netip.Addr{}, "", fmt.Errorf("%q: missing ]", s)
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return netip.Addr{}, "", fmt.Errorf("%q: want [ADDRESS]:PORT", s)
		}
		port = strings.TrimPrefix(port, ":")
	} else if h, p, ok := strings.Cut(s, ":"); ok {
		host, port = h, p
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, "", fmt.Errorf("%q is not an IP address (lvsd reads addresses, not host names)", host)
	}
	if a.Is6() != ipv6 {
		if ipv6 {
			return netip.Addr{}, "", fmt.Errorf("%s is not an IPv6 address (use the IPv4 keyword: virtual, real, fallback)", a)
		}
		return netip.Addr{}, "", fmt.Errorf("cannot specify an IPv6 address here; use virtual6, real6 or fallback6 (as ldirectord)")
	}
	if port != "" && strings.Trim(port, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return netip.Addr{}, "", fmt.Errorf("port %q is neither a number nor a service name", port)
	}
	return a, port, nil
}

// virtual starts a virtual section: virtual=ADDR:PORT or virtual=FWMARK.
func (r *ldReader) virtual(ipv6 bool, value string, pos Pos) *ldVirtual {
	v := &ldVirtual{
		pos: pos, ipv6: ipv6, checkType: "negotiate", checkCommand: ldCheckCommand,
		request: "/", scheduler: ldScheduler, httpMethod: "GET", protocol: "tcp", positions: NewPositions(),
	}
	r.virtuals = append(r.virtuals, v)
	if n, err := strconv.ParseUint(value, 10, 32); err == nil {
		if n == 0 {
			r.diags.errorf(pos, "invalid firewall mark", "a firewall mark is above 0")
		}
		v.fwmark, v.protocol, v.service, v.port = uint32(n), "fwm", "none", "0"
		return v
	}
	a, port, err := ldHostPort(value, ipv6)
	if err == nil && port == "" {
		err = fmt.Errorf("%q: want ADDRESS:PORT or a firewall mark", value)
	}
	if err != nil {
		r.diags.errorf(pos, "invalid address for virtual server", "%v", err)
		v.fwmark = 0
		v.addr = netip.Addr{}
		return v
	}
	v.addr, v.port = a, port
	if port == "53" || port == "domain" {
		v.protocol = "udp"
	}
	return v
}

// ldServices are the service= values ldirectord knows, and what lvsd
// checks for each: "" where lvsd has no checker of that protocol.
var ldServices = map[string]string{
	"http": CheckHTTP, "https": CheckSSL, "smtp": CheckSMTP, "submission": CheckSMTP, "dns": CheckDNS, "none": "none",
	"http_proxy": "", "ftp": "", "imap": "", "imaps": "", "ldap": "", "ldaps": "", "nntp": "", "mysql": "",
	"oracle": "", "pgsql": "", "pop": "", "pops": "", "radius": "", "sip": "", "simpletcp": "",
}

// ldServiceOfPort is ld_port_to_service(): the default service of a port.
var ldServiceOfPort = map[uint16]string{
	21: "ftp", 25: "smtp", 53: "dns", 80: "http", 110: "pop", 119: "nntp", 143: "imap", 389: "ldap", 443: "https",
	587: "submission", 636: "ldaps", 993: "imaps", 995: "pops", 1521: "oracle", 1812: "radius", 3128: "http_proxy",
	3306: "mysql", 5060: "sip", 5432: "pgsql",
}

func (r *ldReader) virtualKeyword(v *ldVirtual, key, value string, pos Pos) {
	mark := func(name string) { v.positions.Set(name, pos) }
	quoted := func() (string, bool) {
		if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
			r.diags.errorf(pos, key+" must be quoted", "write %s=\"%s\"", key, value)
			return "", false
		}
		return value[1 : len(value)-1], true
	}
	if why, ok := ldWarnOnly[key]; ok && key != "supervised" && key != "autoreload" && key != "logfile" {
		if key == "emailalertstatus" {
			r.emailAlertStatus(value, pos)
		}
		r.diags.warnf(pos, key+" is not used by lvsd", "%s", why)
		return
	}
	switch key {
	case "real", "real6":
		if (key == "real6") != v.ipv6 {
			want := map[bool]string{false: "real", true: "real6"}[v.ipv6]
			r.diags.errorf(pos, fmt.Sprintf("cannot specify %q here", key), "please use %q instead (as ldirectord)", want)
			return
		}
		v.reals = append(v.reals, ldLine{value, pos})
	case "request":
		if s, ok := quoted(); ok {
			if s == "" {
				r.diags.errorf(pos, "no request string specified", "")
				return
			}
			v.request, v.requestSet = s, true
			if !strings.HasPrefix(s, "/") {
				v.request = "/" + s
			}
			mark("request")
		}
	case "receive":
		if s, ok := quoted(); ok {
			if s == "" {
				r.diags.errorf(pos, "invalid receive string", "")
				return
			}
			v.receive = s
			mark("receive")
		}
	case "checktype":
		if n, err := strconv.Atoi(value); err == nil && n >= 0 {
			v.checkType, v.connects = "combined", n
		} else if slices.Contains([]string{"connect", "negotiate", "ping", "off", "on", "external", "external-perl"}, value) {
			v.checkType = value
		} else {
			r.diags.errorf(pos, "invalid checktype", "%q: checktype must be \"connect\", \"negotiate\", \"on\", \"off\", \"ping\", \"external\", \"external-perl\" or a positive number", value)
			return
		}
		mark("checktype")
	case "checkcommand":
		v.checkCommand = unquote(value)
		if v.checkCommand == "" {
			r.diags.errorf(pos, "invalid check command", "")
		}
		if strings.ContainsAny(v.checkCommand, " \t") {
			// system_timeout() execs the list (command, VIP, VPORT,
			// RIP, RPORT): the whole string is one program's name.
			r.diags.warnf(pos, "checkcommand with spaces: lvsd runs it split into words", "ldirectord execs %q as one program name, which fails unless a file has that name", v.checkCommand)
		}
		mark("checkcommand")
	case "checktimeout":
		if n, ok := r.seconds(key, value, pos); ok {
			v.checkTimeout.put(n)
		}
	case "negotiatetimeout":
		if n, ok := r.seconds(key, value, pos); ok {
			v.negotiateTimeout.put(n)
		}
	case "checkcount":
		if n, ok := r.count(key, value, pos); ok {
			v.checkCount.put(n)
			r.diags.warnf(pos, "checkcount is deprecated", "ldirectord warns too; see failurecount (checkcount counts ping attempts only)")
		}
	case "failurecount":
		if n, ok := r.count(key, value, pos); ok {
			v.failureCount.put(n)
		}
	case "checkinterval":
		if n, ok := r.seconds(key, value, pos); ok {
			v.checkInterval.put(time.Duration(n) * time.Second)
			mark("checkinterval")
		}
	case "checkport":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 65535 {
			r.diags.errorf(pos, "checkport must be in range 1..65535", "got %q", value)
			return
		}
		v.checkPort = uint16(n)
	case "login", "passwd", "database", "secret":
		// The credentials of the service checks lvsd refuses (ftp,
		// imap, mysql, radius, …); nothing else reads them.
		quoted()
	case "load":
		r.diags.warnf(pos, "load is not used by lvsd", "ldirectord does not use it either")
	case "scheduler":
		if value == "" || strings.Trim(value, "abcdefghijklmnopqrstuvwxyz") != "" {
			r.diags.errorf(pos, "invalid scheduler, should be only lowercase letters (a-z)", "got %q", value)
			return
		}
		v.scheduler = value
		mark("lb_algo")
	case "persistent":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			r.diags.errorf(pos, "invalid persistent timeout", "%q: want seconds", value)
			return
		}
		v.persistent.put(n)
		mark("persistence_timeout")
	case "netmask":
		v.netmask = value
		mark("persistence_granularity")
	case "schedflags":
		v.schedFlags = value
		mark("scheduler_flags")
	case "protocol":
		switch {
		case v.protocol == "fwm" && value != "fwm":
			r.diags.errorf(pos, "protocol must be fwm if the virtual service is a fwmark (a number)", "got %q", value)
		case v.protocol != "fwm" && value != "tcp" && value != "udp":
			r.diags.errorf(pos, "protocol must be tcp or udp if the virtual service is an address and port", "got %q", value)
		default:
			v.protocol = value
			mark("protocol")
		}
	case "ops":
		if yes, ok := r.yesNo(key, value, pos); ok {
			v.ops = yes
			mark("ops")
		}
	case "service":
		if _, ok := ldServices[value]; !ok {
			names := make([]string, 0, len(ldServices))
			for s := range ldServices {
				names = append(names, s)
			}
			slices.Sort(names)
			r.diags.errorf(pos, "unknown service", "%q: service must be one of %s.%s", value, strings.Join(names, ", "), suggest(value, names))
			return
		}
		v.service = value
		mark("service")
	case "httpmethod":
		switch strings.ToUpper(value) {
		case "GET":
		case "HEAD":
			r.diags.warnf(pos, "httpmethod=HEAD: lvsd's HTTP_GET sends GET", "the check passes on the same status codes; the body is read and discarded")
		default:
			r.diags.errorf(pos, "httpmethod must be GET or HEAD", "got %q", value)
			return
		}
		v.httpMethod = strings.ToUpper(value)
	case "virtualhost":
		v.virtualhost = unquote(value)
		mark("virtualhost")
	case "fallback", "fallback6":
		if (key == "fallback6") != v.ipv6 {
			want := map[bool]string{false: "fallback", true: "fallback6"}[v.ipv6]
			r.diags.errorf(pos, fmt.Sprintf("cannot specify %q here", key), "please use %q instead (as ldirectord)", want)
			return
		}
		if fb, ok := r.parseFallback(value, v.ipv6, pos); ok {
			v.fallback = fb
			mark("sorry_server")
		}
	case "fallbackcommand":
		v.fallbackCommand.put(unquote(value))
		mark("quorum_down")
	case "quiescent":
		if yes, ok := r.yesNo(key, value, pos); ok {
			v.quiescent.put(yes)
			mark("inhibit_on_failure")
		}
	case "cleanstop":
		if yes, ok := r.yesNo(key, value, pos); ok {
			v.cleanStop.put(yes)
			mark("omega")
		}
	case "servicename", "comment":
		// Names for e-mail alerts, which lvsd does not send.
	default:
		r.diags.errorf(pos, "unknown setting "+key+" in a virtual section", "ldirectord refuses it too")
	}
}

// ldReal matches a real line (_ld_read_config_real_resolve(), add_real_server()):
// ADDR[->ADDR][:PORT] METHOD [WEIGHT] ["REQUEST", "RECEIVE"] [l:N] [u:N].
var ldReal = regexp.MustCompile(`^(\d+\.\d+\.\d+\.\d+|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(->(\d+\.\d+\.\d+\.\d+|[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]))?(:(\d+|[A-Za-z0-9_-]+))?\s+(\w+)(\s+(\d+))?(\s+"(.*)"[, ]\s*"(.*)")?(\s+l:(\d+))?(\s+u:(\d+))?\s*$`)

// ldMaxRange bounds the addresses of one real line's range.
const ldMaxRange = 4096

// ldRealServer is one real server of a virtual section.
type ldRealServer struct {
	addr             netip.Addr
	port             uint16 // 0 when not written
	kind             string
	weight           int
	request, receive string
	own              bool // request and receive written on the real line
	lthreshold       uint32
	uthreshold       uint32
	pos              Pos
}

// reals expands the real lines of v: an IPv4 range gives one real server
// per address.
func (r *ldReader) reals(v *ldVirtual, proto string) []ldRealServer {
	var out []ldRealServer
	for _, l := range v.reals {
		m := ldReal.FindStringSubmatch(l.text)
		if m == nil {
			r.diags.errorf(l.pos, "invalid real server line", "%q: want ADDRESS[:PORT] gate|masq|ipip [WEIGHT] [\"REQUEST\", \"RECEIVE\"] [l:N] [u:N]", l.text)
			continue
		}
		first, err := ldAddr(m[1], v.ipv6)
		if err != nil {
			r.diags.errorf(l.pos, "invalid address for real server", "%v", err)
			continue
		}
		last := first
		if m[3] != "" {
			if v.ipv6 {
				r.diags.errorf(l.pos, "address range for IPv6 is not supported", "as ldirectord")
				continue
			}
			if last, err = ldAddr(m[3], v.ipv6); err != nil {
				r.diags.errorf(l.pos, "invalid address for real server", "%v", err)
				continue
			}
			if last.Less(first) {
				r.diags.errorf(l.pos, "invalid range", "%s->%s: the first address must not be above the last", first, last)
				continue
			}
			if f, l4 := first.As4(), last.As4(); binary.BigEndian.Uint32(l4[:])-binary.BigEndian.Uint32(f[:]) >= ldMaxRange {
				r.diags.errorf(l.pos, "range too large", "%s->%s: lvsd expands at most %d addresses per real line", first, last, ldMaxRange)
				continue
			}
		}
		var port uint16
		if m[5] != "" {
			if port, err = servicePort(m[5], proto); err != nil {
				r.diags.errorf(l.pos, "invalid port for real server", "%v", err)
				continue
			}
		}
		kind, ok := ldKind(m[6])
		if !ok {
			r.diags.errorf(l.pos, "forward method must be gate, masq or ipip", "got %q", m[6])
			continue
		}
		rs := ldRealServer{port: port, kind: kind, weight: defaultWeight, request: v.request, receive: v.receive, pos: l.pos}
		if m[8] != "" {
			w, err := strconv.Atoi(m[8])
			if err != nil || w > 65535 {
				r.diags.errorf(l.pos, "invalid weight", "%q: 0..65535", m[8])
				continue
			}
			rs.weight = w
		}
		if m[9] != "" {
			if strings.HasPrefix(m[10], "/") {
				// add_real_server() takes the receive from $2 after a
				// match of the request against ^/, which resets $2 when
				// the request starts with /: ldirectord then checks this
				// real server with the virtual's request and receive.
				r.diags.warnf(l.pos, "this real server's request and receive are not used", "ldirectord loses them when the request starts with / and checks the virtual's request=%q and receive=%q, and so does lvsd; write %q to have them apply", v.request, v.receive, strings.TrimPrefix(m[10], "/"))
			} else {
				rs.request, rs.receive, rs.own = "/"+m[10], m[11], true
			}
		}
		for _, t := range []struct {
			s   string
			dst *uint32
		}{{m[13], &rs.lthreshold}, {m[15], &rs.uthreshold}} {
			if t.s != "" {
				n, err := strconv.ParseUint(t.s, 10, 32)
				if err != nil {
					r.diags.errorf(l.pos, "invalid threshold", "%q", t.s)
				}
				*t.dst = uint32(n)
			}
		}
		for a := first; ; a = a.Next() {
			rs.addr = a
			out = append(out, rs)
			if a == last {
				break
			}
		}
	}
	return out
}

// ldAddr reads a real server's address: dotted quad or [IPv6].
func ldAddr(s string, ipv6 bool) (netip.Addr, error) {
	a, _, err := ldHostPort(s, ipv6)
	return a, err
}

// ldServicePort is ld_service_to_port(): the port a check of service
// connects to when neither checkport nor the real server names one.
func ldServicePort(service string) uint16 {
	for p, s := range ldServiceOfPort {
		if s == service {
			return p
		}
	}
	return 0
}

// virtualServer turns a virtual section into the model, with ldirectord's
// defaults (ld_setup()).
func (r *ldReader) virtualServer(v *ldVirtual) (VirtualServer, bool) {
	if v.fwmark == 0 && !v.addr.IsValid() {
		return VirtualServer{}, false // reported
	}
	g := &r.global
	ok := true
	refuse := func(pos Pos, summary, detail string, args ...any) {
		r.diags.errorf(pos, summary, detail, args...)
		ok = false
	}
	vs := VirtualServer{
		FWMark: v.fwmark, IPv6: v.ipv6, Protocol: ProtoTCP, LBAlgo: v.scheduler,
		OnePacket: v.ops, Quorum: defaultQuorum, Alpha: true, Pos: v.pos, Positions: v.positions,
		Virtualhost: v.virtualhost,
	}
	if v.protocol == "udp" {
		vs.Protocol = ProtoUDP
	}
	if v.fwmark != 0 {
		vs.Name = fmt.Sprintf("fwmark %d", v.fwmark)
	} else {
		port, err := servicePort(v.port, vs.Protocol)
		if err != nil {
			refuse(v.pos, "invalid port for virtual server", "%v", err)
			return vs, false
		}
		vs.Addr = netip.AddrPortFrom(v.addr, port)
		vs.Name = vs.Addr.String()
	}
	service := v.service
	if service == "" {
		service = ldServiceOfPort[vs.Addr.Port()]
		if service == "" {
			service = "none"
		}
	}
	// Persistence (ld_setup(): -p, and -M only with -p).
	vs.PersistenceGranularity = defaultGranularity(v.ipv6)
	if p, set := v.persistent.v, v.persistent.set; set {
		if p == 0 {
			p = ipvsadmPersistence // ipvsadm -p 0: its default
		}
		vs.PersistenceTimeout = time.Duration(p) * time.Second
		if v.netmask != "" {
			n, err := ldNetmask(v.netmask, v.ipv6)
			if err != nil {
				refuse(v.positions.Where("persistence_granularity", Pos{}), "invalid netmask", "%v", err)
			}
			vs.PersistenceGranularity = n
		}
	} else if v.netmask != "" {
		r.diags.warnf(v.positions.Where("persistence_granularity", Pos{}), "netmask without persistent ignored", "ldirectord passes -M with -p only")
	}
	if v.schedFlags != "" {
		for _, fl := range strings.Split(v.schedFlags, ",") {
			switch {
			case (vs.LBAlgo == "sh" || vs.LBAlgo == "mh") && (fl == vs.LBAlgo+"-fallback" || fl == vs.LBAlgo+"-port"):
				vs.SchedulerFlags = append(vs.SchedulerFlags, fl)
			case (vs.LBAlgo == "sh" || vs.LBAlgo == "mh") && (fl == "flag-1" || fl == "flag-2"):
				vs.SchedulerFlags = append(vs.SchedulerFlags, vs.LBAlgo+map[string]string{"flag-1": "-fallback", "flag-2": "-port"}[fl])
			default:
				refuse(v.positions.Where("scheduler_flags", Pos{}), "scheduler flag not supported", "%q with scheduler %s: lvsd sets sh-fallback, sh-port, mh-fallback and mh-port", fl, vs.LBAlgo)
			}
		}
	}
	if vs.OnePacket && v.protocol != "udp" {
		refuse(v.positions.Where("ops", Pos{}), "ops can be used only for UDP services", "as ldirectord")
	}
	vs.InhibitOnFailure = v.quiescent.or(g.quiescent)
	vs.Omega = v.cleanStop.or(g.cleanStop)
	// checkinterval in a virtual section counts with fork=yes only.
	vs.DelayLoop = g.checkInterval
	if v.checkInterval.set {
		if g.fork {
			vs.DelayLoop = v.checkInterval.v
		} else {
			r.diags.warnf(v.positions.Where("checkinterval", Pos{}), "checkinterval in a virtual section ignored when fork=no", "as ldirectord; the global checkinterval applies")
		}
	}
	// The fallback server: the virtual's, else the global one of its
	// family; its port is the virtual's unless written (fallback_find()).
	fb := v.fallback
	if fb == nil {
		fb = map[bool]*ldFallback{false: g.fallback, true: g.fallback6}[v.ipv6]
		if fb != nil && v.fwmark != 0 {
			// fallback_find() looks the global fallback up by protocol,
			// tcp or udp: for a fwmark it makes an empty server that
			// ipvsadm refuses, so no fallback is ever in the table.
			r.diags.warnf(v.pos, "the global fallback does not apply to a fwmark virtual", "as in ldirectord, whose ipvsadm -a -r :0 fails; write fallback= in the virtual section")
			fb = nil
		}
	}
	if fb != nil {
		port := vs.Addr.Port()
		if fb.port != "" {
			p, err := servicePort(fb.port, vs.Protocol)
			if err != nil {
				refuse(fb.pos, "invalid port for fallback server", "%v", err)
			}
			port = p
		}
		vs.SorryServer = &SorryServer{Addr: netip.AddrPortFrom(fb.addr, port), LBKind: fb.kind, Pos: fb.pos}
		if vs.FWMark == 0 && fb.kind != KindNAT {
			vs.SorryServer.Addr = netip.AddrPortFrom(fb.addr, vs.Addr.Port())
		}
	}
	// fallbackcommand runs "start" when the last real server goes and
	// "stop" when the first comes back: quorum_down and quorum_up with
	// quorum 1, with ldirectord's arguments.
	if cmd := v.fallbackCommand.or(g.fallbackCommand); cmd != "" {
		id := vs.Addr.String() // [IPv6]:PORT as ldirectord writes it
		if v.fwmark != 0 {
			id = fmt.Sprintf("%d:0", v.fwmark)
		}
		vs.QuorumDown = fmt.Sprintf("%s start %s %s", cmd, id, v.protocol)
		vs.QuorumUp = fmt.Sprintf("%s stop %s %s", cmd, id, v.protocol)
	}

	checkTimeout, negotiateTimeout := r.timeouts(v)
	failures := v.failureCount.or(g.failureCount)
	reals := r.reals(v, vs.Protocol)
	if len(reals) > 0 {
		vs.LBKind = reals[0].kind
	} else {
		vs.LBKind = KindDR
		if fb != nil {
			vs.LBKind = fb.kind
		}
	}
	if vs.SorryServer != nil && vs.SorryServer.LBKind == "" {
		vs.SorryServer.LBKind = vs.LBKind
	}
	kind, kindPos := r.checkKind(v, service)
	for _, rr := range reals {
		if rr.kind != vs.LBKind {
			refuse(rr.pos, fmt.Sprintf("real server %s forwards by %s, the virtual's first real server by %s", rr.addr, rr.kind, vs.LBKind),
				"lvsd sets one forwarding method per virtual service (lb_kind); split the real servers into virtual sections of their own")
			continue
		}
		rs := RealServer{Weight: rr.weight, InhibitOnFailure: vs.InhibitOnFailure, LThreshold: rr.lthreshold, UThreshold: rr.uthreshold, Pos: rr.pos, Positions: NewPositions()}
		// ldirectord's real server port: the one written (0 for none);
		// ipvsadm gives DR and TUN real servers the service's port.
		rs.Addr = netip.AddrPortFrom(rr.addr, rr.port)
		if vs.FWMark == 0 && (rr.port == 0 || rr.kind != KindNAT) {
			if rr.port != 0 && rr.port != vs.Addr.Port() {
				r.diags.warnf(rr.pos, fmt.Sprintf("real server %s takes the service's port %d", rs.Addr, vs.Addr.Port()), "with %s the kernel cannot map ports (ipvsadm sets the service's port too); checks still connect to %d", rr.kind, rr.port)
			}
			rs.Addr = netip.AddrPortFrom(rr.addr, vs.Addr.Port())
		}
		if rs.UThreshold != 0 && rs.LThreshold > rs.UThreshold {
			refuse(rr.pos, "invalid thresholds", "l:%d is above u:%d", rs.LThreshold, rs.UThreshold)
		}
		// ld_checkport(): checkport, else the real server's port as
		// written, else the service's well-known port.
		checkPort := v.checkPort
		if checkPort == 0 {
			checkPort = rr.port
		}
		if checkPort == 0 {
			checkPort = ldServicePort(service)
		}
		if checkPort == 0 {
			checkPort = rs.Addr.Port()
		}
		if kind == "off" {
			// No real server is activated; a quiescent one stays at
			// weight 0 (ld_start()), the fallback serves.
			if vs.InhibitOnFailure {
				rs.Weight = 0
				vs.RealServers = append(vs.RealServers, rs)
			}
			continue
		}
		if c, built := r.checker(v, &rr, kind, kindPos, checkPort, checkTimeout, negotiateTimeout, failures, &vs); built {
			rs.Checkers = append(rs.Checkers, c)
		} else if kind != "none" {
			ok = false
		}
		vs.RealServers = append(vs.RealServers, rs)
	}
	if kind == "off" {
		r.diags.warnf(kindPos, "checktype=off: no real server is activated", "as ldirectord: the real servers are left out (kept at weight 0 with quiescent=yes) and the fallback serves")
	}
	if kind == "none" && len(vs.RealServers) > 0 {
		vs.Alpha = false // no checker: the real servers are up, as ldirectord's check_none
	}
	return vs, ok
}

// timeouts resolves checktimeout and negotiatetimeout as ld_setup():
// each defaults to the other, the virtual's before the global's.
func (r *ldReader) timeouts(v *ldVirtual) (check, negotiate time.Duration) {
	g := &r.global
	c, n := -1, -1
	for _, o := range []opt[int]{v.checkTimeout, v.negotiateTimeout, g.checkTimeout, g.negotiateTimeout} {
		if c < 0 && o.set {
			c = o.v
		}
	}
	for _, o := range []opt[int]{v.negotiateTimeout, v.checkTimeout, g.negotiateTimeout, g.checkTimeout} {
		if n < 0 && o.set {
			n = o.v
		}
	}
	if c < 0 {
		c = ldCheckTimeout
	}
	if n < 0 {
		n = ldNegotiateTimeout
	}
	return time.Duration(c) * time.Second, time.Duration(n) * time.Second
}

// checkKind is what the virtual's checktype and service make of each real
// server's check: a checker kind, "none" (always up), "off", or "" when
// lvsd has no checker for it (refused here, with the line).
func (r *ldReader) checkKind(v *ldVirtual, service string) (string, Pos) {
	pos := v.positions.Where("checktype", v.pos)
	switch v.checkType {
	case "on":
		return "none", pos
	case "off":
		return "off", pos
	case "ping":
		return CheckPing, pos
	case "connect":
		if v.protocol == "udp" {
			return CheckPing, pos // ldirectord pings UDP real servers
		}
		return CheckTCP, pos
	case "external", "external-perl":
		if v.checkType == "external-perl" {
			r.diags.warnf(pos, "checktype=external-perl runs checkcommand as a program", "ldirectord documents external-perl as working as external too")
		}
		return CheckMisc, pos
	case "combined":
		r.diags.warnf(pos, fmt.Sprintf("checktype=%d: lvsd negotiates on every check", v.connects),
			"lvsd's checks cannot alternate %d connect checks with one negotiate check; negotiate checks everything a connect check does", v.connects)
	}
	spos := v.positions.Where("service", pos)
	kind := ldServices[service]
	if kind == "" {
		r.diags.errorf(spos, fmt.Sprintf("service=%s is not supported by lvsd", service),
			"lvsd has no %s checker; use checktype=connect (the port answers) or checktype=external with a checkcommand", service)
	}
	return kind, spos
}

// checker builds one real server's check with ldirectord's settings:
// every checkinterval, failurecount failures in a row take the real server
// out (retry failurecount-1 after checkinterval), it starts out of the
// table until its first check passes (alpha), and the first checks run at
// once (ld_start()).
func (r *ldReader) checker(v *ldVirtual, rr *ldRealServer, kind string, kindPos Pos, port uint16,
	checkTimeout, negotiateTimeout time.Duration, failures int, vs *VirtualServer) (Checker, bool) {
	if kind == "" || kind == "none" {
		return Checker{}, false
	}
	c := Checker{
		Kind: kind, Connect: netip.AddrPortFrom(rr.addr, port), DelayLoop: vs.DelayLoop, Warmup: 0,
		Timeout: negotiateTimeout, Retry: ldRetry(failures), RetryDelay: vs.DelayLoop, Rise: defaultRise, Alpha: true,
		KindSettings: defaultKindSettings(kind), Pos: kindPos, Positions: NewPositions(),
	}
	switch kind {
	case CheckTCP, CheckPing:
		c.Timeout = checkTimeout
		if kind == CheckPing {
			// checkcount pings per check.
			c.Retry = ldRetry(failures * r.checkCount(v))
		}
	case CheckMisc:
		c.Timeout = checkTimeout
		c.Misc().Timeout = checkTimeout
		vip := v.addr.String()
		if v.fwmark != 0 {
			vip = strconv.FormatUint(uint64(v.fwmark), 10)
		}
		// check_external(): the command and the virtual and real
		// server's addresses and ports.
		c.Misc().Path = fmt.Sprintf("%s %s %d %s %d", v.checkCommand, vip, vs.Addr.Port(), rr.addr, rr.port)
	case CheckHTTP, CheckSSL:
		if strings.HasPrefix(rr.request, "/http://") || strings.HasPrefix(rr.request, "/https://") ||
			strings.HasPrefix(rr.request, "http://") || strings.HasPrefix(rr.request, "https://") {
			r.diags.errorf(rr.pos, "a request naming its own host is not supported", "%q: lvsd's %s checks the real server itself; write the path", rr.request, kind)
			return c, false
		}
		if rr.receive != "" {
			if _, err := regexp.Compile(rr.receive); err != nil {
				pos := rr.pos
				if !rr.own {
					pos = v.positions.Where("receive", v.pos)
				}
				r.diags.errorf(pos, "receive is not a regular expression lvsd reads", "%v", err)
				return c, false
			}
		}
		// check_http(): a 2xx answer whose body matches receive
		// (when set); Host is virtualhost, else the real server.
		h := c.HTTP()
		h.URLs = []URL{{Path: rr.request, StatusCodes: defaultStatusCodes(), Regex: rr.receive, Virtualhost: v.virtualhost, Pos: rr.pos, Positions: NewPositions()}}
		h.Virtualhost = v.virtualhost
	case CheckDNS:
		name := strings.TrimPrefix(rr.request, "/")
		if name == "" {
			r.diags.errorf(v.positions.Where("request", rr.pos), "service=dns needs request", "the name whose A record is asked for")
			return c, false
		}
		if _, err := netip.ParseAddr(name); err == nil {
			r.diags.errorf(v.positions.Where("request", rr.pos), "PTR queries are not supported", "%q: lvsd's DNS_CHECK asks for %s", name, strings.Join(DNSTypes(), ", "))
			return c, false
		}
		c.DNS().Type, c.DNS().Name = "A", name
		r.diags.warnf(v.positions.Where("receive", rr.pos), "service=dns: the answer is not compared with receive", "lvsd's DNS_CHECK passes on an answer with rcode 0 over UDP")
	case CheckSMTP:
		// Net::SMTP: a greeting and a QUIT.
	}
	return c, true
}

// ldRetry is the retries of a check that fails after attempts attempts
// in a row (at least one), in Checker.Retry's 32 bits.
func ldRetry(attempts int) int32 {
	return int32(min(attempts, math.MaxInt32) - 1)
}

// checkCount is checkcount, the virtual's or the global one.
func (r *ldReader) checkCount(v *ldVirtual) int {
	return v.checkCount.or(r.global.checkCount)
}

// ldNetmask reads netmask: a dotted quad for IPv4, a prefix length 1..128
// for IPv6 (read_config()).
func ldNetmask(s string, ipv6 bool) (int, error) {
	if ipv6 {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 128 {
			return 0, fmt.Errorf("%q: a prefix length between 1 and 128 is required", s)
		}
		return n, nil
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() {
		return 0, fmt.Errorf("%q: dotted quad notation is required", s)
	}
	b := m.As4()
	v := binary.BigEndian.Uint32(b[:])
	n, err := ipvsadmNetmask(s, false)
	if err != nil {
		return 0, fmt.Errorf("%q (%08x): %v", s, v, err)
	}
	return n, nil
}
