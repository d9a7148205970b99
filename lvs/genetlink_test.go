package lvs

import (
	"bytes"
	"encoding/binary"
	"syscall"
	"testing"
)

// attrs walks a netlink attribute stream into type -> payload.
func attrs(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	out := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("trailing %d bytes", len(b))
		}
		l := int(native.Uint16(b))
		if l < 4 || l > len(b) {
			t.Fatalf("bad attribute length %d", l)
		}
		out[native.Uint16(b[2:])] = b[4:l]
		b = b[min(align4(l), len(b)):]
	}
	return out
}

func TestOpMessageCarriesTheIPVSAttributes(t *testing.T) {
	op := Op{Kind: OpAddDestination,
		Service:     Service{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc", Netmask: 24, Flags: FlagPersistent, Timeout: 300},
		Destination: Destination{Addr: ap("10.0.0.5:8080"), Forward: ForwardRoute, Weight: 7, UpperThreshold: 100, LowerThreshold: 5},
	}
	b, err := appendOpMessage(nil, 0x1234, 42, nlmFRequest|nlmFAck, &op)
	if err != nil {
		t.Fatal(err)
	}
	if int(native.Uint32(b)) != len(b) || native.Uint16(b[4:]) != 0x1234 || native.Uint16(b[6:]) != nlmFRequest|nlmFAck || native.Uint32(b[8:]) != 42 {
		t.Fatalf("bad netlink header % x", b[:16])
	}
	if b[16] != ipvsCmdNewDest || b[17] != ipvsGenlVersion {
		t.Fatalf("genl header % x", b[16:20])
	}
	top := attrs(t, b[20:])
	svc := attrs(t, top[ipvsCmdAttrService])
	if native.Uint16(svc[ipvsSvcAttrAF]) != afInet || native.Uint16(svc[ipvsSvcAttrProtocol]) != 6 ||
		!bytes.Equal(svc[ipvsSvcAttrAddr], []byte{192, 0, 2, 1}) || binary.BigEndian.Uint16(svc[ipvsSvcAttrPort]) != 80 {
		t.Fatalf("service attributes %v", svc)
	}
	if _, ok := svc[ipvsSvcAttrSchedName]; ok {
		t.Fatal("destination command carries full service settings")
	}
	dst := attrs(t, top[ipvsCmdAttrDest])
	if !bytes.Equal(dst[ipvsDestAttrAddr], []byte{10, 0, 0, 5}) || binary.BigEndian.Uint16(dst[ipvsDestAttrPort]) != 8080 ||
		native.Uint32(dst[ipvsDestAttrFwdMethod]) != 3 || native.Uint32(dst[ipvsDestAttrWeight]) != 7 ||
		native.Uint32(dst[ipvsDestAttrUThresh]) != 100 || native.Uint32(dst[ipvsDestAttrLThresh]) != 5 {
		t.Fatalf("destination attributes %v", dst)
	}

	op.Kind = OpAddService
	b, _ = appendOpMessage(nil, 0x1234, 43, nlmFRequest, &op)
	svc = attrs(t, attrs(t, b[20:])[ipvsCmdAttrService])
	if string(svc[ipvsSvcAttrSchedName]) != "wlc\x00" || native.Uint32(svc[ipvsSvcAttrTimeout]) != 300 ||
		!bytes.Equal(svc[ipvsSvcAttrNetmask], []byte{255, 255, 255, 0}) ||
		native.Uint32(svc[ipvsSvcAttrFlags]) != uint32(FlagPersistent) || native.Uint32(svc[ipvsSvcAttrFlags][4:]) != ^uint32(0) {
		t.Fatalf("service settings %v", svc)
	}

	fw := Op{Kind: OpAddService, Service: Service{FWMark: 3, IPv6: true, Scheduler: "rr", Netmask: 64}}
	b, _ = appendOpMessage(nil, 1, 1, nlmFRequest, &fw)
	svc = attrs(t, attrs(t, b[20:])[ipvsCmdAttrService])
	if native.Uint16(svc[ipvsSvcAttrAF]) != afInet6 || native.Uint32(svc[ipvsSvcAttrFWMark]) != 3 ||
		native.Uint32(svc[ipvsSvcAttrNetmask]) != 64 || svc[ipvsSvcAttrAddr] != nil {
		t.Fatalf("fwmark service attributes %v", svc)
	}
}

func TestNetmaskRoundTrips(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		top := 32
		if v6 {
			top = 128
		}
		for p := 1; p <= top; p++ {
			if got := netmaskPrefix(netmaskValue(p, v6), v6); got != p {
				t.Fatalf("ipv6=%v /%d came back /%d", v6, p, got)
			}
		}
	}
}

func TestParseAcksReadsErrorsAndAcks(t *testing.T) {
	msg := func(typ uint16, seq uint32, code int32) []byte {
		b := native.AppendUint32(nil, 36)
		b = native.AppendUint16(b, typ)
		b = native.AppendUint16(b, 0x100)
		b = native.AppendUint32(b, seq)
		b = native.AppendUint32(b, 0)
		b = native.AppendUint32(b, uint32(code))
		return append(b, make([]byte, 16)...) // the echoed request header
	}
	b := append(msg(nlmsgError, 7, -int32(syscall.EINVAL)), msg(nlmsgError, 9, 0)...)
	b = append(b, msg(0x20, 10, 0)...) // something else: skipped
	acks, err := parseAcks(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != 2 || acks[0] != (ack{7, syscall.EINVAL}) || acks[1] != (ack{9, 0}) {
		t.Fatalf("acks %v", acks)
	}
	if _, err := parseAcks(b[:20]); err == nil {
		t.Fatal("truncated message accepted")
	}
}

func TestParseFamilyIDFindsIPVS(t *testing.T) {
	b := native.AppendUint32(nil, 0)
	b = native.AppendUint16(b, genlCtrlID)
	b = native.AppendUint16(b, 0)
	b = native.AppendUint32(b, 1)
	b = native.AppendUint32(b, 0)
	b = append(b, 1, 2, 0, 0)
	b = appendAttr(b, genlCtrlAttrFamilyNam, []byte("IPVS\x00"))
	b = appendU16(b, genlCtrlAttrFamilyID, 0x25)
	native.PutUint32(b, uint32(len(b)))
	id, err := parseFamilyID(b)
	if err != nil || id != 0x25 {
		t.Fatalf("id %#x err %v", id, err)
	}
	req := familyRequest(3, "IPVS")
	if int(native.Uint32(req)) != len(req) || native.Uint16(req[4:]) != genlCtrlID {
		t.Fatalf("family request % x", req)
	}
}

func FuzzParseAcks(f *testing.F) {
	ackMsg := native.AppendUint32(nil, 36)
	ackMsg = native.AppendUint16(ackMsg, nlmsgError)
	ackMsg = append(ackMsg, make([]byte, 30)...)
	f.Add(ackMsg)
	f.Add([]byte{})
	f.Add([]byte{16, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		acks, _ := parseAcks(b)
		if len(acks) > len(b)/nlmsgHdrLen {
			t.Fatalf("%d acks from %d bytes", len(acks), len(b))
		}
		_, _ = parseFamilyID(b)
	})
}
