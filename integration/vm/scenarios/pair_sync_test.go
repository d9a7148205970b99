package scenarios

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Connection sync (issue 15). A client holds connections through the VIP
// in the middle of an HTTP request (the request's final CRLF is sent only
// after the failover), the master fails over, and each held connection
// must then complete with a page from a real server. IPVS schedules TCP on
// SYN only, so the new master forwards a held connection only if its
// backup sync daemon received the connection from the old master's master
// daemon; the control run with sync off shows the held connections reset.

const (
	// heldPerPhase connections are held through each failover.
	heldPerPhase = 16
	// syncFlush is a little over the 2 s after which the kernel's master
	// sync daemon sends a partly filled buffer (IPVS_SYNC_FLUSH_TIME):
	// how long a control waits to see that nothing was synced.
	syncFlush = 3 * time.Second
	// syncWithin is how long a backup may take to list every held
	// connection: the flush time, and room for the kernel threads of an
	// emulated VM whose host is busy (the daemons' timers are the
	// kernel's, not lvsd's).
	syncWithin = 15 * time.Second
	syncOff    = "  lvs_sync_daemon {\n    enabled = false\n  }\n"
)

// holdConnections opens n connections to the VIP from the client and
// sends each an HTTP request without its final empty line.
func (p *pairLab) holdConnections(n int) []net.Conn {
	p.t.Helper()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := p.dialFromClient(ctx, "tcp", pairVIP+":80")
		cancel()
		if err != nil {
			p.t.Fatalf("held connection %d: %v", i, err)
		}
		p.t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: "+pairVIP+"\r\n"); err != nil {
			p.t.Fatalf("held connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	return conns
}

// heldResult counts how the held connections ended.
type heldResult struct {
	completed, reset, failed int
	firstErr                 string
}

func (r heldResult) String() string {
	return fmt.Sprintf("%d of %d completed, %d reset, %d failed otherwise", r.completed, r.completed+r.reset+r.failed, r.reset, r.failed)
}

// finishHeld sends the final CRLF on every held connection and reads the
// answers.
func finishHeld(conns []net.Conn) heldResult {
	var r heldResult
	type answer struct {
		body string
		err  error
	}
	answers := make(chan answer, len(conns))
	for _, c := range conns {
		go func() {
			c.SetDeadline(time.Now().Add(15 * time.Second))
			if _, err := io.WriteString(c, "\r\n"); err != nil {
				answers <- answer{err: err}
				return
			}
			b, err := io.ReadAll(c)
			answers <- answer{string(b), err}
		}()
	}
	for range conns {
		a := <-answers
		switch {
		case a.err == nil && strings.HasPrefix(a.body, "HTTP/1.") && strings.Contains(a.body, " 200 ") && strings.Contains(a.body, "pr-rs"):
			r.completed++
		case errors.Is(a.err, syscall.ECONNRESET):
			r.reset++
		default:
			r.failed++
			if r.firstErr == "" {
				r.firstErr = fmt.Sprintf("%v %q", a.err, a.body)
			}
		}
	}
	return r
}

// syncDaemons is `ipvsadm -L --daemon` on d, one line per daemon.
func (p *pairLab) syncDaemons(d *pairDirector) string {
	return strings.TrimSpace(p.in(d.name, "/sbin/ipvsadm", "-L", "--daemon"))
}

// heldEntries counts the held connections that `ipvsadm -Lnc` lists on d.
func (p *pairLab) heldEntries(d *pairDirector, conns []net.Conn) int {
	out := p.in(d.name, "/sbin/ipvsadm", "-Lnc")
	n := 0
	for _, c := range conns {
		src := c.LocalAddr().String()
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 6 && f[3] == src && f[4] == pairVIP+":80" {
				n++
				break
			}
		}
	}
	return n
}

// waitSynced waits until d's connection table lists every held
// connection, or syncWithin passes, and returns how many it lists.
func (p *pairLab) waitSynced(d *pairDirector, conns []net.Conn) int {
	n := 0
	for deadline := time.Now().Add(syncWithin); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if n = p.heldEntries(d, conns); n == len(conns) {
			break
		}
	}
	return n
}

// waitDaemons waits until `ipvsadm -L --daemon` on d shows want (a
// substring of each line, in order) and nothing else.
func (p *pairLab) waitDaemons(d *pairDirector, within time.Duration, want ...string) string {
	p.t.Helper()
	var got string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got = p.syncDaemons(d)
		lines := strings.Split(got, "\n")
		if got == "" {
			lines = nil
		}
		ok := len(lines) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = strings.Contains(lines[i], want[i])
		}
		if ok {
			return got
		}
	}
	p.t.Errorf("ipvsadm -L --daemon on %s: %q, want %q", d.name, got, want)
	return got
}

// TestPairSyncKeepsHeldConnections holds connections through a SIGTERM
// failover, a preempt-back of the returning master and a node loss (kill
// -9 plus link down) with lvsd's default connection sync, then through a
// SIGTERM failover with sync off as the control.
func TestPairSyncKeepsHeldConnections(t *testing.T) {
	p := newPairLab(t, "lvsd", os.Getenv("LVSD_BIN"))
	d1, d2 := p.dirs[0], p.dirs[1]
	// The synced phases take client ports below 45000, the control above
	// 50000: a connection table entry left from a synced phase can then
	// never match a control connection's address and port.
	clientPorts := func(lo, hi int) {
		p.in(pairClientNS, "/bin/sh", "-c", fmt.Sprintf("echo %d %d > /proc/sys/net/ipv4/ip_local_port_range", lo, hi))
	}
	clientPorts(32768, 45000)
	const masterDaemon = "master sync daemon (mcast=eth0, syncid=51"
	const backupDaemon = "backup sync daemon (mcast=eth0, syncid=51"
	pr := p.upPair()
	results := map[string]heldResult{}

	t.Run("SIGTERM", func(t *testing.T) {
		p.waitDaemons(d1, 10*time.Second, masterDaemon)
		p.waitDaemons(d2, 10*time.Second, backupDaemon)
		t.Logf("▶ sync on by default: ipvsadm -L --daemon on %s: %s; on %s: %s", d1.name, p.syncDaemons(d1), d2.name, p.syncDaemons(d2))
		held := p.holdConnections(heldPerPhase)
		synced := p.waitSynced(d2, held)
		t.Logf("▶ %d connections held mid-request through %s; ipvsadm -Lnc on the backup %s lists %d of them", len(held), d1.name, d2.name, synced)
		// lvsd's own view (netlink for the daemons, the kernel's
		// connection table for the count), beside ipvsadm's.
		var st struct {
			Sync struct {
				Daemons []struct {
					State     string `json:"state"`
					Interface string `json:"interface"`
					SyncID    int    `json:"sync_id"`
				} `json:"daemons"`
				Synced int `json:"synced_connections"`
			} `json:"ipvs_sync"`
		}
		out := p.in(d2.name, p.bin, "status", "--socket", d2.sockPath(), "--json")
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("lvsd status --json on %s: %v", d2.name, err)
		}
		t.Logf("▶ lvsd status on %s: sync daemons %+v, %d synced connections", d2.name, st.Sync.Daemons, st.Sync.Synced)
		if len(st.Sync.Daemons) != 1 || st.Sync.Daemons[0].State != "backup" || st.Sync.Daemons[0].SyncID != pairVRID || st.Sync.Synced < len(held) {
			t.Errorf("lvsd status on the backup: %+v, want its backup daemon (id %d) and at least %d synced connections", st.Sync, pairVRID, len(held))
		}
		from := time.Now()
		p.kill(d1, syscall.SIGTERM)
		p.waitState(d2, "MASTER", 30*time.Second)
		p.waitDaemons(d2, 10*time.Second, masterDaemon)
		time.Sleep(time.Second)
		r := finishHeld(held)
		results["SIGTERM"] = r
		pr.settle(t, 10, 30*time.Second)
		t.Logf("▶ SIGTERM of the master: held connections %v; the 50 ms client meanwhile: %v", r, pr.since(from))
		if synced != len(held) || r.completed != len(held) {
			t.Errorf("sync on, SIGTERM: %d of %d held connections synced to the backup, %v (first error: %s)", synced, len(held), r, r.firstErr)
		}
	})

	t.Run("PreemptBack", func(t *testing.T) {
		// The returning master waits 10 s before it preempts, running
		// its backup daemon; connections made through d2 meanwhile
		// reach it (keepalived #237, #1966).
		d1.instanceExtra = "  preempt_delay     = 10\n"
		p.writeConfig(d1, 2)
		d1.instanceExtra = ""
		p.start(d1)
		p.waitState(d1, "BACKUP", 30*time.Second)
		p.waitDaemons(d1, 10*time.Second, backupDaemon)
		held := p.holdConnections(heldPerPhase)
		synced := p.waitSynced(d1, held)
		t.Logf("▶ %s back as BACKUP (preempt_delay 10 s) with %q; %d connections held through %s, %d of them on %s",
			d1.name, p.syncDaemons(d1), len(held), d2.name, synced, d1.name)
		p.waitState(d1, "MASTER", 30*time.Second)
		p.waitState(d2, "BACKUP", 30*time.Second)
		p.waitDaemons(d1, 10*time.Second, masterDaemon)
		p.waitDaemons(d2, 10*time.Second, backupDaemon)
		time.Sleep(time.Second)
		r := finishHeld(held)
		results["preempt-back"] = r
		t.Logf("▶ %s preempted back: held connections %v", d1.name, r)
		if synced != len(held) || r.completed != len(held) {
			t.Errorf("sync on, preempt-back: %d of %d synced to the returning master, %v (first error: %s)", synced, len(held), r, r.firstErr)
		}
		p.writeConfig(d1, 2)
	})

	t.Run("NodeLoss", func(t *testing.T) {
		p.waitState(d1, "MASTER", 30*time.Second)
		held := p.holdConnections(heldPerPhase)
		synced := p.waitSynced(d2, held)
		p.kill(d1, syscall.SIGKILL)
		p.ip("-n", pairSwitch, "link", "set", "d1-p", "down")
		p.waitState(d2, "MASTER", 30*time.Second)
		time.Sleep(time.Second)
		r := finishHeld(held)
		results["node loss"] = r
		t.Logf("▶ kill -9 of %s's lvsd and its link down: held connections %v (%d synced to %s)", d1.name, r, synced, d2.name)
		if synced != len(held) || r.completed != len(held) {
			t.Errorf("sync on, node loss: %d of %d synced, %v (first error: %s)", synced, len(held), r, r.firstErr)
		}
		// The dead node's kernel kept the VIP: clear it before it comes
		// back for the control.
		p.ip("-n", d1.name, "addr", "del", pairVIP+"/24", "dev", "eth0")
		p.ip("-n", pairSwitch, "link", "set", "d1-p", "up")
	})

	t.Run("ControlWithoutSync", func(t *testing.T) {
		p.stopAll()
		for _, d := range p.dirs {
			d.globalExtra = syncOff
			p.writeConfig(d, 2)
			d.globalExtra = ""
			p.start(d)
		}
		p.waitState(d1, "MASTER", 60*time.Second)
		p.waitState(d2, "BACKUP", 30*time.Second)
		p.waitDaemons(d1, 10*time.Second)
		p.waitDaemons(d2, 10*time.Second)
		pr.settle(t, 10, 30*time.Second)
		clientPorts(50000, 60999)
		held := p.holdConnections(heldPerPhase)
		time.Sleep(syncFlush)
		synced := p.heldEntries(d2, held)
		p.kill(d1, syscall.SIGTERM)
		p.waitState(d2, "MASTER", 30*time.Second)
		time.Sleep(time.Second)
		r := finishHeld(held)
		results["control, sync off"] = r
		t.Logf("▶ control, lvs_sync_daemon { enabled = false }: SIGTERM failover, held connections %v (%d known to %s)", r, synced, d2.name)
		if synced != 0 || r.completed != 0 {
			t.Errorf("with sync off %d held connections were known to %s and %v: the scenario does not show what sync saves", synced, d2.name, r)
		}
	})

	for _, k := range []string{"SIGTERM", "preempt-back", "node loss", "control, sync off"} {
		if r, ok := results[k]; ok {
			t.Logf("▶ held connections surviving, %s: %d/%d (reset %d)", k, r.completed, r.completed+r.reset+r.failed, r.reset)
		}
	}
}

// TestPairKeepalivedSyncBothWays is a mixed pair with lvs_sync_daemon on
// both sides: lvsd (on keepalived.conf) as MASTER and keepalived 2.2.7 as
// BACKUP. Connections held through lvsd survive lvsd's SIGTERM (keepalived's
// backup daemon received them); then lvsd comes back without preempting,
// and connections held through keepalived survive keepalived's SIGTERM
// (lvsd's backup daemon received them).
func TestPairKeepalivedSyncBothWays(t *testing.T) {
	p, lvsd := newMixedPairLab(t)
	a, b := p.dirs[0], p.dirs[1]
	a.bin = lvsd
	for _, d := range p.dirs {
		d.globalExtra = "  lvs_sync_daemon eth0 " + pairInst + "\n"
	}
	const masterDaemon = "master sync daemon (mcast=eth0, syncid=51"
	const backupDaemon = "backup sync daemon (mcast=eth0, syncid=51"
	pr := p.upPair()

	p.waitDaemons(a, 10*time.Second, masterDaemon)
	p.waitDaemons(b, 10*time.Second, backupDaemon)
	held := p.holdConnections(heldPerPhase)
	synced := p.waitSynced(b, held)
	p.kill(a, syscall.SIGTERM)
	p.waitState(b, "MASTER", 30*time.Second)
	p.waitDaemons(b, 10*time.Second, masterDaemon)
	time.Sleep(time.Second)
	r := finishHeld(held)
	t.Logf("▶ mixed pair, lvsd %s → keepalived %s (SIGTERM of lvsd): held connections %v (%d synced to keepalived's node)", a.name, b.name, r, synced)
	if synced != len(held) || r.completed != len(held) {
		t.Errorf("lvsd → keepalived: %d of %d synced, %v (first error: %s)", synced, len(held), r, r.firstErr)
	}

	a.state, a.instanceExtra = "BACKUP", "  nopreempt\n"
	p.writeConfig(a, 2)
	p.start(a)
	p.waitDaemons(a, 30*time.Second, backupDaemon)
	pr.settle(t, 10, 30*time.Second)
	held = p.holdConnections(heldPerPhase)
	synced = p.waitSynced(a, held)
	p.kill(b, syscall.SIGTERM)
	p.waitState(a, "MASTER", 30*time.Second)
	p.waitDaemons(a, 10*time.Second, masterDaemon)
	time.Sleep(time.Second)
	r = finishHeld(held)
	t.Logf("▶ mixed pair, keepalived %s → lvsd %s (SIGTERM of keepalived): held connections %v (%d synced to lvsd's node)", b.name, a.name, r, synced)
	if synced != len(held) || r.completed != len(held) {
		t.Errorf("keepalived → lvsd: %d of %d synced, %v (first error: %s)", synced, len(held), r, r.firstErr)
	}
}

// udpOutDatagrams is the namespace's Udp OutDatagrams counter
// (/proc/net/snmp): what a master sync daemon sends shows up there.
func (p *pairLab) udpOutDatagrams(d *pairDirector) int {
	out := p.in(d.name, "/bin/cat", "/proc/net/snmp")
	var names []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i := 1; i < len(f) && i < len(names); i++ {
			if names[i] == "OutDatagrams" {
				var n int
				fmt.Sscan(f[i], &n)
				return n
			}
		}
	}
	return 0
}

// holdServers replaces the lab's busybox httpds, which fork a process per
// connection (10,000 held connections do not fit the VM's memory), by one
// Go server per real server namespace on the same port: it reads a
// request to its empty line and answers with the namespace's name, as
// the httpd's page does.
func (p *pairLab) holdServers() {
	p.t.Helper()
	for _, c := range p.httpds {
		c.Process.Kill()
		c.Wait()
	}
	p.httpds = nil
	for _, rs := range p.reals {
		var ln net.Listener
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if ln, err = listenIn(rs.name, "tcp", ":80"); err == nil {
				break
			}
		}
		if err != nil {
			p.t.Fatalf("holding server in %s: %v", rs.name, err)
		}
		p.t.Cleanup(func() { ln.Close() })
		page := rs.name
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					r := bufio.NewReader(c)
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(page), page)
				}()
			}
		}()
	}
}

// TestBenchSyncFailover holds LVSD_SYNC_HELD connections (default 10,000,
// served by holdServers) through a SIGTERM failover and a node loss, for
// an lvsd pair with its default sync and a keepalived pair with
// lvs_sync_daemon, in the same VM run, and reports the share that
// survives and the UDP datagrams (the sync messages: the kernel's master
// daemon's and lvsd's handover) the master sent from the first held
// connection until it stopped. LVSD_BENCH=1 only.
func TestBenchSyncFailover(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: LVSD_BENCH=1")
	}
	n := 10000
	if s := os.Getenv("LVSD_SYNC_HELD"); s != "" {
		fmt.Sscan(s, &n)
	}
	// Both ends of every held connection are in this process.
	lim := unix.Rlimit{Cur: uint64(4*n + 4096), Max: uint64(4*n + 4096)}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open file limit to %d: %v", lim.Cur, err)
	}
	type figure struct {
		kind              string
		survived, reset   int
		held, syncPackets int
	}
	var figures []string
	for _, daemon := range []string{"lvsd", "keepalived"} {
		bin := os.Getenv("LVSD_BIN")
		if daemon == "keepalived" {
			bin = os.Getenv("KEEPALIVED_BIN")
		}
		t.Run(daemon, func(t *testing.T) {
			p := newPairLab(t, daemon, bin)
			p.holdServers()
			if daemon == "keepalived" {
				for _, d := range p.dirs {
					d.globalExtra = "  lvs_sync_daemon eth0 " + pairInst + "\n"
				}
			}
			d1, d2 := p.dirs[0], p.dirs[1]
			p.upPair()
			for _, kind := range []string{"SIGTERM", "node loss"} {
				p.waitState(d1, "MASTER", 60*time.Second)
				p.waitDaemons(d1, 30*time.Second, "master sync daemon")
				p.waitDaemons(d2, 30*time.Second, "backup sync daemon")
				before := p.udpOutDatagrams(d1)
				held := p.holdConnections(n)
				time.Sleep(syncFlush)
				if kind == "SIGTERM" {
					p.kill(d1, syscall.SIGTERM)
				} else {
					p.kill(d1, syscall.SIGKILL)
					p.ip("-n", pairSwitch, "link", "set", "d1-p", "down")
				}
				sent := p.udpOutDatagrams(d1) - before
				p.waitState(d2, "MASTER", 30*time.Second)
				time.Sleep(time.Second)
				r := finishHeld(held)
				for _, c := range held {
					c.Close()
				}
				f := figure{kind, r.completed, r.reset, len(held), sent}
				line := fmt.Sprintf("held connections surviving a %s failover, %s pair with sync: %d/%d (%.1f %%), %d reset; %d UDP datagrams (sync messages) sent by the master from the first held connection to its stop",
					f.kind, daemon, f.survived, f.held, 100*float64(f.survived)/float64(f.held), f.reset, f.syncPackets)
				t.Log(line)
				figures = append(figures, line)
				// Back to d1 as master for the next kind.
				if kind == "node loss" {
					p.ip("-n", pairSwitch, "link", "set", "d1-p", "up")
					break
				}
				p.start(d1)
				p.waitState(d1, "MASTER", 60*time.Second)
				p.waitState(d2, "BACKUP", 30*time.Second)
			}
			p.stopAll()
		})
	}
	for _, l := range figures {
		fmt.Println("BENCH " + l)
	}
}

// switchovers is how many SIGTERM switch-overs TestPairSwitchover makes
// of a pair: one that fails no request could be luck, several in a row
// are not. CI makes three of the lvsd DR pair, two of the NAT pair and
// one of keepalived's (whose figure varies little), five of each with
// LVSD_BENCH=1.
func switchovers(pair string) int {
	switch {
	case os.Getenv("LVSD_BENCH") == "1":
		return 5
	case strings.HasPrefix(pair, "keepalived"):
		return 1
	case strings.Contains(pair, "NAT"):
		return 2
	}
	return 3
}

// switchoverTimeout is the switch-over client's timeout per request,
// longer than the other pair tests' probeTimeout (1 s): a connection
// whose SYN or first segments are lost at the switch is retransmitted by
// the client's TCP (a SYN after 1 s, RFC 6298's initial RTO; a segment
// after 200 ms and doubling) and completes once the new master knows it.
// Such a request is delayed, not failed; the figures count the requests
// that took longer than probeTimeout beside the failed ones, for lvsd and
// keepalived alike.
const switchoverTimeout = 3 * time.Second

// switchover is what the 50 ms client saw across one SIGTERM switch-over
// of the master and across the preempt-back that follows it.
type switchover struct {
	term, back           window
	termSlow, backSlow   []string
	termFails, backFails []string
	slowest              time.Duration
	from                 time.Time // when the SIGTERM was sent
}

// slow lists the successful requests that ended after from and took
// longer than probeTimeout (start and end times, for the daemons' logs),
// and returns the longest request.
func (pr *prober) slow(from time.Time) (slow []string, slowest time.Duration) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for _, pb := range pr.probes {
		if pb.end.Before(from) || !pb.ok {
			continue
		}
		d := pb.end.Sub(pb.start)
		if d > probeTimeout {
			slow = append(slow, fmt.Sprintf("%s..%s", pb.start.Format("15:04:05.000"), pb.end.Format("15:04:05.000")))
		}
		slowest = max(slowest, d)
	}
	return slow, slowest
}

// switchOver stops d1's daemon with SIGTERM while the client runs, waits
// for d2 to be MASTER (wait reads a director's state the lab's way) and
// the client to be served, then restarts d1, waits for it to preempt back
// and returns what the client saw in each half.
func (p *pairLab) switchOver(t *testing.T, pr *prober, wait func(d *pairDirector, state string)) switchover {
	t.Helper()
	d1, d2 := p.dirs[0], p.dirs[1]
	var s switchover
	pr.settle(t, 10, 30*time.Second)
	from := time.Now()
	s.from = from
	p.kill(d1, syscall.SIGTERM)
	wait(d2, "MASTER")
	pr.settle(t, 10, 30*time.Second)
	s.term, s.termFails = pr.since(from), pr.failures(from)
	s.termSlow, s.slowest = pr.slow(from)
	from = time.Now()
	p.start(d1)
	wait(d1, "MASTER")
	wait(d2, "BACKUP")
	pr.settle(t, 10, 30*time.Second)
	s.back, s.backFails = pr.since(from), pr.failures(from)
	s.backSlow, _ = pr.slow(from)
	return s
}

// handoverLines are the lines of d's log from offset from on that tell
// about the connection handover.
func (p *pairLab) handoverLines(d *pairDirector, from int) []string {
	var out []string
	log := p.logOf(d)
	if from > len(log) {
		from = 0
	}
	for _, l := range strings.Split(log[from:], "\n") {
		if strings.Contains(l, "peer's backup daemon") || strings.Contains(l, "reset guard") {
			out = append(out, l)
		}
	}
	return out
}

// TestPairSwitchover stops the master with SIGTERM while a client sends a
// request every 50 ms, several times over, for an lvsd DR pair, an lvsd NAT
// pair (each with its default connection sync) and a keepalived DR pair
// with lvs_sync_daemon, in the same run: lvsd's switch-over must fail no
// request. A request that fails is logged with its error and times, and
// `ipvsadm -L --daemon` on both directors shows the daemons after each
// switch-over.
func TestPairSwitchover(t *testing.T) {
	type figure struct {
		pair               string
		failed, slow, back []int
		gaps, slowest      []string
	}
	var figures []figure
	run := func(t *testing.T, pair string, p *pairLab, pr *prober, wait func(d *pairDirector, state string)) {
		f := figure{pair: pair}
		for i := range switchovers(pair) {
			logAt := [2]int{len(p.logOf(p.dirs[0])), len(p.logOf(p.dirs[1]))}
			s := p.switchOver(t, pr, wait)
			f.failed = append(f.failed, s.term.failed)
			f.slow = append(f.slow, len(s.termSlow))
			f.back = append(f.back, s.back.failed)
			f.gaps = append(f.gaps, s.term.gap.Round(time.Millisecond).String())
			f.slowest = append(f.slowest, s.slowest.Round(time.Millisecond).String())
			t.Logf("▶ %s, switch-over %d: SIGTERM of %s: %v, %d over %v, slowest %v; preempt-back: %v, %d over %v; daemons %s: %q, %s: %q",
				pair, i+1, p.dirs[0].name, s.term, len(s.termSlow), probeTimeout, s.slowest.Round(time.Millisecond), s.back, len(s.backSlow), probeTimeout,
				p.dirs[0].name, p.syncDaemons(p.dirs[0]), p.dirs[1].name, p.syncDaemons(p.dirs[1]))
			for _, l := range s.termFails {
				t.Logf("▶   failed across the SIGTERM: %s", l)
			}
			for _, l := range s.backFails {
				t.Logf("▶   failed across the preempt-back: %s", l)
			}
			if len(s.termSlow) > 0 {
				t.Logf("▶   over %v across the SIGTERM (started %s): %s", probeTimeout, s.from.Format("15:04:05.000"), strings.Join(s.termSlow, ", "))
			}
			for i, d := range p.dirs {
				for _, l := range p.handoverLines(d, logAt[i]) {
					t.Logf("▶   %s: %s", d.name, l)
				}
			}
		}
		figures = append(figures, f)
		if pair != "keepalived DR" {
			for i, n := range f.failed {
				if n != 0 {
					t.Errorf("%s: switch-over %d failed %d requests (per switch-over: %v)", pair, i+1, n, f.failed)
				}
			}
		}
	}
	t.Run("DR", func(t *testing.T) {
		p := newPairLab(t, "lvsd", os.Getenv("LVSD_BIN"))
		for _, d := range p.dirs {
			p.writeConfig(d, 2)
			p.start(d)
		}
		p.waitState(p.dirs[0], "MASTER", 60*time.Second)
		p.waitState(p.dirs[1], "BACKUP", 10*time.Second)
		pr := p.startProberWithin(switchoverTimeout)
		pr.settle(t, 10, 30*time.Second)
		run(t, "lvsd DR", p, pr, func(d *pairDirector, state string) { p.waitState(d, state, 30*time.Second) })
		pr.close()
		p.stopAll()
	})
	t.Run("NAT", func(t *testing.T) {
		n := newNATLab(t)
		for _, d := range n.dirs {
			if err := os.WriteFile(d.cfgPath(), []byte(n.config(d)), 0o644); err != nil {
				t.Fatal(err)
			}
			n.start(d)
		}
		wait := func(d *pairDirector, state string) { n.waitBoth(t, d, state, 30*time.Second) }
		wait(n.dirs[0], "MASTER")
		wait(n.dirs[1], "BACKUP")
		pr := n.startProberWithin(switchoverTimeout)
		pr.settle(t, 20, 30*time.Second)
		run(t, "lvsd NAT", n.pairLab, pr, wait)
		pr.close()
		n.stopAll()
	})
	t.Run("Keepalived", func(t *testing.T) {
		bin := os.Getenv("KEEPALIVED_BIN")
		if bin == "" {
			t.Skip("no keepalived in the guest: KEEPALIVED_BIN unset (apt-get install keepalived on the host)")
		}
		p := newPairLab(t, "keepalived", bin)
		for _, d := range p.dirs {
			d.globalExtra = "  lvs_sync_daemon eth0 " + pairInst + "\n"
			p.writeConfig(d, 2)
			p.start(d)
		}
		p.waitState(p.dirs[0], "MASTER", 60*time.Second)
		p.waitState(p.dirs[1], "BACKUP", 10*time.Second)
		pr := p.startProberWithin(switchoverTimeout)
		pr.settle(t, 10, 30*time.Second)
		run(t, "keepalived DR", p, pr, func(d *pairDirector, state string) { p.waitState(d, state, 30*time.Second) })
		pr.close()
		p.stopAll()
	})
	for _, f := range figures {
		t.Logf("▶ per SIGTERM switch-over (a request every %v, timeout %v), %s: failed %v, over %v %v, slowest %v, gaps %v; failed per preempt-back: %v",
			probeEvery, switchoverTimeout, f.pair, f.failed, probeTimeout, f.slow, f.slowest, f.gaps, f.back)
	}
}
