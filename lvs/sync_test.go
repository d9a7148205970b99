package lvs

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestDaemonMessagesCarryTheDaemonAttributes(t *testing.T) {
	d := SyncDaemon{State: SyncBackup, Interface: "eth0", SyncID: 51, MaxLen: 1400,
		Group: netip.MustParseAddr("239.1.2.3"), Port: 8850, TTL: 2}
	b, err := daemonMessage(0x22, 7, ipvsCmdNewDaemon, &d)
	if err != nil {
		t.Fatal(err)
	}
	if int(native.Uint32(b)) != len(b) || native.Uint16(b[4:]) != 0x22 || native.Uint16(b[6:]) != nlmFRequest|nlmFAck || native.Uint32(b[8:]) != 7 {
		t.Fatalf("netlink header % x", b[:16])
	}
	if b[16] != ipvsCmdNewDaemon {
		t.Fatalf("command %d", b[16])
	}
	da := attrs(t, attrs(t, b[20:])[ipvsCmdAttrDaemon])
	if native.Uint32(da[ipvsDaemonAttrState]) != 2 || string(da[ipvsDaemonAttrMcastIfn]) != "eth0\x00" ||
		native.Uint32(da[ipvsDaemonAttrSyncID]) != 51 || native.Uint16(da[ipvsDaemonAttrSyncMaxlen]) != 1400 ||
		!bytes.Equal(da[ipvsDaemonAttrMcastGroup], []byte{239, 1, 2, 3}) || native.Uint16(da[ipvsDaemonAttrMcastPort]) != 8850 ||
		!bytes.Equal(da[ipvsDaemonAttrMcastTTL], []byte{2}) {
		t.Fatalf("daemon attributes %v", da)
	}

	// The kernel's defaults stay the kernel's: nothing sent for them.
	b, _ = daemonMessage(0x22, 8, ipvsCmdNewDaemon, &SyncDaemon{State: SyncMaster, Interface: "eth1", Group: netip.MustParseAddr("ff02::81")})
	da = attrs(t, attrs(t, b[20:])[ipvsCmdAttrDaemon])
	for _, a := range []uint16{ipvsDaemonAttrSyncMaxlen, ipvsDaemonAttrMcastPort, ipvsDaemonAttrMcastTTL, ipvsDaemonAttrMcastGroup} {
		if _, ok := da[a]; ok {
			t.Errorf("attribute %d sent for a kernel default", a)
		}
	}
	if !bytes.Equal(da[ipvsDaemonAttrMcastGroup6], netip.MustParseAddr("ff02::81").AsSlice()) {
		t.Errorf("IPv6 group %v", da[ipvsDaemonAttrMcastGroup6])
	}

	b, _ = daemonMessage(0x22, 9, ipvsCmdDelDaemon, &SyncDaemon{State: SyncMaster})
	da = attrs(t, attrs(t, b[20:])[ipvsCmdAttrDaemon])
	if len(da) != 1 || native.Uint32(da[ipvsDaemonAttrState]) != 1 {
		t.Errorf("DEL_DAEMON carries %v, want the state alone", da)
	}

	b, _ = daemonMessage(0x22, 10, ipvsCmdGetDaemon, nil)
	if len(b) != 20 || native.Uint16(b[6:]) != nlmFRequest|nlmFDump || b[16] != ipvsCmdGetDaemon {
		t.Errorf("GET_DAEMON request % x", b)
	}

	for _, bad := range []string{"", "a-very-long-ifname"} {
		if _, err := daemonMessage(1, 1, ipvsCmdNewDaemon, &SyncDaemon{State: SyncMaster, Interface: bad}); err == nil {
			t.Errorf("interface %q accepted", bad)
		}
	}
}

// kernelDaemonMessage is what ip_vs_genl_fill_daemon sends for d.
func kernelDaemonMessage(family uint16, seq uint32, d SyncDaemon) []byte {
	b := appendGenlHeader(nil, family, seq, 2 /* NLM_F_MULTI */, ipvsCmdNewDaemon)
	b, at := beginNest(b, ipvsCmdAttrDaemon)
	b = appendU32(b, ipvsDaemonAttrState, uint32(d.State))
	b = appendAttr(b, ipvsDaemonAttrMcastIfn, append([]byte(d.Interface), 0))
	b = appendU32(b, ipvsDaemonAttrSyncID, uint32(d.SyncID))
	b = appendU16(b, ipvsDaemonAttrSyncMaxlen, d.MaxLen)
	b = appendU16(b, ipvsDaemonAttrMcastPort, d.Port)
	b = appendAttr(b, ipvsDaemonAttrMcastTTL, []byte{d.TTL})
	if d.Group.Is4() {
		b = appendAttr(b, ipvsDaemonAttrMcastGroup, d.Group.AsSlice())
	} else {
		b = appendAttr(b, ipvsDaemonAttrMcastGroup6, d.Group.AsSlice())
	}
	b = endNest(b, at)
	native.PutUint32(b, uint32(len(b)))
	return b
}

func TestDaemonDumpIsDecoded(t *testing.T) {
	master := SyncDaemon{State: SyncMaster, Interface: "eth0", SyncID: 51, MaxLen: 1472, Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1}
	backup := SyncDaemon{State: SyncBackup, Interface: "eth1", SyncID: 7, MaxLen: 1452, Group: netip.MustParseAddr("ff02::81"), Port: 8849, TTL: 3}
	dg := append(kernelDaemonMessage(0x22, 5, master), kernelDaemonMessage(0x22, 5, backup)...)
	// A late answer to something else is skipped.
	dg = append(dg, kernelDaemonMessage(0x22, 4, master)...)
	ds, done, err := parseDaemonDump(dg, 0x22, 5)
	if err != nil || done || !slices.Equal(ds, []SyncDaemon{master, backup}) {
		t.Fatalf("got %v done=%v err=%v", ds, done, err)
	}
	doneMsg := native.AppendUint32(nil, 20)
	doneMsg = native.AppendUint16(doneMsg, nlmsgDone)
	doneMsg = native.AppendUint16(doneMsg, 2)
	doneMsg = native.AppendUint32(doneMsg, 5)
	doneMsg = native.AppendUint32(doneMsg, 0)
	doneMsg = native.AppendUint32(doneMsg, 0)
	if ds, done, err := parseDaemonDump(doneMsg, 0x22, 5); len(ds) != 0 || !done || err != nil {
		t.Fatalf("NLMSG_DONE: %v %v %v", ds, done, err)
	}
	errMsg := native.AppendUint32(nil, 20)
	errMsg = native.AppendUint16(errMsg, nlmsgError)
	errMsg = native.AppendUint16(errMsg, 0)
	errMsg = native.AppendUint32(errMsg, 5)
	errMsg = native.AppendUint32(errMsg, 0)
	eperm := int32(syscall.EPERM)
	errMsg = binary.NativeEndian.AppendUint32(errMsg, uint32(-eperm))
	if _, done, err := parseDaemonDump(errMsg, 0x22, 5); !done || err != syscall.EPERM {
		t.Fatalf("NLMSG_ERROR: done=%v err=%v", done, err)
	}
	if _, _, err := parseDaemonDump(dg[:10], 0x22, 5); err == nil {
		t.Fatal("truncated datagram accepted")
	}
}

func TestSyncDaemonPlanChangesOnlyWhatDiffers(t *testing.T) {
	m := SyncDaemon{State: SyncMaster, Interface: "eth0", SyncID: 51}
	b := SyncDaemon{State: SyncBackup, Interface: "eth0", SyncID: 51}
	// As the kernel reports them: its defaults filled in.
	mk := SyncDaemon{State: SyncMaster, Interface: "eth0", SyncID: 51, MaxLen: 1472, Port: 8848, TTL: 1, Group: netip.MustParseAddr("224.0.0.81")}
	bk := mk
	bk.State = SyncBackup
	other := b
	other.SyncID = 52
	ttl := m
	ttl.TTL = 2
	for _, tc := range []struct {
		name          string
		running, want []SyncDaemon
		stop          []SyncState
		start         []SyncDaemon
	}{
		{"nothing running starts the wanted", nil, []SyncDaemon{b}, nil, []SyncDaemon{b}},
		{"running as wanted with kernel defaults is kept", []SyncDaemon{mk, bk}, []SyncDaemon{m, b}, nil, nil},
		{"becoming master stops backup and starts master", []SyncDaemon{bk}, []SyncDaemon{m}, []SyncState{SyncBackup}, []SyncDaemon{m}},
		{"leaving master stops master and starts backup", []SyncDaemon{mk}, []SyncDaemon{b}, []SyncState{SyncMaster}, []SyncDaemon{b}},
		{"a changed setting restarts that daemon", []SyncDaemon{mk, bk}, []SyncDaemon{m, other}, []SyncState{SyncBackup}, []SyncDaemon{other}},
		{"a ttl the kernel runs differently restarts", []SyncDaemon{mk}, []SyncDaemon{ttl}, []SyncState{SyncMaster}, []SyncDaemon{ttl}},
		{"nothing wanted stops all", []SyncDaemon{mk, bk}, nil, []SyncState{SyncMaster, SyncBackup}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop, start := planSyncDaemons(tc.running, tc.want)
			if !slices.Equal(stop, tc.stop) || !slices.Equal(start, tc.start) {
				t.Errorf("stop %v start %v, want stop %v start %v", stop, start, tc.stop, tc.start)
			}
		})
	}
}

func TestConnectionsAreCountedByOrigin(t *testing.T) {
	const procConnSync = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP 0A000002 9C40 0A000064 0050 0A00000B 0050 ESTABLISHED SYNC      897
TCP 0A000002 9C41 0A000064 0050 0A00000C 0050 ESTABLISHED LOCAL     899
TCP 0A000002 9C42 0A000064 0050 0A00000B 0050 FIN_WAIT    SYNC       98
`
	c, err := countConnections(strings.NewReader(procConnSync))
	if err != nil || c != (ConnectionCount{Total: 3, Synced: 2}) {
		t.Fatalf("got %+v, %v", c, err)
	}
}
