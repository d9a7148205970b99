// Package hcl owns lvsd's configuration: it reads HCL, HCL-JSON,
// keepalived.conf, ldirectord.cf and ipvsadm rules files into one immutable model (Config) whose every block and
// attribute remembers its FILE:LINE:COL.
//
// The model is final and trusted. Every default lives in defaults.go, every
// check in validation, and each inherited setting (a checker's alpha,
// delay_loop, connect_timeout, retry, delay_before_retry, warmup and
// virtualhost, written in the checker, its real server or its virtual
// server) is resolved once, nearest block first. The vrrp, lvs and checks
// packages read the values as they are: they never default, inherit or
// validate again.
//
// Vocabulary and defaults are keepalived's (keepalived.conf(5)); where lvsd
// differs it says so beside the field. The package never touches the network
// or the kernel: it only reads files and, for hostname(), the host name.
// Tests elsewhere build configurations from text with internal/hcltest.
//
// Files:
//
//	load.go          Loader, Load, LoadSource: read a file and its includes, pick the reader by name or content, finalize
//	model.go         Config and its blocks: the model every consumer reads
//	positions.go     Positions: where each attribute of a block was written, a short list handed out from a slab
//	defaults.go      every default, with keepalived's where keepalived.conf differs
//	inherit.go       checker settings inherited from real and virtual servers, nearest block first
//	decode.go        the HCL and HCL-JSON reader (schemas, conversions, positions)
//	decode_literal.go  HCL's native syntax of literal values read in one pass into a body the decoder reads directly,
//	                 whose syntax is hcl's own body; the rest left to hcl
//	decode_runs.go   a big file's virtual_server blocks decoded on one goroutine per processor, joined in the file's order
//	functions.go     hostname(), env() and the other functions HCL may call
//	keepalived_lex.go  keepalived.conf lines into keyword trees: comments, quotes, include globs, @id lines,
//	                 $NAME definitions (multi-line too), ~SEQ/~LST, and braces as keepalived's parser reads them
//	keepalived_parts.go  a big keepalived.conf read in parts, one processor each, with what one go gives
//	keepalived_strict.go  vrrp_strict and strict_mode: keepalived 2.2.7's resets, each with its configuration error
//	keepalived_lenient.go  keepalived's leniency: unknown keywords with suggestions, scripts disabled, undefined
//	                 references ignored; Lenient diagnostics, which Loader.Strict refuses
//	keepalived.go    keepalived.conf global_defs, vrrp_script, vrrp_instance, vrrp_sync_group
//	keepalived_lvs.go  keepalived.conf virtual_server, real_server and checkers, with keepalived's corrections
//	keepalived_checkers.go  keepalived.conf UDP_CHECK, DNS_CHECK, SMTP_CHECK (host blocks) and FILE_CHECK keywords, track_file
//	keepalived_group.go  keepalived.conf virtual_server_group and virtual_server group NAME
//	ldirectord.go    ldirectord.cf: global settings and virtual sections with ldirectord's meaning and defaults
//	ipvsadm_rules.go ipvsadm rules files (ipvsadm -S, ipvsadm-save): ReadIPVSADMRules, the one parser of the
//	                 format in lvsd, and the static table it makes
//	group.go         virtual_server_group entries (addresses, ranges, marks) and their expansion into services
//	hexstring.go     keepalived's HEX_STR (UDP_CHECK payload and reply)
//	tunnel.go        TUN's tunnel settings (type ipip|gue port N|gre, checksum flags) for both readers
//	lvs_global.go    lvs_timeouts, lvs_flush, lvs_flush_on_stop (both readers, validation, convert)
//	http_options.go  http_protocol versions, regex_options as Go regexp flags
//	ssl.go           the top-level SSL block: SSL_GET's client certificate, key, password and CA
//	fullnat.go       lb_kind FNAT, laddr_group_name and local_address_group (DPVS's FULLNAT keywords), both readers
//	validate_lvs.go  validation of the keepalived LVS keywords above, the same for both readers
//	validate.go      finalize: derived values and validation of global and the virtual servers
//	validate_vrrp.go validation of vrrp_script, vrrp_instance and vrrp_sync_group
//	route.go         routes and routing rules in keepalived's syntax (ParseRoute, ParseRule), for both readers
//	vrrp_net.go      VRRP's network edge (excluded addresses, routes, rules, VMAC, advert group and TTL, static ones):
//	                 model, defaults, validation
//	vrrp_net_decode.go  its HCL attributes, and their conversion back
//	keepalived_vrrp_net.go  its keepalived.conf keywords, with keepalived's warnings
//	tracking.go      track_file and vrrp_track_process blocks and the track_* entries naming them: model,
//	                 resolution by name (weight and direction inherited), validation
//	tracking_decode.go  their HCL spelling
//	keepalived_track.go  their keepalived.conf keywords, dont_track_primary and sync-group tracking
//	interface_delays.go  interface_up_down_delays: model, both readers, the cap below Master_Down_Interval, convert
//	keepalived_garp_group.go  keepalived.conf garp_group: read with keepalived's errors, said as a warning
//	keepalived_dynamic_interfaces.go  global_defs dynamic_interfaces: read, and what lvsd does instead said
//	global_scripts.go  global startup_script and shutdown_script with their timeouts and users: model, both readers,
//	                 validation, convert
//	notify_users.go  who runs each notify-type script (notify_*, quorum_up/down, notify_up/down, the
//	                 notify_fifo_scripts): keepalived's CMD [USER [GROUP]] words, HCL's KEYWORD_user,
//	                 convert; vrrp_script's script and misc_path read as keepalived (the first word)
//	track_file_init.go  track_file's init_file [VALUE] [overwrite]: model, rules, HCL attribute
//	keepalived_track_file_init.go  its keepalived.conf line, with keepalived's warnings
//	alert.go         notify FIFOs and e-mail alerts in the global block: model, validation
//	alert_decode.go  their HCL spelling, and VRRP start timing
//	keepalived_alert.go  their keepalived.conf global_defs keywords
//	keepalived_sync.go  keepalived.conf's lvs_sync_daemon
//	validate_sync.go connection sync resolved once the virtual servers know their instance
//	announce.go      the announce "bgp" block (docs/cluster.md): model, HCL reader, conversion, validation
//	address.go       addresses, services, VIPs, netmasks and status codes, parsed for both readers
//	unicast_peer.go  unicast_peer entries with keepalived's min_ttl/max_ttl, for both readers and convert
//	keepalived_unicast_peer.go  their keepalived.conf lines, with keepalived's warnings
//	convert.go       ConvertToHCL: a model written back as HCL (lvsd convert)
//	convert_track.go its tracking and alert settings
//	diagnostic.go    Diagnostic and Diagnostics: errors and warnings with their place
package hcl
