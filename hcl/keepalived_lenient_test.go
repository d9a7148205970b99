package hcl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// kaInstance wraps instance keywords in a vrrp_instance that loads.
func kaInstance(body string) string {
	return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.1\n }\n" + body + "}\n"
}

// kaLoadText loads keepalived.conf text with kaTestLoader.
func kaLoadText(t *testing.T, src string, strict bool) (*Config, Diagnostics) {
	t.Helper()
	l := kaTestLoader()
	l.Strict = strict
	l.ReadFile = func(name string) ([]byte, error) { return nil, fmt.Errorf("open %s: not in this test", name) }
	return l.LoadSource("k.conf", []byte(src))
}

func TestKeepalivedRunsPastWhatKeepalivedRunsPast(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		line    int
		summary string // of the one Lenient warning
		check   func(*Config) error
	}{
		{"unknown keyword with a suggestion", "global_defs {\n vrrp_grap_interval 0\n}\n" + kaInstance(""), 2,
			"Unknown keyword 'vrrp_grap_interval'", nil},
		{"typo of a block keyword skips nothing but its brace", "vvrp_script chk {\n script /bin/true\n}\n" + kaInstance(""), 1,
			"Unexpected '{' - ignoring", nil},
		{"nat_mask is retired", "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n nat_mask 255.255.255.0\n real_server 192.0.2.11 80 {\n }\n}\n", 5,
			"Unknown keyword 'nat_mask'", nil},
		{"nb_get_retry in TCP_CHECK is ignored as keepalived 2.2.7 ignores it",
			"virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 192.0.2.11 80 {\n  TCP_CHECK {\n   nb_get_retry 7\n  }\n }\n}\n", 7,
			"Unknown keyword 'nb_get_retry'", func(c *Config) error {
				if r := c.VirtualServers[0].RealServers[0].Checkers[0].Retry; r != 1 {
					return fmt.Errorf("retry %d, want TCP_CHECK's default 1", r)
				}
				return nil
			}},
		{"lvs_id is retired", "global_defs {\n lvs_id LVS\n}\n" + kaInstance(""), 2, "Unknown keyword 'lvs_id'", nil},
		{"stray brace at the top", kaInstance("") + "}\n", 8, "Extra '}' found", nil},
		{"auth_pass cut to 8 characters", kaInstance(" authentication {\n  auth_type PASS\n  auth_pass verylongpassword\n }\n"), 9,
			"Truncating auth_pass to 8 characters", func(c *Config) error {
				if p := c.Instances[0].AuthPass; p != "verylong" {
					return fmt.Errorf("auth_pass %q, want verylong", p)
				}
				return nil
			}},
		{"invalid priority takes 100", kaInstance(" state MASTER\n priority high\n"), 8, `invalid priority "high"`, func(c *Config) error {
			if p := c.Instances[0].Priority; p != 100 {
				return fmt.Errorf("priority %d, want 100 (not the 255 of a MASTER without priority)", p)
			}
			return nil
		}},
		{"invalid state is BACKUP", kaInstance(" state SLAVE\n"), 7, "(VI_1) unknown state 'SLAVE', defaulting to BACKUP", func(c *Config) error {
			if s := c.Instances[0].State; s != StateBackup {
				return fmt.Errorf("state %s", s)
			}
			return nil
		}},
		{"advert_int 0 is ignored", kaInstance(" advert_int 0\n"), 7, "(VI_1) Advert interval (0) not valid! Must be > 0 - ignoring", func(c *Config) error {
			if a := c.Instances[0].AdvertInt; a != time.Second {
				return fmt.Errorf("advert_int %s", a)
			}
			return nil
		}},
		{"invalid address skipped", kaInstance(" virtual_ipaddress {\n  192.0.2.300\n }\n"), 8, "VRRP parsed invalid IP 192.0.2.300. skipping IP...", nil},
		{"instance without virtual_router_id dropped",
			"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 300\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n", 3,
			`invalid virtual_router_id "300"`, func(c *Config) error {
				if len(c.Instances) != 0 {
					return fmt.Errorf("%d instances", len(c.Instances))
				}
				return nil
			}},
		{"undefined track_script ignored", kaInstance(" track_script {\n  chk_nothing\n }\n"), 7, "(VI_1) track script chk_nothing not found, ignoring...", func(c *Config) error {
			if n := len(c.Instances[0].TrackScripts); n != 0 {
				return fmt.Errorf("%d track scripts", n)
			}
			return nil
		}},
		{"missing script disabled, instance untracked", "vrrp_script chk {\n script /missing/check.sh\n}\n" + kaInstance(" track_script {\n  chk\n }\n"), 2,
			"Disabling track script chk since not found/accessible", func(c *Config) error {
				if len(c.Scripts) != 0 || len(c.Instances[0].TrackScripts) != 0 {
					return fmt.Errorf("scripts %v, tracked %v", c.Scripts, c.Instances[0].TrackScripts)
				}
				return nil
			}},
		{"vrrp_script without script removed", "vrrp_script chk {\n interval 2\n}\n" + kaInstance(" track_script {\n  chk\n }\n"), 1,
			"No script set for vrrp_script chk - removing", func(c *Config) error {
				if len(c.Scripts) != 0 || len(c.Instances[0].TrackScripts) != 0 {
					return fmt.Errorf("scripts %v, tracked %v", c.Scripts, c.Instances[0].TrackScripts)
				}
				return nil
			}},
		{"script security without a user removes scripts",
			"global_defs {\n enable_script_security\n}\nvrrp_script chk {\n script /bin/true\n}\n" + kaInstance(" track_script {\n  chk\n }\n"), 4,
			"Unable to set default user for vrrp script chk - removing", func(c *Config) error {
				if len(c.Scripts) != 0 {
					return fmt.Errorf("scripts %v", c.Scripts)
				}
				return nil
			}},
		{"sync group member undefined", "vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n  VI_GHOST\n }\n}\n" + kaInstance("") +
			strings.NewReplacer("VI_1", "VI_2", "51", "52", "192.0.2.1", "192.0.2.2").Replace(kaInstance("")), 2,
			"Virtual router VI_GHOST specified in sync group G doesn't exist - ignoring", func(c *Config) error {
				if g := c.SyncGroups[0].Group; !slices.Equal(g, []string{"VI_1", "VI_2"}) {
					return fmt.Errorf("group %v", g)
				}
				return nil
			}},
		{"nopreempt with state MASTER cleared", kaInstance(" state MASTER\n nopreempt\n"), 8,
			"(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing", func(c *Config) error {
				if c.Instances[0].NoPreempt {
					return fmt.Errorf("nopreempt kept")
				}
				return nil
			}},
		{"vrrp_strict drops authentication and MASTER", "global_defs {\n vrrp_strict\n}\n" + kaInstance(" state MASTER\n priority 100\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n"), 13,
			"(VI_1) Strict mode does not support authentication. Ignoring.", func(c *Config) error {
				if in := c.Instances[0]; in.AuthType != "" || in.AuthPass != "" || in.State != StateBackup {
					return fmt.Errorf("auth %q/%q, state %s", in.AuthType, in.AuthPass, in.State)
				}
				return nil
			}},
		{"preempt_delay above 1000 s is ignored", kaInstance(" preempt_delay 2000\n"), 7, "(VI_1) Preempt_delay not valid! must be between 0-1000", func(c *Config) error {
			if d := c.Instances[0].PreemptDelay; d != 0 {
				return fmt.Errorf("preempt_delay %s", d)
			}
			return nil
		}},
		{"advert_int above 255 s is ignored", kaInstance(" advert_int 300\n"), 7, "(VI_1) Advert interval (300) not valid! Must be > 0 - ignoring", nil},
		{"track_interface weight out of range ignores the entry", kaInstance(" track_interface {\n  eth1 weight 300\n  eth2\n }\n"), 8,
			"weight 300 for eth1 must be between [-253..253] inclusive. Ignoring...", func(c *Config) error {
				if ti := c.Instances[0].TrackInterfaces; len(ti) != 1 || ti[0].Name != "eth2" {
					return fmt.Errorf("track_interface %v", ti)
				}
				return nil
			}},
		{"tracking the instance's own interface is ignored", kaInstance(" track_interface {\n  eth0 weight 10\n }\n"), 7,
			"(VI_1) Ignoring track_interface eth0 since own interface", func(c *Config) error {
				if ti := c.Instances[0].TrackInterfaces; len(ti) != 0 {
					return fmt.Errorf("track_interface %v", ti)
				}
				return nil
			}},
		{"vrrp_garp_interval 0 is invalid", "global_defs {\n vrrp_garp_interval 0\n}\n" + kaInstance(""), 2, "vrrp_garp_interval '0' is invalid", nil},
		{"unknown protocol falls back to keepalived's default", "virtual_server 192.0.2.1 80 {\n protocol ICMP\n lb_algo rr\n lb_kind DR\n real_server 192.0.2.11 80 {\n }\n}\n", 2,
			"Unknown protocol ICMP - ignoring", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := kaLoadText(t, tt.src, false)
			if cfg == nil {
				t.Fatalf("refused:\n%v", diags)
			}
			found := false
			for _, d := range diags.Lenient() {
				if d.Summary == tt.summary && d.Pos.Line == tt.line && d.Pos.File == "k.conf" {
					found = true
				}
			}
			if !found {
				t.Errorf("no Lenient warning %q at k.conf:%d; got\n%v", tt.summary, tt.line, diags)
			}
			if tt.check != nil {
				if err := tt.check(cfg); err != nil {
					t.Error(err)
				}
			}
			// --strict refuses the same file, naming the same problem.
			strict, sd := kaLoadText(t, tt.src, true)
			if strict != nil || !slices.ContainsFunc(sd.Errors(), func(d Diagnostic) bool { return d.Summary == tt.summary }) {
				t.Errorf("strict: loaded %v, errors %v", strict != nil, sd.Errors())
			}
		})
	}
}

func TestKeepalivedStrictNamesEveryProblem(t *testing.T) {
	src := "global_defs {\n lvs_id X\n bogus 1\n}\n" + kaInstance(" priority high\n state LEADER\n") + "}\n"
	_, diags := kaLoadText(t, src, true)
	var got []string
	for _, d := range diags.Errors() {
		got = append(got, fmt.Sprintf("%d %s", d.Pos.Line, d.Summary))
	}
	want := []string{"14 Extra '}' found", "2 Unknown keyword 'lvs_id'", "3 Unknown keyword 'bogus'",
		`11 invalid priority "high"`, "12 (VI_1) unknown state 'LEADER', defaulting to BACKUP"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("strict errors\n got %q\nwant %q", got, want)
	}
}

func TestKeepalivedLeavesOutWhatItDoesNotCountAsAnError(t *testing.T) {
	// keepalived -t exits 0 on these: plain warnings, loaded under
	// --strict too.
	tests := []struct{ name, src, summary string }{
		{"extra value", kaInstance(" priority 100 200\n"), "keyword priority takes one value"},
		{"value on a flag", kaInstance(" nopreempt yes\n"), "keyword nopreempt takes no value"},
		{"missing include", "include /missing/other.conf\n" + kaInstance(""), "Config files missing '/missing/other.conf'"},
		{"address twice", kaInstance(" virtual_ipaddress {\n  192.0.2.1\n }\n"), "virtual_ipaddress 192.0.2.1 is listed twice"},
		{"keyword lvsd leaves out", kaInstance(" debug\n"), "keyword debug is not supported by lvsd"},
		{"the RFC's own TTL", kaInstance(" unicast_peer {\n  192.0.2.9\n }\n unicast_ttl 255\n debug\n"), "keyword debug is not supported by lvsd"},
		{"the RFC's own group", kaInstance(" mcast_dst_ip 224.0.0.18\n debug\n"), "keyword debug is not supported by lvsd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := kaLoadText(t, tt.src, true)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if len(diags.Lenient()) != 0 || !slices.ContainsFunc(diags.Warnings(), func(d Diagnostic) bool { return d.Summary == tt.summary }) {
				t.Errorf("want the plain warning %q, got %v", tt.summary, diags)
			}
		})
	}
}

func TestKeepalivedStopsWhereKeepalivedStops(t *testing.T) {
	_, diags := kaLoadText(t, kaInstance(" garp_master_delay\n"), false)
	if !slices.ContainsFunc(diags, KeepalivedStops) {
		t.Errorf("a keyword without its value: want an error keepalived stops on too, got %v", diags)
	}
}

func TestKeepalivedBracesAsItsParserReadsThem(t *testing.T) {
	// An unknown keyword with a block: keepalived drops its '{', so its
	// '}' closes the instance and what follows is read at the top level.
	src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n foo_block {\n  priority 120\n }\n priority 130\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n"
	cfg, diags := kaLoadText(t, src, false)
	if cfg == nil {
		t.Fatal(diags)
	}
	in := cfg.Instances[0]
	if in.Priority != 120 || len(in.VirtualIPs) != 0 {
		t.Errorf("priority %d, %d VIPs; want 120 (read inside the instance) and none (read at the top level)", in.Priority, len(in.VirtualIPs))
	}
	for _, want := range []string{"4 Unexpected '{' - ignoring", "4 Unknown keyword 'foo_block'", "7 Unknown keyword 'priority'", "8 Unexpected '{' - ignoring", "11 Extra '}' found"} {
		if !slices.ContainsFunc(diags.Lenient(), func(d Diagnostic) bool { return fmt.Sprintf("%d %s", d.Pos.Line, d.Summary) == want }) {
			t.Errorf("missing %q in\n%v", want, diags)
		}
	}
}

func TestKeepalivedConfigurationLanguage(t *testing.T) {
	tests := []struct {
		name     string
		configID string
		src      string
		want     []string // the VIPs of VI_1
	}{
		{"@id keeps a line for this node only", "lb1", kaInstance(" virtual_ipaddress {\n@lb1 192.0.2.11\n@lb2 192.0.2.12\n }\n"), []string{"192.0.2.1/32", "192.0.2.11/32"}},
		{"@^id keeps a line for every other node", "lb1", kaInstance(" virtual_ipaddress {\n@^lb1 192.0.2.11\n@^lb2 192.0.2.12\n }\n"), []string{"192.0.2.1/32", "192.0.2.12/32"}},
		{"config id defaults to the host name up to its dot", "", kaInstance(" virtual_ipaddress {\n@node1 192.0.2.11\n }\n"), []string{"192.0.2.1/32", "192.0.2.11/32"}},
		{"${_INSTANCE}", "lb7", "$X=${_INSTANCE}\n" + kaInstance(" virtual_ipaddress {\n@lb7 192.0.2.17\n }\n"), []string{"192.0.2.1/32", "192.0.2.17/32"}},
		{"definition used at the time of use", "", "$A=192.0.2.${B}\n$B=21\n" + kaInstance(" virtual_ipaddress {\n  ${A}\n }\n"), []string{"192.0.2.1/32", "192.0.2.21/32"}},
		{"$NAME needs white space after it", "", "$A=192.0.2.31\n" + kaInstance(" virtual_ipaddress {\n  $A\n  $A/32\n }\n"), []string{"192.0.2.1/32", "192.0.2.31/32"}},
		{"multi-line definition yields its lines", "", "$V= \\\n 192.0.2.41 \\\n 192.0.2.${N}\n$N=42\n" + kaInstance(" virtual_ipaddress {\n  $V\n }\n"), []string{"192.0.2.1/32", "192.0.2.41/32", "192.0.2.42/32"}},
		{"~SEQ", "", kaInstance(" virtual_ipaddress {\n  ~SEQ(N, 51, 2, 55) 192.0.2.${N}\n }\n"), []string{"192.0.2.1/32", "192.0.2.51/32", "192.0.2.53/32", "192.0.2.55/32"}},
		{"~SEQ with END only counts from 1", "", kaInstance(" virtual_ipaddress {\n  ~SEQ(N, 2) 192.0.2.10${N}\n }\n"), []string{"192.0.2.1/32", "192.0.2.101/32", "192.0.2.102/32"}},
		{"~LST with two variables", "", kaInstance(" virtual_ipaddress {\n  ~LST({A,B}, {0,61}, {1,62}) 192.0.${A}.${B}\n }\n"), []string{"192.0.0.61/32", "192.0.1.62/32", "192.0.2.1/32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := kaTestLoader()
			l.ConfigID = tt.configID
			cfg, diags := l.LoadSource("k.conf", []byte(tt.src))
			if cfg == nil {
				t.Fatal(diags)
			}
			var got []string
			for _, v := range cfg.Instances[0].VirtualIPs {
				got = append(got, v.Prefix.String())
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("VIPs %v, want %v\n%v", got, tt.want, diags)
			}
		})
	}
}

func TestKeepalivedMultiLineDefinitionMakesBlocks(t *testing.T) {
	src := `$VI= \
vrrp_instance VI_${N} { \
    interface eth0 \
    virtual_router_id 6${N} \
    virtual_ipaddress { \
        192.0.2.6${N} \
    } \
}
~SEQ(N, 1, 3) $VI
`
	cfg, diags := kaLoadText(t, src, true)
	if cfg == nil {
		t.Fatal(diags)
	}
	var got []string
	for _, in := range cfg.Instances {
		got = append(got, fmt.Sprintf("%s/%d/%s", in.Name, in.VirtualRouterID, in.VirtualIPs[0].Prefix.Addr()))
	}
	if want := []string{"VI_1/61/192.0.2.61", "VI_2/62/192.0.2.62", "VI_3/63/192.0.2.63"}; !slices.Equal(got, want) {
		t.Errorf("instances %v, want %v", got, want)
	}
}

func TestKeepalivedRedirectionScriptRunsWithShell(t *testing.T) {
	cfg, diags := kaLoadText(t, "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\n"+kaInstance(" track_script {\n  chk\n }\n"), true)
	if cfg == nil {
		t.Fatal(diags)
	}
	if got := cfg.Scripts[0].Script; got != "/bin/sh -c '</dev/tcp/127.0.0.1/80'" {
		t.Errorf("script %q", got)
	}
	if _, err := netip.ParsePrefix("192.0.2.1/32"); err != nil {
		t.Fatal(err)
	}
}

func TestKeepalivedAdvertisesAnAddressAsOftenAsItIsListed(t *testing.T) {
	// keepalived's doc/samples keepalived.conf.vrrp lists 192.168.200.18
	// twice: keepalived holds it once and sends it twice in its adverts.
	src := kaInstance(" virtual_ipaddress {\n  192.0.2.2\n  192.0.2.1 label eth0:1\n }\n")
	cfg, diags := kaLoadText(t, src, false)
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	in := cfg.Instances[0]
	var held []string
	for _, v := range in.VirtualIPs {
		held = append(held, v.Prefix.Addr().String())
	}
	var sent []string
	for _, a := range in.AdvertAddresses {
		sent = append(sent, a.String())
	}
	if !slices.Equal(held, []string{"192.0.2.1", "192.0.2.2"}) || !slices.Equal(sent, []string{"192.0.2.1", "192.0.2.2", "192.0.2.1"}) {
		t.Errorf("held %v, advertised %v; want held once, advertised as listed", held, sent)
	}
}
