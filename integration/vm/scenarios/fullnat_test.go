package scenarios

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FULLNAT on a mainline kernel (lb_kind FNAT, internal/fullnat): IPVS NAT
// plus a source NAT of the director's leg to the real servers, in an
// nftables table of lvsd's own. The real servers of this lab lose their
// default route: a plain NAT service cannot reach the client back, the
// FULLNAT service can, since the real servers answer the local address.

const (
	fullnatLocal = "10.0.0.250" // the local_address_group, on the director's lan
	fullnatPort  = 81
	natPort      = 82
)

func fullnatConfig() string {
	return fmt.Sprintf(`
local_address_group laddr_g1 {
    %[1]s
}
virtual_server %[2]s %[3]d {
    delay_loop 2
    lb_algo rr
    lb_kind FNAT
    laddr_group_name laddr_g1
    protocol TCP
    real_server 10.0.0.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
    real_server 10.0.0.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
! The control: plain NAT to the same real servers.
virtual_server %[2]s %[4]d {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.11 80 {
        weight 1
    }
}
`, fullnatLocal, vipNAT, fullnatPort, natPort)
}

// nftTable lists lvsd's FULLNAT table in the director's namespace with
// nft, the independent reader.
func nftTable(l *lab) (string, error) {
	out, err := exec.Command("/sbin/ip", "netns", "exec", "lvsd-dir", "/usr/sbin/nft", "list", "table", "ip", "lvsd_fullnat").CombinedOutput()
	return string(out), err
}

// TestLvsdFullNATServesRealServersWithoutARouteBack: with lvsd running
// (keepalived's command line) on a file with a FULLNAT service, real
// servers whose default route is gone (so not through the director)
// answer the client through the VIP, both of them, while a plain NAT
// service to the same real servers gets no answer; `nft list table`
// shows lvsd's source NAT rule, and the table is gone once lvsd stops.
func TestLvsdFullNATServesRealServersWithoutARouteBack(t *testing.T) {
	lvsd := os.Getenv("LVSD_BIN")
	l := newLab(t)
	if lvsd == "" {
		t.Skip("LVSD_BIN unset")
	}
	if _, err := os.Stat("/usr/sbin/nft"); err != nil {
		t.Skip("nft is not in the guest (the host has no nftables package)")
	}
	for _, rs := range l.reals {
		l.ip("-n", rs.name, "route", "del", "default")
	}
	l.ip("-n", "lvsd-dir", "addr", "add", fullnatLocal+"/24", "dev", "lan")
	l.waitHTTP()
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(fullnatConfig()), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startGroupDaemon(t, lvsd, conf, "lvsd")
	key := fmt.Sprintf("TCP %s:%d", vipNAT, fullnatPort)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		tbl := l.table()
		if strings.Contains(tbl, key) && strings.Count(tbl, "Masq 1") >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lvsd did not program the services:\n%s", tbl)
		}
	}
	t.Logf("▶ IPVS:\n%s", l.table())
	nft, err := nftTable(l)
	if err != nil {
		t.Fatalf("nft list table ip lvsd_fullnat: %v: %s", err, nft)
	}
	t.Logf("▶ nft list table ip lvsd_fullnat:\n%s", nft)
	want := fmt.Sprintf("ct original ip daddr %s ct original proto-dst %d snat to %s", vipNAT, fullnatPort, fullnatLocal)
	if !strings.Contains(nft, want) {
		t.Errorf("lvsd's table has no %q", want)
	}
	seen := map[string]int{}
	for range 6 {
		page, err := l.get(vipNAT, fullnatPort)
		if err != nil {
			t.Errorf("FULLNAT %s:%d: %v", vipNAT, fullnatPort, err)
			fullnatDiagnose(l)
			t.FailNow()
		}
		seen[page]++
	}
	if seen["rs1"] == 0 || seen["rs2"] == 0 {
		t.Errorf("FULLNAT answers %v, want both real servers", seen)
	}
	// The control: NAT's replies go to the client's address, for which the
	// real servers have no route any more.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if c, err := l.dialFromClient(ctx, "tcp4", net.JoinHostPort(vipNAT, fmt.Sprint(natPort))); err == nil {
		c.Close()
		t.Errorf("the plain NAT service answered: the real servers still have a route back, the lab proves nothing")
	}
	t.Logf("▶ FULLNAT %s:%d answered %v through real servers without a route back; plain NAT on :%d got no answer", vipNAT, fullnatPort, seen, natPort)
	d.stop(t)
	if out, err := nftTable(l); err == nil {
		t.Errorf("lvsd's nftables table is still there after it stopped:\n%s", out)
	}
	l.ipvsadm("-C")
}

// fullnatDiagnose logs what the kernel saw of the failed connection.
func fullnatDiagnose(l *lab) {
	for _, c := range [][]string{
		{"lvsd-dir", "cat", "/proc/net/nf_conntrack"},
		{"lvsd-dir", "/sbin/ipvsadm", "-Lnc"},
		{"lvsd-dir", "cat", "/proc/sys/net/ipv4/vs/conntrack"},
		{"lvsd-dir", "cat", "/proc/net/netstat"},
		{"rs1", "cat", "/proc/net/tcp"},
		{"rs1", "cat", "/proc/net/snmp"},
	} {
		out, err := exec.Command("/sbin/ip", append([]string{"netns", "exec", c[0]}, c[1:]...)...).CombinedOutput()
		l.t.Logf("%s: %s (%v):\n%s", c[0], strings.Join(c[1:], " "), err, out)
	}
}
