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

// parseKeepalived reads keepalived.conf syntax into a defaulted Config.
// keepalived's defaults are applied, including the surprising ones, each
// with the warning keepalived itself logs; keywords outside lvsd's scope
// are reported with their place (a warning when keepalived would behave the
// same without them, an error when dropping them would change what the pair
// does).
func (l *Loader) parseKeepalived(path string, src []byte) (*Config, Diagnostics) {
	var diags Diagnostics
	cfg := &Config{Global: defaultGlobal()}
	// keepalived programs IPVS on both nodes.
	cfg.Global.LVSProgram = LVSProgramAlways
	// keepalived runs no sync daemon unless lvs_sync_daemon says so.
	cfg.Global.LVSSyncDaemon.Enabled = false
	cfg.Global.Pos = Pos{File: path, Line: 1}
	cfg.Global.Positions = NewPositions()
	configID := l.configID()
	// A big file is read in parts, one processor each (keepalived_parts.go).
	parts := l.parts
	if parts == 0 {
		parts = Workers(len(src), kaPartMinBytes)
	}
	var nodes []*kaNode
	read := false
	if cuts := kaCuts(src, parts); len(cuts) > 0 {
		nodes, diags, read = l.kaReadInParts(path, src, cuts, configID)
		if read {
			cfg.Files = append(cfg.Files, path)
		}
	}
	if !read {
		parts = 1
		lx := &kaLexer{l: l, diags: &diags, files: &cfg.Files, defs: map[string]string{}, configID: configID}
		lx.readFile(path, src)
		tree := &kaTree{lines: lx.out, paths: lx.paths, diags: &diags}
		nodes = tree.body(nil, "", 0)
	}
	r := &kaReader{cfg: cfg, diags: &diags, loader: l}
	r.top(nodes, parts)
	r.finish()
	r.netFinish()
	r.lenientFinish()  // keepalived_lenient.go
	r.trackingFinish() // keepalived_track.go
	return cfg, diags
}

// kaReader turns keyword nodes into the model.
type kaReader struct {
	positions       positionSlab // every block's Positions
	cfg             *Config
	diags           *Diagnostics
	loader          *Loader
	disabledScripts []string        // vrrp_script names disabled by lenientFinish
	missingMisc     []Pos           // MISC_CHECKs whose script is not there, removed by lenientFinish
	vrrpStrict      bool            // global_defs vrrp_strict
	strictMode      map[string]bool // instances with strict_mode

	// global_defs values that instances inherit (global_data.c).
	garpDelay, garpRefresh        opt[time.Duration]
	garpRepeat, garpRefreshRepeat opt[int]
	defaultInterface              opt[string]
	instanceExplicit              []kaInstanceSet
	net                           kaNet   // keepalived_vrrp_net.go
	rsSlab                        []kaRS  // keepalived_lvs.go newRS
	rsUsed                        int     // kaRS taken from rsSlab
	rssBuf                        []*kaRS // a virtual server's kaVS.rss, reused
}

// opt is a value that may not have been written.
type opt[T any] struct {
	v   T
	set bool
}

func (o *opt[T]) put(v T) { o.v, o.set = v, true }

func (o opt[T]) or(def T) T {
	if o.set {
		return o.v
	}
	return def
}

// kaInstanceSet records which inheritable instance settings were written.
type kaInstanceSet struct {
	index                                                                         int
	state, priority, garpDelay, garpRepeat, garpRefresh, garpRefreshRepeat, iface bool
}

func (r *kaReader) errf(pos Pos, summary string, detail string, args ...any) {
	r.diags.errorf(pos, summary, detail, args...)
}

// warnf reports what keepalived logs as a configuration error and runs
// past, the way lvsd runs past it too (a Lenient warning).
func (r *kaReader) warnf(pos Pos, summary string, detail string, args ...any) {
	r.diags.lenientf(pos, summary, detail, args...)
}

// notef reports what keepalived runs past without counting it as a
// configuration error (keepalived -t still exits 0).
func (r *kaReader) notef(pos Pos, summary string, detail string, args ...any) {
	r.diags.warnf(pos, summary, detail, args...)
}

// kaScope says what happens to a keepalived keyword lvsd does not implement.
type kaScope struct {
	sev Severity
	why string
}

func warnOnly(why string) kaScope { return kaScope{Warning, why} }
func refuse(why string) kaScope   { return kaScope{Error, why} }

// outOfScope reports n if the table lists it, and says whether it did.
func (r *kaReader) outOfScope(n *kaNode, table map[string]kaScope) bool {
	s, ok := table[n.name]
	if !ok {
		return false
	}
	summary := fmt.Sprintf("keyword %s is not supported by lvsd", n.name)
	if s.sev == Warning {
		r.notef(n.pos, summary, "ignored: %s", s.why)
	} else {
		r.errf(n.pos, summary, "%s", s.why)
	}
	return true
}

// --- argument helpers ---------------------------------------------------

func (r *kaReader) noBlock(n *kaNode) bool {
	if n.hasBlock {
		r.errf(n.pos, fmt.Sprintf("keyword %s takes no block", n.name), "remove the { }")
		return false
	}
	return true
}

func (r *kaReader) block(n *kaNode) bool {
	if !n.hasBlock {
		r.errf(n.pos, fmt.Sprintf("keyword %s needs a { } block", n.name), "")
		return false
	}
	return true
}

// one returns the single argument of n.
func (r *kaReader) one(n *kaNode) (string, bool) {
	if !r.noBlock(n) {
		return "", false
	}
	if len(n.args) == 0 {
		// keepalived stops: "is missing a parameter after keyword".
		r.errf(n.pos, fmt.Sprintf("Configuration line starting `%s` is missing a parameter after keyword `%s` at word position 2", n.name, n.name), "keepalived stops on this too")
		return "", false
	}
	if len(n.args) > 1 {
		r.notef(n.pos, fmt.Sprintf("keyword %s takes one value", n.name), "%q is used and the rest ignored, as keepalived does", n.args[0].text)
	}
	return n.args[0].text, true
}

// none checks that a flag keyword has no argument.
func (r *kaReader) none(n *kaNode) bool {
	if !r.noBlock(n) {
		return false
	}
	if len(n.args) != 0 {
		r.notef(n.pos, fmt.Sprintf("keyword %s takes no value", n.name), "%q is ignored, as keepalived does", n.args[0].text)
	}
	return true
}

func (r *kaReader) integer(n *kaNode, lo, hi int64) (int64, bool) {
	s, ok := r.one(n)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < lo || v > hi {
		r.warnf(n.pos, fmt.Sprintf("invalid %s %q", n.name, s), "want a whole number from %d to %d; ignored, as keepalived does", lo, hi)
		return 0, false
	}
	return v, true
}

// seconds reads a time in seconds; keepalived's read_timer() takes up to
// six decimals for the keywords where decimals is true.
func (r *kaReader) seconds(n *kaNode, decimals bool) (time.Duration, bool) {
	s, ok := r.one(n)
	if !ok {
		return 0, false
	}
	d, err := kaSeconds(s, decimals)
	if err != nil {
		r.warnf(n.pos, fmt.Sprintf("invalid %s %q", n.name, s), "%v; ignored, as keepalived does", err)
		return 0, false
	}
	return d, true
}

func kaSeconds(s string, decimals bool) (time.Duration, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && !decimals {
		return 0, fmt.Errorf("want whole seconds")
	}
	if whole == "" || strings.Trim(whole, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" || len(frac) > 6 || (hasFrac && frac == "") {
		if decimals {
			return 0, fmt.Errorf("want seconds, e.g. 3 or 1.5")
		}
		return 0, fmt.Errorf("want whole seconds")
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > math.MaxInt64/int64(time.Second)-1 {
		return 0, fmt.Errorf("too large")
	}
	d := time.Duration(w) * time.Second
	if frac != "" {
		f, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		d += time.Duration(f) * time.Microsecond
	}
	return d, nil
}

// flag reads keepalived's optional boolean (check_true_false()): no value
// means true.
func (r *kaReader) flag(n *kaNode) (bool, bool) {
	if !r.noBlock(n) {
		return false, false
	}
	switch len(n.args) {
	case 0:
		return true, true
	case 1:
		switch strings.ToLower(n.args[0].text) {
		case "true", "on", "yes":
			return true, true
		case "false", "off", "no":
			return false, true
		}
	}
	r.warnf(n.pos, fmt.Sprintf("invalid %s value", n.name), "want true or false, or nothing; ignored, as keepalived does")
	return false, false
}

func (r *kaReader) addr(n *kaNode) (netip.Addr, bool) {
	s, ok := r.one(n)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		r.warnf(n.pos, fmt.Sprintf("invalid %s %q", n.name, s), "want an IP address; ignored, as keepalived does")
		return netip.Addr{}, false
	}
	return a, true
}

// addrPort reads keepalived's "ADDRESS [PORT]" arguments.
func (r *kaReader) addrPort(n *kaNode, args []kaToken) (netip.AddrPort, bool) {
	if len(args) < 1 || len(args) > 2 {
		r.errf(n.pos, fmt.Sprintf("invalid %s", n.name), "want ADDRESS PORT")
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddr(args[0].text)
	if err != nil || a.Zone() != "" {
		r.errf(n.pos, fmt.Sprintf("invalid %s address %q", n.name, args[0].text), "want an IP address")
		return netip.AddrPort{}, false
	}
	var port uint16
	if len(args) == 2 {
		p, err := strconv.ParseUint(args[1].text, 10, 16)
		if err != nil {
			r.errf(n.pos, fmt.Sprintf("invalid %s port %q", n.name, args[1].text), "want 0-65535")
			return netip.AddrPort{}, false
		}
		port = uint16(p)
	}
	return netip.AddrPortFrom(a, port), true
}

// --- top level ----------------------------------------------------------

// kaTopScope lists root keywords lvsd does not implement.
var kaTopScope = map[string]kaScope{
	"track_group":           refuse("lvsd has no track groups"),
	"bfd_instance":          refuse("lvsd does not speak BFD"),
	"net_namespace":         refuse("lvsd runs in the network namespace it is started in"),
	"net_namespace_ipvs":    refuse("lvsd runs in the network namespace it is started in"),
	"namespace_with_ipsets": warnOnly("lvsd does not use ipsets"),
	"linkbeat_interfaces":   warnOnly("lvsd follows link state through netlink"),
	"linkbeat_use_polling":  warnOnly("lvsd follows link state through netlink"),
	"use_pid_dir":           warnOnly("lvsd is one process; systemd tracks it"),
	"instance":              warnOnly("lvsd is one process; systemd tracks it"),
	"child_wait_time":       warnOnly("lvsd is one process"),
}

// top reads the top-level blocks, the virtual servers at the end of the
// file on up to parts goroutines (keepalived_parts.go).
func (r *kaReader) top(nodes []*kaNode, parts int) {
	r.groups(nodes) // keepalived_group.go: before the virtual servers using them
	garpIfs, garpAggregation := map[string]bool{}, 0
	services := 0
	for _, n := range nodes {
		if n.name == "virtual_server" {
			services++
		}
	}
	r.cfg.VirtualServers = slices.Grow(r.cfg.VirtualServers, services)
	if parts > 1 {
		r.readServicesInParts(nodes, parts, garpIfs, &garpAggregation)
		return
	}
	r.topBlocks(nodes, garpIfs, &garpAggregation)
}

// topBlocks reads top-level blocks in order.
func (r *kaReader) topBlocks(nodes []*kaNode, garpIfs map[string]bool, garpAggregation *int) {
	for i, n := range nodes {
		// A block read is garbage unless the model kept a part of it: on a
		// big file the tree already read is most of the reader's heap.
		nodes[i] = nil
		if r.staticNet(n) { // keepalived_vrrp_net.go
			continue
		}
		switch n.name {
		case "virtual_server_group": // read by r.groups
		case "track_file", "vrrp_track_file":
			r.trackFile(n) // keepalived_checkers.go
		case "global_defs":
			r.global(n)
		case "vrrp_script":
			r.script(n)
		case "vrrp_track_process":
			r.trackProcess(n) // keepalived_track.go
		case "vrrp_instance":
			r.instance(n)
		case "vrrp_sync_group":
			r.syncGroup(n)
		case "virtual_server":
			r.virtualServer(n)
		case "SSL":
			r.sslBlock(n) // ssl.go
		case "local_address_group":
			r.localAddressGroup(n) // fullnat.go
		case "garp_group":
			r.garpGroup(n, garpIfs, garpAggregation) // keepalived_garp_group.go
		case "interface_up_down_delays":
			r.cfg.Global.Positions.Set(n.name, n.pos)
			r.interfaceDelays(n) // interface_delays.go
		default:
			if !r.outOfScope(n, kaTopScope) {
				r.unknown(n, "the top level")
			}
		}
	}
}

// name returns the single label of a named root block.
func (r *kaReader) name(n *kaNode) (string, bool) {
	if !r.block(n) {
		return "", false
	}
	if len(n.args) == 0 {
		// keepalived stops: "is missing a parameter after keyword".
		r.errf(n.pos, fmt.Sprintf("Configuration line starting `%s` is missing a parameter after keyword `%s` at word position 2", n.name, n.name), "%s needs a name; keepalived stops on this too", n.name)
		return "", false
	}
	if len(n.args) > 1 {
		r.notef(n.pos, fmt.Sprintf("%s takes one name", n.name), "%q is used and the rest ignored, as keepalived does", n.args[0].text)
	}
	return n.args[0].text, true
}

// --- global_defs --------------------------------------------------------

var kaGlobalScope = func() map[string]kaScope {
	m := map[string]kaScope{
		"vrrp_iptables":                    warnOnly("lvsd drops no_accept traffic in its own nftables table (inet lvsd_accept_mode) whatever is written"),
		"vrrp_ipsets":                      warnOnly("lvsd drops no_accept traffic in its own nftables table (inet lvsd_accept_mode) whatever is written"),
		"vrrp_check_unicast_src":           warnOnly("lvsd accepts adverts from any source"),
		"vrrp_skip_check_adv_addr":         warnOnly("lvsd checks advert addresses"),
		"vrrp_garp_lower_prio_delay":       warnOnly("lvsd answers a lower-priority advert with garp_master_repeat gratuitous ARPs, none under strict mode"),
		"vrrp_garp_lower_prio_repeat":      warnOnly("lvsd answers a lower-priority advert with garp_master_repeat gratuitous ARPs, none under strict mode"),
		"vrrp_garp_interval":               warnOnly("lvsd paces gratuitous ARPs itself"),
		"vrrp_gna_interval":                warnOnly("lvsd paces unsolicited neighbour advertisements itself"),
		"vrrp_min_garp":                    warnOnly("lvsd sends the configured garp_master_repeat"),
		"vrrp_garp_extra_if":               warnOnly("lvsd sends gratuitous ARP on the VIP's interface only"),
		"vrrp_vmac_garp_intvl":             warnOnly("lvsd re-announces a VMAC's addresses per garp_master_refresh only"),
		"vrrp_lower_prio_no_advert":        warnOnly("lvsd answers a lower-priority advert at once, as keepalived does by default; under strict mode it discards it"),
		"vrrp_higher_prio_send_advert":     warnOnly("lvsd steps down on a higher-priority advert without answering it, as keepalived does by default"),
		"vrrp_notify_priority_changes":     warnOnly("lvsd notifies state changes only"),
		"fifo_write_vrrp_states_on_reload": warnOnly("lvsd writes FIFO lines on state changes only"),
		"net_namespace":                    refuse("lvsd runs in the network namespace it is started in"),
		"net_namespace_ipvs":               refuse("lvsd runs in the network namespace it is started in"),
		"max_auto_priority":                warnOnly("lvsd does not raise its scheduling priority"),
		"min_auto_priority_delay":          warnOnly("lvsd does not raise its scheduling priority"),
		"disable_local_igmp":               warnOnly("lvsd leaves IGMP to the kernel"),
		"rs_init_notifies":                 warnOnly("lvsd notifies changes only"),
		"vmac_prefix":                      warnOnly("lvsd names a VMAC vrrp.VRID unless use_vmac names it"),
		"vmac_addr_prefix":                 warnOnly("lvsd names use_vmac_addr's VMACs as use_vmac's: vrrp.VRID, vrrpN.VRID"),
		"include_check":                    warnOnly("lvsd reports every include problem"),
		"checker_log_all_failures":         warnOnly("lvsd logs every state change"),
		"log_unknown_vrids":                warnOnly("lvsd counts adverts for unknown VRIDs in its metrics"),
		"umask":                            warnOnly("lvsd creates no files but its control socket"),
		"random_seed":                      warnOnly("lvsd needs no random seed"),
		"instance":                         warnOnly("lvsd is one process"),
		"use_pid_dir":                      warnOnly("lvsd is one process"),
		"child_wait_time":                  warnOnly("lvsd is one process"),
		"linkbeat_use_polling":             warnOnly("lvsd follows link state through netlink"),
		"data_use_instance":                warnOnly("lvsd is one process"),
		"config_save_dir":                  warnOnly("lvsd keeps no config copy"),
		"tmp_config_directory":             warnOnly("lvsd keeps no config copy"),
		"no_checker_emails":                warnOnly("lvsd e-mails a real server's changes, never one checker's"),
		"enable_dbus":                      warnOnly("lvsd has no D-Bus interface; use `lvsd status`"),
		"dbus_service_name":                warnOnly("lvsd has no D-Bus interface"),
		"enable_traps":                     warnOnly("lvsd has no SNMP agent; use its Prometheus metrics"),
		"snmp_socket":                      warnOnly("lvsd has no SNMP agent; use its Prometheus metrics"),
		"default_interface":                {}, // handled
	}
	for _, k := range []string{"enable_snmp_vrrp", "enable_snmp_keepalived", "enable_snmp_rfc", "enable_snmp_rfcv2",
		"enable_snmp_rfcv3", "enable_snmp_checker"} {
		m[k] = warnOnly("lvsd has no SNMP agent; use its Prometheus metrics")
	}
	for _, p := range []string{"vrrp", "checker", "bfd"} {
		for _, s := range []string{"_priority", "_no_swap", "_rt_priority", "_cpu_affinity", "_rlimit_rttime", "_rlimit_rtime"} {
			m[p+s] = warnOnly("lvsd runs with the priority and limits systemd gives it")
		}
	}
	for _, k := range []string{"process_names", "process_name", "vrrp_process_name", "checker_process_name",
		"lvs_process_name", "bfd_process_name"} {
		m[k] = warnOnly("lvsd is one process named lvsd")
	}
	for _, p := range []string{"vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs", "process_monitor_rcv_bufs",
		"lvs_netlink_cmd_rcv_bufs", "lvs_netlink_monitor_rcv_bufs"} {
		m[p] = warnOnly("lvsd sizes its netlink buffers itself")
		m[p+"_force"] = warnOnly("lvsd sizes its netlink buffers itself")
	}
	for _, k := range []string{"vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier"} {
		m[k] = warnOnly("lvsd sizes its socket buffers itself")
	}
	for _, k := range []string{"reload_check_config", "reload_time_file", "reload_repeat", "reload_file"} {
		m[k] = warnOnly("lvsd checks the new configuration on every reload")
	}
	for _, k := range []string{"nftables", "nftables_priority", "nftables_ifindex", "nftables_ipvs",
		"nftables_ipvs_priority", "nftables_ipvs_start_fwmark", "nftables_counters"} {
		m[k] = warnOnly("lvsd drops no_accept traffic in its own nftables table (inet lvsd_accept_mode) whatever is written")
	}
	delete(m, "default_interface")
	return m
}()

func (r *kaReader) global(n *kaNode) {
	if !r.block(n) {
		return
	}
	g := &r.cfg.Global
	g.Pos = n.pos
	for _, c := range n.block {
		if r.globalNet(c) || r.globalScript(c) || r.dynamicInterfaces(c) { // keepalived_vrrp_net.go, global_scripts.go, keepalived_dynamic_interfaces.go
			continue
		}
		switch c.name {
		case "vrrp_garp_interval", "vrrp_gna_interval":
			if v, ok := r.seconds(c, true); ok && v == 0 {
				r.warnf(c.pos, fmt.Sprintf("%s '0' is invalid", c.name), "ignored, as keepalived does")
			} else if ok {
				r.outOfScope(c, kaGlobalScope)
			}
		case "router_id":
			if v, ok := r.one(c); ok {
				g.RouterID = v
				g.Positions.Set(c.name, c.pos)
			}
		case "enable_script_security":
			if r.none(c) {
				g.EnableScriptSecurity = true
				g.Positions.Set(c.name, c.pos)
			}
		case "script_user":
			if !r.noBlock(c) {
				continue
			}
			if len(c.args) < 1 || len(c.args) > 2 {
				r.errf(c.pos, "invalid script_user", "want USER [GROUP]")
				continue
			}
			g.ScriptUser = c.args[0].text
			if len(c.args) == 2 {
				g.ScriptGroup = c.args[1].text
			}
			g.Positions.Set(c.name, c.pos)
		case "vrrp_garp_master_delay":
			if v, ok := r.seconds(c, false); ok {
				r.garpDelay.put(v)
				g.Positions.Set(c.name, c.pos)
			}
		case "vrrp_garp_master_repeat":
			if v, ok := r.integer(c, 0, math.MaxInt32); ok {
				if v == 0 {
					r.warnf(c.pos, "vrrp_garp_master_repeat must be greater than 0, setting to 1", "as keepalived does")
					v = 1
				}
				r.garpRepeat.put(int(v))
				g.Positions.Set(c.name, c.pos)
			}
		case "vrrp_garp_master_refresh":
			if v, ok := r.seconds(c, false); ok {
				r.garpRefresh.put(v)
				g.Positions.Set(c.name, c.pos)
			}
		case "vrrp_garp_master_refresh_repeat":
			if v, ok := r.integer(c, 0, math.MaxInt32); ok {
				if v == 0 {
					r.warnf(c.pos, "vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1", "as keepalived does")
					v = 1
				}
				r.garpRefreshRepeat.put(int(v))
				g.Positions.Set(c.name, c.pos)
			}
		case "default_interface":
			if v, ok := r.one(c); ok {
				r.defaultInterface.put(v)
				g.Positions.Set(c.name, c.pos)
			}
		case "vrrp_version":
			if v, ok := r.integer(c, 2, 3); ok {
				g.VRRPVersion = int(v)
				g.Positions.Set(c.name, c.pos)
			}
		case "lvs_sync_daemon":
			r.lvsSyncDaemon(c) // keepalived_sync.go
		case "lvs_timeouts", "lvs_flush", "lvs_flush_on_stop", "lvs_flush_onstop":
			r.lvsGlobal(c) // lvs_global.go
		default:
			// keepalived_alert.go: FIFOs, e-mail, VRRP start timing.
			if !r.globalAlert(c) && !r.outOfScope(c, kaGlobalScope) {
				r.unknown(c, "global_defs")
			}
		}
	}
}

// --- vrrp_script --------------------------------------------------------

func (r *kaReader) script(n *kaNode) {
	name, ok := r.name(n)
	if !ok {
		return
	}
	s := VRRPScript{Name: name, Interval: defaultScriptInterval, Rise: defaultScriptRise, Fall: defaultScriptFall, Pos: n.pos, Positions: r.positions.new()}
	for _, c := range n.block {
		switch c.name {
		case "script":
			if v, ok := r.firstWordCommand(c); ok { // notify_users.go
				s.Script = v
				s.Positions.Set(c.name, c.pos)
			}
		case "interval", "timeout":
			v, ok := r.seconds(c, false)
			if !ok {
				continue
			}
			if v == 0 {
				r.warnf(c.pos, fmt.Sprintf("vrrp script %s must be greater than 0, setting to 1", c.name), "vrrp_script %s, as keepalived does", name)
				v = time.Second
			}
			if c.name == "interval" {
				s.Interval = v
			} else {
				s.Timeout = v
			}
			s.Positions.Set(c.name, c.pos)
		case "weight":
			r.scriptWeight(c, &s) // keepalived_track.go
		case "rise", "fall":
			if v, ok := r.integer(c, 1, math.MaxInt32); ok {
				if c.name == "rise" {
					s.Rise = int(v)
				} else {
					s.Fall = int(v)
				}
				s.Positions.Set(c.name, c.pos)
			}
		case "user":
			if !r.noBlock(c) {
				continue
			}
			if len(c.args) < 1 || len(c.args) > 2 {
				r.errf(c.pos, "invalid user", "want USER [GROUP]")
				continue
			}
			s.User = c.args[0].text
			if len(c.args) == 2 {
				s.Group = c.args[1].text
			}
			s.Positions.Set(c.name, c.pos)
		case "init_fail":
			if r.none(c) {
				s.InitFail = true
				s.Positions.Set(c.name, c.pos)
			}
		default:
			r.unknown(c, "vrrp_script "+name)
		}
	}
	if s.Timeout == 0 {
		// keepalived: a script without timeout times out after interval.
		s.Timeout = s.Interval
	}
	r.cfg.Scripts = append(r.cfg.Scripts, s)
}

// --- vrrp_instance ------------------------------------------------------

var kaInstanceScope = map[string]kaScope{
	"unicast_fault_no_peer":      warnOnly("lvsd does not enter FAULT for an empty unicast peer list"),
	"check_unicast_src":          warnOnly("lvsd accepts unicast adverts from any source"),
	"vrf":                        refuse("lvsd does not bind to a VRF"),
	"track_bfd":                  refuse("lvsd does not speak BFD"),
	"track_src_ip":               warnOnly("lvsd uses the interface's primary address or unicast_src_ip"),
	"virtual_ipaddress_excluded": refuse("lvsd puts every address in the adverts; list them in virtual_ipaddress"),
	"promote_secondaries":        warnOnly("lvsd leaves promote_secondaries to sysctl"),
	"linkbeat_use_polling":       warnOnly("lvsd follows link state through netlink"),
	"skip_check_adv_addr":        warnOnly("lvsd checks advert addresses"),
	"debug":                      warnOnly("lvsd logs with its own -log-level"),
	"notify_priority_changes":    warnOnly("lvsd notifies state changes only"),
	"garp_lower_prio_delay":      warnOnly("lvsd answers a lower-priority advert with garp_master_repeat gratuitous ARPs, none under strict mode"),
	"garp_lower_prio_repeat":     warnOnly("lvsd answers a lower-priority advert with garp_master_repeat gratuitous ARPs, none under strict mode"),
	"garp_extra_if":              warnOnly("lvsd sends gratuitous ARP on the VIP's interface only"),
	"vmac_garp_intvl":            warnOnly("lvsd re-announces a VMAC's addresses per garp_master_refresh only"),
	"lower_prio_no_advert":       warnOnly("lvsd answers a lower-priority advert at once, as keepalived does by default; under strict mode it discards it"),
	"higher_prio_send_advert":    warnOnly("lvsd steps down on a higher-priority advert without answering it, as keepalived does by default"),
	"kernel_rx_buf_size":         warnOnly("lvsd sizes its socket buffers itself"),
}

func (r *kaReader) instance(n *kaNode) {
	name, ok := r.name(n)
	if !ok {
		return
	}
	in := VRRPInstance{Name: name, AdvertInt: defaultAdvertInt, Pos: n.pos, Positions: r.positions.new()}
	set := kaInstanceSet{index: len(r.cfg.Instances)}
	mark := func(c *kaNode, key string) { in.Positions.Set(key, c.pos) }
	for _, c := range n.block {
		if r.instanceNet(c, &in) { // keepalived_vrrp_net.go
			continue
		}
		switch c.name {
		case "state":
			v, ok := r.one(c)
			if !ok {
				continue
			}
			switch v {
			case StateMaster, StateBackup:
				// keepalived: a later BACKUP does not override MASTER.
				if set.state && in.State == StateMaster && v == StateBackup {
					r.warnf(c.pos, "state previously set as MASTER - ignoring BACKUP", "vrrp_instance %s, as keepalived does", name)
					continue
				}
				in.State = v
				set.state = true
				mark(c, "state")
			default:
				r.warnf(c.pos, fmt.Sprintf("(%s) unknown state '%s', defaulting to BACKUP", name, v), "as keepalived does")
				if !set.state || in.State != StateMaster {
					in.State, set.state = StateBackup, true
					mark(c, "state")
				}
			}
		case "interface":
			if v, ok := r.one(c); ok {
				in.Interface = v
				set.iface = true
				mark(c, "interface")
			}
		case "virtual_router_id":
			if v, ok := r.integer(c, 1, 255); ok {
				in.VirtualRouterID = int(v)
				mark(c, "virtual_router_id")
			}
		case "priority":
			if v, ok := r.integer(c, 1, 255); ok {
				in.Priority = int(v)
				set.priority = true
				mark(c, "priority")
			} else if len(c.args) > 0 {
				// vrrp_parser.c: "Priority not valid! ... Using default 100".
				in.Priority, set.priority = defaultPriority, true
				mark(c, "priority")
			}
		case "advert_int":
			if v, ok := r.seconds(c, true); ok {
				if v == 0 || v > 255*time.Second {
					r.warnf(c.pos, fmt.Sprintf("(%s) Advert interval (%s) not valid! Must be > 0 - ignoring", name, c.args[0].text), "keepalived reads 0.01 to 255 seconds; ignored, as keepalived does")
					continue
				}
				in.AdvertInt = v
				mark(c, "advert_int")
			}
		case "version":
			if v, ok := r.integer(c, 2, 3); ok {
				in.Version = int(v)
				mark(c, "version")
			}
		case "native_ipv6":
			if r.none(c) {
				r.notef(c.pos, "native_ipv6 is deprecated", "vrrp_instance %s: the instance is IPv6; an IPv6 virtual_ipaddress or unicast_peer says so (keepalived does not count this as a configuration error)", name)
				in.IPv6 = true
				mark(c, "native_ipv6")
			}
		case "v3_checksum_as_v2":
			if r.none(c) {
				in.V3ChecksumAsV2 = true
				mark(c, c.name)
			}
		case "old_unicast_checksum":
			// "never" turns keepalived's automatic detection off; lvsd
			// then sends the RFC checksum, which is what it sends anyway.
			if len(c.args) == 1 && c.args[0].text == "never" {
				mark(c, c.name)
			} else if r.none(c) {
				in.OldUnicastChecksum = true
				mark(c, c.name)
			}
		case "authentication":
			r.authentication(c, &in)
		case "virtual_ipaddress":
			if !r.block(c) {
				continue
			}
			mark(c, "virtual_ipaddress")
			// written is the instance's list as keepalived counts it, this
			// block included; kept only when it repeats an address.
			written := slices.Clone(in.AdvertAddresses)
			if written == nil {
				for _, v := range in.VirtualIPs {
					written = append(written, v.Prefix.Addr())
				}
			}
			for _, e := range c.block {
				if e.hasBlock {
					r.errf(e.pos, "invalid virtual_ipaddress entry", "%s opens a block", e.name)
					continue
				}
				vip, err := ParseVIP(e.line())
				if err != nil {
					r.warnf(e.pos, fmt.Sprintf("VRRP parsed invalid IP %s. skipping IP...", e.name), "%v", err)
					continue
				}
				vip.Pos = e.pos
				written = append(written, vip.Prefix.Addr())
				if slices.ContainsFunc(in.VirtualIPs, func(o VIP) bool { return o.Prefix.Addr() == vip.Prefix.Addr() }) {
					// keepalived holds the address once, without a word,
					// and sends it in its adverts as often as it is listed
					// (seen on the wire: keepalived's doc/samples
					// keepalived.conf.vrrp).
					r.notef(e.pos, fmt.Sprintf("virtual_ipaddress %s is listed twice", vip.Prefix.Addr()), "vrrp_instance %s: held once, advertised as often as listed, as keepalived does", name)
					continue
				}
				in.VirtualIPs = append(in.VirtualIPs, vip)
			}
			if len(written) > len(in.VirtualIPs) {
				in.AdvertAddresses = written
			}
		case "unicast_src_ip", "mcast_src_ip":
			// keepalived uses both as the advert's source address.
			if v, ok := r.addr(c); ok {
				in.UnicastSrcIP = v
				mark(c, "unicast_src_ip")
			}
		case "unicast_peer":
			if !r.block(c) {
				continue
			}
			mark(c, "unicast_peer")
			for _, e := range c.block {
				r.unicastPeer(e, &in) // keepalived_unicast_peer.go
			}
		case "nopreempt":
			if r.none(c) {
				in.NoPreempt = true
				mark(c, "nopreempt")
			}
		case "preempt":
			if r.none(c) {
				in.NoPreempt = false
				mark(c, "nopreempt")
			}
		case "preempt_delay":
			if v, ok := r.seconds(c, true); ok {
				if v > 1000*time.Second {
					r.warnf(c.pos, fmt.Sprintf("(%s) Preempt_delay not valid! must be between 0-1000", name), "ignored, as keepalived does")
					continue
				}
				in.PreemptDelay = v
				mark(c, "preempt_delay")
			}
		case "garp_master_delay", "garp_master_refresh":
			v, ok := r.seconds(c, false)
			if !ok {
				continue
			}
			if c.name == "garp_master_delay" {
				in.GarpMasterDelay, set.garpDelay = v, true
			} else {
				in.GarpMasterRefresh, set.garpRefresh = v, true
			}
			mark(c, c.name)
		case "garp_master_repeat", "garp_master_refresh_repeat":
			v, ok := r.integer(c, 0, math.MaxInt32)
			if !ok {
				continue
			}
			if v == 0 {
				r.warnf(c.pos, c.name+" must be greater than 0, setting to 1", "vrrp_instance %s, as keepalived does", name)
				v = 1
			}
			if c.name == "garp_master_repeat" {
				in.GarpMasterRepeat, set.garpRepeat = int(v), true
			} else {
				in.GarpMasterRefreshRepeat, set.garpRefreshRepeat = int(v), true
			}
			mark(c, c.name)
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			if v, u, ok := r.notifyScript(c); ok { // notify_users.go
				setNotify(&in.Notify, c.name, v)
				in.Notify.Users.set(c.name, u)
				mark(c, c.name)
			}
		case "lvs_sync_daemon_interface":
			r.lvsSyncDaemonInterface(c, name) // keepalived_sync.go
		default:
			// keepalived_track.go: tracking, notify_deleted, smtp_alert...
			if !r.instanceTracking(c, &in) && !r.outOfScope(c, kaInstanceScope) {
				r.unknown(c, "vrrp_instance "+name)
			}
		}
	}
	r.cfg.Instances = append(r.cfg.Instances, in)
	r.instanceExplicit = append(r.instanceExplicit, set)
}

func setNotify(n *Notify, key, cmd string) {
	switch key {
	case "notify_master":
		n.Master = cmd
	case "notify_backup":
		n.Backup = cmd
	case "notify_fault":
		n.Fault = cmd
	case "notify_stop":
		n.Stop = cmd
	case "notify":
		n.Any = cmd
	}
}

func (r *kaReader) authentication(n *kaNode, in *VRRPInstance) {
	if !r.block(n) {
		return
	}
	for _, c := range n.block {
		switch c.name {
		case "auth_type":
			if v, ok := r.one(c); ok {
				if v != "PASS" && v != "AH" {
					r.warnf(c.pos, fmt.Sprintf("unknown authentication type '%s'", v), "vrrp_instance %s: want PASS; ignored, as keepalived does", in.Name)
					continue
				}
				in.AuthType = v
				in.Positions.Set("auth_type", c.pos)
			}
		case "auth_pass":
			if v, ok := r.one(c); ok {
				// vrrp_parser.c: the password is cut to the 8 bytes the
				// VRRPv2 header carries (RFC 3768 §5.3.10), so a pair
				// with a longer one still authenticates.
				if len(v) > authPassLen {
					r.warnf(c.pos, "Truncating auth_pass to 8 characters", "vrrp_instance %s: %q is sent as %q, as keepalived does", in.Name, v, v[:authPassLen])
					v = v[:authPassLen]
				}
				in.AuthPass = v
				in.Positions.Set("auth_pass", c.pos)
			}
		default:
			r.unknown(c, "authentication of vrrp_instance "+in.Name)
		}
	}
}

// --- vrrp_sync_group ----------------------------------------------------

var kaSyncGroupScope = map[string]kaScope{
	"track_bfd":               refuse("lvsd does not speak BFD"),
	"notify_priority_changes": warnOnly("lvsd notifies state changes only"),
}

func (r *kaReader) syncGroup(n *kaNode) {
	name, ok := r.name(n)
	if !ok {
		return
	}
	g := SyncGroup{Name: name, Pos: n.pos, Positions: r.positions.new()}
	for _, c := range n.block {
		switch c.name {
		case "group":
			if !r.block(c) {
				continue
			}
			g.Positions.Set("group", c.pos)
			for _, e := range c.block {
				if e.hasBlock {
					r.errf(e.pos, "invalid group entry", "%s opens a block", e.name)
					continue
				}
				g.Group = append(g.Group, e.name)
				g.Group = append(g.Group, e.argText()...)
			}
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			if v, u, ok := r.notifyScript(c); ok { // notify_users.go
				setNotify(&g.Notify, c.name, v)
				g.Notify.Users.set(c.name, u)
				g.Positions.Set(c.name, c.pos)
			}
		default:
			if !r.syncGroupTracking(c, &g) && !r.outOfScope(c, kaSyncGroupScope) {
				r.unknown(c, "vrrp_sync_group "+name)
			}
		}
	}
	r.cfg.SyncGroups = append(r.cfg.SyncGroups, g)
}

// --- finishing ----------------------------------------------------------

// finish applies the defaults that depend on the whole file: global_defs
// values inherited by instances, and the priority/state pair.
func (r *kaReader) finish() {
	for _, set := range r.instanceExplicit {
		in := &r.cfg.Instances[set.index]
		if !set.garpDelay {
			in.GarpMasterDelay = r.garpDelay.or(defaultGarpMasterDelay)
		}
		if !set.garpRepeat {
			in.GarpMasterRepeat = r.garpRepeat.or(defaultGarpMasterRepeat)
		}
		if !set.garpRefresh {
			in.GarpMasterRefresh = r.garpRefresh.or(0)
		}
		if !set.garpRefreshRepeat {
			in.GarpMasterRefreshRepeat = r.garpRefreshRepeat.or(defaultGarpRefreshCount)
		}
		if !set.iface && r.defaultInterface.set {
			in.Interface = r.defaultInterface.v
		}
		// vrrp.c vrrp_complete_instance(): no priority means 255 for an
		// initial MASTER, 100 otherwise; no state means MASTER exactly
		// when the priority is 255.
		if !set.priority {
			in.Priority = defaultPriority
			if in.State == StateMaster {
				in.Priority = kaOwnerPriority
			}
		}
		if !set.state {
			in.State = defaultState
			if in.Priority == kaOwnerPriority {
				in.State = StateMaster
			}
		}
		r.family(in)
		// vrrp.c: authentication without a password is dropped.
		if in.AuthType != "" && in.AuthPass == "" {
			r.warnf(in.Positions.Where("auth_type", in.Pos), "authentication specified but no password given - ignoring", "vrrp_instance %s, as keepalived does", in.Name)
			in.AuthType = ""
		}
		if in.AuthType == "" && in.AuthPass != "" {
			r.warnf(in.Positions.Where("auth_pass", in.Pos), "auth_pass without auth_type - ignoring", "vrrp_instance %s: keepalived sends no authentication then", in.Name)
			in.AuthPass = ""
			in.Positions.Delete("auth_pass")
		}
	}
}

// family applies keepalived's rules for an instance's address family
// (vrrp_parser.c, vrrp.c vrrp_complete_instance) before validation: an
// address of the other family than the instance's is ignored with a
// warning, an IPv6 instance of version 2 becomes version 3, and VRRPv3
// drops authentication, each as keepalived logs it.
func (r *kaReader) family(in *VRRPInstance) {
	ipv6 := instanceFamily(in)
	vips := in.VirtualIPs[:0]
	for _, v := range in.VirtualIPs {
		if v.Prefix.Addr().Is6() != ipv6 {
			r.warnf(v.Pos, "address family must match VRRP instance - ignoring", "vrrp_instance %s: %s is not %s (keepalived ignores it too)", in.Name, v.Prefix.Addr(), familyName(ipv6))
			continue
		}
		vips = append(vips, v)
	}
	in.VirtualIPs = vips
	peers := in.UnicastPeers[:0]
	for _, p := range in.UnicastPeers {
		if p.Is6() != ipv6 {
			r.warnf(in.Positions.Where("unicast_peer", in.Pos), "address family must match VRRP instance - ignoring", "vrrp_instance %s: unicast_peer %s is not %s", in.Name, p, familyName(ipv6))
			continue
		}
		peers = append(peers, p)
	}
	in.UnicastPeers = peers
	version := in.Version
	if own := in.Positions.Has("version"); !own {
		version = r.cfg.Global.VRRPVersion
	}
	if ipv6 && version == vrrpVersionV2 {
		if own := in.Positions.Has("version"); own {
			r.warnf(in.Positions.Where("version", Pos{}), "cannot use IPv6 with VRRP version 2; setting version 3", "vrrp_instance %s, as keepalived does", in.Name)
		}
		in.Version = vrrpVersionV3
		in.Positions.Set("version", in.Positions.Where("version", in.Pos))
		version = vrrpVersionV3
	}
	if version == vrrpVersionV3 && (in.AuthType != "" || in.AuthPass != "") {
		r.warnf(in.Positions.Where("auth_type", in.Pos), "VRRP version 3 does not support authentication - ignoring", "vrrp_instance %s, as keepalived does", in.Name)
		in.AuthType, in.AuthPass = "", ""
		in.Positions.Delete("auth_pass")
	}
}
