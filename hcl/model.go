package hcl

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Config is the validated, defaulted configuration of one director. It is
// produced by Load (HCL, HCL-JSON) or LoadKeepalived (keepalived.conf) and is
// never modified afterwards: every consumer treats it as read-only, and a
// reload builds a new one.
type Config struct {
	Global         Global
	Scripts        []VRRPScript    // vrrp_script "name" {}
	Instances      []VRRPInstance  // vrrp_instance "name" {}
	SyncGroups     []SyncGroup     // vrrp_sync_group "name" {}
	VirtualServers []VirtualServer // virtual_server "ADDR:PORT" / "fwmark N" {}; a "group NAME" one per member
	// VirtualServerGroups are the virtual_server_group blocks, as written
	// (their virtual servers are already expanded into VirtualServers).
	VirtualServerGroups []VirtualServerGroup
	// TrackFiles are the track_file blocks FILE_CHECKs and VRRP
	// instances read.
	TrackFiles []TrackFile
	// TrackProcesses are the vrrp_track_process blocks (tracking.go).
	TrackProcesses []TrackProcess
	// SSL is the top-level SSL block (ssl.go): the client certificate and
	// CA of every SSL_GET; nil without one.
	SSL *SSLClient
	// LocalAddressGroups are the local_address_group blocks FULLNAT
	// services take their source addresses from (fullnat.go).
	LocalAddressGroups []LocalAddressGroup
	// Announce is the announce "bgp" block (announce.go); nil without one.
	Announce *Announce
	// Static are the addresses, routes and rules lvsd installs at start
	// whatever the VRRP state (static_ipaddress, static_routes,
	// static_rules; vrrp_net.go).
	Static StaticNet

	// Files lists every file read to build this config, the main file first
	// and then includes in the order they were read.
	Files []string
}

// Pos is a place in a configuration file. Line and Column are 1-based; a
// zero Column means the reader only knows the line (keepalived.conf).
type Pos struct {
	File   string
	Line   int
	Column int
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return "<unknown>"
	case p.Column > 0:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	default:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
}

// LVSProgram says when virtual services are programmed into the kernel.
const (
	// LVSProgramMaster programs a virtual service only while the VRRP
	// instance that owns it is MASTER (lvsd's default).
	LVSProgramMaster = "master"
	// LVSProgramAlways programs every virtual service on both nodes, as
	// keepalived does; needed for connection sync.
	LVSProgramAlways = "always"
)

// Global holds the settings of the global block (keepalived's global_defs).
type Global struct {
	RouterID string // router_id, informational (default: hostname)
	// LVSProgram is LVSProgramMaster or LVSProgramAlways.
	LVSProgram string
	// EnableScriptSecurity refuses scripts writable by non-root users
	// (keepalived's enable_script_security).
	EnableScriptSecurity bool
	ScriptUser           string // script_user: user scripts run as (default root)
	ScriptGroup          string // script_user's optional group
	// NotifyTimeout bounds every notify script run (lvsd; keepalived has none).
	NotifyTimeout time.Duration
	// MetricsListen is the Prometheus listen address; empty means off.
	MetricsListen string
	// StatusPage serves the read-only status page at "/" on MetricsListen,
	// which is then a loopback address (defaultStatusListen when unset).
	StatusPage bool
	// ControlSocket is the unix socket `lvsd status` talks to.
	ControlSocket string
	// ReconcileInterval is how often the IPVS table is compared with the
	// desired state to undo outside edits.
	ReconcileInterval time.Duration
	// LVSSyncDaemon configures the kernel's IPVS connection sync daemons.
	LVSSyncDaemon LVSSyncDaemon
	// VRRPVersion is the VRRP version of instances that set none
	// (vrrp_version: 2, RFC 3768, or 3, RFC 5798; default 2 as keepalived).
	VRRPVersion int
	// LVSTimeouts, LVSFlush and LVSFlushOnStop: lvs_global.go.
	LVSTimeouts    LVSTimeouts
	LVSFlush       bool
	LVSFlushOnStop string
	// VRRPStartupDelay holds every VRRP instance in Initialize this long
	// after lvsd starts (vrrp_startup_delay; default 0).
	VRRPStartupDelay time.Duration
	// VRRPDownTimerAdverts is the down_timer_adverts of instances that
	// set none (vrrp_down_timer_adverts; default 3).
	VRRPDownTimerAdverts int
	// Alerts are the notify FIFOs and e-mail alerts (alert.go).
	Alerts Alerts
	// StartupScript runs before anything starts, ShutdownScript after
	// everything stopped (global_scripts.go).
	StartupScript, ShutdownScript StartStopScript
	// InterfaceDelays debounce the VRRP side's interface changes
	// (interface_up_down_delays, interface_delays.go).
	InterfaceDelays []InterfaceDelay
	Pos             Pos
	Positions       Positions
}

// LVSSyncDaemon configures the kernel's IPVS connection sync daemons
// (keepalived's lvs_sync_daemon): the director that is MASTER multicasts
// its connections, the BACKUP receives them, so a failover keeps the
// established connections. The director starts and switches the daemons
// by the mastership of Instance.
type LVSSyncDaemon struct {
	// Enabled says whether lvsd runs the daemons. HCL: on by default when
	// a vrrp_instance owns a virtual_server; off with `enabled = false`.
	// keepalived.conf: on when lvs_sync_daemon is there.
	Enabled   bool
	Interface string // multicast interface (default: Instance's interface)
	// Instance is the VRRP instance whose mastership switches the daemons
	// (BACKUP runs the backup daemon, MASTER the master daemon). Empty:
	// both daemons run all the time, as keepalived does without one.
	Instance  string
	SyncID    int        // 0..255, default: Instance's virtual_router_id
	MaxLen    int        // UDP payload size; 0 leaves it to the kernel (the MTU's)
	Port      int        // UDP port; 0 leaves it to the kernel (8848)
	TTL       int        // multicast TTL; 0 leaves it to the kernel (1)
	Group     netip.Addr // multicast group; invalid leaves it to the kernel (224.0.0.81, ff02::81)
	Pos       Pos
	Positions Positions
}

// VRRPScript is a tracked script (vrrp_script): run every Interval, its exit
// status moves the priority of the instances tracking it by Weight, or puts
// them in FAULT when Weight is 0 and the script fails.
type VRRPScript struct {
	Name     string
	Script   string        // command line, split on white space like keepalived
	Interval time.Duration // default 1s
	Timeout  time.Duration // default: Interval
	Weight   int           // -253..253, default 0 (failure means FAULT)
	Rise     int           // successes before OK, default 1
	Fall     int           // failures before KO, default 1
	User     string        // user to run as (default: global script_user)
	Group    string        // its group (default: User's primary group)
	// Reverse flips the sense of Weight (weight N reverse): the
	// priority moves when the script fails, or FAULT when it passes.
	Reverse bool
	// InitFail starts the script as failed rather than waiting for its
	// first result (keepalived's init_fail).
	InitFail  bool
	Pos       Pos
	Positions Positions
}

// VRRP instance states as written in the config (initial state).
const (
	StateMaster = "MASTER"
	StateBackup = "BACKUP"
)

// VRRPInstance is one virtual router on one interface: VRRPv2 (RFC 3768,
// IPv4) or VRRPv3 (RFC 5798, IPv4 or IPv6), one address family per
// instance as in keepalived.
type VRRPInstance struct {
	Name            string
	State           string // initial state: StateMaster or StateBackup (default BACKUP)
	Interface       string
	VirtualRouterID int // 1..255
	Priority        int // 1..255, default 100 (255 when state MASTER in keepalived.conf without priority)
	// Version is 2 (RFC 3768) or 3 (RFC 5798): the instance's version,
	// else global vrrp_version; an IPv6 instance is always 3.
	Version int
	// IPv6 is the instance's address family: its virtual_ipaddress,
	// unicast peers and unicast_src_ip (or native_ipv6 with none);
	// validation sets it.
	IPv6 bool
	// AdvertInt is whole seconds in VRRPv2 (1..255 s), centiseconds in
	// VRRPv3 (0.01..40.95 s); default 1s.
	AdvertInt  time.Duration
	AuthType   string // "" (none) or "PASS"; VRRPv2 only
	AuthPass   string // at most 8 characters (RFC 3768 §5.3.6.1)
	VirtualIPs []VIP
	// AdvertAddresses, read from keepalived.conf only, is virtual_ipaddress
	// as written, in order, an address listed twice included twice:
	// keepalived holds such an address once but counts and sends it in its
	// adverts each time it is listed, so lvsd does the same on the wire
	// (vrrp's advertAddresses). nil when no address is listed twice.
	AdvertAddresses []netip.Addr
	UnicastSrcIP    netip.Addr   // invalid when unset (primary address of Interface; IPv6: its link-local)
	UnicastPeers    []netip.Addr // empty means multicast to 224.0.0.18 (IPv6: ff02::12)
	// UnicastPeerTTLs are the TTL ranges of the peers written with
	// min_ttl/max_ttl (unicast_peer.go); an advert from such a peer
	// outside its range is dropped, as keepalived does.
	UnicastPeerTTLs []UnicastPeerTTL
	// VRRPv3 over IPv4 only, for peers that checksum differently
	// (keepalived): V3ChecksumAsV2 leaves the pseudo-header out of the
	// checksum; OldUnicastChecksum puts 224.0.0.18 in place of a unicast
	// destination in it.
	V3ChecksumAsV2     bool
	OldUnicastChecksum bool
	// Net is the instance's network edge beyond virtual_ipaddress:
	// excluded addresses, routes, rules, VMAC, advert destination and TTL
	// (vrrp_net.go).
	Net          InstanceNet
	NoPreempt    bool
	PreemptDelay time.Duration
	// Gratuitous ARP on becoming MASTER: GarpMasterRepeat messages at once
	// and again after GarpMasterDelay; every GarpMasterRefresh (if > 0)
	// GarpMasterRefreshRepeat more while MASTER.
	GarpMasterDelay         time.Duration // default 5s
	GarpMasterRepeat        int           // default 5
	GarpMasterRefresh       time.Duration // default 0 (off)
	GarpMasterRefreshRepeat int           // default 1
	TrackInterfaces         []TrackInterface
	TrackScripts            []TrackScript
	TrackFiles              []TrackedFile    // track_file references (tracking.go)
	TrackProcesses          []TrackedProcess // track_process references (tracking.go)
	// DontTrackPrimary keeps the instance out of FAULT when its own
	// interface goes down (dont_track_primary).
	DontTrackPrimary bool
	// DownTimerAdverts is the number of adverts in Master_Down_Interval
	// (down_timer_adverts, else global vrrp_down_timer_adverts; default
	// 3, RFC 3768 §6.1).
	DownTimerAdverts int
	// StartBackup keeps an address owner (priority 255) written with
	// state BACKUP in Backup at start, as keepalived does; only the
	// keepalived.conf reader sets it (HCL keeps RFC 3768 §6.4.1).
	StartBackup bool
	// NotifyDeleted says DELETED rather than FAULT to the notify scripts
	// and FIFOs of an instance a reload removes (notify_deleted).
	NotifyDeleted bool
	// SMTPAlert sends e-mail on this instance's transitions (smtp_alert,
	// else global smtp_alert_vrrp, smtp_alert; default off).
	SMTPAlert bool
	Notify    Notify
	Pos       Pos
	Positions Positions
}

// VIP is one entry of virtual_ipaddress, written in keepalived's syntax:
// "192.0.2.100/24 dev eth0 label eth0:1 scope global brd 192.0.2.255".
type VIP struct {
	Prefix    netip.Prefix // address with prefix length (default /32, /128)
	Dev       string       // default: the instance's interface
	Label     string
	Scope     string // "", "global", "link", "host", "site" or a number
	Broadcast netip.Addr
	Raw       string // as written
	Pos       Pos
}

// TrackInterface puts the instance in FAULT when the interface goes down
// (Weight 0), or moves its priority by Weight.
type TrackInterface struct {
	Name    string
	Weight  int
	Reverse bool // weight N reverse
}

// TrackScript references a vrrp_script. Weight is the one that applies:
// the track_script's own when WeightSet, else the vrrp_script's (resolved
// by validation).
type TrackScript struct {
	Name      string
	Weight    int
	WeightSet bool
	// Reverse is the entry's reverse or noreverse when ReverseSet, else
	// the vrrp_script's (resolved by validation, as keepalived does).
	Reverse    bool
	ReverseSet bool
}

// Notify holds the notify scripts of an instance or sync group. Each is a
// command line; keepalived's arguments are appended when run.
type Notify struct {
	Master string // notify_master
	Backup string // notify_backup
	Fault  string // notify_fault
	Stop   string // notify_stop
	Any    string // notify: called with TYPE NAME STATE PRIORITY
	// MasterRxLowerPri runs when a MASTER hears a lower-priority advert
	// (notify_master_rx_lower_pri; instances only).
	MasterRxLowerPri string
	// Users says who runs each (notify_users.go); empty: script_user.
	Users ScriptUsers
}

// SyncGroup makes its member instances change state together.
type SyncGroup struct {
	Name  string
	Group []string // instance names
	// Tracking every member adds to its own (keepalived's sync group
	// track_interface, track_script, track_file, track_process), weights
	// resolved like an instance's.
	TrackInterfaces []TrackInterface
	TrackScripts    []TrackScript
	TrackFiles      []TrackedFile
	TrackProcesses  []TrackedProcess
	// TrackingWeight lets weighted tracking move a member's priority
	// (sync_group_tracking_weight); keepalived.conf without it turns
	// weights of members into FAULT-only tracking.
	TrackingWeight bool
	// SMTPAlert sends e-mail on the group's transitions.
	SMTPAlert bool
	Notify    Notify
	Pos       Pos
	Positions Positions
}

// Protocols of a virtual service.
const (
	ProtoTCP  = "TCP"
	ProtoUDP  = "UDP"
	ProtoSCTP = "SCTP"
)

// Forwarding methods (lb_kind).
const (
	KindNAT = "NAT"
	KindDR  = "DR"
	KindTUN = "TUN"
)

// Schedulers returns every IPVS scheduler lvsd accepts for lb_algo.
func Schedulers() []string {
	return []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf"}
}

// VirtualServer is one IPVS virtual service and its real servers.
type VirtualServer struct {
	// Name is the block label as written ("192.0.2.100:80", "fwmark 1").
	Name string
	// Addr is the service address; invalid for fwmark services.
	Addr netip.AddrPort
	// FWMark is the firewall mark of a fwmark service, 0 otherwise.
	FWMark uint32
	// IPv6 tells the address family of a fwmark service (from its real
	// servers or ip_family); for address services it follows Addr.
	IPv6      bool
	Protocol  string        // ProtoTCP (default in HCL), ProtoUDP or ProtoSCTP
	DelayLoop time.Duration // default 60s; inherited by the checkers (Checker.DelayLoop is final)
	LBAlgo    string        // one of Schedulers, default "wlc"
	// SchedulerFlags are IPVS scheduler flags: "sh-fallback", "sh-port",
	// "mh-fallback", "mh-port" (keepalived's hashed/flag-1.. keywords).
	SchedulerFlags []string
	LBKind         string // KindNAT (default), KindDR or KindTUN
	OnePacket      bool   // ops: one-packet scheduling (UDP)
	// Tunnel is the encapsulation of lb_kind TUN (tunnel.go).
	Tunnel Tunnel
	// PersistenceEngine is the IPVS persistence engine ("" or "sip").
	PersistenceEngine string
	// LocalAddressGroup (laddr_group_name) names the local_address_group
	// of a FULLNAT service (lb_kind FNAT, fullnat.go); LocalAddresses are
	// its addresses, resolved by validation.
	LocalAddressGroup string
	LocalAddresses    []netip.Addr
	// PersistenceTimeout > 0 makes the service persistent.
	PersistenceTimeout time.Duration
	// PersistenceGranularity is the persistence netmask as a prefix length
	// (32/128 when unset).
	PersistenceGranularity int
	Quorum                 int // minimum live weight, default 1
	Hysteresis             int // default 0
	QuorumUp               string
	QuorumDown             string
	// QuorumUsers says who runs QuorumUp and QuorumDown, by keyword
	// (notify_users.go); empty: script_user.
	QuorumUsers ScriptUsers
	// Alpha is the alpha the service's checkers inherit unless their real
	// server or they set their own (Checker.Alpha is final; read that).
	Alpha bool
	// Omega runs notify_down scripts and clears the table on shutdown.
	Omega            bool
	InhibitOnFailure bool
	// Virtualhost is the Host header the service's HTTP_GET/SSL_GET checks
	// inherit (HTTPCheck.Virtualhost is final; read that).
	Virtualhost string
	SorryServer *SorryServer
	// Group is the virtual_server_group this service is a member of ("":
	// none). Every member carries the group's settings and real servers;
	// only the first member carries quorum_up/quorum_down and the real
	// servers' notify_up/notify_down, so that each runs once per group
	// (keepalived runs them once per virtual server). Members reach the
	// same verdicts (one shared check per real server) and so cross
	// quorum together.
	Group string
	// SMTPAlert sends e-mail when the service crosses quorum (smtp_alert,
	// else global smtp_alert_checker, smtp_alert; default off).
	SMTPAlert bool
	// VRRPInstance names the instance that owns this service: explicit
	// (vrrp_instance = "NAME") or the instance whose virtual_ipaddress holds
	// Addr. Empty only when lvs_program is "always".
	VRRPInstance string
	RealServers  []RealServer
	Pos          Pos
	Positions    Positions
}

// VirtualServerGroup is a virtual_server_group: the addresses (with
// ranges expanded) and firewall marks of the services that a
// `virtual_server group NAME` declares at once, all with the same
// settings and real servers (keepalived's virtual_server_group).
type VirtualServerGroup struct {
	Name string
	// Entries are the entries as written ("192.0.2.1-3 80", "fwmark 5").
	Entries []string
	// Members are the services, one per address of each range.
	Members []GroupMember
	Pos     Pos
}

// GroupMember is one service of a virtual_server_group.
type GroupMember struct {
	Addr   netip.AddrPort // invalid for a fwmark member; port 0 when none was written
	FWMark uint32
	// Family is "inet" or "inet6" when a fwmark entry names one, else "".
	Family string
	Pos    Pos
}

// Name is the member's label, as a virtual_server label is written.
func (m GroupMember) Name() string {
	if m.FWMark != 0 {
		return fmt.Sprintf("fwmark %d", m.FWMark)
	}
	return m.Addr.String()
}

// Key identifies a virtual service the way the kernel does.
func (vs *VirtualServer) Key() string {
	if vs.FWMark != 0 {
		fam := "inet"
		if vs.IPv6 {
			fam = "inet6"
		}
		return fmt.Sprintf("FWM:%d:%s", vs.FWMark, fam)
	}
	return fmt.Sprintf("%s:%s", vs.Protocol, vs.Addr)
}

// SorryServer replaces the real servers while the live weight is under quorum.
type SorryServer struct {
	Addr   netip.AddrPort
	LBKind string // sorry_server_lvs_method, default the service's LBKind
	Tunnel Tunnel // its encapsulation when LBKind is TUN
	// Inhibit keeps the sorry server in the table with weight 0 while
	// quorum holds (sorry_server_inhibit), instead of removing it.
	Inhibit bool
	Pos     Pos
}

// RealServer is one destination of a virtual service.
type RealServer struct {
	Addr             netip.AddrPort // port 0 is allowed for fwmark services
	Weight           int            // 0..65535, default 1
	InhibitOnFailure bool           // inherited from the virtual server when set there
	// LBKind and Tunnel are the real server's forwarding method
	// (lvs_method, keepalived's per real server), else the service's.
	LBKind     string
	Tunnel     Tunnel
	NotifyUp   string
	NotifyDown string
	// NotifyUsers says who runs NotifyUp and NotifyDown, by keyword
	// (notify_users.go); empty: script_user.
	NotifyUsers ScriptUsers
	UThreshold  uint32 // upper connection threshold, 0 = none
	LThreshold  uint32 // lower connection threshold, 0 = none
	// SMTPAlert sends e-mail when the real server goes up or down
	// (smtp_alert, else global smtp_alert_checker, smtp_alert; default
	// on, as keepalived's check_data.c).
	SMTPAlert bool
	Checkers  []Checker
	Pos       Pos
	Positions Positions
}

// Checker kinds, spelled as keepalived spells the blocks.
const (
	CheckTCP  = "TCP_CHECK"
	CheckHTTP = "HTTP_GET"
	CheckSSL  = "SSL_GET"
	CheckMisc = "MISC_CHECK"
	CheckUDP  = "UDP_CHECK"
	CheckDNS  = "DNS_CHECK"
	CheckPing = "PING_CHECK"
	CheckSMTP = "SMTP_CHECK"
	CheckFile = "FILE_CHECK"
)

// CheckerKinds returns every checker kind lvsd runs, as keepalived spells
// the blocks.
func CheckerKinds() []string {
	return []string{CheckTCP, CheckHTTP, CheckSSL, CheckMisc, CheckUDP, CheckDNS, CheckPing, CheckSMTP, CheckFile}
}

// DNSTypes returns the query types DNS_CHECK sends (keepalived 2.2.7's
// check_dns.c list).
func DNSTypes() []string {
	return []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"}
}

// Checker is one health check of a real server, final: every setting
// holds the value the check runs with. Connect settings default to the real
// server's address and port. DelayLoop, Warmup, Timeout, Retry, RetryDelay,
// Alpha and (HTTP_GET, SSL_GET) Virtualhost may be written in the checker,
// its real server or its virtual server; the nearest block that sets one
// wins, and consumers never look at the virtual server's value again.
//
// The settings only one kind has are in KindSettings, nil for TCP_CHECK
// and PING_CHECK: a big table's checkers are mostly TCP_CHECKs, and a
// record with every kind's settings was 584 bytes (640 on the heap) where
// a TCP_CHECK reads a dozen fields (docs/benchmarks.md, "Session 11, the
// model's checkers"). A copy of a Checker shares its KindSettings: a
// reader that copies a checker and changes the copy's kind settings gives
// it its own first (Checker.OwnSettings).
type Checker struct {
	Kind       string         // one of CheckerKinds
	Connect    netip.AddrPort // connect_ip/connect_port, defaulted to the real server
	BindTo     netip.Addr     // bindto, invalid when unset
	DelayLoop  time.Duration  // between rounds; inherited, default 60s
	Warmup     time.Duration  // first check at a random point in [0, Warmup); inherited, default DelayLoop
	Timeout    time.Duration  // connect_timeout: deadline for the whole check; inherited, default 5s
	RetryDelay time.Duration  // delay_before_retry; inherited, default 1s TCP/UDP/PING/SMTP, 3s HTTP/SSL (MISC: 3s HCL, 1s keepalived.conf), DNS its delay_loop
	// Retry is the retries before down (1+Retry failures); inherited,
	// default 1 (DNS 3; keepalived.conf MISC_CHECK 0). keepalived reads
	// it as an int (0..2147483647), hence 32 bits.
	Retry int32
	Rise  int32 // successes before up, default 1 (lvsd extension)
	// BindIf is the interface the probe's socket is bound to
	// (bind_if: SO_BINDTODEVICE), "" for none.
	BindIf   string
	FWMark   uint32 // fwmark set on the probe's socket, 0 when unset
	BindPort uint16 // bind_port, 0 when unset
	Alpha    bool   // starts down until the first success; inherited, default false
	// KindSettings is what only the checker's kind has: *HTTPCheck for
	// HTTP_GET and SSL_GET, *MiscCheck, *UDPCheck, *DNSCheck,
	// *SMTPCheck, *FileCheck; nil for TCP_CHECK and PING_CHECK. Read it
	// through HTTP, Misc, UDP, DNS, SMTP and File.
	KindSettings KindSettings
	Pos          Pos
	Positions    Positions
}

// KindSettings is the part of a Checker that only its kind has (one of
// the *…Check types of this package). One interface, 16 bytes, rather
// than a pointer field per kind: six pointers (48 bytes) would not leave
// a Checker in the 192-byte size class.
type KindSettings interface {
	// clone returns a copy that shares nothing with the receiver.
	clone() KindSettings
}

// HTTP returns the settings of an HTTP_GET or SSL_GET, nil for another kind.
func (c *Checker) HTTP() *HTTPCheck { s, _ := c.KindSettings.(*HTTPCheck); return s }

// Misc returns the settings of a MISC_CHECK, nil for another kind.
func (c *Checker) Misc() *MiscCheck { s, _ := c.KindSettings.(*MiscCheck); return s }

// UDP returns the settings of a UDP_CHECK, nil for another kind.
func (c *Checker) UDP() *UDPCheck { s, _ := c.KindSettings.(*UDPCheck); return s }

// DNS returns the settings of a DNS_CHECK, nil for another kind.
func (c *Checker) DNS() *DNSCheck { s, _ := c.KindSettings.(*DNSCheck); return s }

// SMTP returns the settings of an SMTP_CHECK, nil for another kind.
func (c *Checker) SMTP() *SMTPCheck { s, _ := c.KindSettings.(*SMTPCheck); return s }

// File returns the settings of a FILE_CHECK, nil for another kind.
func (c *Checker) File() *FileCheck { s, _ := c.KindSettings.(*FileCheck); return s }

// OwnSettings gives c a copy of its KindSettings that no other Checker
// shares (a copy of a Checker shares them), so that what is changed in
// them shows in c alone.
func (c *Checker) OwnSettings() {
	if c.KindSettings != nil {
		c.KindSettings = c.KindSettings.clone()
	}
}

// HTTPCheck is what HTTP_GET (check_http.c) and SSL_GET (check_ssl.c)
// check.
type HTTPCheck struct {
	URLs        []URL
	Virtualhost string // Host header; inherited
	HTTPVersion string // "1.0" (default), "1.0C" (1.0 with Connection: close) or "1.1"
	// FastRecovery is keepalived's fast_recovery: every url is checked in
	// one attempt, without delay_loop between them (lvsd always does).
	FastRecovery bool
	// TLS settings of SSL_GET.
	EnableSNI bool
	VerifyTLS bool   // verify the server's certificate (lvsd; keepalived does not)
	CAFile    string // trusted CAs when VerifyTLS
	// CertFile and KeyFile are the client certificate SSL_GET presents
	// (the SSL block's certificate and key, ssl.go),
	// KeyPassword decrypts a PEM-encrypted key; "" for none.
	CertFile    string
	KeyFile     string
	KeyPassword string
}

func (h *HTTPCheck) clone() KindSettings {
	c := *h
	if h.URLs != nil {
		c.URLs = make([]URL, len(h.URLs))
		for i, u := range h.URLs {
			u.StatusCodes = slices.Clone(u.StatusCodes)
			u.RegexOptions = slices.Clone(u.RegexOptions)
			u.Positions = u.Positions.Clone()
			c.URLs[i] = u
		}
	}
	return &c
}

// MiscCheck is what MISC_CHECK runs (check_misc.c).
type MiscCheck struct {
	Path    string        // misc_path: the command line
	Timeout time.Duration // misc_timeout, default the checker's delay_loop (keepalived.conf: the virtual server's)
	// Dynamic (misc_dynamic): exit status 0 up, 1 down, N ≥ 2 up with
	// weight N-2.
	Dynamic bool
	User    string // user (default: global script_user)
	Group   string // its group (default: User's primary group)
}

func (m *MiscCheck) clone() KindSettings { c := *m; return &c }

// UDPCheck is what UDP_CHECK sends and expects (check_udp.c): Payload is
// sent (nil: 32 random octets); with RequireReply a reply must come,
// MinReplyLength..MaxReplyLength octets long (default 0..255), matching
// Reply where ReplyMask has zero bits (keepalived's hex string, x
// wildcards a nibble). Without RequireReply only an ICMP error (port
// unreachable) fails the check.
type UDPCheck struct {
	Payload        []byte
	RequireReply   bool
	Reply          []byte
	ReplyMask      []byte // one octet per Reply octet; set bits are not compared
	MinReplyLength int
	MaxReplyLength int
}

func (u *UDPCheck) clone() KindSettings {
	c := *u
	c.Payload, c.Reply, c.ReplyMask = slices.Clone(u.Payload), slices.Clone(u.Reply), slices.Clone(u.ReplyMask)
	return &c
}

// DNSCheck is DNS_CHECK's query (check_dns.c): Type (default "SOA") for
// Name (default ".", the root); it passes when its answer has rcode 0.
type DNSCheck struct {
	Type string
	Name string
}

func (d *DNSCheck) clone() KindSettings { c := *d; return &c }

// SMTPCheck is what SMTP_CHECK says (check_smtp.c). A host block becomes
// a checker of its own (keepalived does the same).
type SMTPCheck struct {
	HeloName string // HELO's argument, default "smtpchecker.keepalived.org"
}

func (s *SMTPCheck) clone() KindSettings { c := *s; return &c }

// FileCheck is FILE_CHECK's file and weight (check_file.c): TrackFile
// names a track_file; Path is its file (resolved by validation). The
// number the file holds (0 when it is missing, empty or not a number)
// times Weight, negated when Reverse, is added to the real server's
// weight; with Weight 0 the check fails on any number but 0 (Reverse: on
// 0), else on a product of -254 or less.
type FileCheck struct {
	TrackFile string
	Path      string
	Weight    int
	Reverse   bool
}

func (f *FileCheck) clone() KindSettings { c := *f; return &c }

// TrackFile is a track_file block (keepalived's track_file.c): a file
// holding a number, and the weight and direction its trackers use unless
// they set their own.
type TrackFile struct {
	Name      string
	File      string
	Weight    int           // default 1
	Reverse   bool          // weight N reverse
	Init      TrackFileInit // init_file [VALUE] [overwrite] (track_file_init.go)
	Pos       Pos
	Positions Positions
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Low, High int }

// Contains reports whether code is in the range.
func (r StatusRange) Contains(code int) bool { return code >= r.Low && code <= r.High }

// URL is one url block of HTTP_GET/SSL_GET. A check passes when every URL
// passes: status in StatusCodes (default 200-299), body MD5 equal to Digest
// when set, Regex found in the body when set (absent when RegexNoMatch).
type URL struct {
	Path         string
	StatusCodes  []StatusRange
	Digest       string // lower-case hex MD5
	Regex        string
	RegexNoMatch bool
	// RegexOptions, RegexMinOffset, RegexMaxOffset: http_options.go.
	RegexOptions   []string
	RegexMinOffset int
	RegexMaxOffset int
	Virtualhost    string // per-URL Host header; default the checker's
	Pos            Pos
	Positions      Positions
}
