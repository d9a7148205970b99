package hcl

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	ldCorpus      = "testdata/ldirectord"
	ipvsadmCorpus = "testdata/ipvsadm"
)

// loadText loads src as the file name (whose name picks the reader).
func loadText(t *testing.T, name, src string) (*Config, Diagnostics) {
	t.Helper()
	l := Loader{ReadFile: func(string) ([]byte, error) { return nil, errors.New("no file") }}
	return l.LoadSource(name, []byte(src))
}

// mustLoadText loads src and fails on an error.
func mustLoadText(t *testing.T, name, src string) *Config {
	t.Helper()
	cfg, diags := loadText(t, name, src)
	if cfg == nil {
		t.Fatalf("does not load:\n%v\n%s", diags, src)
	}
	return cfg
}

// TestLdirectordLVSMaterialExample reads the ldirectord.cf of the LVS
// material: one DR web service negotiated over HTTP, the director itself
// as the fallback.
func TestLdirectordLVSMaterialExample(t *testing.T) {
	var l Loader
	cfg, diags := l.Load(filepath.Join(ldCorpus, "lvs-howto.cf"))
	if cfg == nil {
		t.Fatal(diags)
	}
	if cfg.Global.LVSProgram != LVSProgramAlways || cfg.Global.LVSSyncDaemon.Enabled || len(cfg.Instances) != 0 {
		t.Errorf("global %+v: want lvs_program always, no sync daemon, no VRRP", cfg.Global)
	}
	if len(cfg.VirtualServers) != 1 {
		t.Fatalf("%d virtual servers", len(cfg.VirtualServers))
	}
	vs := cfg.VirtualServers[0]
	if vs.Addr != netip.MustParseAddrPort("192.168.1.110:80") || vs.Protocol != ProtoTCP || vs.LBAlgo != "rr" || vs.LBKind != KindDR ||
		vs.InhibitOnFailure || !vs.Omega || vs.Quorum != 1 {
		t.Errorf("virtual server %+v", vs)
	}
	if ss := vs.SorryServer; ss == nil || ss.Addr != netip.MustParseAddrPort("127.0.0.1:80") || ss.LBKind != KindDR {
		t.Errorf("fallback %+v", vs.SorryServer)
	}
	if len(vs.RealServers) != 2 {
		t.Fatalf("real servers %+v", vs.RealServers)
	}
	for _, rs := range vs.RealServers {
		if len(rs.Checkers) != 1 {
			t.Fatalf("%s: checkers %+v", rs.Addr, rs.Checkers)
		}
		c := rs.Checkers[0]
		if c.Kind != CheckHTTP || c.Connect != rs.Addr || c.DelayLoop != time.Second || c.Timeout != 3*time.Second ||
			c.Retry != 0 || !c.Alpha || c.Warmup != 0 || len(c.HTTP().URLs) != 1 || c.HTTP().URLs[0].Path != "/index.html" || c.HTTP().URLs[0].Regex != "Test Page" {
			t.Errorf("%s: checker %+v", rs.Addr, c)
		}
	}
}

// TestLdirectordKeywords reads each keyword with ldirectord's meaning.
func TestLdirectordKeywords(t *testing.T) {
	one := func(cfg *Config) *VirtualServer { return &cfg.VirtualServers[0] }
	check := func(cfg *Config) *Checker { return &cfg.VirtualServers[0].RealServers[0].Checkers[0] }
	tests := []struct {
		name string
		src  string
		ok   func(cfg *Config) bool
	}{
		{"defaults: wrr, negotiate http on port 80, 30s negotiatetimeout, 10s interval, quiescent no, cleanstop yes",
			"virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n",
			func(c *Config) bool {
				vs := one(c)
				ck := check(c)
				return vs.LBAlgo == "wrr" && ck.Kind == CheckHTTP && ck.Timeout == 30*time.Second && ck.DelayLoop == 10*time.Second &&
					!vs.InhibitOnFailure && vs.Omega && ck.HTTP().URLs[0].Path == "/" && ck.HTTP().URLs[0].Regex == ""
			}},
		{"port 53 is UDP and checked as dns", "virtual=192.0.2.1:53\n\treal=10.0.0.1:53 gate\n\trequest=\"example.com\"\n",
			func(c *Config) bool {
				return one(c).Protocol == ProtoUDP && check(c).Kind == CheckDNS && check(c).DNS().Name == "example.com"
			}},
		{"an unknown port is service none: no checker", "virtual=192.0.2.1:8000\n\treal=10.0.0.1:8000 gate\n",
			func(c *Config) bool { return len(one(c).RealServers[0].Checkers) == 0 }},
		{"checktimeout is negotiatetimeout's default", "checktimeout=7\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n",
			func(c *Config) bool { return check(c).Timeout == 7*time.Second }},
		{"a virtual's negotiatetimeout wins over the global", "negotiatetimeout=9\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tnegotiatetimeout=4\n",
			func(c *Config) bool { return check(c).Timeout == 4*time.Second }},
		{"connect uses checktimeout (default 5s)", "negotiatetimeout=9\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=connect\n\tchecktimeout=2\n",
			func(c *Config) bool { return check(c).Kind == CheckTCP && check(c).Timeout == 2*time.Second }},
		{"connect of a UDP service pings", "virtual=192.0.2.1:5000\n\treal=10.0.0.1:5000 gate\n\tprotocol=udp\n\tchecktype=connect\n",
			func(c *Config) bool { return check(c).Kind == CheckPing }},
		{"failurecount N is N failures in a row, one checkinterval apart", "checkinterval=3\nfailurecount=4\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n",
			func(c *Config) bool {
				return check(c).Retry == 3 && check(c).RetryDelay == 3*time.Second && check(c).DelayLoop == 3*time.Second
			}},
		{"checkinterval in a virtual counts with fork=yes", "fork=yes\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tcheckinterval=2\n",
			func(c *Config) bool { return check(c).DelayLoop == 2*time.Second }},
		{"checkinterval in a virtual is ignored with fork=no", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tcheckinterval=2\n",
			func(c *Config) bool { return check(c).DelayLoop == 10*time.Second }},
		{"quiescent=yes is inhibit_on_failure", "quiescent=yes\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n",
			func(c *Config) bool { return one(c).InhibitOnFailure && one(c).RealServers[0].InhibitOnFailure }},
		{"a virtual's quiescent wins", "quiescent=yes\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tquiescent=no\n",
			func(c *Config) bool { return !one(c).InhibitOnFailure }},
		{"cleanstop=no keeps the table on exit", "cleanstop=no\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n",
			func(c *Config) bool { return !one(c).Omega }},
		{"a global fallback takes the virtual's port", "fallback=127.0.0.1 masq\nvirtual=192.0.2.1:8080\n\treal=10.0.0.1:8080 masq\n",
			func(c *Config) bool {
				return one(c).SorryServer.Addr == netip.MustParseAddrPort("127.0.0.1:8080") && one(c).SorryServer.LBKind == KindNAT
			}},
		{"a fallback's method defaults to gate", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq\n\tfallback=10.0.0.9:80\n",
			func(c *Config) bool { return one(c).SorryServer.LBKind == KindDR }},
		{"fallbackcommand is quorum_down start / quorum_up stop", "fallbackcommand=\"/bin/fb\"\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n",
			func(c *Config) bool {
				return one(c).QuorumDown == "/bin/fb start 192.0.2.1:80 tcp" && one(c).QuorumUp == "/bin/fb stop 192.0.2.1:80 tcp"
			}},
		{"real: weight, request/receive of its own, thresholds", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq 7 \"ping\", \"pong\" l:5 u:50\n\trequest=\"/x\"\n",
			func(c *Config) bool {
				rs := one(c).RealServers[0]
				return rs.Weight == 7 && rs.LThreshold == 5 && rs.UThreshold == 50 && rs.Checkers[0].HTTP().URLs[0].Path == "/ping" && rs.Checkers[0].HTTP().URLs[0].Regex == "pong"
			}},
		{"real: a request starting with / loses its pair, as in ldirectord", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 masq 7 \"/ping\", \"pong\"\n\trequest=\"/x\"\n\treceive=\"y\"\n",
			func(c *Config) bool {
				u := one(c).RealServers[0].Checkers[0].HTTP().URLs[0]
				return u.Path == "/x" && u.Regex == "y"
			}},
		{"real: a range is one real server per address", "virtual=192.0.2.1:80\n\treal=10.0.0.1->10.0.0.4:80 gate\n",
			func(c *Config) bool {
				return len(one(c).RealServers) == 4 && one(c).RealServers[3].Addr == netip.MustParseAddrPort("10.0.0.4:80")
			}},
		{"real: gate takes the service's port, checks keep the written one", "virtual=192.0.2.1:80\n\treal=10.0.0.1:8080 gate\n",
			func(c *Config) bool {
				return one(c).RealServers[0].Addr.Port() == 80 && check(c).Connect.Port() == 8080
			}},
		{"real: masq maps ports", "virtual=192.0.2.1:80\n\treal=10.0.0.1:8080 masq\n",
			func(c *Config) bool { return one(c).RealServers[0].Addr.Port() == 8080 && one(c).LBKind == KindNAT }},
		{"real: ipip is TUN", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 ipip\n", func(c *Config) bool { return one(c).LBKind == KindTUN }},
		{"checkport", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tcheckport=8081\n", func(c *Config) bool { return check(c).Connect.Port() == 8081 }},
		{"service names as ports", "virtual=192.0.2.1:http\n\treal=10.0.0.1:http gate\n", func(c *Config) bool { return one(c).Addr.Port() == 80 }},
		{"scheduler, persistent, netmask", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tscheduler=lc\n\tpersistent=120\n\tnetmask=255.255.0.0\n",
			func(c *Config) bool {
				return one(c).LBAlgo == "lc" && one(c).PersistenceTimeout == 120*time.Second && one(c).PersistenceGranularity == 16
			}},
		{"schedflags", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tscheduler=mh\n\tschedflags=mh-port\n",
			func(c *Config) bool { return reflect.DeepEqual(one(c).SchedulerFlags, []string{"mh-port"}) }},
		{"ops", "virtual=192.0.2.1:5000\n\treal=10.0.0.1:5000 gate\n\tprotocol=udp\n\tops=yes\n\tchecktype=on\n", func(c *Config) bool { return one(c).OnePacket }},
		{"https is SSL_GET without certificate verification", "virtual=192.0.2.1:443\n\treal=10.0.0.1:443 gate\n\tvirtualhost=\"www.example.com\"\n",
			func(c *Config) bool {
				return check(c).Kind == CheckSSL && !check(c).HTTP().VerifyTLS && check(c).HTTP().Virtualhost == "www.example.com" && check(c).HTTP().URLs[0].Virtualhost == "www.example.com"
			}},
		{"smtp and submission are SMTP_CHECK", "virtual=192.0.2.1:587\n\treal=10.0.0.1:587 gate\n", func(c *Config) bool { return check(c).Kind == CheckSMTP }},
		{"external runs checkcommand with the four addresses", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=external\n\tcheckcommand=\"/bin/chk -q\"\n\tchecktimeout=3\n",
			func(c *Config) bool {
				return check(c).Kind == CheckMisc && check(c).Misc().Path == "/bin/chk -q 192.0.2.1 80 10.0.0.1 80" && check(c).Misc().Timeout == 3*time.Second
			}},
		{"external without checkcommand runs /bin/true", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=external\n",
			func(c *Config) bool { return strings.HasPrefix(check(c).Misc().Path, "/bin/true ") }},
		{"ping", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=ping\n", func(c *Config) bool { return check(c).Kind == CheckPing }},
		{"on: no checker", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=on\n", func(c *Config) bool { return len(one(c).RealServers[0].Checkers) == 0 }},
		{"off: no real server, the fallback serves", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=off\n\tfallback=127.0.0.1:80\n",
			func(c *Config) bool { return len(one(c).RealServers) == 0 && one(c).SorryServer != nil }},
		{"off with quiescent: real servers at weight 0", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate 5\n\tchecktype=off\n\tquiescent=yes\n",
			func(c *Config) bool { return len(one(c).RealServers) == 1 && one(c).RealServers[0].Weight == 0 }},
		{"N negotiates every check", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tchecktype=5\n", func(c *Config) bool { return check(c).Kind == CheckHTTP }},
		{"fwmark: service none, port 0 real servers", "virtual=3\n\treal=10.0.0.1 gate\n\treal=10.0.0.2 gate\n",
			func(c *Config) bool {
				vs := one(c)
				return vs.FWMark == 3 && !vs.IPv6 && vs.RealServers[1].Addr == netip.MustParseAddrPort("10.0.0.2:0") && len(vs.RealServers[0].Checkers) == 0
			}},
		{"fwmark with service http checks port 80", "virtual=3\n\treal=10.0.0.1 gate\n\tservice=http\n",
			func(c *Config) bool { return check(c).Connect == netip.MustParseAddrPort("10.0.0.1:80") }},
		{"IPv6", "fallback6=[::1]:80\nvirtual6=[2001:db8::1]:80\n\treal6=[2001:db8::2]:80 gate\n\tnetmask=64\n\tpersistent=10\n",
			func(c *Config) bool {
				vs := one(c)
				return vs.IPv6 && vs.PersistenceGranularity == 64 && vs.SorryServer.Addr == netip.MustParseAddrPort("[::1]:80")
			}},
		{"comments and blank lines", "# c\n\nchecktimeout=3 # seconds\nvirtual=192.0.2.1:80 # web\n\treal=10.0.0.1:80 gate # the first\n\t# none\n",
			func(c *Config) bool { return len(one(c).RealServers) == 1 }},
		{"e-mail, logs and supervision are warnings", "emailalert=\"a@b\"\nemailalertfreq=60\nemailalertstatus=all\nsmtp=192.0.2.25\nlogfile=\"local0\"\nsupervised=yes\nautoreload=yes\nreaddquiescent=yes\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\temailalert=\"c@d\"\n\tservicename=web\n\tcomment=x\n\tmonitorfile=\"/var/log/m\"\n",
			func(c *Config) bool { return len(c.VirtualServers) == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoadText(t, "ldirectord.cf", tt.src)
			if !tt.ok(cfg) {
				t.Errorf("model not as ldirectord means it:\n%s", ConvertToHCL(cfg))
			}
		})
	}
}

// TestLdirectordRefusalsNameTheLine: what lvsd cannot do is refused with
// the file and line, never dropped.
func TestLdirectordRefusalsNameTheLine(t *testing.T) {
	const head = "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n"
	tests := []struct{ name, src, want string }{
		{"service without a checker", head + "\tservice=imap\n", "ldirectord.cf:3: error: service=imap is not supported"},
		{"simpletcp", head + "\tservice=simpletcp\n", "ldirectord.cf:3: error: service=simpletcp"},
		{"http_proxy", head + "\tservice=http_proxy\n", "ldirectord.cf:3: error: service=http_proxy"},
		{"port whose default service lvsd lacks", "virtual=192.0.2.1:110\n\treal=10.0.0.1:110 gate\n", "ldirectord.cf:1: error: service=pop"},
		{"callback", "callback=\"/bin/x\"\n" + head, "ldirectord.cf:1: error: callback is not supported"},
		{"maintenancedir", "maintenancedir=/etc/m\n" + head, "ldirectord.cf:1: error: maintenancedir"},
		{"execute", "execute=other.cf\n" + head, "ldirectord.cf:1: error: execute"},
		{"connecttimeout", "connecttimeout=3\n" + head, "ldirectord.cf:1: error: connecttimeout"},
		{"mixed forwarding methods", head + "\treal=10.0.0.2:80 masq\n", "ldirectord.cf:3: error: real server 10.0.0.2 forwards by NAT"},
		{"host names", "virtual=www.example.com:80\n\treal=10.0.0.1:80 gate\n", "ldirectord.cf:1: error: invalid address for virtual server"},
		{"real host names", "virtual=192.0.2.1:80\n\treal=web1:80 gate\n", "ldirectord.cf:2: error: invalid address for real server"},
		{"request naming a host", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate \"http://x/\", \"y\"\n", "ldirectord.cf:2: error: a request naming its own host"},
		{"dns PTR", "virtual=192.0.2.1:53\n\treal=10.0.0.1:53 gate\n\trequest=\"192.0.2.7\"\n", "ldirectord.cf:3: error: PTR queries"},
		{"a receive Go cannot read", head + "\treceive=\"(?<=x)\"\n", "ldirectord.cf:3: error: receive is not a regular expression"},
		{"unknown keyword", head + "\tfrobnicate=1\n", "ldirectord.cf:3: error: unknown setting frobnicate"},
		{"unknown global keyword", "checkintreval=3\n" + head, "ldirectord.cf:1: error: unknown ldirectord setting checkintreval"},
		{"bad forward method", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 route\n", "ldirectord.cf:2: error: forward method must be gate, masq or ipip"},
		{"bad checktype", head + "\tchecktype=magic\n", "ldirectord.cf:3: error: invalid checktype"},
		{"unknown scheduler", head + "\tscheduler=xyz\n", "ldirectord.cf:3: error: unknown scheduler"},
		{"duplicate virtual", head + head, "ldirectord.cf:3: error: duplicate virtual server"},
		{"real outside a virtual", "\treal=10.0.0.1:80 gate\n", "ldirectord.cf:1: error: indented line outside a virtual section"},
		{"IPv6 in virtual", "virtual=[2001:db8::1]:80\n", "ldirectord.cf:1: error: invalid address for virtual server"},
		{"real6 in an IPv4 virtual", "virtual=192.0.2.1:80\n\treal6=[2001:db8::1]:80 gate\n", "ldirectord.cf:2: error: cannot specify \"real6\" here"},
		{"checkinterval not a positive number of seconds", "checkinterval=0\n" + head, `ldirectord.cf:1: error: invalid checkinterval; "0": want a whole number of seconds above 0`},
		{"failurecount not a positive number", head + "\tfailurecount=x\n", `ldirectord.cf:3: error: invalid failurecount; "x": want a number above 0`},
		{"quiescent not yes or no", "quiescent=true\n" + head, "ldirectord.cf:1: error: quiescent must be 'yes' or 'no'"},
		{"ops on TCP", head + "\tops=yes\n", "ldirectord.cf:3: error: ops can be used only for UDP services"},
		{"flag for another scheduler", head + "\tschedflags=flag-1\n", "ldirectord.cf:3: error: scheduler flag not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := loadText(t, "ldirectord.cf", tt.src)
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("loaded; diagnostics: %v", diags)
			}
			if !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("diagnostics:\n%v\nwant a line containing:\n%s", diags, tt.want)
			}
		})
	}
}

// TestLdirectordWarningsNameTheLine: what changes nothing in the table,
// or what lvsd does in a close way, is a warning at its line.
func TestLdirectordWarningsNameTheLine(t *testing.T) {
	const head = "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n"
	tests := []struct{ name, src, want string }{
		{"checktype N", head + "\tchecktype=4\n", "ldirectord.cf:3: warning: checktype=4: lvsd negotiates on every check"},
		{"httpmethod HEAD", head + "\thttpmethod=HEAD\n", "ldirectord.cf:3: warning: httpmethod=HEAD"},
		{"emailalert", "emailalert=\"x@y\"\n" + head, "ldirectord.cf:1: warning: emailalert is not used by lvsd"},
		{"logfile", "logfile=\"local0\"\n" + head, "ldirectord.cf:1: warning: logfile"},
		{"checkinterval without fork", head + "\tcheckinterval=3\n", "ldirectord.cf:3: warning: checkinterval in a virtual section ignored"},
		{"dns receive", "virtual=192.0.2.1:53\n\treal=10.0.0.1:53 gate\n\trequest=\"a.example\"\n\treceive=\"1.2\"\n", "ldirectord.cf:4: warning: service=dns: the answer is not compared"},
		{"checktype off", head + "\tchecktype=off\n", "ldirectord.cf:3: warning: checktype=off"},
		{"real's request starting with /", "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate \"/a\", \"b\"\n", "ldirectord.cf:2: warning: this real server's request and receive are not used"},
		{"global fallback and a fwmark", "fallback=127.0.0.1:80\nvirtual=5\n\treal=10.0.0.1 gate\n", "ldirectord.cf:2: warning: the global fallback does not apply to a fwmark virtual"},
		{"checkcommand with spaces", head + "\tchecktype=external\n\tcheckcommand=\"/bin/chk -q\"\n", "ldirectord.cf:4: warning: checkcommand with spaces"},
		{"gate with another port", "virtual=192.0.2.1:80\n\treal=10.0.0.1:81 gate\n", "ldirectord.cf:2: warning: real server 10.0.0.1:81 takes the service's port 80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := loadText(t, "ldirectord.cf", tt.src)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			var lines []string
			for _, d := range diags {
				lines = append(lines, d.String())
			}
			if !strings.Contains(strings.Join(lines, "\n"), tt.want) {
				t.Errorf("diagnostics:\n%s\nwant a line containing:\n%s", strings.Join(lines, "\n"), tt.want)
			}
		})
	}
}

// corpus returns the files of dir.
func corpus(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

// TestLdirectordAndIPVSADMConvertRoundTrip: `lvsd convert` of an
// ldirectord.cf or an ipvsadm rules file is HCL that loads back into the
// same model.
func TestLdirectordAndIPVSADMConvertRoundTrip(t *testing.T) {
	paths := append(corpus(t, ldCorpus), corpus(t, ipvsadmCorpus)...)
	// The VM lab's ldirectord.cf (TestLvsdRunsTheLVSMaterialsLdirectordCf).
	paths = append(paths, "../integration/vm/scenarios/testdata/ldirectord-lab.cf")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var l Loader
			cfg, diags := l.Load(path)
			if cfg == nil {
				t.Fatalf("corpus file refused: %v", diags)
			}
			assertConvertsBack(t, &l, cfg)
		})
	}
}

// FuzzLoadLdirectord feeds hostile ldirectord.cf text to the reader: it
// answers with diagnostics that name a file, never panics, and what loads
// converts to HCL.
func FuzzLoadLdirectord(f *testing.F) {
	for _, path := range corpus(f, ldCorpus) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("virtual=1\n\treal=10.0.0.1->10.255.255.255 gate\n"))
	f.Add([]byte("virtual6=[::1]:80\n\treal6=[::2]:80 gate 1 \"a\", \"b\" l:1 u:2\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		l := Loader{
			ReadFile: func(string) ([]byte, error) { return nil, errors.New("fuzzer reads no file") },
			Stat:     func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
		}
		if cfg := fuzzLoad(t, &l, "fuzz.cf", src); cfg != nil {
			_ = ConvertToHCL(cfg)
		}
	})
}

// ldManualKeywords are the keywords of ldirectord(8) (resource-agents
// 4.x), with a value each takes, and where: global (true) or in a virtual
// section; schedflags, load, connecttimeout and timeout are read by its
// code though the manual leaves them out.
var ldManualKeywords = []struct {
	key, value string
	global     bool
}{
	{"checktimeout", "3", true}, {"negotiatetimeout", "3", true}, {"checkinterval", "3", true}, {"checkcount", "1", true},
	{"failurecount", "2", true}, {"autoreload", "no", true}, {"callback", `"/bin/cb"`, true}, {"fallback", "127.0.0.1:80 gate", true},
	{"fallback6", "[::1]:80 gate", true}, {"fallbackcommand", `"/bin/fb"`, true}, {"logfile", `"local0"`, true},
	{"emailalert", `"a@example.com"`, true}, {"emailalertfrom", "b@example.com", true}, {"emailalertfreq", "60", true},
	{"emailalertstatus", "all", true}, {"smtp", "192.0.2.25", true}, {"execute", "other.cf", true}, {"supervised", "yes", true},
	{"fork", "yes", true}, {"quiescent", "yes", true}, {"readdquiescent", "yes", true}, {"cleanstop", "no", true},
	{"maintenancedir", "/etc/ha.d/maint", true}, {"connecttimeout", "3", true}, {"timeout", "3", true},
	{"real", "10.0.0.2:80 gate", false}, {"checktype", "connect", false}, {"service", "http", false},
	{"checkcommand", `"/bin/true"`, false}, {"checkport", "80", false}, {"request", `"/"`, false}, {"receive", `"ok"`, false},
	{"httpmethod", "GET", false}, {"virtualhost", `"www.example.com"`, false}, {"login", `"u"`, false}, {"passwd", `"p"`, false},
	{"database", `"db"`, false}, {"secret", `"s"`, false}, {"scheduler", "rr", false}, {"persistent", "60", false},
	{"netmask", "255.255.255.0", false}, {"protocol", "tcp", false}, {"monitorfile", `"/var/log/m"`, false}, {"ops", "no", false},
	{"servicename", "web", false}, {"comment", "c", false}, {"schedflags", "sh-port", false}, {"load", `"x"`, false},
	{"checktimeout", "3", false}, {"negotiatetimeout", "3", false}, {"checkinterval", "3", false}, {"checkcount", "1", false},
	{"failurecount", "2", false}, {"fallback", "127.0.0.1:80", false}, {"fallbackcommand", `"/bin/fb"`, false},
	{"quiescent", "no", false}, {"cleanstop", "yes", false}, {"emailalert", `"a@example.com"`, false},
	{"emailalertfreq", "60", false}, {"emailalertstatus", "none", false}, {"smtp", "192.0.2.25", false},
}

// TestEveryLdirectordKeywordIsReadAndDocumented: every keyword of
// ldirectord's manual is read (run, warned about or refused, each at its
// line, never "unknown") and named in docs/ldirectord.md.
func TestEveryLdirectordKeywordIsReadAndDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/ldirectord.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ldManualKeywords {
		var src string
		line := 1
		if k.global {
			src = k.key + "=" + k.value + "\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n"
		} else {
			src = "virtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\tscheduler=sh\n\t" + k.key + "=" + k.value + "\n"
			line = 4
		}
		_, diags := loadText(t, "ldirectord.cf", src)
		for _, d := range diags {
			if strings.Contains(d.Summary, "unknown") || d.Pos.Line != line && !strings.Contains(d.Summary, "checkinterval") {
				t.Errorf("%s=%s: %s", k.key, k.value, d)
			}
		}
		if !strings.Contains(string(doc), "`"+k.key+"`") {
			t.Errorf("docs/ldirectord.md does not name %s", k.key)
		}
	}
}
