package integration

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestAcceptModeAsKeepalived runs lvsd and keepalived 2.2.7 in turn on the
// same keepalived.conf, as the only director (priority 100: a MASTER that
// is not the address owner), with no_accept and with accept. From the
// client's namespace: with no_accept a TCP connect and a ping to the VIP
// go unanswered by both daemons (RFC 5798 §6.1, Accept_Mode False); with
// accept both answer; the VIP's ARP is answered with the director's MAC
// either way. `nft list ruleset` in the director's namespace shows the
// VIP in each daemon's drop set (lvsd's inet lvsd_accept_mode,
// keepalived's ip keepalived) with no_accept only, and lvsd's table is
// gone after SIGTERM.
func TestAcceptModeAsKeepalived(t *testing.T) {
	requireKeepalived(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("needs nft (Debian package nftables)")
	}
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skip("needs busybox for ping")
	}
	for _, mode := range []string{"no_accept", "accept"} {
		for _, kind := range []string{"lvsd", "keepalived"} {
			t.Run(mode+"/"+kind, func(t *testing.T) {
				l := newVRRPLab(t)
				d := &kaPeer{lab: l, name: "A", kind: kind, priority: 100, body: "    " + mode + "\n"}
				if err := inNetns(l.ns["A"], func() error {
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
				d.start()
				if !waitFor(d.masterDownInterval()+4*time.Second, func() bool { return d.holds("eth0") }) {
					t.Fatalf("%v never held the VIP:\n%s", d, tail(d.p.logText(), 20))
				}
				time.Sleep(300 * time.Millisecond) // keepalived sets its drop rule and VIPs in turn
				exec.Command("ip", "-n", l.ns["C"], "neigh", "flush", "all").Run()
				connected := inNetns(l.ns["C"], func() error {
					c, err := net.DialTimeout("tcp", labVIP+":8080", time.Second)
					if err == nil {
						c.Close()
					}
					return err
				}) == nil
				pinged := exec.Command("ip", "netns", "exec", l.ns["C"], "busybox", "ping", "-c", "1", "-W", "1", labVIP).Run() == nil
				neigh := run(t, "ip", "-n", l.ns["C"], "neigh", "show", labVIP)
				ruleset := run(t, "ip", "netns", "exec", l.ns["A"], "nft", "list", "ruleset")
				want := mode == "accept"
				if connected != want || pinged != want {
					t.Errorf("%v with %s: TCP connect to the VIP %v, ping %v; want %v for both\nnft:\n%s", d, mode, connected, pinged, want, ruleset)
				}
				if !strings.Contains(neigh, l.mac["A"].String()) {
					t.Errorf("%v with %s: the client's neighbour entry for the VIP is %q, want the director's MAC %s (ARP answered)", d, mode, neigh, l.mac["A"])
				}
				table := map[string]string{"lvsd": "table inet lvsd_accept_mode", "keepalived": "table ip keepalived"}[kind]
				inSet := strings.Contains(ruleset, table) && strings.Contains(ruleset, labVIP)
				if inSet != !want {
					t.Errorf("%v with %s: the VIP in %s: %v, want %v:\n%s", d, mode, table, inSet, !want, ruleset)
				}
				d.term()
				if kind == "lvsd" {
					if out := run(t, "ip", "netns", "exec", l.ns["A"], "nft", "list", "ruleset"); strings.Contains(out, "lvsd_accept_mode") {
						t.Errorf("lvsd left its table after SIGTERM:\n%s", out)
					}
				}
				t.Logf("%s %s: connect %v ping %v", kind, mode, connected, pinged)
			})
		}
	}
}
