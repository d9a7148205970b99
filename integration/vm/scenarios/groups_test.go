package scenarios

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/checktargets"
)

// The group lab's extra addresses: virtual_server_group members beside
// vipDR (local to the director on its vips dummy, hidden on the real
// servers), and two real servers that do not exist (PING_CHECK fails).
const (
	groupVIP2   = "10.0.0.102"
	groupVIP3   = "10.0.0.103"
	groupRange  = "10.0.0.110-111"
	groupAdded  = "10.0.0.112"
	missingRS   = "10.0.0.13"
	inhibitedRS = "10.0.0.14"
)

// groupConfig is one keepalived.conf for keepalived and lvsd alike: a
// virtual_server_group of three addresses, a range and a fwmark, and a UDP,
// a DNS and an SMTP service, checked by TCP_CHECK, PING_CHECK, UDP_CHECK,
// DNS_CHECK and SMTP_CHECK; once the checks settle some real servers are
// up, some down (removed), one inhibited (weight 0), and one sorry server
// active (quorum lost). members replaces the group's address lines.
func groupConfig(members ...string) string {
	if len(members) == 0 {
		members = []string{vipDR + " 80", groupVIP2 + " 80", groupVIP3 + " 80", groupRange + " 80"}
	}
	return fmt.Sprintf(`global_defs {
    router_id lvsd-groups
}

virtual_server_group WEB {
%s
    fwmark 7
}

virtual_server group WEB {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
        PING_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.12 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server %[2]s 80 {
        PING_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server %[3]s 80 {
        inhibit_on_failure
        PING_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}

virtual_server %[4]s 53 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol UDP
    real_server 10.0.0.11 53 {
        DNS_CHECK {
            connect_timeout 1
            retry 0
            type A
            name real.example
        }
    }
    real_server 10.0.0.12 53 {
        DNS_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}

virtual_server %[4]s 5353 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol UDP
    real_server 10.0.0.11 5353 {
        UDP_CHECK {
            connect_timeout 1
            retry 0
            payload 6c 76 73 64
            require_reply 6c 76 xx 64
        }
    }
    real_server 10.0.0.12 5353 {
        UDP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}

virtual_server %[4]s 25 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 2
    sorry_server 10.0.0.15 25
    real_server 10.0.0.11 25 {
        SMTP_CHECK {
            connect_timeout 1
            retry 0
            helo_name lvsd.test
        }
    }
    real_server 10.0.0.12 25 {
        SMTP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`, "    "+strings.Join(members, "\n    "), missingRS, inhibitedRS, vipDR)
}

// listenAnyIn opens a socket inside namespace ns (see inNamespace): a
// net.PacketConn for udp networks, a net.Listener for the others.
func listenAnyIn(ns, network, addr string) (s any, err error) {
	err = inNamespace(ns, func() (err error) {
		if strings.HasPrefix(network, "udp") {
			s, err = net.ListenPacket(network, addr)
		} else {
			s, err = net.Listen(network, addr)
		}
		return err
	})
	return s, err
}

// startGroupServers runs, in rs1, a DNS server (53/udp, answers written
// with dnsmessage), a UDP echo (5353/udp) and an SMTP listener (25/tcp);
// rs2 runs none of them, so its checks of those fail.
func startGroupServers(t *testing.T) {
	t.Helper()
	dns, err := listenAnyIn("rs1", "udp4", "10.0.0.11:53")
	if err != nil {
		t.Fatal(err)
	}
	echo, err := listenAnyIn("rs1", "udp4", "10.0.0.11:5353")
	if err != nil {
		t.Fatal(err)
	}
	smtp, err := listenAnyIn("rs1", "tcp4", "10.0.0.11:25")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dns.(net.PacketConn).Close()
		echo.(net.PacketConn).Close()
		smtp.(net.Listener).Close()
	})
	serveUDP := func(pc net.PacketConn, answer func([]byte) []byte) {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := answer(buf[:n]); a != nil {
				pc.WriteTo(a, from)
			}
		}
	}
	go serveUDP(dns.(net.PacketConn), checktargets.DNSAnswer([4]byte{10, 0, 0, 11}))
	go serveUDP(echo.(net.PacketConn), func(b []byte) []byte { return append([]byte(nil), b...) })
	go func() {
		ln := smtp.(net.Listener)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				c.Write([]byte("220 rs1 ESMTP\r\n"))
				for _, a := range []string{"250 rs1\r\n", "221 bye\r\n"} {
					if _, err := br.ReadString('\n'); err != nil {
						return
					}
					c.Write([]byte(a))
				}
			}()
		}
	}()
}

// groupDaemon is keepalived or lvsd run with keepalived's command line in the
// director's namespace.
type groupDaemon struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startGroupDaemon(t *testing.T, bin, conf, name string) *groupDaemon {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/sbin/ip", "netns", "exec", "lvsd-dir", bin, "-n", "-l", "-D", "-f", conf,
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	d := &groupDaemon{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(d.done) }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *groupDaemon) stop(t *testing.T) {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("daemon did not stop within 10s of SIGTERM")
	}
}

// settledTable waits until the director's table stops changing for
// settle (the checks have settled) and returns it.
func settledTable(l *lab, settle, limit time.Duration) string {
	l.t.Helper()
	deadline := time.Now().Add(limit)
	last, since := l.table(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		cur := l.table()
		if cur != last {
			last, since = cur, time.Now()
			continue
		}
		if time.Since(since) >= settle && strings.TrimSpace(cur) != "" {
			return cur
		}
	}
	l.t.Fatalf("the table did not settle within %v:\n%s", limit, last)
	return ""
}

// keepalivedTable runs keepalived (binary ka) on conf, returns its IPVS
// table once it has settled (see settledTable), stops it and clears the
// table. Without keepalived in the guest (ka empty) it returns "", and the
// caller checks lvsd's table against the expected one only.
func keepalivedTable(l *lab, ka, conf string, settle, limit time.Duration) string {
	l.t.Helper()
	if ka == "" {
		l.t.Log("no keepalived in the guest (KEEPALIVED_BIN unset): lvsd's table is checked against the expected one only")
		return ""
	}
	d := startGroupDaemon(l.t, ka, conf, "keepalived")
	table := settledTable(l, settle, limit)
	d.stop(l.t)
	// keepalived removes its services on stop; whatever is left goes.
	l.ipvsadm("-C")
	l.t.Logf("▶ keepalived 2.2.7's table:\n%s", table)
	return table
}

// TestLvsdKeepalivedGroupTable runs keepalived 2.2.7 and then lvsd (with
// keepalived's command line) on the same keepalived.conf — a
// virtual_server_group of three addresses, a range and a fwmark, UDP, DNS
// and SMTP services, TCP_CHECK, PING_CHECK, UDP_CHECK, DNS_CHECK and
// SMTP_CHECK — and compares `ipvsadm -Ln` once the checks settle: some
// real servers up, some down, one inhibited, a sorry server active. Then
// a reload of lvsd that adds one member and removes another changes only
// those two services, and a connection held open through another member
// is still served after it.
func TestLvsdKeepalivedGroupTable(t *testing.T) {
	ka := os.Getenv("KEEPALIVED_BIN")
	lvsd := os.Getenv("LVSD_BIN")
	l := newLab(t)
	if lvsd == "" {
		t.Skip("LVSD_BIN unset")
	}
	for _, rs := range l.reals {
		l.hideVIPs(rs.name, groupVIP2, groupVIP3, groupAdded)
		// Two UDP checks a second to rs2's closed ports need two port
		// unreachables a second; the kernel's ICMP rate limit would drop
		// some, and a UDP_CHECK that hears nothing passes (keepalived.conf(5)
		// says to lift the limit for UDP_CHECK).
		l.in(rs.name, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
	}
	for _, a := range []string{groupVIP2, groupVIP3, groupAdded} {
		l.ip("-n", "lvsd-dir", "addr", "add", a+"/32", "dev", "vips")
	}
	startGroupServers(t)
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(groupConfig()), 0o644); err != nil {
		t.Fatal(err)
	}
	const settle, limit = 3 * time.Second, 30 * time.Second

	kaTable := keepalivedTable(l, ka, conf, settle, limit)

	d := startGroupDaemon(t, lvsd, conf, "lvsd")
	lvsdTable := settledTable(l, settle, limit)
	t.Logf("▶ lvsd's table:\n%s", lvsdTable)
	if kaTable != "" && lvsdTable != kaTable {
		t.Errorf("lvsd's table differs from keepalived's:\nkeepalived:\n%s\nlvsd:\n%s", kaTable, lvsdTable)
	}
	for _, want := range []string{
		"TCP 10.0.0.100:80 rr", "TCP 10.0.0.102:80 rr", "TCP 10.0.0.103:80 rr", "TCP 10.0.0.110:80 rr", "TCP 10.0.0.111:80 rr", "FWM 7 rr",
		"  -> 10.0.0.11:80 Route 1", "  -> 10.0.0.12:80 Route 2", "  -> 10.0.0.14:80 Route 0", "  -> 10.0.0.11:0 Route 1",
		"UDP 10.0.0.100:53 wrr", "UDP 10.0.0.100:5353 rr", "TCP 10.0.0.100:25 rr", "  -> 10.0.0.15:25 Route 1",
	} {
		if !strings.Contains(lvsdTable, want+"\n") {
			t.Errorf("lvsd's table has no %q", want)
		}
	}
	if strings.Contains(lvsdTable, missingRS) || strings.Contains(lvsdTable, "10.0.0.12:53") || strings.Contains(lvsdTable, "10.0.0.12:5353") {
		t.Errorf("a real server whose checks fail is in lvsd's table:\n%s", lvsdTable)
	}

	// Reload: 10.0.0.103 leaves the group, 10.0.0.112 joins. A connection
	// through 10.0.0.100 is opened before and used after.
	conn, err := l.dialFromClient(context.Background(), "tcp4", vipDR+":80")
	if err != nil {
		t.Fatalf("connection through %s: %v", vipDR, err)
	}
	defer conn.Close()
	before := l.table()
	reloaded := groupConfig(vipDR+" 80", groupVIP2+" 80", groupRange+" 80", groupAdded+" 80")
	if err := os.WriteFile(conf, []byte(reloaded), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if after := l.table(); strings.Contains(after, "TCP "+groupAdded+":80") && !strings.Contains(after, "TCP "+groupVIP3+":80") {
			break
		}
	}
	// The new member's real servers take their known verdicts (the checks
	// are shared with the other members) right after it is programmed.
	after := settledTable(l, time.Second, limit)
	wantAfter := strings.ReplaceAll(before, "TCP "+groupVIP3+":80 rr", "TCP "+groupAdded+":80 rr")
	if canonicalTable(after) != canonicalTable(wantAfter) {
		t.Errorf("the reload changed more than the two members:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", vipDR)
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(reply, "HTTP/1.") {
		t.Errorf("the connection opened before the reload: %q, %v", reply, err)
	}
	t.Logf("▶ reload: %s left the group and %s joined; the rest of the table is unchanged and a connection through %s opened before the reload was served after it (%q)",
		groupVIP3, groupAdded, vipDR, strings.TrimSpace(reply))
}
