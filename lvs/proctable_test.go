package lvs

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// kernelProcText is /proc/net/ip_vs as Linux 6.1 (Debian 12's, HZ 250)
// printed it in the test VM for TestKernelProcTableIsWhatTheFakeRenders's
// table.
const kernelProcText = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
UDP  C0000278:0035 rr ops  persistent 7500 FFFF0000
  -> 0A4D0001:0035      Route   2      0          0         
  -> 0A000901:0035      Masq    7      0          0         
TCP  C0000264:0050 wlc  
  -> 0A000002:0050      Route   1      0          0         
  -> 0A000001:0050      Route   3      0          0         
SCTP  C0000279:0009 rr  
  -> 0A000902:0009      Tunnel  0      0          0         
TCP  C0000265:1F90 rr  persistent 150000 FFFFFF00
  -> 0A000102:0050      Masq    2      0          0         
  -> 0A000101:0050      Masq    1      0          0         
UDP  [2001:0db8:0000:0000:0000:0000:0000:0100]:0035 rr persistent 15000 40000000
  -> [2001:0db8:0001:0000:0000:0000:0000:0001]:0035      Tunnel  1      0          0         
FWM  00000001 sh 
  -> 0A000201:0000      Route   1      0          0         
FWM  00000002 rr 
  -> [2001:0db8:0002:0000:0000:0000:0000:0001]:0000      Route   4      0          0         
FWM  00000002 rr 
  -> 0A000903:0000      Route   5      0          0         
`

func TestProcTableReadsWhatTheKernelPrints(t *testing.T) {
	var p procTable
	if err := p.parse([]byte(kernelProcText)); err != nil {
		t.Fatal(err)
	}
	want := []procService{
		{id: serviceID{protocol: "UDP", addr: ap("192.0.2.120:53")}, scheduler: "rr", onePacket: true, persistent: true, timeout: 7500, netmask: 0xffff0000, dests: []procDest{
			{ap("10.77.0.1:53"), ForwardRoute, 2}, {ap("10.0.9.1:53"), ForwardMasq, 7}}},
		{id: serviceID{protocol: "TCP", addr: ap("192.0.2.100:80")}, scheduler: "wlc", dests: []procDest{
			{ap("10.0.0.2:80"), ForwardRoute, 1}, {ap("10.0.0.1:80"), ForwardRoute, 3}}},
		{id: serviceID{protocol: "SCTP", addr: ap("192.0.2.121:9")}, scheduler: "rr", dests: []procDest{
			{ap("10.0.9.2:9"), ForwardTunnel, 0}}},
		{id: serviceID{protocol: "TCP", addr: ap("192.0.2.101:8080")}, scheduler: "rr", persistent: true, timeout: 150000, netmask: 0xffffff00, dests: []procDest{
			{ap("10.0.1.2:80"), ForwardMasq, 2}, {ap("10.0.1.1:80"), ForwardMasq, 1}}},
		{id: serviceID{protocol: "UDP", addr: ap("[2001:db8::100]:53")}, scheduler: "rr", persistent: true, timeout: 15000, netmask: 0x40000000, dests: []procDest{
			{ap("[2001:db8:1::1]:53"), ForwardTunnel, 1}}},
		{id: serviceID{fwmark: 1}, scheduler: "sh", dests: []procDest{{ap("10.0.2.1:0"), ForwardRoute, 1}}},
		{id: serviceID{fwmark: 2}, scheduler: "rr", dests: []procDest{{ap("[2001:db8:2::1]:0"), ForwardRoute, 4}}},
		{id: serviceID{fwmark: 2}, scheduler: "rr", dests: []procDest{{ap("10.0.9.3:0"), ForwardRoute, 5}}},
	}
	if len(p.services) != len(want) {
		t.Fatalf("%d services, want %d", len(p.services), len(want))
	}
	for i := range want {
		g, w := p.services[i], want[i]
		if g.id != w.id || g.scheduler != w.scheduler || g.onePacket != w.onePacket || g.persistent != w.persistent ||
			g.timeout != w.timeout || g.netmask != w.netmask || len(g.dests) != len(w.dests) {
			t.Fatalf("service %d:\ngot  %+v\nwant %+v", i, g, w)
		}
		for j := range w.dests {
			if g.dests[j] != w.dests[j] {
				t.Fatalf("service %d real server %d: got %+v, want %+v", i, j, g.dests[j], w.dests[j])
			}
		}
	}
	// A second parse into the same table reuses its memory and gives the
	// same services.
	if err := p.parse([]byte(kernelProcText)); err != nil || len(p.services) != len(want) || p.services[3].dests[1] != want[3].dests[1] {
		t.Fatalf("second parse: %v, %+v", err, p.services)
	}
}

func TestProcTableNamesTheLineItCannotRead(t *testing.T) {
	header := strings.Join(strings.SplitAfter(kernelProcText, "\n")[:3], "")
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"empty", "", 0},
		{"no header", "TCP  C0000264:0050 wlc  \n", 1},
		{"second header line", "IP Virtual Server version 1.2.1 (size=4096)\nProt Local\n", 2},
		{"real server first", header + "  -> 0A000002:0050      Route   1      0          0\n", 4},
		{"short address", header + "TCP  C00264:0050 wlc\n", 4},
		{"unknown protocol", header + "XTP  C0000264:0050 wlc\n", 4},
		{"no scheduler", header + "TCP  C0000264:0050\n", 4},
		{"unknown flag", header + "TCP  C0000264:0050 wlc sticky\n", 4},
		{"persistent without netmask", header + "TCP  C0000264:0050 wlc persistent 300\n", 4},
		{"netmask not hex", header + "TCP  C0000264:0050 wlc persistent 300 FFFFFFFG\n", 4},
		{"fwmark zero", header + "FWM  00000000 wlc\n", 4},
		{"IPv6 without brackets", header + "TCP  2001:0db8:0000:0000:0000:0000:0000:0100:0035 rr\n", 4},
		{"IPv6 with a zone", header + "TCP  [fe80::1%eth0]:0035 rr\n", 4},
		{"port too long", header + "TCP  C0000264:00050 wlc\n", 4},
		{"unknown method", header + "TCP  C0000264:0050 wlc\n  -> 0A000002:0050      Bypass  1      0          0\n", 5},
		{"weight not a number", header + "TCP  C0000264:0050 wlc\n  -> 0A000002:0050      Route   x      0          0\n", 5},
		{"counter missing", header + "TCP  C0000264:0050 wlc\n  -> 0A000002:0050      Route   1      0\n", 5},
		{"weight past int32", header + "TCP  C0000264:0050 wlc\n  -> 0A000002:0050      Route   99999999999 0          0\n", 5},
		{"cut short", header + "TCP  C0000264:0050 wlc\n  -> 0A000002:0050      Ro", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p procTable
			err := p.parse([]byte(tc.text))
			if err == nil {
				t.Fatalf("parsed %+v", p.services)
			}
			if tc.line > 0 && (!errors.Is(err, errProcLine) || !strings.Contains(err.Error(), "line "+strconv.Itoa(tc.line)+" ")) {
				t.Fatalf("error %q does not name line %d", err, tc.line)
			}
		})
	}
}

func TestProcShowsComparesWhatTheFilePrints(t *testing.T) {
	var p procTable
	if err := p.parse([]byte(kernelProcText)); err != nil {
		t.Fatal(err)
	}
	udp := Service{Protocol: "UDP", Addr: ap("192.0.2.120:53"), Scheduler: "rr",
		Flags: FlagPersistent | FlagOnePacket, Timeout: 30, Netmask: 16, Destinations: []Destination{
			{Addr: ap("10.0.9.1:53"), Forward: ForwardMasq, Weight: 7, Position: 1},
			{Addr: ap("10.77.0.1:53"), Forward: ForwardRoute, Weight: 2, Position: 0, UpperThreshold: 9}}}
	v6 := Service{Protocol: "UDP", Addr: ap("[2001:db8::100]:53"), Scheduler: "rr", Flags: FlagPersistent, Timeout: 60, Netmask: 64,
		Destinations: []Destination{{Addr: ap("[2001:db8:1::1]:53"), Forward: ForwardTunnel, Weight: 1}}}
	for _, tc := range []struct {
		name  string
		p     *procService
		s     Service
		edit  func(*Service)
		hz    uint32
		shows bool
	}{
		{"as read", &p.services[0], udp, nil, 250, true},
		{"HZ unknown", &p.services[0], udp, nil, 0, false},
		{"another HZ", &p.services[0], udp, nil, 1000, false},
		{"weight", &p.services[0], udp, func(s *Service) { s.Destinations[0].Weight = 8 }, 250, false},
		{"forwarding method", &p.services[0], udp, func(s *Service) { s.Destinations[0].Forward = ForwardRoute }, 250, false},
		{"list order", &p.services[0], udp, func(s *Service) { s.Destinations[0].Position, s.Destinations[1].Position = 0, 1 }, 250, false},
		{"order unknown (lvsd's own write): the kernel's order is not read again", &p.services[0], udp, func(s *Service) { s.Destinations[0].Position, s.Destinations[1].Position = 0, 0 }, 250, true},
		{"order unknown: a weight still differs", &p.services[0], udp, func(s *Service) {
			s.Destinations[0].Position, s.Destinations[1].Position = 0, 0
			s.Destinations[1].Weight = 3
		}, 250, false},
		{"order unknown: a real server still differs", &p.services[0], udp, func(s *Service) {
			s.Destinations[0].Position, s.Destinations[1].Position = 0, 0
			s.Destinations[0].Addr = ap("10.0.9.2:53")
		}, 250, false},
		{"scheduler", &p.services[0], udp, func(s *Service) { s.Scheduler = "wrr" }, 250, false},
		{"one-packet", &p.services[0], udp, func(s *Service) { s.Flags &^= FlagOnePacket }, 250, false},
		{"timeout", &p.services[0], udp, func(s *Service) { s.Timeout = 31 }, 250, false},
		{"netmask", &p.services[0], udp, func(s *Service) { s.Netmask = 24 }, 250, false},
		{"not persistent", &p.services[0], udp, func(s *Service) { s.Flags &^= FlagPersistent }, 250, false},
		{"real server gone", &p.services[0], udp, func(s *Service) { s.Destinations = s.Destinations[:1] }, 250, false},
		{"threshold: not printed", &p.services[0], udp, func(s *Service) { s.Destinations[1].UpperThreshold = 10 }, 250, true},
		{"tunnel: not printed", &p.services[0], udp, func(s *Service) { s.Destinations[0].Tunnel.Type = TunnelGUE }, 250, true},
		{"scheduler flag: not printed", &p.services[0], udp, func(s *Service) { s.Flags |= FlagSched1 }, 250, true},
		{"persistence engine: not printed", &p.services[0], udp, func(s *Service) { s.PEName = "sip" }, 250, true},
		{"IPv6 as read", &p.services[4], v6, nil, 250, true},
		{"IPv6 one-packet: not printed", &p.services[4], v6, func(s *Service) { s.Flags |= FlagOnePacket }, 250, true},
		{"IPv6 netmask", &p.services[4], v6, func(s *Service) { s.Netmask = 48 }, 250, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			s.Destinations = append([]Destination(nil), s.Destinations...)
			if tc.edit != nil {
				tc.edit(&s)
			}
			v := toView(&s)
			if got := procShows(tc.p, &v, tc.hz); got != tc.shows {
				t.Fatalf("procShows = %v, want %v", got, tc.shows)
			}
		})
	}
}

func TestRereadSlotsCoverEveryServiceOncePerRotation(t *testing.T) {
	const services, passes = 2000, DefaultRereadPasses
	per := make([]int, passes)
	for i := range services {
		s := Service{Protocol: "TCP", Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 80)}
		slot := rereadSlot(s.Key(), passes)
		if slot < 0 || slot >= passes || slot != rereadSlot(s.Key(), passes) {
			t.Fatalf("slot %d of %s", slot, s.Key())
		}
		per[slot]++
	}
	// Each pass reads its share, give or take: none reads twice the mean.
	for i, n := range per {
		if n == 0 || n > 2*services/passes {
			t.Fatalf("pass %d of the rotation reads %d of %d services: %v", i, n, services, per)
		}
	}
}

func FuzzParseProcTable(f *testing.F) {
	f.Add([]byte(kernelProcText))
	f.Add([]byte(strings.Join(strings.SplitAfter(kernelProcText, "\n")[:3], "")))
	f.Add([]byte("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  [::ffff:c000:0264]:0050 sh ops persistent -2 FFFFFFFF\n  -> [::ffff:0a00:0001]:0050      Masq    -1     -5         0\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p procTable
		err := p.parse(b)
		if err != nil {
			if strings.Count(string(b), "\n") >= 3 && !errors.Is(err, errProcLine) {
				t.Fatalf("an error that names no line: %v", err)
			}
			return
		}
		n := 0
		for _, s := range p.services {
			if s.scheduler == "" || (s.id.fwmark == 0) == !s.id.addr.IsValid() {
				t.Fatalf("service %+v", s)
			}
			for _, d := range s.dests {
				if !d.addr.IsValid() {
					t.Fatalf("real server %+v", d)
				}
			}
			n += 1 + len(s.dests)
		}
		if lines := strings.Count(string(b), "\n"); n != lines-3 {
			t.Fatalf("%d services and real servers from %d lines", n, lines)
		}
	})
}

// TestProcTableReadsATimeoutPrintedNegative: the kernel prints its
// unsigned svc->timeout (seconds x HZ) with %d, so a persistence timeout
// past 2^31 jiffies (3,000,000 s at HZ 1000, which keepalived and lvsd
// accept) is printed negative; the service is still the one lvsd wrote,
// not a line the parser refuses (which made every pass read the whole
// table through netlink).
func TestProcTableReadsATimeoutPrintedNegative(t *testing.T) {
	const seconds, hz = 3_000_000, 1000
	jiffies := uint32(seconds * hz)
	text := strings.Join(strings.SplitAfter(kernelProcText, "\n")[:3], "") +
		"TCP  C0000264:0050 wlc  persistent " + strconv.Itoa(int(int32(jiffies))) + " FFFFFFFF\n" +
		"  -> 0A000001:0050      Route   3      0          0         \n"
	var p procTable
	if err := p.parse([]byte(text)); err != nil {
		t.Fatal(err)
	}
	s := Service{Protocol: "TCP", Addr: ap("192.0.2.100:80"), Scheduler: "wlc", Flags: FlagPersistent, Timeout: seconds, Netmask: 32,
		Destinations: []Destination{{Addr: ap("10.0.0.1:80"), Forward: ForwardRoute, Weight: 3}}}
	if v := toView(&s); !procShows(&p.services[0], &v, hz) {
		t.Fatalf("procShows(%+v) = false for the service as written", p.services[0])
	}
}

// BenchmarkProcTableParse parses the benchmark table's file (2,000
// services x 16 real servers, 2 MB) into a reused procTable, as each
// steady repair pass does.
func BenchmarkProcTableParse(b *testing.B) {
	text := benchProcText()
	var p procTable
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

// benchProcText is the file of the synthetic table's shape, as Linux 6.1
// prints it.
func benchProcText() []byte {
	b := []byte(strings.Join(strings.SplitAfter(kernelProcText, "\n")[:3], ""))
	for i := range 2000 {
		b = fmt.Appendf(b, "TCP  C0A8%04X:0050 wlc  \n", i)
		for j := range 16 {
			b = fmt.Appendf(b, "  -> 0A%06X:0050      Route   1      0          0         \n", i*16+j)
		}
	}
	return b
}
