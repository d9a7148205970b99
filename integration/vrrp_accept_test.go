package integration

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAcceptModeAsKeepalived runs lvsd and keepalived 2.2.7 in turn on the
// same keepalived.conf, as the only director (priority 100: a MASTER that
// is not the address owner), with no_accept and with accept for an IPv4
// (VRRPv2) instance, with no_accept for an IPv6 (VRRPv3) one. From the client's namespace:
// with no_accept a TCP connect and a ping to the VIP go unanswered by both
// daemons (RFC 5798 §6.1, Accept_Mode False); with accept both answer;
// the VIP's ARP (IPv6: neighbour solicitation) is answered with the
// director's MAC either way. `nft list ruleset` in the director's
// namespace shows the VIP in each daemon's drop set (lvsd's inet
// lvsd_accept_mode, keepalived's ip/ip6 keepalived) with no_accept only,
// and lvsd's table is gone after SIGTERM.
func TestAcceptModeAsKeepalived(t *testing.T) {
	requireKeepalived(t)
	for _, tool := range []string{"nft", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	families := []struct {
		name      string
		p         proto
		vip, ping string
		kaTable   string
		modes     []string
	}{
		{"IPv4", proto{}, labVIP, "ping", "table ip keepalived", []string{"no_accept", "accept"}},
		// IPv6's accept is IPv4's (no table): no_accept only, where
		// neighbour discovery must still pass (CI minutes).
		{"IPv6", proto{version: 3, ipv6: true}, labVIP6, "ping6", "table ip6 keepalived", []string{"no_accept"}},
	}
	for _, fam := range families {
		for _, mode := range fam.modes {
			for _, kind := range []string{"lvsd", "keepalived"} {
				t.Run(fam.name+"/"+mode+"/"+kind, func(t *testing.T) {
					l := newVRRPLabFor(t, fam.p)
					listenIn(t, l.ns["A"])
					p := startAcceptDaemon(t, l, kind, mode)
					limit := 2*vrrp3MasterDown() + 4*time.Second
					holds := func() bool { return l.holdsVIP("A") }
					if fam.p.ipv6 {
						holds = func() bool { return l.holdsVIP6("A") }
					}
					if !waitFor(limit, holds) {
						t.Fatalf("%s never held the VIP:\n%s", kind, tail(p.logText(), 20))
					}
					time.Sleep(300 * time.Millisecond) // keepalived sets its drop rule and VIPs in turn
					exec.Command("ip", "-n", l.ns["C"], "neigh", "flush", "all").Run()
					connected := inNetns(l.ns["C"], func() error {
						c, err := net.DialTimeout("tcp", netip.AddrPortFrom(netip.MustParseAddr(fam.vip), 8080).String(), time.Second)
						if err == nil {
							c.Close()
						}
						return err
					}) == nil
					pinged := exec.Command("ip", "netns", "exec", l.ns["C"], "busybox", fam.ping, "-c", "1", "-W", "1", fam.vip).Run() == nil
					neigh := run(t, "ip", "-n", l.ns["C"], "neigh", "show", fam.vip)
					ruleset := run(t, "ip", "netns", "exec", l.ns["A"], "nft", "list", "ruleset")
					want := mode == "accept"
					if connected != want || pinged != want {
						t.Errorf("%s with %s: TCP connect to the VIP %v, ping %v; want %v for both\nnft:\n%s", kind, mode, connected, pinged, want, ruleset)
					}
					if !strings.Contains(neigh, l.mac["A"].String()) {
						t.Errorf("%s with %s: the client's neighbour entry for the VIP is %q, want the director's MAC %s (ARP/ND answered)", kind, mode, neigh, l.mac["A"])
					}
					table := map[string]string{"lvsd": "table inet lvsd_accept_mode", "keepalived": fam.kaTable}[kind]
					inSet := strings.Contains(ruleset, table) && strings.Contains(ruleset, fam.vip)
					if inSet != !want {
						t.Errorf("%s with %s: the VIP in %s: %v, want %v:\n%s", kind, mode, table, inSet, !want, ruleset)
					}
					p.signal(syscall.SIGTERM)
					if _, ok := p.waitExit(8 * time.Second); !ok {
						t.Fatalf("%s did not stop within 8 s of SIGTERM", kind)
					}
					if kind == "lvsd" {
						if out := run(t, "ip", "netns", "exec", l.ns["A"], "nft", "list", "ruleset"); strings.Contains(out, "lvsd_accept_mode") {
							t.Errorf("lvsd left its table after SIGTERM:\n%s", out)
						}
					}
					t.Logf("%s %s %s: connect %v ping %v", fam.name, kind, mode, connected, pinged)
				})
			}
		}
	}
}

// vrrp3MasterDown is Master_Down_Interval at priority 100 and 1 s
// adverts: 3 s + skew.
func vrrp3MasterDown() time.Duration { return 3*time.Second + 610*time.Millisecond }

// listenIn accepts and closes TCP connections on port 8080 (both
// families) in namespace ns until the test ends.
func listenIn(t *testing.T, ns string) {
	t.Helper()
	if err := inNetns(ns, func() error {
		ln, err := net.Listen("tcp", ":8080")
		if err != nil {
			return err
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// startAcceptDaemon runs kind (lvsd with its keepalived reader, or
// keepalived) on one instance of the lab's family with mode (accept or
// no_accept) in director A's namespace.
func startAcceptDaemon(t *testing.T, l *vrrpLab, kind, mode string) *proc {
	t.Helper()
	version := ""
	if l.proto.version == 3 {
		version = "    version 3\n"
	}
	conf := fmt.Sprintf(`global_defs {
    router_id %s_A
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
%s    %s
    virtual_ipaddress {
        %s
    }
}
`, kind, version, mode, l.proto.vipPrefix())
	dir := l.path("A-" + kind)
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := "keepalived"
	if kind == "lvsd" {
		if bin = lvsdBinary(t); bin == "" {
			t.Skip("needs the lvsd binary")
		}
	}
	return startProc(t, l.ns["A"], filepath.Join(dir, "daemon.log"), nil, bin, "-f", path, "-n", "-l", "-D", "-P",
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
}
