package lvs

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"syscall"
	"testing"
)

// The answers below are built the way ip_vs_genl_fill_service and
// ip_vs_genl_fill_dest write them (Linux 6.1): addresses as the 16 bytes
// of union nf_inet_addr, flags as struct ip_vs_flags, both counter nests.

const testFamily = 0x22

// kernelAddr is an address attribute's payload as the kernel sends it.
func kernelAddr(a netip.Addr) []byte {
	b := make([]byte, 16)
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
	} else {
		v := a.As16()
		copy(b, v[:])
	}
	return b
}

func appendU64(b []byte, typ uint16, v uint64) []byte {
	return appendAttr(b, typ, native.AppendUint64(nil, v))
}

// appendKernelStats appends a STATS (wide false: 32-bit packet counters)
// or STATS64 nest.
func appendKernelStats(b []byte, typ uint16, st Stats, wide bool) []byte {
	b, at := beginNest(b, typ)
	if wide {
		b = appendU64(b, ipvsStatsAttrConns, st.Conns)
		b = appendU64(b, ipvsStatsAttrInPkts, st.PacketsIn)
		b = appendU64(b, ipvsStatsAttrOutPkts, st.PacketsOut)
	} else {
		b = appendU32(b, ipvsStatsAttrConns, uint32(st.Conns))
		b = appendU32(b, ipvsStatsAttrInPkts, uint32(st.PacketsIn))
		b = appendU32(b, ipvsStatsAttrOutPkts, uint32(st.PacketsOut))
	}
	b = appendU64(b, ipvsStatsAttrInBytes, st.BytesIn)
	b = appendU64(b, ipvsStatsAttrOutBytes, st.BytesOut)
	b = appendU32(b, 6, 1) // CPS, INPPS...: rates lvsd does not read
	return endNest(b, at)
}

// kernelMessage wraps attrs in a dump answer of seq.
func kernelMessage(b []byte, seq uint32, cmd uint8, attrs []byte) []byte {
	start := len(b)
	b = appendGenlHeader(b, testFamily, seq, 0x2 /* NLM_F_MULTI */, cmd)
	b = append(b, attrs...)
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

func kernelDone(b []byte, seq uint32) []byte {
	start := len(b)
	b = native.AppendUint32(b, 0)
	b = native.AppendUint16(b, nlmsgDone)
	b = native.AppendUint16(b, 0x2)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0)
	b = native.AppendUint32(b, 0) // the dump's errno, 0
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

func kernelError(b []byte, seq uint32, errno syscall.Errno) []byte {
	start := len(b)
	b = native.AppendUint32(b, 0)
	b = native.AppendUint16(b, nlmsgError)
	b = native.AppendUint16(b, 0)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0)
	b = native.AppendUint32(b, uint32(-int32(errno)))
	b = append(b, make([]byte, nlmsgHdrLen)...) // the request's header
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// kernelService is s as a NEW_SERVICE answer; stats64 false leaves the
// 64-bit nest out, as kernels before 4.1 do.
func kernelService(s Service, stats64 bool) []byte {
	b, at := beginNest(nil, ipvsCmdAttrService)
	af := uint16(afInet)
	if s.IPv6 || s.FWMark == 0 && s.Addr.Addr().Is6() {
		af = afInet6
	}
	b = appendU16(b, ipvsSvcAttrAF, af)
	if s.FWMark != 0 {
		b = appendU32(b, ipvsSvcAttrFWMark, s.FWMark)
	} else {
		b = appendU16(b, ipvsSvcAttrProtocol, protocolNumber(s.Protocol))
		b = appendAttr(b, ipvsSvcAttrAddr, kernelAddr(s.Addr.Addr()))
		b = appendAttr(b, ipvsSvcAttrPort, binary.BigEndian.AppendUint16(nil, s.Addr.Port()))
	}
	b = appendAttr(b, ipvsSvcAttrSchedName, append([]byte(s.Scheduler), 0))
	b = appendPEName(b, &s) // IPVS_SVC_ATTR_PE_NAME (tunnel.go): only with an engine, as the kernel
	flags := native.AppendUint32(nil, uint32(s.Flags))
	b = appendAttr(b, ipvsSvcAttrFlags, native.AppendUint32(flags, ^uint32(0)))
	b = appendU32(b, ipvsSvcAttrTimeout, s.Timeout)
	b = appendU32(b, ipvsSvcAttrNetmask, netmaskValue(s.Netmask, af == afInet6))
	b = appendKernelStats(b, ipvsSvcAttrStats, s.Stats, false)
	if stats64 {
		b = appendKernelStats(b, ipvsSvcAttrStats64, s.Stats, true)
	}
	return endNest(b, at)
}

// kernelDestination is d as a NEW_DEST answer; af 0 leaves the family
// attribute out, as kernels before 3.18 do.
func kernelDestination(d Destination, af uint16) []byte {
	b, at := beginNest(nil, ipvsCmdAttrDest)
	b = appendAttr(b, ipvsDestAttrAddr, kernelAddr(d.Addr.Addr()))
	b = appendAttr(b, ipvsDestAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
	b = appendU32(b, ipvsDestAttrFwdMethod, uint32(d.Forward))
	b = appendU32(b, ipvsDestAttrWeight, uint32(d.Weight))
	b = appendU32(b, ipvsDestAttrUThresh, d.UpperThreshold)
	b = appendU32(b, ipvsDestAttrLThresh, d.LowerThreshold)
	b = appendU32(b, ipvsDestAttrActiveConns, d.ActiveConns)
	b = appendU32(b, ipvsDestAttrInactConns, d.InactiveConns)
	b = appendU32(b, 9, 3) // IPVS_DEST_ATTR_PERSIST_CONNS: not read
	b = appendKernelStats(b, ipvsDestAttrStats, d.Stats, false)
	if af != 0 {
		b = appendU16(b, ipvsDestAttrAddrFamily, af)
	}
	b = appendKernelStats(b, ipvsDestAttrStats64, d.Stats, true)
	b = appendU32(b, 13, 0) // IPVS_DEST_ATTR_TUN_TYPE (Linux 5.2): not read here
	return endNest(b, at)
}

func TestDumpRequestsNameTheServiceLikeADelete(t *testing.T) {
	svc := Service{Protocol: "UDP", Addr: ap("[2001:db8::1]:53"), Scheduler: "rr", Timeout: 9}
	for _, tc := range []struct {
		name string
		svc  *Service
		cmd  uint8
	}{
		{"services", nil, ipvsCmdGetService},
		{"real servers", &svc, ipvsCmdGetDest},
	} {
		b := dumpRequest([]byte("kept"), testFamily, 7, tc.svc)[4:]
		if int(native.Uint32(b)) != len(b) || native.Uint16(b[4:]) != testFamily ||
			native.Uint16(b[6:]) != nlmFRequest|nlmFDump || native.Uint32(b[8:]) != 7 || b[16] != tc.cmd {
			t.Fatalf("%s: header % x", tc.name, b[:20])
		}
		if tc.svc == nil {
			if len(b) != nlmsgHdrLen+genlHdrLen {
				t.Fatalf("%s: the services dump carries attributes % x", tc.name, b[20:])
			}
			continue
		}
		del, _ := appendOpMessage(nil, testFamily, 7, 0, &Op{Kind: OpDeleteService, Service: svc})
		if string(b[20:]) != string(del[20:]) {
			t.Fatalf("%s: attributes % x, want those of a delete % x", tc.name, b[20:], del[20:])
		}
	}
}

func TestDumpDecodesWhatTheKernelSends(t *testing.T) {
	st := Stats{Conns: 1 << 33, PacketsIn: 5 << 32, PacketsOut: 7, BytesIn: 1 << 40, BytesOut: 9}
	narrow := Stats{Conns: st.Conns & 0xffffffff, PacketsIn: st.PacketsIn & 0xffffffff, PacketsOut: 7, BytesIn: 1 << 40, BytesOut: 9}
	for _, tc := range []struct {
		name    string
		svc     Service
		stats64 bool
		want    Service
	}{
		{
			name:    "IPv4 TCP, persistent /24, kernel's hashed flag kept",
			svc:     Service{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc", Flags: FlagPersistent | flagHashed, Timeout: 300, Netmask: 24, Stats: st},
			stats64: true,
			want:    Service{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc", Flags: FlagPersistent | flagHashed, Timeout: 300, Netmask: 24, Stats: st},
		},
		{
			name:    "IPv6 UDP, /64, 32-bit counters only (before Linux 4.1)",
			svc:     Service{Protocol: "UDP", Addr: ap("[2001:db8::1]:53"), Scheduler: "sh", Flags: FlagSched1 | FlagSched2, Netmask: 64, Stats: st},
			stats64: false,
			want:    Service{Protocol: "UDP", Addr: ap("[2001:db8::1]:53"), IPv6: true, Scheduler: "sh", Flags: FlagSched1 | FlagSched2, Netmask: 64, Stats: narrow},
		},
		{
			name:    "fwmark, IPv6",
			svc:     Service{FWMark: 42, IPv6: true, Scheduler: "mh", Netmask: 128},
			stats64: true,
			want:    Service{FWMark: 42, IPv6: true, Scheduler: "mh", Netmask: 128},
		},
		{
			name:    "fwmark, IPv4, one-packet scheduling",
			svc:     Service{FWMark: 7, Scheduler: "rr", Flags: FlagOnePacket, Netmask: 32},
			stats64: true,
			want:    Service{FWMark: 7, Scheduler: "rr", Flags: FlagOnePacket, Netmask: 32},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Two services in one datagram, then the end of the dump.
			b := kernelMessage(nil, 3, ipvsCmdNewServiceAnswer, kernelService(tc.svc, tc.stats64))
			b = kernelMessage(b, 3, ipvsCmdNewServiceAnswer, kernelService(tc.svc, tc.stats64))
			b = kernelMessage(b, 2, ipvsCmdNewServiceAnswer, kernelService(tc.svc, tc.stats64)) // an older request's
			got, done, err := parseServiceDump(b, testFamily, 3, nil)
			if err != nil || done || len(got) != 2 {
				t.Fatalf("got %d services, done %v, err %v; want 2, not done", len(got), done, err)
			}
			if !reflect.DeepEqual(got[1], tc.want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got[1], tc.want)
			}
			got, done, err = parseServiceDump(kernelDone(nil, 3), testFamily, 3, got)
			if err != nil || !done || len(got) != 2 {
				t.Fatalf("NLMSG_DONE: %d services, done %v, err %v", len(got), done, err)
			}
		})
	}
}

func TestDumpDecodesRealServersInListOrder(t *testing.T) {
	svc := Service{Protocol: "TCP", Addr: ap("[2001:db8::1]:443"), Scheduler: "mh"}
	dests := []Destination{
		{Addr: ap("[2001:db8::20]:443"), Forward: ForwardRoute, Weight: 3, UpperThreshold: 100, LowerThreshold: 10,
			ActiveConns: 4, InactiveConns: 5, Stats: Stats{Conns: 1 << 35, PacketsIn: 2, PacketsOut: 3, BytesIn: 4, BytesOut: 5}},
		// A tunnel real server of another family (Linux 3.18 and later
		// say which).
		{Addr: ap("10.0.0.9:443"), Forward: ForwardTunnel, Weight: 0},
		{Addr: ap("[2001:db8::10]:8443"), Forward: ForwardMasq, Weight: 1},
	}
	for _, tc := range []struct {
		name string
		af   func(Destination) uint16
	}{
		{"family attribute present", func(d Destination) uint16 {
			if d.Addr.Addr().Is4() {
				return afInet
			}
			return afInet6
		}},
		{"family attribute absent: the service's", func(Destination) uint16 { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			want := dests
			if tc.af(Destination{}) == 0 {
				want = []Destination{dests[0], dests[2]} // one family only, as those kernels allow
			}
			for _, d := range want {
				b = kernelMessage(b, 9, ipvsCmdNewDestAnswer, kernelDestination(d, tc.af(d)))
			}
			s := svc
			done, err := parseDestDump(b, testFamily, 9, &s)
			if err != nil || done {
				t.Fatalf("done %v, err %v", done, err)
			}
			if done, err := parseDestDump(kernelDone(nil, 9), testFamily, 9, &s); !done || err != nil {
				t.Fatalf("NLMSG_DONE: done %v, err %v", done, err)
			}
			if len(s.Destinations) != len(want) {
				t.Fatalf("%d real servers, want %d", len(s.Destinations), len(want))
			}
			for i, d := range s.Destinations {
				w := want[i]
				w.Position = i
				if !reflect.DeepEqual(d, w) {
					t.Fatalf("real server %d:\n%+v\nwant\n%+v", i, d, w)
				}
			}
		})
	}
}

func TestDumpEndsOnlyAtItsOwnDoneOrError(t *testing.T) {
	svc := Service{Protocol: "TCP", Addr: ap("192.0.2.1:80")}
	dest := kernelMessage(nil, 5, ipvsCmdNewDestAnswer, kernelDestination(Destination{Addr: ap("10.0.0.1:80")}, afInet))
	for _, tc := range []struct {
		name     string
		datagram []byte
		done     bool
		err      error
	}{
		{"another request's done", kernelDone(nil, 4), false, nil},
		{"its own done", kernelDone(nil, 5), true, nil},
		{"an error: the service is gone", kernelError(nil, 5, syscall.ESRCH), true, syscall.ESRCH},
		{"another request's error", kernelError(nil, 4, syscall.ESRCH), false, nil},
		{"a truncated message: the rest of the dump is still queued", dest[:len(dest)-8], false, errShortMessage},
		{"a truncated header", dest[:10], false, errShortMessage},
		{"a real server without its attributes", kernelMessage(nil, 5, ipvsCmdNewDestAnswer, nil), false, errShortMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := svc
			done, err := parseDestDump(tc.datagram, testFamily, 5, &s)
			if done != tc.done || !errors.Is(err, tc.err) {
				t.Fatalf("done %v, err %v; want %v, %v", done, err, tc.done, tc.err)
			}
		})
	}
}

// FuzzParseDump feeds datagrams to both dump decoders: they must not
// panic, and every service or real server they return came from a
// message of the datagram.
func FuzzParseDump(f *testing.F) {
	svc := Service{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc", Flags: FlagPersistent, Timeout: 60, Netmask: 24}
	f.Add(kernelMessage(nil, 1, ipvsCmdNewServiceAnswer, kernelService(svc, true)))
	f.Add(kernelMessage(kernelMessage(nil, 1, ipvsCmdNewDestAnswer, kernelDestination(Destination{Addr: ap("10.0.0.1:80"), Weight: 1}, afInet)), 1, ipvsCmdNewDestAnswer,
		kernelDestination(Destination{Addr: ap("[2001:db8::1]:80")}, afInet6)))
	f.Add(kernelDone(nil, 1))
	f.Add(kernelError(nil, 1, syscall.EBUSY))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		const minMessage = nlmsgHdrLen + genlHdrLen + attrHeaderLen
		tab, _, _ := parseServiceDump(b, testFamily, 1, nil)
		if len(tab) > len(b)/minMessage {
			t.Fatalf("%d services from %d bytes", len(tab), len(b))
		}
		s := svc
		_, _ = parseDestDump(b, testFamily, 1, &s)
		if len(s.Destinations) > len(b)/minMessage {
			t.Fatalf("%d real servers from %d bytes", len(s.Destinations), len(b))
		}
		for i, d := range s.Destinations {
			if d.Position != i || !d.Addr.IsValid() {
				t.Fatalf("real server %d: %+v", i, d)
			}
		}
	})
}

// BenchmarkDecodeRealServers decodes one service's answer of 16 real
// servers, the benchmark table's shape: the reader's own share of a
// repair pass, 2,000 times per pass on that table.
func BenchmarkDecodeRealServers(b *testing.B) {
	svc := Service{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc"}
	var msg []byte
	for i := range 16 {
		d := Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 80), Forward: ForwardRoute, Weight: i, Stats: Stats{Conns: 5}}
		msg = kernelMessage(msg, 9, ipvsCmdNewDestAnswer, kernelDestination(d, afInet))
	}
	dests := make([]Destination, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		s := svc
		s.Destinations = dests[:0]
		if _, err := parseDestDump(msg, testFamily, 9, &s); err != nil || len(s.Destinations) != 16 {
			b.Fatal(err)
		}
	}
}
