package lvs

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A connection table as the kernel lists it in /proc/net/ip_vs_conn_sync
// (ip_vs_conn_sync_seq_show), one IPv4 entry per state and origin, one
// IPv6 entry, one idle entry.
const connTable = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP 0A000002 A5F2 0A000064 0050 0A00000B 0050 SYN_RECV    Local       59
TCP 0A000002 A5F4 0A000064 0050 0A00000C 0050 ESTABLISHED Local      899
TCP 0A000002 A5F6 0A000064 0050 0A00000B 0050 TIME_WAIT   Local      119
TCP 0A000002 A5F8 0A000064 0050 0A00000C 0050 ESTABLISHED Sync       880
UDP 0A000002 1F90 0A000064 0035 0A00000B 0035 UDP         Local      299
TCP 2001:0db8:0000:0000:0000:0000:0000:0002 A5FA 2001:0db8:0000:0000:0000:0000:0000:0064 0050 2001:0db8:0000:0000:0000:0000:0000:000b 0050 FIN_WAIT    Local      119
TCP 0A000002 A5FC 0A000064 0050 0A00000C 0050 ESTABLISHED Local      500
`

func TestParseConnectionsReadsEveryEntry(t *testing.T) {
	conns, err := parseConnections(strings.NewReader(connTable))
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.MustParseAddrPort
	want := []Conn{
		{"TCP", ap("10.0.0.2:42482"), ap("10.0.0.100:80"), ap("10.0.0.11:80"), "SYN_RECV", false, 59 * time.Second},
		{"TCP", ap("10.0.0.2:42484"), ap("10.0.0.100:80"), ap("10.0.0.12:80"), "ESTABLISHED", false, 899 * time.Second},
		{"TCP", ap("10.0.0.2:42486"), ap("10.0.0.100:80"), ap("10.0.0.11:80"), "TIME_WAIT", false, 119 * time.Second},
		{"TCP", ap("10.0.0.2:42488"), ap("10.0.0.100:80"), ap("10.0.0.12:80"), "ESTABLISHED", true, 880 * time.Second},
		{"UDP", ap("10.0.0.2:8080"), ap("10.0.0.100:53"), ap("10.0.0.11:53"), "UDP", false, 299 * time.Second},
		{"TCP", ap("[2001:db8::2]:42490"), ap("[2001:db8::64]:80"), ap("[2001:db8::b]:80"), "FIN_WAIT", false, 119 * time.Second},
		{"TCP", ap("10.0.0.2:42492"), ap("10.0.0.100:80"), ap("10.0.0.12:80"), "ESTABLISHED", false, 500 * time.Second},
	}
	if len(conns) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(conns), len(want), conns)
	}
	for i := range want {
		if conns[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, conns[i], want[i])
		}
	}
	if _, err := parseConnections(strings.NewReader("header\nTCP 0A00000Z A5F2 0A000064 0050 0A00000B 0050 SYN_RECV Local 59\n")); err == nil {
		t.Error("a bad address was accepted")
	}
}

// TestSyncMessagesFollowTheKernelLayout checks each field of the encoded
// messages at the offsets of struct ip_vs_sync_mesg and struct
// ip_vs_sync_v4/v6 (ip_vs_sync.c), which the receiving kernel reads.
func TestSyncMessagesFollowTheKernelLayout(t *testing.T) {
	conns, err := parseConnections(strings.NewReader(connTable))
	if err != nil {
		t.Fatal(err)
	}
	var entries []handoverEntry
	for _, c := range conns {
		fwd := ForwardRoute
		if c.Protocol == "UDP" {
			fwd = ForwardMasq
		}
		entries = append(entries, handoverEntry{c, fwd})
	}
	msgs := syncMessages(entries, 51, 1024)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	// Header: reserved 0, sync id 51, size, 3 connections (TIME_WAIT,
	// FIN_WAIT, the synced entry and the one idle for 400 s are not
	// sent), version 1, spare 0; then the SYN_RECV, ESTABLISHED and UDP
	// entries (36 bytes each).
	want := "00" + "33" + "0074" + "03" + "01" + "0000" +
		// type 0, TCP, size 36; flags DR|NOOUTPUT|INACTIVE; SYN_RECV (3); ports; fwmark; timeout; addresses
		"00" + "06" + "0024" + "00000183" + "0003" + "a5f2" + "0050" + "0050" + "00000000" + "00000000" + "0a000002" + "0a000064" + "0a00000b" +
		"00" + "06" + "0024" + "00000083" + "0001" + "a5f4" + "0050" + "0050" + "00000000" + "00000000" + "0a000002" + "0a000064" + "0a00000c" +
		"00" + "11" + "0024" + "00000000" + "0000" + "1f90" + "0035" + "0035" + "00000000" + "00000000" + "0a000002" + "0a000064" + "0a00000b"
	if got := hex.EncodeToString(msgs[0]); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
	// A small maxlen splits: 8 + 2×36 fits 2 IPv4 entries.
	msgs = syncMessages(entries, 51, 80)
	if len(msgs) != 2 || msgs[0][4] != 2 || msgs[1][4] != 1 || len(msgs[0]) != 80 {
		for _, m := range msgs {
			t.Logf("%d bytes, %d connections", len(m), m[4])
		}
		t.Errorf("maxlen 80: %d messages, want 2 (2, 1 connections)", len(msgs))
	}
	// An IPv6 entry takes 72 bytes.
	c := conns[0]
	c.Client, c.Virtual, c.Dest = netip.MustParseAddrPort("[2001:db8::2]:42490"), netip.MustParseAddrPort("[2001:db8::64]:80"), netip.MustParseAddrPort("[2001:db8::b]:80")
	msgs = syncMessages([]handoverEntry{{c, ForwardRoute}}, 51, 1024)
	want6 := "00" + "33" + "0050" + "01" + "01" + "0000" +
		"01" + "06" + "0048" + "00000183" + "0003" + "a5fa" + "0050" + "0050" + "00000000" + "00000000" +
		"20010db8000000000000000000000002" + "20010db8000000000000000000000064" + "20010db800000000000000000000000b"
	if len(msgs) != 1 || hex.EncodeToString(msgs[0]) != want6 {
		t.Errorf("IPv6 message: got %x, want %s", msgs, want6)
	}
}
