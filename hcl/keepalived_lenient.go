package hcl

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// This file holds keepalived's leniency: what keepalived 2.2.7 logs as a
// configuration error and runs past (report_config_error()), lvsd reports
// as a Lenient warning with its place and runs the same way; Loader.Strict
// refuses it instead. Measured against keepalived 2.2.7 -t by the
// differential harness in integration/keepalived_diff_test.go.

// kaKnownKeywords lists, per block, the keywords keepalived 2.2.7 reads
// there, for "did you mean" on an unknown one. It need not be complete: a
// keyword missing here only goes without a suggestion.
var kaKnownKeywords = map[string][]string{
	"": {"global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "virtual_server", "virtual_server_group",
		"static_ipaddress", "static_routes", "static_rules", "vrrp_track_process", "vrrp_track_file", "track_file",
		"garp_group", "bfd_instance", "linkbeat_interfaces", "include"},
	"global_defs": {"router_id", "enable_script_security", "script_user", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
		"vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_interval", "vrrp_gna_interval",
		"default_interface", "notification_email", "notification_email_from", "smtp_server", "smtp_helo_name",
		"smtp_connect_timeout", "lvs_sync_daemon", "lvs_flush", "vrrp_version", "vrrp_mcast_group4", "vrrp_mcast_group6",
		"vrrp_strict", "vrrp_iptables", "vrrp_skip_check_adv_addr", "vrrp_check_unicast_src", "vrrp_startup_delay",
		"vrrp_notify_fifo", "notify_fifo", "lvs_notify_fifo", "enable_snmp_vrrp", "enable_snmp_checker", "max_auto_priority"},
	"vrrp_script": {"script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail"},
	"vrrp_instance": {"state", "interface", "virtual_router_id", "priority", "advert_int", "version", "authentication",
		"virtual_ipaddress", "virtual_ipaddress_excluded", "virtual_routes", "virtual_rules", "unicast_src_ip",
		"mcast_src_ip", "unicast_peer", "nopreempt", "preempt", "preempt_delay", "garp_master_delay", "garp_master_repeat",
		"garp_master_refresh", "garp_master_refresh_repeat", "track_interface", "track_script", "track_file",
		"track_process", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "smtp_alert",
		"use_vmac", "vmac_xmit_base", "native_ipv6", "dont_track_primary", "lvs_sync_daemon_interface", "debug",
		"accept", "no_accept", "strict_mode", "skip_check_adv_addr"},
	"authentication":  {"auth_type", "auth_pass"},
	"vrrp_sync_group": {"group", "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "smtp_alert", "track_script", "track_interface", "global_tracking"},
	"virtual_server": {"protocol", "delay_loop", "lb_algo", "lvs_sched", "lb_kind", "lvs_method", "ops", "persistence_timeout",
		"persistence_granularity", "quorum", "hysteresis", "quorum_up", "quorum_down", "alpha", "omega", "inhibit_on_failure",
		"virtualhost", "weight", "ip_family", "sorry_server", "sorry_server_lvs_method", "real_server", "ha_suspend",
		"connect_timeout", "retry", "delay_before_retry", "warmup", "smtp_alert"},
	"real_server": {"weight", "inhibit_on_failure", "notify_up", "notify_down", "uthreshold", "lthreshold", "alpha",
		"virtualhost", "lvs_method", "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop",
		"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "smtp_alert"},
	"TCP_CHECK":  {"connect_ip", "connect_port", "bindto", "bind_port", "connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "fwmark"},
	"HTTP_GET":   {"connect_ip", "connect_port", "bindto", "bind_port", "connect_timeout", "retry", "nb_get_retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "url", "virtualhost", "http_protocol", "fwmark"},
	"SSL_GET":    {"connect_ip", "connect_port", "bindto", "bind_port", "connect_timeout", "retry", "nb_get_retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "url", "virtualhost", "http_protocol", "enable_sni", "fwmark"},
	"MISC_CHECK": {"misc_path", "misc_timeout", "misc_dynamic", "user", "retry", "delay_before_retry", "warmup", "delay_loop", "alpha"},
	"url":        {"path", "digest", "status_code", "virtualhost", "regex", "regex_no_match"},
}

// kaRetired explains keywords that keepalived 1.x read and 2.2.7 no longer
// knows: keepalived logs "Unknown keyword" and ignores them, and so does
// lvsd.
var kaRetired = map[string]string{
	"nat_mask":     "keepalived 2.x no longer reads nat_mask (IPVS never used it); ignored",
	"lvs_id":       "keepalived 2.x no longer reads lvs_id (router_id names the node); ignored",
	"nb_get_retry": "keepalived 2.2.7 reads nb_get_retry in HTTP_GET and SSL_GET only; ignored here, as keepalived does (write retry)",
}

// unknown reports a keyword keepalived does not know either: keepalived
// logs "Unknown keyword" and goes on, and so does lvsd (a Lenient
// warning), with a suggestion when a known keyword is close.
func (r *kaReader) unknown(n *kaNode, in string) {
	ctx, _, _ := strings.Cut(in, " ")
	if in == "the top level" {
		ctx = ""
	}
	detail := "in " + in + "; ignored, as keepalived does"
	if why, ok := kaRetired[n.name]; ok {
		detail = "in " + in + ": " + why
	} else if s := suggest(n.name, kaKnownKeywords[ctx]); s != "" {
		detail += "." + s
	}
	if n.hasBlock {
		detail += " (with its block)"
	}
	r.diags.lenientf(n.pos, fmt.Sprintf("Unknown keyword '%s'", n.name), "%s", detail)
}

// kaScriptPath is where scripts without a slash are looked for; keepalived
// searches its own PATH, lvsd's script runner this one (internal/script).
var kaScriptPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// scriptRunnable says whether the first word of command names an
// executable file, as keepalived checks every script when it reads the
// configuration (check_script_secure()'s "not found/accessible").
func (r *kaReader) scriptRunnable(command string) bool {
	word := strings.Fields(command)
	if len(word) == 0 {
		return false
	}
	name := strings.Trim(word[0], `"'`)
	candidates := []string{name}
	if !strings.Contains(name, "/") {
		candidates = candidates[:0]
		for _, dir := range kaScriptPath {
			candidates = append(candidates, filepath.Join(dir, name))
		}
	}
	for _, p := range candidates {
		fi, err := r.loader.stat(p)
		if err == nil && fi.Mode().IsRegular() && fi.Mode()&fs.ModePerm&0o111 != 0 {
			return true
		}
	}
	return false
}

// lenientFinish applies keepalived's consequences of what it ran past, once
// the whole file is read: instances without a virtual router id are
// dropped, scripts that cannot run are disabled, and references to what is
// not defined are ignored.
func (r *kaReader) lenientFinish() {
	g := &r.cfg.Global
	// Scripts run as script_user, else keepalived_script if that user
	// exists, else root; with enable_script_security keepalived will not
	// fall back to root and removes every script that has no user
	// ("Unable to set default user keepalived_script for script").
	noDefaultUser := false
	if g.ScriptUser == "" {
		if r.loader.userExists(kaDefaultScriptUser) {
			g.ScriptUser = kaDefaultScriptUser
		} else if g.EnableScriptSecurity {
			noDefaultUser = true
		}
	}
	var scripts []VRRPScript
	for _, s := range r.cfg.Scripts {
		// keepalived runs a script that starts with a redirection
		// ("</dev/tcp/127.0.0.1/80", as in its own samples) with /bin/sh
		// (measured with 2.2.7: Debian's dash then fails it with status 2).
		if strings.HasPrefix(s.Script, "<") && !strings.Contains(s.Script, "'") {
			s.Script = "/bin/sh -c '" + s.Script + "'"
		}
		switch {
		case s.Script == "":
			r.diags.lenientf(s.Pos, fmt.Sprintf("No script set for vrrp_script %s - removing", s.Name), "as keepalived does")
		case noDefaultUser && s.User == "":
			r.diags.lenientf(s.Pos, fmt.Sprintf("Unable to set default user for vrrp script %s - removing", s.Name),
				"enable_script_security without script_user, and no user %s: keepalived runs no script as root then", kaDefaultScriptUser)
		case s.Script != "" && !r.scriptRunnable(s.Script):
			r.diags.lenientf(s.Positions.Where("script", s.Pos), fmt.Sprintf("Disabling track script %s since not found/accessible", s.Name),
				"%s: the instances tracking it run as if untracked, as keepalived does", s.Script)
		default:
			scripts = append(scripts, s)
			continue
		}
		r.disabledScripts = append(r.disabledScripts, s.Name)
	}
	r.cfg.Scripts = scripts
	// MISC_CHECK: the user first, then the script (check_misc.c
	// check_misc_script_security()); a script that is not there is only
	// logged, and the real server runs without that checker.
	for i := range r.cfg.VirtualServers {
		vs := &r.cfg.VirtualServers[i]
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			rs.Checkers = slices.DeleteFunc(rs.Checkers, func(c Checker) bool {
				m := c.Misc()
				if m == nil {
					return false
				}
				switch {
				case noDefaultUser && m.User == "":
					r.diags.lenientf(c.Positions.Where("misc_path", c.Pos), fmt.Sprintf("Unable to set default user for misc script %s - removing", m.Path),
						"enable_script_security without script_user, and no user %s", kaDefaultScriptUser)
				case slices.Contains(r.missingMisc, c.Pos):
					r.diags.warnf(c.Positions.Where("misc_path", c.Pos), fmt.Sprintf("Disabling misc script %s since not found/accessible", m.Path),
						"the real server runs without this checker, as keepalived's does")
				default:
					return false
				}
				return true
			})
		}
	}

	defined := map[string]bool{}
	for _, s := range r.cfg.Scripts {
		defined[s.Name] = true
	}
	var names []string
	kept := r.cfg.Instances[:0]
	for i, in := range r.cfg.Instances {
		if in.VirtualRouterID == 0 {
			r.diags.lenientf(in.Pos, fmt.Sprintf("(%s) the virtual router id must be set", in.Name), "the instance is dropped, as keepalived does")
			continue
		}
		// vrrp.c vrrp_complete_instance(): strict mode (vrrp_strict, or
		// the instance's strict_mode) drops authentication and starts the
		// address owner, and only it, as MASTER; keepalived_strict.go has
		// the rest.
		strict := r.strictOf(in.Name)
		if strict && (in.AuthType != "" || in.AuthPass != "") {
			r.diags.lenientf(in.Positions.Where("auth_type", in.Pos), fmt.Sprintf("(%s) Strict mode does not support authentication. Ignoring.", in.Name), "adverts carry no authentication, as keepalived's do")
			in.AuthType, in.AuthPass = "", ""
			in.Positions.Delete("auth_type")
			in.Positions.Delete("auth_pass")
		}
		if strict && in.State == StateMaster && in.Priority != kaOwnerPriority {
			r.diags.lenientf(in.Positions.Where("state", in.Pos), fmt.Sprintf("(%s) State MASTER must match being address owner", in.Name), "strict mode: the instance starts as BACKUP, as keepalived does")
			in.State = StateBackup
		} else if strict && in.State == StateBackup && in.Priority == kaOwnerPriority {
			r.diags.lenientf(in.Positions.Where("state", in.Pos), fmt.Sprintf("(%s) State MASTER must match being address owner", in.Name), "strict mode: the address owner starts as MASTER, as keepalived does")
			in.State = StateMaster
		}
		if in.State == StateMaster && in.NoPreempt {
			r.diags.lenientf(in.Positions.Where("nopreempt", in.Pos), fmt.Sprintf("(%s) Warning - nopreempt will not work with initial state MASTER - clearing", in.Name), "the instance preempts, as keepalived's does")
			in.NoPreempt = false
			in.Positions.Delete("nopreempt")
		}
		// vrrp.c: the instance's own interface is tracked anyway.
		in.TrackInterfaces = slices.DeleteFunc(in.TrackInterfaces, func(ti TrackInterface) bool {
			if ti.Name != in.Interface {
				return false
			}
			r.diags.lenientf(in.Positions.Where("track_interface", in.Pos), fmt.Sprintf("(%s) Ignoring track_interface %s since own interface", in.Name, ti.Name), "a fault of the instance's own interface is a fault anyway")
			return true
		})
		if len(in.TrackInterfaces) == 0 {
			in.Positions.Delete("track_interface")
		}
		if len(in.VirtualIPs) == 0 && strict {
			r.diags.errorf(in.Pos, fmt.Sprintf("(%s) No VIP specified; at least one is required", in.Name), "strict mode: keepalived's VRRP process stops on it, and lvsd refuses the file")
		} else if len(in.VirtualIPs) == 0 {
			r.diags.lenientf(in.Pos, fmt.Sprintf("(%s) No VIP specified; at least one is sensible", in.Name), "keepalived counts it as a configuration error and runs the instance")
		}
		r.strictFinish(i, &in) // keepalived_strict.go
		in.TrackScripts = slices.DeleteFunc(in.TrackScripts, func(ts TrackScript) bool {
			if defined[ts.Name] {
				return false
			}
			if !r.disabled(ts.Name) {
				r.diags.lenientf(in.Positions.Where("track_script", in.Pos), fmt.Sprintf("(%s) track script %s not found, ignoring...", in.Name, ts.Name), "as keepalived does")
			}
			return true
		})
		if len(in.TrackScripts) == 0 {
			in.Positions.Delete("track_script")
		}
		names = append(names, in.Name)
		kept = append(kept, in)
	}
	r.cfg.Instances = kept

	var groups []SyncGroup
	for _, sg := range r.cfg.SyncGroups {
		sg.Group = slices.DeleteFunc(sg.Group, func(m string) bool {
			if slices.Contains(names, m) {
				return false
			}
			r.diags.lenientf(sg.Positions.Where("group", sg.Pos), fmt.Sprintf("Virtual router %s specified in sync group %s doesn't exist - ignoring", m, sg.Name), "%s", strings.TrimPrefix(suggest(m, names), " "))
			return true
		})
		if len(sg.Group) == 0 {
			r.diags.lenientf(sg.Pos, fmt.Sprintf("Sync group %s has no virtual router(s) - removing", sg.Name), "as keepalived does")
			continue
		}
		if len(sg.Group) == 1 {
			r.diags.lenientf(sg.Pos, fmt.Sprintf("Sync group %s has only 1 virtual router(s) - this probably isn't what you want", sg.Name), "as keepalived says")
		}
		groups = append(groups, sg)
	}
	r.cfg.SyncGroups = groups
}

// disabled says whether a vrrp_script of this name was defined and then
// disabled (keepalived says so once, for the script).
func (r *kaReader) disabled(name string) bool {
	return slices.Contains(r.disabledScripts, name)
}

// kaDefaultScriptUser is the user keepalived runs scripts as when it
// exists and script_user is not set.
const kaDefaultScriptUser = "keepalived_script"

// authPassLen is the size of VRRPv2's authentication data (RFC 3768
// §5.3.10); keepalived cuts a longer auth_pass to it.
const authPassLen = 8

// KeepalivedStops says whether keepalived 2.2.7 stops on the problem d
// reports instead of running past it: a keyword without its value ends
// keepalived's reading of the file (its -t exits 2).
func KeepalivedStops(d Diagnostic) bool {
	return d.Severity == Error && strings.HasPrefix(d.Summary, "Configuration line starting `")
}
