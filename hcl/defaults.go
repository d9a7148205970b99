package hcl

import "time"

// Every default of the model lives in this file; both readers (decode.go
// for HCL, keepalived*.go for keepalived.conf) take them from here, and no
// consumer (vrrp, lvs, checks, the director) defaults a value again: the
// Config that Load returns is final. keepalived's own defaults are cited
// beside each (keepalived.conf(5)); lvsd-only settings say so.
//
// Checker settings (connect_timeout, delay_loop, warmup, retry,
// delay_before_retry, alpha, virtualhost) may be written in a virtual
// server, a real server or a checker; the nearest block wins (inherit.go)
// and these defaults apply only where no block sets one.
const (
	defaultState            = StateBackup // RFC 3768 §6.4.1: start as Backup unless the address owner
	defaultAdvertInt        = time.Second // advert_int 1 (RFC 3768 §5.3.7, RFC 5798 §5.2.7: 100 cs)
	defaultVRRPVersion      = 2           // vrrp_version (keepalived's default; IPv6 instances are 3)
	defaultPriority         = 100         // RFC 3768 §5.3.4: backups default to 100
	defaultGarpMasterDelay  = 5 * time.Second
	defaultGarpMasterRepeat = 5
	defaultGarpRefreshCount = 1
	defaultScriptInterval   = time.Second // vrrp_script interval; timeout defaults to it
	defaultScriptRise       = 1           // vrrp_script rise
	defaultScriptFall       = 1           // vrrp_script fall
	defaultDownTimerAdverts = 3           // RFC 3768 §6.1: Master_Down_Interval is 3 × advert_int + Skew_Time
	maxDownTimerAdverts     = 100         // vrrp_parser.c: down_timer_adverts [1:100]
	defaultUnicastTTL       = 255         // the TTL of unicast adverts without unicast_ttl

	defaultProtocol       = ProtoTCP // HCL; keepalived.conf: kaDefaultProtocol
	defaultScheduler      = "wlc"    // IPVS_DEF_SCHED, ipvswrapper.h
	defaultKind           = KindNAT  // check_data.c: "setting default NAT"
	defaultDelayLoop      = 60 * time.Second
	defaultQuorum         = 1
	defaultWeight         = 1
	defaultPersistence    = 360 * time.Second // bare persistence_timeout
	defaultConnectTimeout = 5 * time.Second
	defaultRetry          = 1               // keepalived.conf MISC_CHECK: kaMiscRetry
	defaultTCPRetryDelay  = 1 * time.Second // keepalived.conf MISC_CHECK too
	defaultHTTPRetryDelay = 3 * time.Second // HTTP_GET, SSL_GET; HCL MISC_CHECK too
	defaultRise           = 1               // lvsd extension: successes before up
	defaultHTTPVersion    = "1.0"           // keepalived's HTTP_PROTOCOL_1_0
	defaultStatusLow      = 200             // HTTP_DEFAULT_STATUS_CODE_MIN
	defaultStatusHigh     = 299             // HTTP_DEFAULT_STATUS_CODE_MAX

	defaultNotifyTimeout     = 30 * time.Second      // lvsd: keepalived has no notify timeout
	DefaultControlSocket     = "/run/lvsd/lvsd.sock" // lvsd; exported for the client commands (lvsd status, lvsd drain)
	defaultStatusListen      = "127.0.0.1:9650"      // lvsd: metrics_listen when status_page is on and it is unset
	defaultReconcileInterval = 10 * time.Second      // lvsd
	defaultBGPHoldTime       = 90 * time.Second      // RFC 4271 section 10: suggested HoldTime; keepalive one third of it
	defaultDrainDelay        = 5 * time.Second       // lvsd drain_delay: a router takes a withdrawal into its forwarding table in well under a second (BIRD, FRR: docs/cluster.md); a margin for a busy one
	defaultStartStopTimeout  = 10 * time.Second      // startup_script_timeout, shutdown_script_timeout (global_parser.c)
)

// The e-mail defaults of global_defs (keepalived 2.2.7; alert.go).
const (
	defaultSMTPPort           = 25               // smtp_server without a port: smtp.h SMTP_PORT_STR
	defaultSMTPConnectTimeout = 30 * time.Second // smtp_connect_timeout: global_data.h DEFAULT_SMTP_CONNECTION_TIMEOUT
)

// The BFD timers' defaults (bfd_min_rx, bfd_min_tx, bfd_multiplier):
// FRR's, 300 ms × 3, so a dead director is detected in under a second;
// GoBGP's own (1 s × 3) would detect no sooner than a 3 s hold time.
const (
	defaultBFDInterval   = 300 * time.Millisecond
	defaultBFDMultiplier = 3
)

// The defaults of UDP_CHECK, DNS_CHECK and SMTP_CHECK (keepalived 2.2.7).
const (
	defaultDNSRetry        = 3                            // check_dns.h DNS_DEFAULT_RETRY
	defaultDNSType         = "SOA"                        // check_dns.h DNS_DEFAULT_TYPE
	defaultDNSName         = "."                          // check_dns.h DNS_DEFAULT_NAME "" (the root)
	defaultHeloName        = "smtpchecker.keepalived.org" // check_smtp.h SMTP_DEFAULT_HELO
	defaultMaxReplyLength  = 255                          // check_udp.c: max_reply_len = UINT8_MAX
	defaultTrackFileWeight = 1                            // track_file.c: weight 1
	// fileCheckInterval is how often lvsd reads a FILE_CHECK's file
	// (keepalived watches it with inotify); it fails nothing by itself.
	fileCheckInterval = time.Second
)

// vrrp_track_process's defaults (keepalived 2.2.7, vrrp_data.c).
const (
	defaultProcessQuorum    = 1
	defaultProcessQuorumMax = 65535 // quorum_max UINT_MAX, read up to 65535; also its bound
)

// keepalived.conf's own defaults where they differ from HCL's (keepalived
// 2.2.7), each applied with the warning keepalived itself logs.
const (
	kaDefaultProtocol = ProtoUDP // check_data.c: "no protocol set - defaulting to UDP"
	kaMiscRetry       = 0        // check_misc.c: default_retry = 0
	kaOwnerPriority   = 255      // vrrp.c: state MASTER without priority is the address owner
)

// Defaults that follow from other values, applied by the readers and by
// finalize:
//   - a vrrp_script's timeout is its interval; its user is script_user;
//   - a VIP's dev is its instance's interface;
//   - an instance's version is global vrrp_version, 3 when it is IPv6;
//   - a real server's port is its service's (none for fwmark services);
//   - a sorry server's lb_kind is its service's;
//   - persistence_granularity is the whole address (defaultGranularity);
//   - a checker connects to its real server's address and port; its
//     warmup is its delay_loop; misc_timeout is the delay_loop (keepalived:
//     the virtual server's); delay_before_retry depends on the kind
//     (defaultRetryDelay);
//   - a url's status_code is defaultStatusCodes; its virtualhost is its
//     checker's.

// defaultGlobal returns the global settings before the file is applied.
func defaultGlobal() Global {
	return Global{
		LVSProgram:           LVSProgramMaster,
		NotifyTimeout:        defaultNotifyTimeout,
		ControlSocket:        DefaultControlSocket,
		ReconcileInterval:    defaultReconcileInterval,
		VRRPVersion:          defaultVRRPVersion,
		VRRPDownTimerAdverts: defaultDownTimerAdverts,
		StartupScript:        StartStopScript{Timeout: defaultStartStopTimeout},
		ShutdownScript:       StartStopScript{Timeout: defaultStartStopTimeout},
		// lvsd: connection sync on for a pair that programs IPVS; finalize
		// picks the instance (syncDaemonDefaults) or turns it off.
		LVSSyncDaemon: LVSSyncDaemon{Enabled: true, SyncID: unsetSyncID},
	}
}

// unsetSyncID marks a sync id not written: finalize makes it the
// instance's virtual_router_id (keepalived: the syncid defaults to the
// instance's vrid), or 0 without an instance.
const unsetSyncID = -1

// hclCheckerDefaults are the per-kind checker defaults in HCL when no
// block sets them: delay_before_retry 1s for TCP_CHECK, UDP_CHECK,
// PING_CHECK and SMTP_CHECK (check_api.c), 3s for HTTP_GET, SSL_GET and
// MISC_CHECK; DNS_CHECK retries 3 times after its delay_loop (check_dns.c).
func hclCheckerDefaults(kind string) checkerDefaults {
	switch kind {
	case CheckTCP, CheckUDP, CheckPing, CheckSMTP:
		return checkerDefaults{retry: defaultRetry, retryDelay: defaultTCPRetryDelay}
	case CheckDNS:
		return checkerDefaults{retry: defaultDNSRetry, retryDelayIsLoop: true}
	}
	return checkerDefaults{retry: defaultRetry, retryDelay: defaultHTTPRetryDelay}
}

// kaCheckerDefaults are keepalived's per-kind checker defaults: retry 1
// and delay_before_retry 1s (check_api.c), 3s for HTTP_GET and SSL_GET
// (check_http.c), retry 0 for MISC_CHECK (check_misc.c), retry 3 and the
// delay_loop for DNS_CHECK (check_dns.c).
func kaCheckerDefaults(kind string) checkerDefaults {
	switch kind {
	case CheckHTTP, CheckSSL:
		return checkerDefaults{retry: defaultRetry, retryDelay: defaultHTTPRetryDelay}
	case CheckMisc:
		return checkerDefaults{retry: kaMiscRetry, retryDelay: defaultTCPRetryDelay}
	case CheckDNS:
		// check_dns.c: default_retry 3, default_delay_before_retry 0,
		// which check_data.c turns into the checker's delay_loop.
		return checkerDefaults{retry: defaultDNSRetry, retryDelayIsLoop: true}
	}
	return checkerDefaults{retry: defaultRetry, retryDelay: defaultTCPRetryDelay}
}

// defaultGranularity is the persistence granularity of a service that sets
// none: the whole address, as a prefix length.
func defaultGranularity(ipv6 bool) int {
	if ipv6 {
		return 128
	}
	return 32
}

// defaultStatusCodes are the status codes a url accepts when it names none.
func defaultStatusCodes() []StatusRange {
	return []StatusRange{{Low: defaultStatusLow, High: defaultStatusHigh}}
}

// defaultKindSettings returns the settings of a checker of kind that only
// its kind has, each at its default (keepalived 2.2.7: check_http.c
// HTTP_PROTOCOL_1_0, check_udp.c, check_dns.c, check_smtp.c); nil for
// a kind with none (TCP_CHECK, PING_CHECK) or an unknown one. The
// readers start every checker from it; MISC_CHECK's misc_timeout, which
// defaults to a delay_loop, is set by each reader once that is known.
func defaultKindSettings(kind string) KindSettings {
	switch kind {
	case CheckHTTP, CheckSSL:
		return &HTTPCheck{HTTPVersion: defaultHTTPVersion}
	case CheckMisc:
		return &MiscCheck{}
	case CheckUDP:
		return &UDPCheck{MaxReplyLength: defaultMaxReplyLength}
	case CheckDNS:
		return &DNSCheck{Type: defaultDNSType, Name: defaultDNSName}
	case CheckSMTP:
		return &SMTPCheck{HeloName: defaultHeloName}
	case CheckFile:
		return &FileCheck{}
	}
	return nil
}

// fileCheckSettings are a FILE_CHECK's schedule: read every
// fileCheckInterval from the start, a verdict on each reading (no retry,
// no alpha: keepalived knows the file's state at once), whatever its
// real and virtual servers set for other checkers.
func fileCheckSettings(c *Checker) {
	c.DelayLoop, c.Warmup, c.Timeout = fileCheckInterval, 0, fileCheckInterval
	c.Retry, c.RetryDelay, c.Rise, c.Alpha = 0, 0, 1, false
}

// fileWeightUnset marks a FILE_CHECK without its own weight: validation
// gives it its track_file's weight and direction (check_file.c).
const fileWeightUnset = -1 << 31
