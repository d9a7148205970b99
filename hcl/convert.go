package hcl

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ConvertToHCL writes cfg as lvsd HCL that loads back into the same model
// (`lvsd convert keepalived.conf`). Every value keepalived defaulted is
// written out, so the result does not depend on either reader's defaults;
// keepalived.conf input keeps lvs_program = "always". Comments are not
// carried over.
func ConvertToHCL(cfg *Config) []byte {
	root := &hclBody{}
	convertGlobal(root, cfg.Global)
	convertSSL(root, cfg.SSL)                               // ssl.go
	convertLocalAddressGroups(root, cfg.LocalAddressGroups) // fullnat.go
	convertStaticNet(root, cfg.Static)
	for _, s := range cfg.Scripts {
		root.newline()
		b := root.block("vrrp_script", []string{s.Name})
		setStr(b, "script", s.Script)
		setDur(b, "interval", s.Interval)
		setDur(b, "timeout", s.Timeout)
		setInt(b, "weight", s.Weight)
		setInt(b, "rise", s.Rise)
		setInt(b, "fall", s.Fall)
		setStr(b, "user", strings.TrimSpace(s.User+" "+s.Group))
		setBool(b, "reverse", s.Reverse)    // convert_track.go
		setBool(b, "init_fail", s.InitFail) // convert_track.go
	}
	convertTrackProcesses(root, cfg.TrackProcesses) // convert_track.go
	for _, in := range cfg.Instances {
		root.newline()
		b := root.block("vrrp_instance", []string{in.Name})
		convertInstance(b, in)
		convertInstanceTracking(b, in, cfg.Global) // convert_track.go
	}
	for _, g := range cfg.SyncGroups {
		root.newline()
		b := root.block("vrrp_sync_group", []string{g.Name})
		setList(b, "group", g.Group)
		convertSyncGroupTracking(b, g, cfg.Global) // convert_track.go
		convertNotify(b, g.Notify)
	}
	for _, f := range cfg.TrackFiles {
		root.newline()
		b := root.block("track_file", []string{f.Name})
		setStr(b, "file", f.File)
		setInt(b, "weight", f.Weight)
		setBool(b, "reverse", f.Reverse)
		setStr(b, "init_file", f.Init.String())
	}
	for _, g := range cfg.VirtualServerGroups {
		root.newline()
		setList(root.block("virtual_server_group", []string{g.Name}), "members", g.Entries)
	}
	written := map[string]bool{}
	for _, vs := range cfg.VirtualServers {
		if vs.Group != "" {
			// The group's first member stands for them all: the others
			// differ only in their address and in carrying no scripts.
			if written[vs.Group] {
				continue
			}
			written[vs.Group] = true
			instance := vs.VRRPInstance
			for _, o := range cfg.VirtualServers {
				if o.Group == vs.Group && o.VRRPInstance != instance {
					instance = "" // each member's is found from its address
				}
			}
			vs.VRRPInstance = instance
			vs.Name = "group " + vs.Group
			// A real server or sorry server written without a port has
			// each member's; so has a checker without connect_port.
			vs.RealServers = append([]RealServer(nil), vs.RealServers...)
			for i, rs := range vs.RealServers {
				rs.Checkers = append([]Checker(nil), rs.Checkers...)
				for j := range rs.Checkers {
					if !groupDerived(cfg, vs.Group, func(m VirtualServer) (uint16, uint16, bool) {
						for _, r := range m.RealServers {
							if r.Addr.Addr() == rs.Addr.Addr() && j < len(r.Checkers) {
								return r.Checkers[j].Connect.Port(), r.Addr.Port(), true
							}
						}
						return 0, 0, false
					}) {
						// connect_port as written: never equal to a port 0.
						rs.Checkers[j].Positions = positionsAt(Pos{}, "connect_port")
					}
				}
				if groupDerived(cfg, vs.Group, func(m VirtualServer) (uint16, uint16, bool) {
					for _, r := range m.RealServers {
						if r.Addr.Addr() == rs.Addr.Addr() {
							return r.Addr.Port(), m.Addr.Port(), true
						}
					}
					return 0, 0, false
				}) {
					rs.Addr = netip.AddrPortFrom(rs.Addr.Addr(), 0)
				}
				vs.RealServers[i] = rs
			}
			if ss := vs.SorryServer; ss != nil && groupDerived(cfg, vs.Group, func(m VirtualServer) (uint16, uint16, bool) {
				if m.SorryServer == nil {
					return 0, 0, false
				}
				return m.SorryServer.Addr.Port(), m.Addr.Port(), true
			}) {
				cp := *ss
				cp.Addr = netip.AddrPortFrom(ss.Addr.Addr(), 0)
				vs.SorryServer = &cp
			}
		}
		root.newline()
		convertVirtualServer(root.block("virtual_server", []string{vs.Name}), vs, cfg.Global)
	}
	if cfg.Announce != nil {
		root.newline()
		convertAnnounce(root.block("announce", []string{cfg.Announce.Protocol}), cfg.Announce) // announce.go
	}
	return []byte(root.String())
}

func convertGlobal(root *hclBody, g Global) {
	def := defaultGlobal()
	b := root.block("global", nil)
	setStr(b, "router_id", g.RouterID)
	setStr(b, "lvs_program", g.LVSProgram)
	if g.EnableScriptSecurity {
		b.attr("enable_script_security", "true")
	}
	if g.ScriptUser != "" {
		u := g.ScriptUser
		if g.ScriptGroup != "" {
			u += " " + g.ScriptGroup
		}
		setStr(b, "script_user", u)
	}
	convertGlobalScripts(b, g)   // global_scripts.go
	convertInterfaceDelays(b, g) // interface_delays.go
	if g.NotifyTimeout != def.NotifyTimeout {
		setDur(b, "notify_timeout", g.NotifyTimeout)
	}
	setStr(b, "metrics_listen", g.MetricsListen)
	if g.ControlSocket != def.ControlSocket {
		setStr(b, "control_socket", g.ControlSocket)
	}
	if g.ReconcileInterval != def.ReconcileInterval {
		setDur(b, "reconcile_interval", g.ReconcileInterval)
	}
	convertLVSGlobal(b, g) // lvs_global.go
	convertSyncDaemon(b, g.LVSSyncDaemon)
	convertAlerts(b, g) // convert_track.go
}

// convertSyncDaemon writes lvs_sync_daemon as resolved; off is written
// too, since HCL's default turns sync on.
func convertSyncDaemon(g *hclBody, s LVSSyncDaemon) {
	g.newline()
	b := g.block("lvs_sync_daemon", nil)
	if !s.Enabled {
		b.attr("enabled", "false")
		return
	}
	setStr(b, "interface", s.Interface)
	setStr(b, "instance", s.Instance)
	b.attr("id", strconv.Itoa(s.SyncID))
	for _, kv := range []struct {
		name string
		v    int
	}{{"maxlen", s.MaxLen}, {"port", s.Port}, {"ttl", s.TTL}} {
		if kv.v != 0 {
			setInt(b, kv.name, kv.v)
		}
	}
	if s.Group.IsValid() {
		setStr(b, "group", s.Group.String())
	}
}

func convertInstance(b *hclBody, in VRRPInstance) {
	setStr(b, "state", in.State)
	setStr(b, "interface", in.Interface)
	setInt(b, "virtual_router_id", in.VirtualRouterID)
	setInt(b, "priority", in.Priority)
	setDur(b, "advert_int", in.AdvertInt)
	if in.Version != defaultVRRPVersion {
		setInt(b, "version", in.Version)
	}
	if in.IPv6 && len(in.VirtualIPs) == 0 && len(in.UnicastPeers) == 0 && !in.UnicastSrcIP.IsValid() {
		b.attr("native_ipv6", "true")
	}
	if in.V3ChecksumAsV2 {
		b.attr("v3_checksum_as_v2", "true")
	}
	if in.OldUnicastChecksum {
		b.attr("old_unicast_checksum", "true")
	}
	if in.AuthType != "" || in.AuthPass != "" {
		a := b.block("authentication", nil)
		setStr(a, "auth_type", in.AuthType)
		setStr(a, "auth_pass", in.AuthPass)
	}
	var vips []string
	for _, v := range in.VirtualIPs {
		vips = append(vips, v.Raw)
	}
	setList(b, "virtual_ipaddress", vips)
	if in.UnicastSrcIP.IsValid() {
		setStr(b, "unicast_src_ip", in.UnicastSrcIP.String())
	}
	setList(b, "unicast_peer", unicastPeerEntries(&in)) // unicast_peer.go
	if in.NoPreempt {
		b.attr("nopreempt", "true")
	}
	if in.PreemptDelay != 0 {
		setDur(b, "preempt_delay", in.PreemptDelay)
	}
	setDur(b, "garp_master_delay", in.GarpMasterDelay)
	setInt(b, "garp_master_repeat", in.GarpMasterRepeat)
	setDur(b, "garp_master_refresh", in.GarpMasterRefresh)
	setInt(b, "garp_master_refresh_repeat", in.GarpMasterRefreshRepeat)
	convertInstanceNet(b, in) // vrrp_net_decode.go
	convertNotify(b, in.Notify)
}

func convertNotify(b *hclBody, n Notify) {
	setStr(b, "notify_master", n.Master)
	setStr(b, "notify_backup", n.Backup)
	setStr(b, "notify_fault", n.Fault)
	setStr(b, "notify_stop", n.Stop)
	setStr(b, "notify", n.Any)
	convertScriptUsers(b, notifyUserKeywords[:5], n.Users) // notify_users.go
}

// groupDerived reports whether, in every member of group, the port that
// ports returns equals the one it derives from (a real server's and its
// member's, a checker's and its real server's): then it was written
// without one and each member has its own.
func groupDerived(cfg *Config, group string, ports func(VirtualServer) (port, from uint16, ok bool)) bool {
	for _, vs := range cfg.VirtualServers {
		if vs.Group != group {
			continue
		}
		if port, from, ok := ports(vs); ok && port != from {
			return false
		}
	}
	return true
}

func convertVirtualServer(b *hclBody, vs VirtualServer, g Global) {
	_, checkerAlert, rsAlert := alertDefaults(g)
	convertServerAlert(b, vs.SMTPAlert, checkerAlert) // convert_track.go
	setStr(b, "protocol", vs.Protocol)
	setDur(b, "delay_loop", vs.DelayLoop)
	setStr(b, "lb_algo", vs.LBAlgo)
	setStr(b, "lb_kind", KindString(vs.LBKind, vs.Tunnel))
	setStr(b, "persistence_engine", vs.PersistenceEngine)
	setStr(b, "laddr_group_name", vs.LocalAddressGroup)
	setList(b, "scheduler_flags", vs.SchedulerFlags)
	if vs.OnePacket {
		b.attr("ops", "true")
	}
	if vs.PersistenceTimeout != 0 {
		setDur(b, "persistence_timeout", vs.PersistenceTimeout)
	}
	if full := map[bool]int{false: 32, true: 128}[vs.IPv6]; vs.PersistenceGranularity != full && vs.PersistenceGranularity != 0 {
		setInt(b, "persistence_granularity", vs.PersistenceGranularity)
	}
	setInt(b, "quorum", vs.Quorum)
	setInt(b, "hysteresis", vs.Hysteresis)
	setStr(b, "quorum_up", vs.QuorumUp)
	setStr(b, "quorum_down", vs.QuorumDown)
	convertScriptUsers(b, vsUserKeywords, vs.QuorumUsers) // notify_users.go
	setBool(b, "alpha", vs.Alpha)
	setBool(b, "omega", vs.Omega)
	setBool(b, "inhibit_on_failure", vs.InhibitOnFailure)
	setStr(b, "virtualhost", vs.Virtualhost)
	if ss := vs.SorryServer; ss != nil {
		setStr(b, "sorry_server", ss.Addr.String())
		setStr(b, "sorry_server_lvs_method", KindString(ss.LBKind, ss.Tunnel))
		setBool(b, "sorry_server_inhibit", ss.Inhibit)
	}
	setStr(b, "vrrp_instance", vs.VRRPInstance)
	if vs.FWMark != 0 && vs.Group == "" {
		setStr(b, "ip_family", map[bool]string{false: "inet", true: "inet6"}[vs.IPv6])
	}
	for _, rs := range vs.RealServers {
		b.newline()
		r := b.block("real_server", []string{rs.Addr.String()})
		setInt(r, "weight", rs.Weight)
		if rs.LBKind != vs.LBKind || rs.Tunnel != vs.Tunnel {
			setStr(r, "lvs_method", KindString(rs.LBKind, rs.Tunnel))
		}
		if rs.InhibitOnFailure != vs.InhibitOnFailure {
			r.attr("inhibit_on_failure", strconv.FormatBool(rs.InhibitOnFailure))
		}
		setStr(r, "notify_up", rs.NotifyUp)
		setStr(r, "notify_down", rs.NotifyDown)
		convertScriptUsers(r, rsUserKeywords, rs.NotifyUsers) // notify_users.go
		convertServerAlert(r, rs.SMTPAlert, rsAlert)
		if rs.UThreshold != 0 {
			setInt(r, "uthreshold", int(rs.UThreshold))
		}
		if rs.LThreshold != 0 {
			setInt(r, "lthreshold", int(rs.LThreshold))
		}
		checked := rs
		if vs.Group != "" && rs.Addr.Port() == 0 {
			// Written without a port: each member's checkers connect to
			// the member's port, the first member's here.
			checked.Addr = netip.AddrPortFrom(rs.Addr.Addr(), vs.Addr.Port())
		}
		for _, c := range rs.Checkers {
			convertChecker(r.block(c.Kind, nil), vs, checked, c)
		}
	}
}

func convertChecker(b *hclBody, vs VirtualServer, rs RealServer, c Checker) {
	if f := c.File(); f != nil {
		// FILE_CHECK has none of the other checkers' settings.
		setStr(b, "track_file", f.TrackFile)
		setInt(b, "weight", f.Weight)
		setBool(b, "reverse", f.Reverse)
		return
	}
	if c.Kind != CheckMisc {
		if c.Connect.Addr() != rs.Addr.Addr() {
			setStr(b, "connect_ip", c.Connect.Addr().String())
		}
		// A group's checker marks a connect_port it must write
		// (ConvertToHCL).
		if written := c.Positions.Has("connect_port"); c.Connect.Port() != rs.Addr.Port() || (vs.Group != "" && written) {
			setInt(b, "connect_port", int(c.Connect.Port()))
		}
		if c.BindTo.IsValid() {
			setStr(b, "bindto", c.BindTo.String())
		}
		if c.BindPort != 0 {
			setInt(b, "bind_port", int(c.BindPort))
		}
		if c.FWMark != 0 {
			setInt(b, "fwmark", int(c.FWMark))
		}
		setStr(b, "bind_if", c.BindIf)
	}
	setDur(b, "connect_timeout", c.Timeout)
	setDur(b, "delay_loop", c.DelayLoop)
	setDur(b, "warmup", c.Warmup)
	setInt(b, "retry", int(c.Retry))
	setDur(b, "delay_before_retry", c.RetryDelay)
	setInt(b, "rise", int(c.Rise))
	if c.Alpha != vs.Alpha {
		// HCL sets alpha per checker only where it differs from the
		// virtual server's.
		b.attr("alpha", strconv.FormatBool(c.Alpha))
	}
	if h := c.HTTP(); h != nil {
		setStr(b, "virtualhost", h.Virtualhost)
		setStr(b, "http_protocol", h.HTTPVersion)
		setBool(b, "fast_recovery", h.FastRecovery)
		setBool(b, "enable_sni", h.EnableSNI)
		setBool(b, "tls_verify", h.VerifyTLS)
		setStr(b, "ca_file", h.CAFile)
		for _, u := range h.URLs {
			ub := b.block("url", nil)
			setStr(ub, "path", u.Path)
			var codes []string
			for _, r := range u.StatusCodes {
				if r.Low == r.High {
					codes = append(codes, strconv.Itoa(r.Low))
				} else {
					codes = append(codes, fmt.Sprintf("%d-%d", r.Low, r.High))
				}
			}
			setList(ub, "status_code", codes)
			setStr(ub, "digest", u.Digest)
			setStr(ub, "regex", u.Regex)
			setBool(ub, "regex_no_match", u.RegexNoMatch)
			setList(ub, "regex_options", u.RegexOptions)
			if u.RegexMinOffset != 0 {
				setInt(ub, "regex_min_offset", u.RegexMinOffset)
			}
			if u.RegexMaxOffset != 0 {
				setInt(ub, "regex_max_offset", u.RegexMaxOffset)
			}
			if u.Virtualhost != h.Virtualhost {
				setStr(ub, "virtualhost", u.Virtualhost)
			}
		}
	}
	switch s := c.KindSettings.(type) {
	case *MiscCheck:
		setStr(b, "misc_path", s.Path)
		setDur(b, "misc_timeout", s.Timeout)
		setBool(b, "misc_dynamic", s.Dynamic)
		setStr(b, "user", strings.TrimSpace(s.User+" "+s.Group))
	case *UDPCheck:
		if s.Payload != nil {
			setStr(b, "payload", hexString(s.Payload, nil))
		}
		switch {
		case s.Reply != nil:
			setStr(b, "require_reply", hexString(s.Reply, s.ReplyMask))
		case s.RequireReply:
			b.attr("require_reply", "true")
		}
		if s.RequireReply || s.MinReplyLength != 0 || s.MaxReplyLength != defaultMaxReplyLength {
			setInt(b, "min_reply_length", s.MinReplyLength)
			setInt(b, "max_reply_length", s.MaxReplyLength)
		}
	case *DNSCheck:
		setStr(b, "type", s.Type)
		setStr(b, "name", s.Name)
	case *SMTPCheck:
		// A host block was made a checker of its own when read.
		setStr(b, "helo_name", s.HeloName)
	}
}

// hexString writes octets as keepalived's HEX_STR, x where mask hides a
// nibble.
func hexString(data, mask []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for i, v := range data {
		if i > 0 {
			sb.WriteByte(' ')
		}
		var m byte
		if mask != nil {
			m = mask[i]
		}
		for _, shift := range []uint{4, 0} {
			if m>>shift&0x0f != 0 {
				sb.WriteByte('x')
			} else {
				sb.WriteByte(digits[v>>shift&0x0f])
			}
		}
	}
	return sb.String()
}

func setStr(b *hclBody, name, v string) {
	if v != "" {
		b.attr(name, hclQuote(v))
	}
}

func setInt(b *hclBody, name string, v int) {
	b.attr(name, strconv.Itoa(v))
}

func setBool(b *hclBody, name string, v bool) {
	if v {
		b.attr(name, "true")
	}
}

// setDur writes whole seconds as a number and anything finer as a Go
// duration string ("1.5s"), which both read back exactly.
func setDur(b *hclBody, name string, d time.Duration) {
	if d%time.Second == 0 {
		b.attr(name, strconv.FormatInt(int64(d/time.Second), 10))
		return
	}
	b.attr(name, hclQuote(d.String()))
}

func setList(b *hclBody, name string, vs []string) {
	if len(vs) == 0 {
		return
	}
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = hclQuote(v)
	}
	b.attr(name, "["+strings.Join(q, ", ")+"]")
}

// hclQuote writes s as an HCL quoted string: escapes as in JSON, and "${"
// and "%{" doubled so that no template is interpolated.
func hclQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, c)
		case (c == '$' || c == '%') && i+1 < len(s) && s[i+1] == '{':
			b.WriteByte(c)
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hclBody is a block body being written: attributes and nested blocks in
// order.
type hclBody struct {
	items []hclItem
}

type hclItem struct {
	name, value string   // attribute
	blockLabels []string // block when body is set
	body        *hclBody
	newline     bool
}

func (b *hclBody) attr(name, value string) {
	b.items = append(b.items, hclItem{name: name, value: value})
}

// block adds a nested block and returns its body.
func (b *hclBody) block(typ string, labels []string) *hclBody {
	body := &hclBody{}
	b.items = append(b.items, hclItem{name: typ, blockLabels: labels, body: body})
	return body
}

// newline adds an empty line.
func (b *hclBody) newline() { b.items = append(b.items, hclItem{newline: true}) }

func (b *hclBody) String() string {
	var sb strings.Builder
	b.write(&sb, 0)
	return sb.String()
}

func (b *hclBody) write(sb *strings.Builder, depth int) {
	indent := strings.Repeat("  ", depth)
	width := 0
	for _, it := range b.items {
		if it.body == nil && !it.newline {
			width = max(width, len(it.name))
		}
	}
	for _, it := range b.items {
		switch {
		case it.newline:
			sb.WriteString("\n")
		case it.body != nil:
			sb.WriteString(indent + it.name)
			for _, l := range it.blockLabels {
				sb.WriteString(" " + hclQuote(l))
			}
			sb.WriteString(" {\n")
			it.body.write(sb, depth+1)
			sb.WriteString(indent + "}\n")
		default:
			fmt.Fprintf(sb, "%s%-*s = %s\n", indent, width, it.name, it.value)
		}
	}
}
