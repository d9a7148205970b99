package lvs

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// testHCL is a DR web service and a persistent NAT fwmark service, both
// owned by VRRP instance VI_1 (lvs_program "master" by default). Its three
// verbs add attributes to the global block, to the web service and to its
// first real server, 10.0.0.1.
const testHCL = `
global {
  %s
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100"]
}
virtual_server "192.0.2.100:80" {
  lb_algo = "wlc"
  lb_kind = "DR"
  %s
  real_server "10.0.0.1:80" {
    weight = 3
    %s
    TCP_CHECK {}
  }
  real_server "10.0.0.2:80" {
    weight = 3
    TCP_CHECK {}
  }
}
virtual_server "fwmark 1" {
  vrrp_instance           = "VI_1"
  lb_algo                 = "rr"
  lb_kind                 = "NAT"
  persistence_timeout     = 300
  persistence_granularity = "255.255.255.0"
  real_server "10.0.0.3" {}
}
`

// loadTestConfig loads testHCL with attributes added to the global block,
// the web service and its first real server.
func loadTestConfig(t testing.TB, global, web, first string) *hcl.Config {
	t.Helper()
	return hcltest.Load(t, fmt.Sprintf(testHCL, global, web, first))
}

// testConfig is testHCL as written. It panics when testHCL does not load,
// so that the tests of other files can call it without a testing.TB.
func testConfig() *hcl.Config {
	cfg, diags := hcltest.Loader(map[string]string{hcltest.HCLFile: fmt.Sprintf(testHCL, "", "", "")}).Load(hcltest.HCLFile)
	if diags.HasErrors() {
		panic(diags.Error())
	}
	return cfg
}

// weights returns "addr=weight" for each destination of the service.
func weights(t Table, key string) []string {
	s := t.Find(key)
	if s == nil {
		return nil
	}
	var out []string
	for _, d := range s.Destinations {
		out = append(out, d.Addr.String()+"="+itoa(d.Weight))
	}
	return out
}

func itoa(n int) string { return string(rune('0'+n/10%10)) + string(rune('0'+n%10)) }

const web = "TCP:192.0.2.100:80"

func down(reason string) Verdict { return Verdict{Up: false, Weight: -1, Reason: reason} }

var upVerdict = Verdict{Up: true, Weight: -1}

func TestServiceFromConfigCarriesEveryKernelField(t *testing.T) {
	cfg := hcltest.Load(t, `
global { lvs_program = "always" }
virtual_server "fwmark 9" {
  ip_family           = "inet6"
  lb_algo             = "mh"
  scheduler_flags     = ["mh-fallback", "mh-port"]
  persistence_timeout = "90s"
  ops                 = true
  real_server "2001:db8::1" {}
}
virtual_server "[2001:db8::5]:443" {
  protocol = "SCTP"
  lb_algo  = "lblcr"
  real_server "[2001:db8::2]:443" {}
}`)
	got := serviceFromConfig(&cfg.VirtualServers[0])
	want := Service{FWMark: 9, IPv6: true, Scheduler: "mh", Flags: FlagPersistent | FlagOnePacket | FlagSched1 | FlagSched2, Timeout: 90, Netmask: 128}
	if got.Key() != "FWM:9:inet6" || !got.settingsEqual(&want) || got.Flags != want.Flags {
		t.Fatalf("got %+v want %+v", got, want)
	}
	s := serviceFromConfig(&cfg.VirtualServers[1])
	if s.Key() != "SCTP:[2001:db8::5]:443" || s.Netmask != 128 || !s.isIPv6() || s.Flags != 0 {
		t.Fatalf("IPv6 SCTP service: %+v", s)
	}
}

func TestFailedRealServerIsRemoved(t *testing.T) {
	d := Desire(State{Config: testConfig(), Active: map[string]bool{"VI_1": true},
		Verdicts: map[VerdictKey]Verdict{{web, ap("10.0.0.1:80")}: down("connection refused")}})
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.2:80=03"}) {
		t.Fatalf("destinations %v", got)
	}
}

func TestInhibitOnFailureKeepsFailedRealServerWithWeightZero(t *testing.T) {
	cfg := loadTestConfig(t, "", "", "inhibit_on_failure = true")
	d := Desire(State{Config: cfg, Active: map[string]bool{"VI_1": true},
		Verdicts: map[VerdictKey]Verdict{{web, ap("10.0.0.1:80")}: down("timeout")}})
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.1:80=00", "10.0.0.2:80=03"}) {
		t.Fatalf("destinations %v", got)
	}
}

func TestDynamicWeightFromVerdict(t *testing.T) {
	d := Desire(State{Config: testConfig(), Active: map[string]bool{"VI_1": true},
		Verdicts: map[VerdictKey]Verdict{{web, ap("10.0.0.2:80")}: {Up: true, Weight: 7}}})
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.1:80=03", "10.0.0.2:80=07"}) {
		t.Fatalf("destinations %v", got)
	}
}

func TestAlphaStartsRealServersDownUntilTheirFirstCheckPasses(t *testing.T) {
	cfg := loadTestConfig(t, "", "alpha = true", "")
	st := State{Config: cfg, Active: map[string]bool{"VI_1": true}, Verdicts: map[VerdictKey]Verdict{}}
	if got := weights(Desire(st).Table, web); len(got) != 0 {
		t.Fatalf("alpha: before any check %v", got)
	}
	st.Verdicts[VerdictKey{web, ap("10.0.0.2:80")}] = upVerdict
	if got := weights(Desire(st).Table, web); !slices.Equal(got, []string{"10.0.0.2:80=03"}) {
		t.Fatalf("alpha: after 10.0.0.2 passed %v", got)
	}
	// A real server without checkers is never failed, alpha or not.
	if got := weights(Desire(st).Table, "FWM:1:inet"); !slices.Equal(got, []string{"10.0.0.3:0=01"}) {
		t.Fatalf("alpha without checkers: %v", got)
	}
}

func TestWithoutAlphaRealServersStartUp(t *testing.T) {
	d := Desire(State{Config: testConfig(), Active: map[string]bool{"VI_1": true}})
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.1:80=03", "10.0.0.2:80=03"}) {
		t.Fatalf("destinations %v", got)
	}
}

func TestMastershipProgramsWithdrawsOrHolds(t *testing.T) {
	tests := []struct {
		name                string
		program             string
		active              map[string]bool
		programmed, holding bool
	}{
		{"master programs", hcl.LVSProgramMaster, map[string]bool{"VI_1": true}, true, false},
		{"backup withdraws", hcl.LVSProgramMaster, map[string]bool{"VI_1": false}, false, false},
		{"undecided holds", hcl.LVSProgramMaster, map[string]bool{}, false, true},
		{"always programs on backup", hcl.LVSProgramAlways, map[string]bool{"VI_1": false}, true, false},
		{"always programs undecided", hcl.LVSProgramAlways, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadTestConfig(t, fmt.Sprintf("lvs_program = %q", tt.program), "", "")
			d := Desire(State{Config: cfg, Active: tt.active})
			if got := d.Table.Find(web) != nil; got != tt.programmed {
				t.Errorf("programmed = %v, want %v", got, tt.programmed)
			}
			if d.Held[web] != tt.holding {
				t.Errorf("held = %v, want %v", d.Held[web], tt.holding)
			}
			if !d.Owned[web] || !d.Owned["FWM:1:inet"] {
				t.Errorf("owned = %v", d.Owned)
			}
		})
	}
}

// TestQuorumSorryServerAndHysteresis walks keepalived's quorum semantics:
// quorum 4, hysteresis 1, two real servers of weight 3 (live weight 6).
// Lost below 4-1=3, regained at 4+1=5.
func TestQuorumSorryServerAndHysteresis(t *testing.T) {
	cfg := loadTestConfig(t, "", `
  quorum                  = 4
  hysteresis              = 1
  sorry_server            = "10.9.9.9:80"
  sorry_server_lvs_method = "NAT"`, "")
	r1, r2 := VerdictKey{web, ap("10.0.0.1:80")}, VerdictKey{web, ap("10.0.0.2:80")}
	st := State{Config: cfg, Active: map[string]bool{"VI_1": true}, Verdicts: map[VerdictKey]Verdict{}, QuorumUp: map[string]bool{}}
	steps := []struct {
		name    string
		verdict map[VerdictKey]Verdict
		weight  int // r2's dynamic weight when set
		want    []string
		up      bool
	}{
		{"start: live 6 >= 5, quorum up", nil, 0, []string{"10.0.0.1:80=03", "10.0.0.2:80=03"}, true},
		{"r1 down: live 3, not < 3, quorum kept", map[VerdictKey]Verdict{r1: down("x")}, 0, []string{"10.0.0.2:80=03"}, true},
		{"r2 weight 2: live 2 < 3, sorry server in", map[VerdictKey]Verdict{r2: {Up: true, Weight: 2}}, 0, []string{"10.9.9.9:80=01"}, false},
		{"r2 weight 4: live 4 < 5, still sorry", map[VerdictKey]Verdict{r2: {Up: true, Weight: 4}}, 0, []string{"10.9.9.9:80=01"}, false},
		{"r1 up: live 7 >= 5, real servers back", map[VerdictKey]Verdict{r1: upVerdict}, 0, []string{"10.0.0.1:80=03", "10.0.0.2:80=04"}, true},
		{"all down: live 0, sorry server", map[VerdictKey]Verdict{r1: down("x"), r2: down("x")}, 0, []string{"10.9.9.9:80=01"}, false},
	}
	for _, step := range steps {
		for k, v := range step.verdict {
			st.Verdicts[k] = v
		}
		d := Desire(st)
		q := d.Quorum[web]
		st.QuorumUp[web] = q.Up
		if got := weights(d.Table, web); !slices.Equal(got, step.want) || q.Up != step.up {
			t.Fatalf("%s: destinations %v quorum %v, want %v quorum %v", step.name, got, q.Up, step.want, step.up)
		}
		if q.SorryActive {
			if f := d.Table.Find(web).Destinations[0].Forward; f != ForwardMasq {
				t.Fatalf("%s: sorry server forward %v, want masq (sorry_server_lvs_method)", step.name, f)
			}
		}
	}
}

func TestSorryServerKeepsInhibitedRealServersAtWeightZero(t *testing.T) {
	cfg := loadTestConfig(t, "", `sorry_server = "10.9.9.9:80"`, "inhibit_on_failure = true")
	d := Desire(State{Config: cfg, Active: map[string]bool{"VI_1": true}, Verdicts: map[VerdictKey]Verdict{
		{web, ap("10.0.0.1:80")}: down("x"), {web, ap("10.0.0.2:80")}: down("x"),
	}})
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.1:80=00", "10.9.9.9:80=01"}) {
		t.Fatalf("destinations %v", got)
	}
	if f := d.Table.Find(web).Destinations[1].Forward; f != ForwardRoute {
		t.Fatalf("sorry server defaults to the service's lb_kind, got %v", f)
	}
}

func TestQuorumLossWithoutSorryServerKeepsLiveServers(t *testing.T) {
	cfg := loadTestConfig(t, "", "quorum = 5", "")
	d := Desire(State{Config: cfg, Active: map[string]bool{"VI_1": true}, Verdicts: map[VerdictKey]Verdict{
		{web, ap("10.0.0.1:80")}: down("x"),
	}, QuorumUp: map[string]bool{web: true}})
	if d.Quorum[web].Up {
		t.Fatal("quorum should be lost at live weight 3 < 5")
	}
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.2:80=03"}) {
		t.Fatalf("destinations %v", got)
	}
}

// A real server starts from its checkers' own alpha, which hcl resolved
// nearest block first; the virtual server's alpha is not consulted again.
func TestFirstTableFollowsTheNearestAlpha(t *testing.T) {
	tests := []struct {
		name     string
		web      string // attributes of the web service
		first    string // attributes of 10.0.0.1's TCP_CHECK
		wantIn   bool   // 10.0.0.1 is in the table before any verdict
		wantKeep bool   // 10.0.0.2 (the service's alpha alone) is in it
	}{
		{"checker alpha = false beats the service's alpha = true", "alpha = true", "alpha = false", true, false},
		{"checker alpha = true beats the service's alpha = false", "alpha = false", "alpha = true", false, true},
		{"no alpha anywhere", "", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(fmt.Sprintf(testHCL, "", tt.web, ""), "TCP_CHECK {}", "TCP_CHECK { "+tt.first+" }", 1)
			cfg := hcltest.Load(t, src)
			d := Desire(State{Config: cfg, Active: map[string]bool{"VI_1": true}})
			got := weights(d.Table, web)
			if in := slices.Contains(got, "10.0.0.1:80=03"); in != tt.wantIn {
				t.Errorf("10.0.0.1 with weight 3 in the first table = %v, want %v (destinations %v)", in, tt.wantIn, got)
			}
			if in := slices.Contains(got, "10.0.0.2:80=03"); in != tt.wantKeep {
				t.Errorf("10.0.0.2 with weight 3 in the first table = %v, want %v (destinations %v)", in, tt.wantKeep, got)
			}
		})
	}
}

// The same rule read from keepalived.conf, where a real server may set
// alpha for its checkers too.
func TestFirstTableFollowsTheNearestAlphaInKeepalivedConf(t *testing.T) {
	cfg := hcltest.LoadKeepalived(t, `
virtual_server 192.0.2.100 80 {
  protocol TCP
  lb_algo wlc
  lb_kind DR
  alpha
  real_server 10.0.0.1 80 {
    weight 3
    TCP_CHECK {
      alpha no
    }
  }
  real_server 10.0.0.2 80 {
    weight 3
    TCP_CHECK {
    }
  }
  real_server 10.0.0.3 80 {
    weight 3
    alpha off
    TCP_CHECK {
    }
  }
}`)
	d := Desire(State{Config: cfg})
	if got := weights(d.Table, web); !slices.Equal(got, []string{"10.0.0.1:80=03", "10.0.0.3:80=03"}) {
		t.Fatalf("first table %v, want 10.0.0.1 (checker alpha no) and 10.0.0.3 (real server alpha off), not 10.0.0.2 (service alpha)", got)
	}
}

// The desired services' names are strings of their own, never slices of
// the model's: the keepalived.conf reader's words are slices of the whole
// file's text, `lvsd run` compacts its model only after the first write,
// and the Manager keeps the services it wrote as its view of the kernel.
func TestDesiredServicesKeepNoPartOfTheModelsStrings(t *testing.T) {
	text := strings.Repeat("x", 4096) + " TCP wlc sip UDP mh TCPX wlcx "
	word := func(w string) string {
		i := strings.Index(text, " "+w+" ")
		return text[i+1 : i+1+len(w)]
	}
	inText := func(s string) bool {
		if s == "" {
			return false
		}
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(text)))
		return p >= lo && p < lo+uintptr(len(text))
	}
	for _, names := range [][3]string{{"TCP", "wlc", "sip"}, {"UDP", "mh", ""}, {"TCPX", "wlcx", ""}} {
		vs := hcl.VirtualServer{Addr: netip.MustParseAddrPort("192.0.2.1:80"), Protocol: word(names[0]), LBAlgo: word(names[1]), Quorum: 1,
			RealServers: []hcl.RealServer{{Addr: netip.MustParseAddrPort("10.0.0.1:80"), Weight: 1}}}
		if names[2] != "" {
			vs.PersistenceEngine = word(names[2])
		}
		if !inText(vs.Protocol) || !inText(vs.LBAlgo) {
			t.Fatal("the test's model does not slice its text")
		}
		d := Desire(State{Config: &hcl.Config{Global: hcl.Global{LVSProgram: hcl.LVSProgramAlways}, VirtualServers: []hcl.VirtualServer{vs}}})
		s := d.Table[0]
		if s.Protocol != names[0] || s.Scheduler != names[1] || s.PEName != names[2] {
			t.Fatalf("desired %q %q %q, want %q", s.Protocol, s.Scheduler, s.PEName, names)
		}
		for _, n := range []string{s.Protocol, s.Scheduler, s.PEName} {
			if inText(n) {
				t.Errorf("the desired service's %q is a slice of the model's text", n)
			}
		}
	}
}
