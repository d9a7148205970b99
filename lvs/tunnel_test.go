package lvs

import (
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
)

const tunnelConfig = `
virtual_server 192.0.2.60 5060 {
  protocol UDP
  lb_algo rr
  lb_kind TUN type gue port 6080 remcsum
  persistence_timeout 30
  persistence_engine sip
  quorum 2
  sorry_server 10.0.9.9 5060
  sorry_server_inhibit
  real_server 10.0.0.61 5060 {
    weight 1
    PING_CHECK {
    }
  }
  real_server 10.0.0.62 5060 {
    weight 1
    PING_CHECK {
    }
  }
}
`

// TestDesiredCarriesTunnelsEnginesAndAnInhibitedSorryServer: the tunnel
// settings reach every destination, sorry server included; sip is the
// service's persistence engine; with sorry_server_inhibit the sorry
// server sits at weight 0 while quorum holds and takes weight 1 (the
// real servers gone) once it is lost, as keepalived does.
func TestDesiredCarriesTunnelsEnginesAndAnInhibitedSorryServer(t *testing.T) {
	cfg := hcltest.LoadKeepalived(t, tunnelConfig)
	key := cfg.VirtualServers[0].Key()
	gue := Tunnel{Type: TunnelGUE, Port: 6080, Flags: TunnelFlagRemCsum}
	for _, tc := range []struct {
		name    string
		downs   int
		weights map[string]int // destination -> weight; absent: not in the table
	}{
		{"quorum holds", 0, map[string]int{"10.0.0.61:5060": 1, "10.0.0.62:5060": 1, "10.0.9.9:5060": 0}},
		{"quorum lost", 1, map[string]int{"10.0.9.9:5060": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verdicts := map[VerdictKey]Verdict{}
			for i := range tc.downs {
				verdicts[VerdictKey{Service: key, Real: cfg.VirtualServers[0].RealServers[i].Addr}] = Verdict{Up: false, Weight: -1}
			}
			d := Desire(State{Config: cfg, Verdicts: verdicts})
			svc := d.Table[0]
			if svc.PEName != "sip" {
				t.Errorf("persistence engine %q, want sip", svc.PEName)
			}
			got := map[string]int{}
			for _, dst := range svc.Destinations {
				got[dst.Addr.String()] = dst.Weight
				if dst.Forward != ForwardTunnel || dst.Tunnel != gue {
					t.Errorf("%s: forward %s tunnel %+v, want tunnel %+v", dst.Addr, dst.Forward, dst.Tunnel, gue)
				}
			}
			if len(got) != len(tc.weights) {
				t.Fatalf("destinations %v, want %v", got, tc.weights)
			}
			for a, w := range tc.weights {
				if g, ok := got[a]; !ok || g != w {
					t.Errorf("%s: weight %d (present %t), want %d", a, g, ok, w)
				}
			}
		})
	}
}

// TestTunnelAndEngineAttributesReadBackAsWritten: what the writer puts in
// IPVS_CMD_NEW_SERVICE / NEW_DEST (PE_NAME, TUN_TYPE, TUN_PORT,
// TUN_FLAGS) is what the table read's decoders take out, and IPIP
// destinations carry none of them (older kernels see the request they
// always saw).
func TestTunnelAndEngineAttributesReadBackAsWritten(t *testing.T) {
	svc := Service{Protocol: "UDP", Addr: AP("192.0.2.60:5060"), Scheduler: "rr", PEName: "sip"}
	var got Service
	nested := appendServiceAttrs(nil, &svc, true)
	if err := walkAttrs(nested[attrHeaderLen:], func(typ uint16, p []byte) { readServiceExtra(&got, typ, p) }); err != nil {
		t.Fatal(err)
	}
	if got.PEName != "sip" {
		t.Errorf("PE name read back %q", got.PEName)
	}
	for _, want := range []Tunnel{{Type: TunnelGUE, Port: 6080, Flags: TunnelFlagCsum}, {Type: TunnelGRE, Flags: TunnelFlagCsum}, {}} {
		d := Destination{Addr: AP("10.0.0.61:5060"), Forward: ForwardTunnel, Weight: 1, Tunnel: want}
		var back Destination
		attrs := 0
		nested := appendDestAttrs(nil, &d, true)
		if err := walkAttrs(nested[attrHeaderLen:], func(typ uint16, p []byte) {
			if typ >= ipvsDestAttrTunType {
				attrs++
			}
			readDestExtra(&back, typ, p)
		}); err != nil {
			t.Fatal(err)
		}
		if back.Tunnel != want {
			t.Errorf("tunnel %+v read back as %+v", want, back.Tunnel)
		}
		if want == (Tunnel{}) && attrs != 0 {
			t.Errorf("an IPIP destination carries %d tunnel attributes", attrs)
		}
	}
}

// TestTimeoutsMessageSetsOnlyWhatIsGiven: IPVS_CMD_SET_CONFIG carries the
// timeouts that are set, in seconds, and nothing for the others (the
// kernel keeps them).
func TestTimeoutsMessageSetsOnlyWhatIsGiven(t *testing.T) {
	msg := timeoutsMessage(0x20, 7, Timeouts{TCP: 900 * time.Second, UDP: 300 * time.Second})
	if int(native.Uint32(msg)) != len(msg) || msg[nlmsgHdrLen] != ipvsCmdSetConfig {
		t.Fatalf("header: length %d of %d, command %d", native.Uint32(msg), len(msg), msg[nlmsgHdrLen])
	}
	got := map[uint16]uint32{}
	if err := walkAttrs(msg[nlmsgHdrLen+genlHdrLen:], func(typ uint16, p []byte) { got[typ] = native.Uint32(p) }); err != nil {
		t.Fatal(err)
	}
	want := map[uint16]uint32{ipvsCmdAttrTimeoutTCP: 900, ipvsCmdAttrTimeoutUDP: 300}
	if len(got) != len(want) || got[ipvsCmdAttrTimeoutTCP] != 900 || got[ipvsCmdAttrTimeoutUDP] != 300 {
		t.Errorf("attributes %v, want %v", got, want)
	}
}

// TestTableReadDecodesEnginesAndTunnels: the table read's decoders
// (parseService, parseDestination) take the persistence engine and the
// tunnel settings out of the kernel's answers.
func TestTableReadDecodesEnginesAndTunnels(t *testing.T) {
	svc := Service{Protocol: "UDP", Addr: AP("192.0.2.60:5060"), Scheduler: "rr", PEName: "sip"}
	got, err := parseService(kernelService(svc, true))
	if err != nil || got.PEName != "sip" {
		t.Fatalf("service read back: %+v, %v", got, err)
	}
	want := Tunnel{Type: TunnelGUE, Port: 6080, Flags: TunnelFlagRemCsum}
	d := Destination{Addr: AP("10.0.0.61:5060"), Forward: ForwardTunnel, Weight: 1, Tunnel: want}
	back, err := parseDestination(appendDestAttrs(nil, &d, true), &svc)
	if err != nil || back.Tunnel != want {
		t.Fatalf("destination read back: %+v, %v", back, err)
	}
}

// TestDesiredForwardsEachRealServerByItsOwnMethod: a real server's
// lvs_method (TUN with its settings in a DR service) is its destination's
// forwarding method; the others keep the service's.
func TestDesiredForwardsEachRealServerByItsOwnMethod(t *testing.T) {
	cfg := hcltest.LoadKeepalived(t, `
virtual_server 192.0.2.70 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.0.71 80 {
  }
  real_server 10.0.0.72 80 {
    lvs_method TUN type gre
  }
}
`)
	got := map[string]Destination{}
	for _, d := range Desire(State{Config: cfg}).Table[0].Destinations {
		got[d.Addr.String()] = d
	}
	if d := got["10.0.0.71:80"]; d.Forward != ForwardRoute || d.Tunnel != (Tunnel{}) {
		t.Errorf("the service's method: %+v", d)
	}
	if d := got["10.0.0.72:80"]; d.Forward != ForwardTunnel || d.Tunnel != (Tunnel{Type: TunnelGRE}) {
		t.Errorf("the real server's own method: %+v", d)
	}
}
