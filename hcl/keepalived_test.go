package hcl

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const kaCorpus = "testdata/keepalived"

// kaLoad loads a file of the project's corpus with kaTestLoader.
func kaLoad(t *testing.T, name string) (*Config, Diagnostics) {
	t.Helper()
	l := kaTestLoader()
	return l.Load(filepath.Join(kaCorpus, name))
}

// kaTestLoader reads files from disk and sees every script as an
// executable file, except those whose name holds "missing", and no user
// keepalived_script: the same answers on every host.
func kaTestLoader() Loader {
	return Loader{
		Stat: func(name string) (fs.FileInfo, error) {
			if strings.Contains(name, "missing") {
				return nil, fs.ErrNotExist
			}
			return kaFakeExecutable{filepath.Base(name)}, nil
		},
		UserExists: func(string) bool { return false },
		Hostname:   func() (string, error) { return "node1.example.com", nil },
	}
}

// kaFakeExecutable is a root-owned executable file as Loader.Stat sees it.
type kaFakeExecutable struct{ name string }

func (f kaFakeExecutable) Name() string       { return f.name }
func (f kaFakeExecutable) Size() int64        { return 0 }
func (f kaFakeExecutable) Mode() fs.FileMode  { return 0o755 }
func (f kaFakeExecutable) ModTime() time.Time { return time.Time{} }
func (f kaFakeExecutable) IsDir() bool        { return false }
func (f kaFakeExecutable) Sys() any           { return nil }

// render gives the stable part of a diagnostic: place, severity, summary.
func render(d Diagnostic) string {
	return d.Pos.String() + ": " + d.Severity.String() + ": " + d.Summary
}

func TestKeepalivedCorpusDiagnostics(t *testing.T) {
	p := func(s string) string { return filepath.Join(kaCorpus, s) }
	tests := []struct {
		file  string
		loads bool
		want  []string
	}{
		{"full.conf", true, []string{
			p("full.conf:135: warning: nb_get_retry is deprecated - please use 'retry'"),
			p("full.conf:48: warning: (VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"),
		}},
		{"defaults.conf", true, []string{
			p("defaults.conf:32: warning: nb_get_retry is deprecated - please use 'retry'"),
			p("defaults.conf:25: warning: virtual server 192.0.2.100:80: no protocol set - defaulting to UDP"),
			p("defaults.conf:25: warning: virtual server 192.0.2.100:80: no scheduler set, setting default 'wlc'"),
			p("defaults.conf:25: warning: virtual server 192.0.2.100:80: no forwarding method set, setting default NAT"),
			p("defaults.conf:37: warning: virtual server 192.0.2.100:0: zero port only valid for persistent services - setting"),
			p("defaults.conf:52: warning: VS 192.0.2.100:0: real server 192.0.2.11:0 is duplicated - removing second rs"),
			p("defaults.conf:41: warning: quorum 10 for 192.0.2.100:0 exceeds total weight of real servers 2, reducing quorum to 2"),
			p("defaults.conf:42: warning: virtual server 192.0.2.100:0: hysteresis 20 >= quorum 2; setting hysteresis to 1"),
			p("defaults.conf:56: warning: virtual server 192.0.2.100:443 has no real servers - ignoring"),
			p("defaults.conf:21: warning: authentication specified but no password given - ignoring"),
			p("defaults.conf:11: warning: (VI_OWNER) No VIP specified; at least one is sensible"),
			p("defaults.conf:17: warning: (VI_BACKUP) No VIP specified; at least one is sensible"),
			p("defaults.conf:11: warning: no virtual_ipaddress"),
			p("defaults.conf:17: warning: no virtual_ipaddress"),
		}},
		{"unsupported.conf", false, []string{
			p("unsupported.conf:8: warning: keyword enable_snmp_vrrp is not supported by lvsd"),
			p("unsupported.conf:11: error: keyword net_namespace is not supported by lvsd"),
			p("unsupported.conf:23: warning: keyword debug is not supported by lvsd"),
			p("unsupported.conf:25: warning: Warning - cannot track route 10.0.0.0/8 with no interface specified, not tracking"),
			p("unsupported.conf:40: warning: keyword ha_suspend is not supported by lvsd"),
		}},
		// What keepalived 2.2.7 -t reports for the same file, line by line
		// (measured): lvsd runs past what keepalived runs past, and stops
		// where keepalived stops (a keyword without its value).
		{"errors.conf", false, []string{
			p("errors.conf:35: warning: Unexpected '{' - ignoring"),
			p(`errors.conf:4: warning: invalid virtual_router_id "300"`),
			p(`errors.conf:5: warning: invalid priority "high"`),
			p(`errors.conf:6: warning: invalid advert_int "-1"`),
			p("errors.conf:7: warning: (VI_1) unknown state 'LEADER', defaulting to BACKUP"),
			p("errors.conf:8: warning: Unknown keyword 'frobnicate'"),
			p("errors.conf:10: warning: VRRP parsed invalid IP not-an-address. skipping IP..."),
			p("errors.conf:14: error: Configuration line starting `vrrp_script` is missing a parameter after keyword `vrrp_script` at word position 2"),
			p("errors.conf:19: warning: Unknown protocol ICMP - ignoring"),
			p("errors.conf:20: warning: Invalid lvs_scheduler 'fastest' - ignoring"),
			p("errors.conf:21: error: keyword lb_kind DR options are not supported by lvsd"),
			p("errors.conf:26: warning: invalid digest 'xyz'"),
			p("errors.conf:27: warning: Invalid HTTP_GET status code '99'"),
			p("errors.conf:18: warning: virtual server 192.0.2.100:80: no protocol set - defaulting to UDP"),
			p("errors.conf:18: warning: virtual server 192.0.2.100:80: no scheduler set, setting default 'wlc'"),
			p("errors.conf:18: warning: virtual server 192.0.2.100:80: no forwarding method set, setting default NAT"),
			p("errors.conf:35: warning: Unknown keyword 'unknown_block'"),
			p("errors.conf:36: warning: Unknown keyword 'x'"),
			p("errors.conf:2: warning: (VI_1) the virtual router id must be set"),
		}},
		{"conditional.conf", true, []string{
			p("conditional.conf:1: warning: (VI_1) No VIP specified; at least one is sensible"),
			p("conditional.conf:1: warning: no virtual_ipaddress"),
		}},
		// keepalived -t exits 0 on a file that includes itself.
		{"cycle.conf", true, []string{
			p("cycle.conf:1: warning: include cycle, skipping it"),
		}},
		{"include.conf", true, []string{
			p("sub/nested.conf:2: warning: cannot read included file, skipping it"),
			p("include.conf:4: warning: Config files missing 'missing-*.conf'"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, diags := kaLoad(t, tt.file)
			if (cfg != nil) != tt.loads {
				t.Errorf("loaded = %v, want %v; diagnostics:\n%v", cfg != nil, tt.loads, diags)
			}
			var got []string
			for _, d := range diags {
				got = append(got, render(d))
				if d.Pos.File == "" || d.Pos.Line == 0 {
					t.Errorf("diagnostic without file and line: %s", d)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("diagnostics:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestKeepalivedReadsEveryKeyword(t *testing.T) {
	cfg, diags := kaLoad(t, "full.conf")
	if cfg == nil {
		t.Fatalf("full.conf: %v", diags)
	}
	g := cfg.Global
	vi1, vi2 := cfg.Instances[0], cfg.Instances[1]
	vs := cfg.VirtualServers[0]
	rs1, rs2 := vs.RealServers[0], vs.RealServers[1]
	http, ssl, tcp, misc := rs1.Checkers[0], rs2.Checkers[0], rs2.Checkers[1], rs2.Checkers[2]
	fw, v6 := cfg.VirtualServers[1], cfg.VirtualServers[2]
	checks := []struct {
		name      string
		got, want any
	}{
		{"lvs_program for keepalived.conf", g.LVSProgram, LVSProgramAlways},
		{"router_id", g.RouterID, "lvs-a"},
		{"enable_script_security", g.EnableScriptSecurity, true},
		{"script_user", g.ScriptUser + "/" + g.ScriptGroup, "keepalived_script/users"},
		{"control_socket default", g.ControlSocket, defaultGlobal().ControlSocket},
		{"script with $VAR in quotes", cfg.Scripts[0].Script, "/etc/keepalived/scripts/check nginx"},
		{"script interval", cfg.Scripts[0].Interval, 2 * time.Second},
		{"script timeout", cfg.Scripts[0].Timeout, 5 * time.Second},
		{"script weight/rise/fall", [3]int{cfg.Scripts[0].Weight, cfg.Scripts[0].Rise, cfg.Scripts[0].Fall}, [3]int{-20, 2, 3}},
		{"script user", cfg.Scripts[0].User, "nobody"},
		{"script brace on next line, $VAR", cfg.Scripts[1].Script, "/etc/keepalived/scripts/plain"},
		{"script timeout defaults to interval", cfg.Scripts[1].Timeout, time.Second},
		{"state", vi1.State, StateMaster},
		{"interface", vi1.Interface, "eth0"},
		{"virtual_router_id", vi1.VirtualRouterID, 51},
		{"priority", vi1.Priority, 150},
		{"advert_int", vi1.AdvertInt, time.Second},
		{"auth", vi1.AuthType + "/" + vi1.AuthPass, "PASS/s3cret"},
		{"vip prefix", vi1.VirtualIPs[0].Prefix, netip.MustParsePrefix("192.0.2.100/24")},
		{"vip dev/label/scope", vi1.VirtualIPs[0].Dev + "/" + vi1.VirtualIPs[0].Label + "/" + vi1.VirtualIPs[0].Scope, "eth0/eth0:1/global"},
		{"vip brd", vi1.VirtualIPs[0].Broadcast, netip.MustParseAddr("192.0.2.255")},
		{"bare vip is /32", vi1.VirtualIPs[1].Prefix, netip.MustParsePrefix("192.0.2.101/32")},
		{"vip line", vi1.VirtualIPs[1].Pos.Line, 42},
		{"unicast_src_ip", vi1.UnicastSrcIP, netip.MustParseAddr("192.0.2.1")},
		{"unicast_peer", vi1.UnicastPeers, []netip.Addr{netip.MustParseAddr("192.0.2.2")}},
		{"nopreempt with state MASTER is cleared, as keepalived does", vi1.NoPreempt, false},
		{"preempt_delay decimal", vi1.PreemptDelay, 500 * time.Millisecond},
		{"garp_master_delay", vi1.GarpMasterDelay, time.Second},
		{"garp_master_repeat", vi1.GarpMasterRepeat, 4},
		{"garp_master_refresh", vi1.GarpMasterRefresh, 30 * time.Second},
		{"garp_master_refresh_repeat", vi1.GarpMasterRefreshRepeat, 1},
		{"track_interface", vi1.TrackInterfaces, []TrackInterface{{Name: "eth1"}, {Name: "eth2", Weight: -10}}},
		{"track_script", vi1.TrackScripts, []TrackScript{{Name: "chk_nginx", Weight: -20}, {Name: "chk_plain", Weight: 5, WeightSet: true}}},
		{"notify", vi1.Notify, Notify{Master: "/usr/local/bin/notify master", Backup: "/usr/local/bin/notify backup",
			Fault: "/usr/local/bin/notify fault", Stop: "/usr/local/bin/notify stop", Any: "/usr/local/bin/notify"}},
		{"priority position", vi1.Positions.Where("priority", Pos{}).Line, 34},
		{"global garp defaults reach instances", [4]any{vi2.GarpMasterDelay, vi2.GarpMasterRepeat, vi2.GarpMasterRefresh, vi2.GarpMasterRefreshRepeat},
			[4]any{2 * time.Second, 3, 60 * time.Second, 2}},
		{"priority 255 without state is MASTER", vi2.State, StateMaster},
		{"one-line value block", vi2.VirtualIPs[0].Prefix, netip.MustParsePrefix("198.51.100.1/24")},
		{"sync group", cfg.SyncGroups[0].Group, []string{"VI_1", "VI_2"}},
		{"sync group notify", cfg.SyncGroups[0].Notify.Any, "/usr/local/bin/group"},
		{"vs name", vs.Name, "192.0.2.100:80"},
		{"vs protocol/algo/kind", vs.Protocol + "/" + vs.LBAlgo + "/" + vs.LBKind, "TCP/sh/DR"},
		{"scheduler flags", vs.SchedulerFlags, []string{"sh-port", "sh-fallback"}},
		{"delay_loop", vs.DelayLoop, 10 * time.Second},
		{"persistence", vs.PersistenceTimeout, 600 * time.Second},
		{"granularity netmask", vs.PersistenceGranularity, 24},
		{"quorum/hysteresis", [2]int{vs.Quorum, vs.Hysteresis}, [2]int{2, 1}},
		{"quorum_up quoted", vs.QuorumUp, "/usr/local/bin/quorum up"},
		{"quorum_down words", vs.QuorumDown, "/usr/local/bin/quorum down"},
		{"alpha/omega/inhibit", [3]bool{vs.Alpha, vs.Omega, vs.InhibitOnFailure}, [3]bool{true, true, true}},
		{"virtualhost", vs.Virtualhost, "www.example.com"},
		{"sorry server", *vs.SorryServer, SorryServer{Addr: netip.MustParseAddrPort("192.0.2.200:80"), LBKind: KindNAT, Pos: vs.SorryServer.Pos}},
		{"rs weight", rs1.Weight, 3},
		{"rs inhibit false overrides vs", rs1.InhibitOnFailure, false},
		{"rs inherits inhibit", rs2.InhibitOnFailure, true},
		{"rs weight 0", rs2.Weight, 0},
		{"rs notify", rs1.NotifyUp + "|" + rs1.NotifyDown, "/usr/local/bin/rs up|/usr/local/bin/rs down"},
		{"thresholds", [2]uint32{rs1.UThreshold, rs1.LThreshold}, [2]uint32{1000, 100}},
		{"http connect", http.Connect, netip.MustParseAddrPort("192.0.2.21:8080")},
		{"http bind", netip.AddrPortFrom(http.BindTo, http.BindPort), netip.MustParseAddrPort("192.0.2.1:40000")},
		{"http fwmark", http.FWMark, uint32(7)},
		{"http connect_timeout decimal", http.Timeout, 1500 * time.Millisecond},
		{"nb_get_retry is retry", http.Retry, int32(4)},
		{"delay_before_retry decimal", http.RetryDelay, 250 * time.Millisecond},
		{"warmup", http.Warmup, time.Second},
		{"checker delay_loop", http.DelayLoop, 3 * time.Second},
		{"checker virtualhost", http.HTTP().Virtualhost, "check.example.com"},
		{"http_protocol", http.HTTP().HTTPVersion, "1.1"},
		{"alpha from vs", http.Alpha, true},
		{"url", http.HTTP().URLs[0].Path + " " + http.HTTP().URLs[0].Digest + " " + http.HTTP().URLs[0].Virtualhost + " " + http.HTTP().URLs[0].Regex,
			"/health 9b3a0c85a887a256d6939da88aabd8cd health.example.com ok|ready"},
		{"status codes", http.HTTP().URLs[0].StatusCodes, []StatusRange{{200, 200}, {301, 302}}},
		{"regex_no_match", http.HTTP().URLs[0].RegexNoMatch, true},
		{"default status 200-299", ssl.HTTP().URLs[0].StatusCodes, []StatusRange{{200, 299}}},
		{"enable_sni", ssl.HTTP().EnableSNI, true},
		{"rs virtualhost reaches SSL_GET", ssl.HTTP().Virtualhost, "rs.example.com"},
		{"alpha inherited by every checker", ssl.Alpha, true},
		{"vs connect_timeout inherited", ssl.Timeout, 4 * time.Second},
		{"vs retry inherited", ssl.Retry, int32(2)},
		{"vs delay_before_retry inherited", ssl.RetryDelay, 2 * time.Second},
		{"vs warmup inherited", ssl.Warmup, 5 * time.Second},
		{"vs delay_loop inherited", ssl.DelayLoop, 10 * time.Second},
		{"checker connect_timeout", tcp.Timeout, 2 * time.Second},
		{"connect defaults to real server", tcp.Connect, netip.MustParseAddrPort("192.0.2.12:80")},
		{"misc", misc.Misc().Path + "|" + misc.Misc().User + " " + misc.Misc().Group, "/usr/local/bin/check 192.0.2.12|nobody nogroup"},
		{"misc_timeout", misc.Misc().Timeout, 7 * time.Second},
		{"misc_dynamic", misc.Misc().Dynamic, true},
		{"fwmark", fw.FWMark, uint32(5)},
		{"fwmark name", fw.Name, "fwmark 5"},
		{"bare persistence_timeout is 360s", fw.PersistenceTimeout, 360 * time.Second},
		{"NAT fwmark keeps rs port", fw.RealServers[0].Addr, netip.MustParseAddrPort("192.0.2.31:443")},
		{"ipv6 service", v6.Addr, netip.MustParseAddrPort("[2001:db8::100]:53")},
		{"ops", v6.OnePacket, true},
		{"lvs_sched/lvs_method aliases", v6.LBAlgo + "/" + v6.LBKind, "wrr/TUN"},
		{"ipv6 granularity", v6.PersistenceGranularity, 64},
		{"granularity makes persistent", v6.PersistenceTimeout, 360 * time.Second},
		{"misc retry default 0", v6.RealServers[0].Checkers[0].Retry, int32(0)},
		{"misc delay_before_retry default 1s", v6.RealServers[0].Checkers[0].RetryDelay, time.Second},
		{"misc_timeout defaults to delay_loop", v6.RealServers[0].Checkers[0].Misc().Timeout, 60 * time.Second},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestKeepalivedAppliesItsDefaults(t *testing.T) {
	cfg, diags := kaLoad(t, "defaults.conf")
	if cfg == nil {
		t.Fatalf("defaults.conf: %v", diags)
	}
	master, owner, backup := cfg.Instances[0], cfg.Instances[1], cfg.Instances[2]
	vs, dr := cfg.VirtualServers[0], cfg.VirtualServers[1]
	http := vs.RealServers[0].Checkers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"state MASTER without priority is 255", master.Priority, 255},
		{"priority 255 without state is MASTER", owner.State, StateMaster},
		{"no state, no priority: BACKUP 100", backup.State + " " + string(rune('0'+backup.Priority/100)), "BACKUP 1"},
		{"auth without password dropped", backup.AuthType, ""},
		{"advert_int 1s", backup.AdvertInt, time.Second},
		{"garp defaults", [4]any{backup.GarpMasterDelay, backup.GarpMasterRepeat, backup.GarpMasterRefresh, backup.GarpMasterRefreshRepeat},
			[4]any{5 * time.Second, 5, time.Duration(0), 1}},
		{"missing protocol is UDP", vs.Protocol, ProtoUDP},
		{"missing lb_algo is wlc", vs.LBAlgo, "wlc"},
		{"missing lb_kind is NAT", vs.LBKind, KindNAT},
		{"bare persistence_timeout is 360s", vs.PersistenceTimeout, 360 * time.Second},
		{"delay_loop 60s", vs.DelayLoop, 60 * time.Second},
		{"quorum 1", vs.Quorum, 1},
		{"NAT keeps the real server's port", vs.RealServers[0].Addr.Port(), uint16(8080)},
		{"weight 1", vs.RealServers[0].Weight, 1},
		{"nb_get_retry", http.Retry, int32(5)},
		{"HTTP delay_before_retry 3s", http.RetryDelay, 3 * time.Second},
		{"connect_timeout 5s", http.Timeout, 5 * time.Second},
		{"warmup is delay_loop", http.Warmup, 60 * time.Second},
		{"zero port becomes persistent", dr.PersistenceTimeout, 360 * time.Second},
		{"duplicate real server removed", len(dr.RealServers), 1},
		{"quorum reduced to total weight", dr.Quorum, 2},
		{"hysteresis below quorum", dr.Hysteresis, 1},
		{"TCP retry 1", dr.RealServers[0].Checkers[0].Retry, int32(1)},
		{"TCP delay_before_retry 1s", dr.RealServers[0].Checkers[0].RetryDelay, time.Second},
		{"MISC retry 0", dr.RealServers[0].Checkers[1].Retry, int32(0)},
		{"service without real servers dropped", len(cfg.VirtualServers), 2},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestKeepalivedAlphaIsInheritedNearestFirst(t *testing.T) {
	src := `virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    alpha
    real_server 192.0.2.11 80 {
        alpha false
        TCP_CHECK {
        }
        TCP_CHECK {
            alpha
        }
    }
}
`
	l := kaTestLoader()
	cfg, diags := l.parseKeepalived("k.conf", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	vs := cfg.VirtualServers[0]
	got := []bool{vs.Alpha, vs.RealServers[0].Checkers[0].Alpha, vs.RealServers[0].Checkers[1].Alpha}
	if !slices.Equal(got, []bool{true, false, true}) {
		t.Errorf("alpha (service, checker under rs alpha false, checker alpha) = %v, want [true false true]", got)
	}
}

func TestKeepalivedIncludesRelativeToIncludingFile(t *testing.T) {
	cfg, diags := kaLoad(t, "include.conf")
	if cfg == nil {
		t.Fatalf("include.conf: %v", diags)
	}
	want := []string{"include.conf", "conf.d/10-vrrp.conf", "conf.d/20-lvs.conf", "sub/nested.conf", "sub/leaf.conf"}
	for i := range want {
		want[i] = filepath.Join(kaCorpus, want[i])
	}
	if !slices.Equal(cfg.Files, want) {
		t.Errorf("Files = %v, want %v", cfg.Files, want)
	}
	if len(cfg.Instances) != 1 || len(cfg.VirtualServers) != 1 || len(cfg.Scripts) != 1 {
		t.Errorf("got %d instances, %d services, %d scripts; want 1 each", len(cfg.Instances), len(cfg.VirtualServers), len(cfg.Scripts))
	}
	if got := cfg.VirtualServers[0].Pos; got.File != want[2] || got.Line != 1 {
		t.Errorf("virtual_server position = %v, want %s:1", got, want[2])
	}
}

func TestKeepalivedSkipsAMissingIncludeAsKeepalivedDoes(t *testing.T) {
	l := Loader{
		ReadFile: func(name string) ([]byte, error) { return nil, fs.ErrNotExist },
		Glob:     func(string) ([]string, error) { return nil, nil },
	}
	// keepalived logs "Config files missing" and -t still exits 0: a
	// plain warning, not a Lenient one, so --strict loads it too.
	for _, strict := range []bool{false, true} {
		l.Strict = strict
		_, diags := l.LoadSource("/etc/keepalived/keepalived.conf", []byte("include other.conf\n"))
		if len(diags) != 1 || render(diags[0]) != "/etc/keepalived/keepalived.conf:1: warning: Config files missing 'other.conf'" || diags[0].Lenient {
			t.Errorf("strict %v: got %v", strict, diags)
		}
	}
}

func TestKeepalivedLexicalRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // router_id
	}{
		{"bang comment", "global_defs {\n router_id a ! comment\n}\n", "a"},
		{"hash comment", "global_defs {\n router_id a # comment\n}\n", "a"},
		{"escaped hash", "global_defs {\n router_id a\\#b\n}\n", "a#b"},
		{"quoted hash", "global_defs {\n router_id \"a#b\"\n}\n", "a#b"},
		{"brace on next line", "global_defs\n{\n router_id a\n}\n", "a"},
		{"continuation", "global_defs {\n router_id \\\n a\n}\n", "a"},
		{"CRLF", "global_defs {\r\n router_id a\r\n}\r\n", "a"},
		{"definition", "$ID=lb1\nglobal_defs {\n router_id ${ID}\n}\n", "lb1"},
		{"unknown parameter left alone", "global_defs {\n router_id $NOPE\n}\n", "$NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := kaTestLoader()
			cfg, diags := l.parseKeepalived("k.conf", []byte(tt.src))
			if diags.HasErrors() {
				t.Fatalf("%v", diags)
			}
			if cfg.Global.RouterID != tt.want {
				t.Errorf("router_id = %q, want %q", cfg.Global.RouterID, tt.want)
			}
		})
	}
}

// kaSamples is the public keepalived corpus shared by the team (not copied
// into the project).
func kaSamples(t *testing.T) []string {
	dir := filepath.Join("..", "..", "shared", "compat", "keepalived-samples")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("public keepalived samples not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func TestKeepalivedPublicSamplesLoadOrNameTheProblem(t *testing.T) {
	for _, path := range kaSamples(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var l Loader
			cfg, diags := l.Load(path)
			src, _ := os.ReadFile(path)
			lines := strings.Split(string(src), "\n")
			for _, d := range diags {
				if d.Pos.File != path || d.Pos.Line < 1 || d.Pos.Line > len(lines) {
					t.Errorf("diagnostic without its file and line: %s", d)
					continue
				}
				if d.Severity != Error {
					continue
				}
				// The summary names a word of the line it points at.
				words := strings.FieldsFunc(lines[d.Pos.Line-1], func(r rune) bool { return strings.ContainsRune(" \t{}\"", r) })
				if !slices.ContainsFunc(words, func(w string) bool { return strings.Contains(d.String(), w) }) {
					t.Errorf("%s does not name anything on line %q", d, lines[d.Pos.Line-1])
				}
			}
			if cfg == nil && !diags.HasErrors() {
				t.Errorf("refused without an error")
			}
		})
	}
}

func TestConvertToHCLRoundTrips(t *testing.T) {
	paths := []string{
		filepath.Join(kaCorpus, "full.conf"),
		filepath.Join(kaCorpus, "defaults.conf"),
		filepath.Join(kaCorpus, "include.conf"),
	}
	paths = append(paths, kaSamples(t)...)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var l Loader
			cfg, _ := l.Load(path)
			if cfg == nil {
				return // refused; covered by the tests above
			}
			assertConvertsBack(t, &l, cfg)
		})
	}
}
