package hcl_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

const announceVS = `
global { lvs_program = "always" }
virtual_server "192.0.2.100:80" {
  real_server "10.0.0.1:80" {}
}
`

func TestAnnounceBlockIsReadWithDefaults(t *testing.T) {
	src := announceVS + `announce "bgp" {
  local_as    = 4200000001
  router_id   = "10.9.0.2"
  communities = ["65000:100", "65535:65535"]
  med         = 50
  maintenance_file = "/run/lvsd/maintenance"
  neighbor "10.9.0.1" {
    remote_as = 65000
  }
  neighbor "2001:db8::1" {
    remote_as = 65000
    hold_time = 9
    keepalive = 3
    password  = "s3cret"
    bfd       = true
    bfd_min_rx = "100ms"
    bfd_min_tx = "150ms"
    bfd_multiplier = 5
  }
}
`
	cfg, diags := hcltest.Loader(map[string]string{"t.hcl": src}).Load("t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a := cfg.Announce
	if a == nil {
		t.Fatal("no announce block in the model")
	}
	if a.LocalAS != 4200000001 || a.RouterID != netip.MustParseAddr("10.9.0.2") || !a.HasMED || a.MED != 50 || a.MaintenanceFile != "/run/lvsd/maintenance" {
		t.Errorf("announce = %+v", a)
	}
	if a.DrainDelay != 5*time.Second {
		t.Errorf("drain_delay = %v, want its default 5s", a.DrainDelay)
	}
	if len(a.Communities) != 2 || a.Communities[0] != 65000<<16|100 || a.Communities[1] != 0xffffffff {
		t.Errorf("communities = %x", a.Communities)
	}
	if len(a.Neighbors) != 2 {
		t.Fatalf("neighbors = %+v", a.Neighbors)
	}
	n0, n1 := a.Neighbors[0], a.Neighbors[1]
	if n0.HoldTime != 90*time.Second || n0.Keepalive != 30*time.Second || n0.BFD || n0.Password != "" {
		t.Errorf("defaults: %+v, want hold_time 90s, keepalive 30s (RFC 4271 section 10)", n0)
	}
	if n0.BFDMinRx != 300*time.Millisecond || n0.BFDMinTx != 300*time.Millisecond || n0.BFDMultiplier != 3 {
		t.Errorf("BFD defaults: %+v, want 300ms x 3", n0)
	}
	if n1.BFDMinRx != 100*time.Millisecond || n1.BFDMinTx != 150*time.Millisecond || n1.BFDMultiplier != 5 {
		t.Errorf("BFD timers: %+v", n1)
	}
	if n1.Addr != netip.MustParseAddr("2001:db8::1") || n1.RemoteAS != 65000 || n1.HoldTime != 9*time.Second || n1.Keepalive != 3*time.Second || !n1.BFD || n1.Password != "s3cret" {
		t.Errorf("neighbor = %+v", n1)
	}

	// lvsd convert writes it back to the same model.
	out := hcl.ConvertToHCL(cfg)
	back, diags := hcltest.Loader(map[string]string{"back.hcl": string(out)}).Load("back.hcl")
	if diags.HasErrors() {
		t.Fatalf("%v\n%s", diags, out)
	}
	strip := func(a hcl.Announce) hcl.Announce {
		a.Pos, a.Positions = hcl.Pos{}, hcl.Positions{}
		a.Neighbors = append([]hcl.BGPNeighbor(nil), a.Neighbors...)
		for i := range a.Neighbors {
			a.Neighbors[i].Pos, a.Neighbors[i].Positions = hcl.Pos{}, hcl.Positions{}
		}
		return a
	}
	if !reflect.DeepEqual(strip(*back.Announce), strip(*a)) {
		t.Errorf("converted back:\n%+v\nwant\n%+v\n%s", strip(*back.Announce), strip(*a), out)
	}
}

func TestAnnounceBlockIsRefusedWithItsLine(t *testing.T) {
	nb := `  neighbor "10.9.0.1" { remote_as = 65000 }
`
	head := `announce "bgp" {
  local_as  = 65001
  router_id = "10.9.0.2"
`
	testRefusals(t, []refusal{
		{"unknown protocol", announceVS + `announce "ospf" {
}`, `t.hcl:6:1: error: unknown announce protocol`},
		{"two blocks", announceVS + head + nb + "}\n" + head + nb + "}\n", `t.hcl:11:1: error: duplicate announce`},
		{"local_as missing", announceVS + `announce "bgp" {
  router_id = "10.9.0.2"
` + nb + "}\n", `t.hcl:6:1: error: invalid local_as`},
		{"local_as too big", announceVS + `announce "bgp" {
  local_as  = 4294967296
  router_id = "10.9.0.2"
` + nb + "}\n", `t.hcl:7:15: error: invalid local_as`},
		{"router_id IPv6", announceVS + `announce "bgp" {
  local_as  = 65001
  router_id = "2001:db8::2"
` + nb + "}\n", `t.hcl:8:15: error: invalid router_id`},
		{"no neighbor", announceVS + head + "}\n", `t.hcl:6:1: error: no neighbor`},
		{"neighbor not an address", announceVS + head + `  neighbor "router" { remote_as = 65000 }
}
`, `t.hcl:9:3: error: invalid neighbor`},
		{"duplicate neighbor", announceVS + head + nb + nb + "}\n", `t.hcl:10:3: error: duplicate neighbor`},
		{"remote_as missing", announceVS + head + `  neighbor "10.9.0.1" {}
}
`, `t.hcl:9:3: error: invalid remote_as`},
		{"bfd_min_rx below 10ms", announceVS + head + `  neighbor "10.9.0.1" {
    remote_as = 65000
    bfd_min_rx = "5ms"
  }
}
`, `t.hcl:11:18: error: invalid bfd_min_rx`},
		{"bfd_multiplier 0", announceVS + head + `  neighbor "10.9.0.1" {
    remote_as = 65000
    bfd_multiplier = 0
  }
}
`, `t.hcl:11:22: error: invalid bfd_multiplier`},
		{"hold_time below 3", announceVS + head + `  neighbor "10.9.0.1" {
    remote_as = 65000
    hold_time = 2
  }
}
`, `t.hcl:11:17: error: invalid hold_time`},
		{"keepalive not below hold_time", announceVS + head + `  neighbor "10.9.0.1" {
    remote_as = 65000
    hold_time = 9
    keepalive = 9
  }
}
`, `t.hcl:12:17: error: invalid keepalive`},
		{"bad community", announceVS + head + `  communities = ["65000"]
` + nb + "}\n", `t.hcl:9:17: error: invalid communities`},
		{"relative maintenance_file", announceVS + head + `  maintenance_file = "maint"
` + nb + "}\n", `t.hcl:9:22: error: invalid maintenance_file`},
		{"unknown attribute", announceVS + head + `  asn = 1
` + nb + "}\n", `t.hcl:9:3: error: Unsupported argument`},
		{"nothing to announce", `announce "bgp" {
  local_as  = 65001
  router_id = "10.9.0.2"
` + nb + "}\n", `t.hcl:1:1: error: nothing to announce`},
	})
}
