package hcl

import (
	"slices"
	"strings"
	"testing"
)

func TestParseGroupEntryExpandsRanges(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // member names
		bad  bool
	}{
		{in: "192.0.2.1 80", want: []string{"192.0.2.1:80"}},
		{in: "192.0.2.1:80", want: []string{"192.0.2.1:80"}},
		{in: "192.0.2.1", want: []string{"192.0.2.1:0"}},
		{in: "192.0.2.10-12 80", want: []string{"192.0.2.10:80", "192.0.2.11:80", "192.0.2.12:80"}},
		{in: "192.0.2.255-192.0.3.1 53", want: []string{"192.0.2.255:53", "192.0.3.0:53", "192.0.3.1:53"}},
		{in: "192.0.2.9/30 80", want: []string{"192.0.2.8:80", "192.0.2.9:80", "192.0.2.10:80", "192.0.2.11:80"}},
		{in: "2001:db8::9-b 443", want: []string{"[2001:db8::9]:443", "[2001:db8::a]:443", "[2001:db8::b]:443"}},
		{in: "[2001:db8::1]:443", want: []string{"[2001:db8::1]:443"}},
		{in: "fwmark 5", want: []string{"fwmark 5"}},
		{in: "fwmark 6 inet6", want: []string{"fwmark 6"}},
		{in: "192.0.2.5-3 80", bad: true},
		{in: "192.0.2.5-2001:db8::1 80", bad: true},
		{in: "10.0.0.0/8 80", bad: true},
		{in: "fwmark 0", bad: true},
		{in: "fwmark 1 ipx", bad: true},
		{in: "web 80", bad: true},
		{in: "192.0.2.1 http", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseGroupEntry(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error, got %v", tc.in, got)
			}
			continue
		}
		var names []string
		for _, m := range got {
			names = append(names, m.Name())
		}
		if err != nil || !slices.Equal(names, tc.want) {
			t.Errorf("%q: got %v (%v), want %v", tc.in, names, err, tc.want)
		}
	}
}

// FuzzParseGroupEntry: an entry either fails or gives at most
// maxGroupRange members, each an address service or a mark.
func FuzzParseGroupEntry(f *testing.F) {
	for _, s := range []string{"192.0.2.1-5 80", "2001:db8::1-ff 443", "fwmark 9 inet6", "10.0.0.0/20", "1.2.3.4:5", "::-ffff::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseGroupEntry(s)
		if err != nil {
			return
		}
		if len(ms) == 0 || len(ms) > maxGroupRange {
			t.Fatalf("%q: %d members", s, len(ms))
		}
		for _, m := range ms {
			if (m.FWMark == 0) != m.Addr.IsValid() {
				t.Fatalf("%q: member %+v is neither an address nor a mark", s, m)
			}
		}
	})
}

const hclGroup = `
global { lvs_program = "always" }
virtual_server "group WEB" {
  protocol   = "TCP"
  lb_kind    = "DR"
  quorum_up  = "/bin/true up"
  sorry_server = "10.0.0.9"
  real_server "10.0.0.1" {
    notify_up = "/bin/true rs"
    TCP_CHECK {
      connect_timeout = 2
      connect_port    = 80
    }
  }
  real_server "10.0.0.2" {}
}
virtual_server_group "WEB" {
  members = ["192.0.2.1 80", "192.0.2.2 80", "192.0.2.3 443", "192.0.2.10-11 80", "fwmark 7"]
}`

const kaGroup = `
virtual_server_group WEB {
  192.0.2.1 80
  192.0.2.2 80
  192.0.2.3 443
  192.0.2.10-11 80
  fwmark 7
}
virtual_server group WEB {
  protocol TCP
  lb_algo wlc
  lb_kind DR
  quorum_up "/bin/true up"
  sorry_server 10.0.0.9
  real_server 10.0.0.1 {
    notify_up "/bin/true rs"
    TCP_CHECK {
      connect_timeout 2
      connect_port 80
    }
  }
  real_server 10.0.0.2 {
  }
}`

// TestVirtualServerGroupIsOneServicePerMember: a `virtual_server group`
// is one IPVS service per member (three addresses, a range, a mark) with
// the same settings and real servers, in HCL and keepalived.conf alike;
// a real server written without a port takes each member's, the scripts
// are the first member's only.
func TestVirtualServerGroupIsOneServicePerMember(t *testing.T) {
	for _, tc := range []struct{ name, src string }{{"group.hcl", hclGroup}, {"keepalived.conf", kaGroup}} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			cfg, diags := l.LoadSource(tc.name, []byte(tc.src))
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			var keys []string
			for _, vs := range cfg.VirtualServers {
				keys = append(keys, vs.Key())
				if vs.Group != "WEB" || vs.LBKind != KindDR || len(vs.RealServers) != 2 || vs.SorryServer == nil {
					t.Errorf("%s: %+v", vs.Key(), vs)
				}
			}
			want := []string{"TCP:192.0.2.1:80", "TCP:192.0.2.2:80", "TCP:192.0.2.3:443", "TCP:192.0.2.10:80", "TCP:192.0.2.11:80", "FWM:7:inet"}
			if !slices.Equal(keys, want) {
				t.Fatalf("services %v, want %v", keys, want)
			}
			https := cfg.VirtualServers[2]
			if rs := https.RealServers[0]; rs.Addr.String() != "10.0.0.1:443" || rs.Checkers[0].Connect.String() != "10.0.0.1:80" || https.SorryServer.Addr.String() != "10.0.0.9:443" {
				t.Errorf("the 443 member: real server %s checked at %s, sorry %s", rs.Addr, rs.Checkers[0].Connect, https.SorryServer.Addr)
			}
			for i, vs := range cfg.VirtualServers {
				scripts := vs.QuorumUp != "" || vs.RealServers[0].NotifyUp != ""
				if scripts != (i == 0) {
					t.Errorf("%s: quorum_up %q notify_up %q; only the first member runs them", vs.Key(), vs.QuorumUp, vs.RealServers[0].NotifyUp)
				}
			}
		})
	}
}

func TestVirtualServerGroupConvertsToHCLAndBack(t *testing.T) {
	l := kaTestLoader()
	cfg, diags := l.LoadSource("keepalived.conf", []byte(kaGroup))
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	out := ConvertToHCL(cfg)
	if !strings.Contains(string(out), `virtual_server "group WEB"`) || !strings.Contains(string(out), `virtual_server_group "WEB"`) {
		t.Errorf("the group is not kept:\n%s", out)
	}
	assertConvertsBack(t, &l, cfg)
}

func TestVirtualServerGroupErrorsNameThePlace(t *testing.T) {
	l := kaTestLoader()
	_, diags := l.LoadSource("bad.hcl", []byte(`global { lvs_program = "always" }
virtual_server "group WBE" {
  real_server "10.0.0.1:80" {}
}
virtual_server_group "WEB" {
  members = ["192.0.2.1 80", "192.0.2.9-1 80"]
}
virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" {}
}`))
	for _, want := range []string{`bad.hcl:2:1: error: unknown virtual_server_group`, `Did you mean "WEB"?`, `bad.hcl:6:`} {
		if !strings.Contains(diags.Error(), want) {
			t.Errorf("no %q in %v", want, diags)
		}
	}
	_, diags = l.LoadSource("keepalived.conf", []byte("virtual_server group NOPE {\n  protocol TCP\n  real_server 10.0.0.1 80 {\n  }\n}\n"))
	if !strings.Contains(diags.Error(), "keepalived.conf:1: error: virtual_server_group NOPE not found") {
		t.Errorf("keepalived.conf: %v", diags)
	}
}

// TestKeepalivedCheckersConnectToThePortWritten: keepalived's checkers
// copy their real server's address while it is read, before a DR or
// fwmark service clears or resets its port; so do lvsd's.
func TestKeepalivedCheckersConnectToThePortWritten(t *testing.T) {
	l := kaTestLoader()
	cfg, diags := l.LoadSource("keepalived.conf", []byte(`
virtual_server fwmark 7 {
  lb_kind DR
  real_server 10.0.0.1 80 {
    TCP_CHECK {
    }
  }
}
virtual_server 192.0.2.1 80 {
  protocol TCP
  lb_kind DR
  real_server 10.0.0.2 8080 {
    TCP_CHECK {
    }
  }
}`))
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	for i, want := range []struct{ real, check string }{{"10.0.0.1:0", "10.0.0.1:80"}, {"10.0.0.2:80", "10.0.0.2:8080"}} {
		rs := cfg.VirtualServers[i].RealServers[0]
		if rs.Addr.String() != want.real || rs.Checkers[0].Connect.String() != want.check {
			t.Errorf("%s: real server %s checked at %s, want %s checked at %s", cfg.VirtualServers[i].Name, rs.Addr, rs.Checkers[0].Connect, want.real, want.check)
		}
	}
}
