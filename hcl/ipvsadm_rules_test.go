package hcl

import (
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestIPVSADMRulesReadEveryOption reads each option of ipvsadm -S output
// into the model: a static table (lvs_program "always", no checkers).
func TestIPVSADMRulesReadEveryOption(t *testing.T) {
	one := func(c *Config) *VirtualServer { return &c.VirtualServers[0] }
	tests := []struct {
		name string
		src  string
		ok   func(c *Config) bool
	}{
		{"-A -t with -s, -a with -r -g -w", "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 3\n",
			func(c *Config) bool {
				vs := one(c)
				return c.Global.LVSProgram == LVSProgramAlways && vs.Protocol == ProtoTCP && vs.LBAlgo == "rr" && vs.LBKind == KindDR &&
					vs.RealServers[0].Weight == 3 && len(vs.RealServers[0].Checkers) == 0 && vs.VRRPInstance == ""
			}},
		{"no -s is wlc, no -w is 1, no method is -g", "-A -t 192.0.2.1:80\n-a -t 192.0.2.1:80 -r 10.0.0.1\n",
			func(c *Config) bool {
				return one(c).LBAlgo == "wlc" && one(c).LBKind == KindDR && one(c).RealServers[0].Weight == 1 && one(c).RealServers[0].Addr.Port() == 80
			}},
		{"-u", "-A -u 192.0.2.1:53 -s rr\n", func(c *Config) bool { return one(c).Protocol == ProtoUDP }},
		{"--sctp-service", "-A --sctp-service 192.0.2.1:3868 -s rr\n", func(c *Config) bool { return one(c).Protocol == ProtoSCTP }},
		{"-f", "-A -f 7 -s rr\n-a -f 7 -r 10.0.0.1:0 -m -w 1\n",
			func(c *Config) bool {
				return one(c).FWMark == 7 && !one(c).IPv6 && one(c).RealServers[0].Addr == netip.MustParseAddrPort("10.0.0.1:0") && one(c).LBKind == KindNAT
			}},
		{"-f -6", "-A -f 7 -6 -s rr\n-a -f 7 -6 -r 2001:db8::1 -i -w 1\n", func(c *Config) bool { return one(c).IPv6 && one(c).LBKind == KindTUN }},
		{"IPv6 service", "-A -t [2001:db8::1]:443 -s sh -b sh-fallback,sh-port\n-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -g -w 1\n",
			func(c *Config) bool {
				return one(c).IPv6 && reflect.DeepEqual(one(c).SchedulerFlags, []string{"sh-fallback", "sh-port"})
			}},
		{"mh flags by number", "-A -t 192.0.2.1:80 -s mh -b flag-1,flag-2\n", func(c *Config) bool {
			return reflect.DeepEqual(one(c).SchedulerFlags, []string{"mh-fallback", "mh-port"})
		}},
		{"-p with a timeout and -M", "-A -t 192.0.2.1:80 -s rr -p 600 -M 255.255.255.0\n",
			func(c *Config) bool {
				return one(c).PersistenceTimeout == 600*time.Second && one(c).PersistenceGranularity == 24
			}},
		{"bare -p is 300 seconds", "-A -t 192.0.2.1:80 -s rr -p\n", func(c *Config) bool { return one(c).PersistenceTimeout == 300*time.Second }},
		{"-p before other options", "-A -t 192.0.2.1:80 -p -s rr\n", func(c *Config) bool { return one(c).PersistenceTimeout == 300*time.Second && one(c).LBAlgo == "rr" }},
		{"-M as a prefix length for IPv6", "-A -t [2001:db8::1]:80 -s rr -p 60 -M 64\n", func(c *Config) bool { return one(c).PersistenceGranularity == 64 }},
		{"-o", "-A -u 192.0.2.1:53 -s rr -o\n", func(c *Config) bool { return one(c).OnePacket }},
		{"-x -y", "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1 -x 100 -y 10\n",
			func(c *Config) bool {
				return one(c).RealServers[0].UThreshold == 100 && one(c).RealServers[0].LThreshold == 10
			}},
		{"-m maps ports", "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:8080 -m -w 1\n",
			func(c *Config) bool { return one(c).RealServers[0].Addr.Port() == 8080 }},
		{"--tun-type ipip", "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -i -w 1 --tun-type ipip\n", func(c *Config) bool { return one(c).LBKind == KindTUN }},
		{"long options", "--add-service --tcp-service=192.0.2.1:80 --scheduler rr\n--add-server --tcp-service 192.0.2.1:80 --real-server 10.0.0.1:80 --masquerading --weight 2\n",
			func(c *Config) bool { return one(c).LBAlgo == "rr" && one(c).RealServers[0].Weight == 2 }},
		{"service names, as ipvsadm -S without -n", "-A -t 192.0.2.1:http -s rr\n-a -t 192.0.2.1:http -r 10.0.0.1:http -g -w 1\n",
			func(c *Config) bool { return one(c).Addr.Port() == 80 && one(c).RealServers[0].Addr.Port() == 80 }},
		{"a script's ipvsadm lines, comments, -C", "# table\nipvsadm -C\nipvsadm -A -t 192.0.2.1:80 -s rr\n",
			func(c *Config) bool { return len(c.VirtualServers) == 1 }},
		{"weight 0", "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 0\n", func(c *Config) bool { return one(c).RealServers[0].Weight == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustLoadText(t, "ipvsadm.rules", tt.src)
			if !tt.ok(cfg) {
				t.Errorf("model:\n%s", ConvertToHCL(cfg))
			}
		})
	}
}

// TestIPVSADMRulesRefusalsNameTheLine: what lvsd cannot program is
// refused at its line.
func TestIPVSADMRulesRefusalsNameTheLine(t *testing.T) {
	const svc = "-A -t 192.0.2.1:80 -s rr\n"
	tests := []struct{ name, src, want string }{
		{"real server of an undefined service", "-a -t 192.0.2.1:80 -r 10.0.0.1:80\n", "ipvsadm.rules:1: error: real server of an undefined service"},
		{"service twice", svc + svc, "ipvsadm.rules:2: error: service defined twice"},
		{"mixed forwarding methods", svc + "-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g\n-a -t 192.0.2.1:80 -r 10.0.0.2:80 -m\n", "ipvsadm.rules:3: error: real server 10.0.0.2:80 forwards by NAT"},
		{"persistence engine", "-A -u 192.0.2.1:5060 -s rr -p --pe sip\n", "ipvsadm.rules:1: error: persistence engine not supported"},
		{"GUE tunnels", svc + "-a -t 192.0.2.1:80 -r 10.0.0.1:80 -i -w 1 --tun-type gue --tun-port 6080\n", "ipvsadm.rules:2: error: tunnel type not supported"},
		{"unknown option", "-A -t 192.0.2.1:80 -s rr --frob\n", "ipvsadm.rules:1: error: unknown ipvsadm option"},
		{"other commands", "-E -t 192.0.2.1:80 -s wlc\n", "ipvsadm.rules:1: error: ipvsadm command -E"},
		{"host names", "-A -t www.example.com:80 -s rr\n", "ipvsadm.rules:1: error: invalid service address"},
		{"unknown service name", "-A -t 192.0.2.1:nosuchservice -s rr\n", "ipvsadm.rules:1: error: invalid service address"},
		{"flag of another scheduler", "-A -t 192.0.2.1:80 -s rr -b flag-1\n", "ipvsadm.rules:1: error: scheduler flag-1 not supported with rr"},
		{"unknown scheduler", "-A -t 192.0.2.1:80 -s fastest\n", "ipvsadm.rules:1: error: unknown scheduler"},
		{"no service", "-A -s rr\n", "ipvsadm.rules:1: error: no service"},
		{"missing value", "-A -t\n", "ipvsadm.rules:1: error: missing value"},
		{"weight out of range", svc + "-a -t 192.0.2.1:80 -r 10.0.0.1:80 -w 70000\n", "ipvsadm.rules:2: error: invalid number"},
		{"-a without -r", svc + "-a -t 192.0.2.1:80 -g\n", "ipvsadm.rules:2: error: no real server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := loadText(t, "ipvsadm.rules", tt.src)
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("loaded; diagnostics: %v", diags)
			}
			if !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("diagnostics:\n%v\nwant a line containing:\n%s", diags, tt.want)
			}
		})
	}
}

// TestFormatByNameAndContent: the readers are picked by the file's name,
// else by what it holds.
func TestFormatByNameAndContent(t *testing.T) {
	tests := []struct{ path, src, want string }{
		{"/etc/ha.d/ldirectord.cf", "", "ldirectord"},
		{"/etc/ha.d/conf/www.cf", "virtual = 192.0.2.1:80\n", "ldirectord"},
		{"/etc/ipvsadm.rules", "", "ipvsadm"},
		{"/etc/keepalived/keepalived.conf.vrrp.rules", "-A", "keepalived"},
		{"/var/lib/ipvsadm-save", "", "ipvsadm"},
		{"/etc/lvsd/lvsd.hcl", "", "hcl"},
		{"/etc/ha.d/www", "# ldirectord\nchecktimeout=3\nvirtual=192.0.2.1:80\n", "ldirectord"},
		{"/etc/sysconfig/table", "\n-A -t 192.0.2.1:80 -s rr\n", "ipvsadm"},
		{"/etc/keepalived/keepalived.conf", "! comment\nglobal_defs {\n}\n", "keepalived"},
		{"/etc/keepalived/keepalived.conf", "$VIP=192.0.2.1\nvrrp_instance V {\n}\n", "keepalived"},
	}
	for _, tt := range tests {
		if got := FormatOf(tt.path, []byte(tt.src)); got != tt.want {
			t.Errorf("FormatOf(%s, %q) = %s, want %s", tt.path, tt.src, got, tt.want)
		}
	}
}

// FuzzReadIPVSADMRules feeds hostile rules files to the reader: never a
// panic, every diagnostic names its file, and what loads converts to HCL
// that loads back.
func FuzzReadIPVSADMRules(f *testing.F) {
	for _, path := range corpus(f, ipvsadmCorpus) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("-A -f 5 -6 -s rr -p\n-a -f 5 -6 -r 2001:db8::9 -m -w 1\n"))
	f.Add([]byte("--add-service --udp-service=[::1]:53 -s mh -b flag-1 -o -p 1 -M 0\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		l := Loader{ReadFile: func(string) ([]byte, error) { return nil, errors.New("fuzzer reads no file") }}
		cfg := fuzzLoad(t, &l, "fuzz.rules", src)
		if cfg == nil {
			return
		}
		back, diags := l.LoadSource("converted.hcl", ConvertToHCL(cfg))
		if back == nil {
			t.Fatalf("converted HCL does not load: %v\n%s", diags, ConvertToHCL(cfg))
		}
	})
}
