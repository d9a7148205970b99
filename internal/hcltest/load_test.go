package hcltest

import (
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

func TestLoadReturnsTheFinalConfig(t *testing.T) {
	cfg := Load(t, `
global { lvs_program = "always" }
virtual_server "192.0.2.100:80" {
  real_server "10.0.0.1" {
    TCP_CHECK {}
  }
}
`)
	vs := cfg.VirtualServers[0]
	rs := vs.RealServers[0]
	if rs.Addr.Port() != 80 || rs.Weight != 1 {
		t.Errorf("real server %s weight %d: want port 80 and weight 1 from the defaults", rs.Addr, rs.Weight)
	}
	if c := rs.Checkers[0]; c.Connect != rs.Addr || c.DelayLoop != vs.DelayLoop {
		t.Errorf("checker connect %s delay_loop %s: want the real server's address and the service's delay_loop", c.Connect, c.DelayLoop)
	}
}

func TestLoadUsesTheFixedHostname(t *testing.T) {
	cfg := Load(t, `global { router_id = hostname() }`)
	if cfg.Global.RouterID != Hostname {
		t.Errorf("router_id %q, want %q", cfg.Global.RouterID, Hostname)
	}
}

func TestLoadKeepalivedReadsKeepalivedSyntax(t *testing.T) {
	cfg := LoadKeepalived(t, `
virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.0.0.1 80 {
    weight 3
  }
}
`)
	if got := cfg.VirtualServers[0].RealServers[0].Weight; got != 3 {
		t.Errorf("weight %d, want 3", got)
	}
	if cfg.Global.LVSProgram != hcl.LVSProgramAlways {
		t.Errorf("lvs_program %q: a keepalived.conf import programs on both nodes", cfg.Global.LVSProgram)
	}
}

func TestLoadFilesFollowsIncludes(t *testing.T) {
	cfg := LoadFiles(t, "main.hcl", map[string]string{
		"main.hcl":     `include = ["conf.d/*.hcl"]`,
		"conf.d/a.hcl": `global { router_id = "a" }`,
	})
	if cfg.Global.RouterID != "a" {
		t.Errorf("router_id %q: the include was not read", cfg.Global.RouterID)
	}
}

func TestLoaderReportsErrorsAsDiagnostics(t *testing.T) {
	_, diags := Loader(map[string]string{HCLFile: `global { lvs_program = "sometimes" }`}).Load(HCLFile)
	if !diags.HasErrors() {
		t.Fatal("an invalid lvs_program loaded without an error")
	}
}
