package scenarios

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The NAT director pair (issue 6's headline scenario). Two lvsd directors
// sit between an outside bridge (the client and the directors' eth0, the
// external VIP pairVIP) and an inside bridge (the directors' eth1 and two
// real servers running busybox httpd). The real servers' default route is
// the inside gateway VIP natGatewayVIP, not either director's own
// address, and the client has no route to the inside at all: a reply
// reaches the client only if the director holding the gateway VIP is the
// one whose IPVS table created the connection, so it can undo the NAT.
// Each director runs two VRRP instances, VI_EXT (eth0, the external VIP)
// and VI_INT (eth1, the gateway VIP), in one vrrp_sync_group so the
// gateway follows the external VIP.
//
//	              outside bridge (pr-nout)                          inside bridge (pr-nin)
//	client 10.0.0.2 ─┬─ eth0 10.0.0.3 [pr-nd1 prio 150] eth1 10.1.0.3 ─┬─ pr-rs-in1 10.1.0.11
//	                 └─ eth0 10.0.0.4 [pr-nd2 prio 100] eth1 10.1.0.4 ─┴─ pr-rs-in2 10.1.0.12
//	VIP 10.0.0.100 on the MASTER's eth0, gateway VIP 10.1.0.1 on its eth1;
//	the real servers' default route is via 10.1.0.1.
//
// The topology reuses pairLab (start, kill, stopAll, the prober and its
// windows) with its own namespaces; the real servers' namespaces start
// with "pr-rs" because the prober counts a page starting so as served.

const (
	natGatewayVIP = "10.1.0.1"
	natInstExt    = "VI_EXT"
	natInstInt    = "VI_INT"
	natGroup      = "VG_NAT"
	natVRIDExt    = 61
	natVRIDInt    = 62
	natOutSwitch  = "pr-nout"
	natInSwitch   = "pr-nin"
	natClientNS   = "pr-ncl"
	// ipvsStatsTick is a little over the 2 s period at which the kernel
	// updates the IPVS totals (ip_vs_est.c) that ipvsadm --stats shows.
	ipvsStatsTick = 2500 * time.Millisecond
)

// natLab is the NAT pair's topology: a pairLab whose directors also have
// an inside leg.
type natLab struct {
	*pairLab
	inside [2]string // the directors' own eth1 addresses
}

func newNATLab(t *testing.T) *natLab {
	t.Helper()
	requireGuest(t)
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("no lvsd binary in the guest (LVSD_BIN, set by integration/pair_vm_test.go)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("lvsd: %v", err)
	}
	l := &lab{t: t, client: natClientNS}
	p := &pairLab{lab: l, daemon: "lvsd", bin: bin,
		dirs: [2]*pairDirector{
			{name: "pr-nd1", ext: ".hcl", ip: "10.0.0.3", prio: 150},
			{name: "pr-nd2", ext: ".hcl", ip: "10.0.0.4", prio: 100},
		},
		reals: []realServer{{name: "pr-rs-in1", ip: "10.1.0.11"}, {name: "pr-rs-in2", ip: "10.1.0.12"}},
	}
	n := &natLab{pairLab: p, inside: [2]string{"10.1.0.3", "10.1.0.4"}}
	t.Cleanup(l.close)
	t.Cleanup(p.stopAll)
	if err := os.MkdirAll(pairDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range p.dirs {
		os.Remove(d.logPath())
	}
	all := []string{natOutSwitch, natInSwitch, natClientNS, p.dirs[0].name, p.dirs[1].name}
	for _, rs := range p.reals {
		all = append(all, rs.name)
	}
	for _, ns := range all {
		l.ip("netns", "add", ns)
		l.created = append(l.created, ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	// Each switch namespace holds one bridge named "lan" (lab.veth's).
	for _, sw := range []string{natOutSwitch, natInSwitch} {
		l.ip("-n", sw, "link", "add", "lan", "type", "bridge")
		l.ip("-n", sw, "link", "set", "lan", "up")
	}
	// The client knows only the outside subnet: it can reach the real
	// servers solely through the external VIP.
	l.veth(natOutSwitch, "cl-p", natClientNS, "eth0", true)
	l.ip("-n", natClientNS, "addr", "add", pairClientIP+"/24", "dev", "eth0")
	for i, d := range p.dirs {
		l.veth(natOutSwitch, fmt.Sprintf("d%d-p", i+1), d.name, "eth0", true)
		l.ip("-n", d.name, "addr", "add", d.ip+"/24", "dev", "eth0")
		l.veth(natInSwitch, fmt.Sprintf("d%d-p", i+1), d.name, "eth1", true)
		l.ip("-n", d.name, "addr", "add", n.inside[i]+"/24", "dev", "eth1")
		// NAT: the replies are forwarded (and de-NATed) by the director.
		l.in(d.name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	}
	for i, rs := range p.reals {
		l.veth(natInSwitch, fmt.Sprintf("rs%d-p", i+1), rs.name, "eth0", true)
		l.ip("-n", rs.name, "addr", "add", rs.ip+"/24", "dev", "eth0")
		// The gateway VIP, never a director's own address: the route
		// must survive the loss of either director.
		l.ip("-n", rs.name, "route", "add", "default", "via", natGatewayVIP)
		l.startHTTPD(rs.name)
	}
	l.reals = p.reals
	// The client cannot reach the inside; wait for the httpds from the
	// first director, which is on the inside bridge.
	(&lab{t: t, client: p.dirs[0].name, reals: p.reals}).waitHTTP()
	return n
}

// config is a director's lvsd.hcl: the two instances in a sync group and
// a NAT service on the external VIP. lvs_program is left at its default,
// "master": the service is programmed only on the MASTER.
func (n *natLab) config(d *pairDirector) string {
	state := "BACKUP"
	if d.prio == 150 {
		state = "MASTER"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global {
  router_id      = %q
  control_socket = %q
}
`, d.name, d.sockPath())
	for _, in := range []struct {
		name, dev, vip string
		vrid           int
	}{{natInstExt, "eth0", pairVIP, natVRIDExt}, {natInstInt, "eth1", natGatewayVIP, natVRIDInt}} {
		fmt.Fprintf(&b, `
vrrp_instance %q {
  state             = %q
  interface         = %q
  virtual_router_id = %d
  priority          = %d
  advert_int        = 1
  virtual_ipaddress = ["%s/24 dev %s"]
}
`, in.name, state, in.dev, in.vrid, d.prio, in.vip, in.dev)
	}
	fmt.Fprintf(&b, `
vrrp_sync_group %q {
  group = [%q, %q]
}

virtual_server "%s:80" {
  delay_loop = 2
  lb_algo    = "rr"
  lb_kind    = "NAT"
  protocol   = "TCP"
`, natGroup, natInstExt, natInstInt, pairVIP)
	for _, rs := range n.reals {
		fmt.Fprintf(&b, `
  real_server "%s:80" {
    weight = 1
    TCP_CHECK {
      connect_timeout = 2
    }
  }
`, rs.ip)
	}
	b.WriteString("}\n")
	return b.String()
}

// natStatus is the part of `lvsd status --json` the NAT tests read.
type natStatus struct {
	Instances []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"vrrp_instances"`
	Groups []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"vrrp_sync_groups"`
}

// states is d's lvsd's state of each VRRP instance by name, empty when
// lvsd does not answer.
func (n *natLab) states(d *pairDirector) map[string]string {
	out, err := exec.Command("/sbin/ip", "netns", "exec", d.name, n.bin, "status", "--socket", d.sockPath(), "--json").Output()
	if err != nil {
		return nil
	}
	var st natStatus
	if json.Unmarshal(out, &st) != nil {
		return nil
	}
	m := map[string]string{}
	for _, in := range st.Instances {
		m[in.Name] = in.State
	}
	for _, g := range st.Groups {
		m["group "+g.Name] = g.State
	}
	return m
}

// waitBoth waits until lvsd in d reports both instances in state.
func (n *natLab) waitBoth(t *testing.T, d *pairDirector, state string, within time.Duration) {
	t.Helper()
	var got map[string]string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = n.states(d); got[natInstExt] == state && got[natInstInt] == state {
			return
		}
	}
	t.Fatalf("lvsd in %s: states %v, want both %s and %s %s after %v; log:\n%s",
		d.name, got, natInstExt, natInstInt, state, within, n.logOf(d))
}

// holds says whether d's namespace has addr on dev.
func (n *natLab) holds(d *pairDirector, dev, addr string) bool {
	out, _ := exec.Command("/sbin/ip", "-n", d.name, "-4", "-o", "addr", "show", "dev", dev).CombinedOutput()
	return strings.Contains(string(out), " "+addr+"/")
}

// mac is the hardware address of ns's dev.
func (n *natLab) mac(ns, dev string) string {
	n.t.Helper()
	f := strings.Fields(n.in(ns, "/sbin/ip", "-o", "link", "show", "dev", dev))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "link/ether" {
			return f[i+1]
		}
	}
	n.t.Fatalf("no link/ether for %s in %s", dev, ns)
	return ""
}

// gatewayMAC is the hardware address rs's kernel would send its replies
// to (its neighbour entry for the gateway VIP), "" when it has none.
func (n *natLab) gatewayMAC(rs realServer) string {
	out, _ := exec.Command("/sbin/ip", "-n", rs.name, "neigh", "show", natGatewayVIP).CombinedOutput()
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			return f[i+1]
		}
	}
	return ""
}

// ipvsCounters are the external service's counters in d's IPVS table.
type ipvsCounters struct{ conns, outPkts int64 }

// counters reads d's `ipvsadm -Ln --stats --exact`. For a NAT service
// OutPkts counts the real servers' reply packets this director de-NATed;
// zero when the table has no such service.
func (n *natLab) counters(d *pairDirector) ipvsCounters {
	n.t.Helper()
	out := n.in(d.name, "/sbin/ipvsadm", "-Ln", "--stats", "--exact")
	for _, line := range strings.Split(out, "\n") {
		// TCP  10.0.0.100:80  Conns InPkts OutPkts InBytes OutBytes
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "TCP" && f[1] == pairVIP+":80" {
			conns, _ := strconv.ParseInt(f[2], 10, 64)
			outPkts, _ := strconv.ParseInt(f[4], 10, 64)
			return ipvsCounters{conns, outPkts}
		}
	}
	return ipvsCounters{}
}

// takeover is what one failover left behind: the client's window and
// where each director's log stood when it began.
type takeover struct {
	window
	from time.Time
	logs [2]int
}

// failoverNAT takes d1's lvsd down with sig while the client runs, waits
// until d2 is MASTER of both instances and the client is served again,
// and returns what the client saw.
func (n *natLab) failoverNAT(t *testing.T, pr *prober, sig syscall.Signal) takeover {
	t.Helper()
	d1, d2 := n.dirs[0], n.dirs[1]
	pr.settle(t, 10, 30*time.Second)
	to := takeover{from: time.Now(), logs: [2]int{len(n.logOf(d1)), len(n.logOf(d2))}}
	n.kill(d1, sig)
	n.waitBoth(t, d2, "MASTER", 30*time.Second)
	pr.settle(t, 20, 30*time.Second)
	to.window = pr.since(to.from)
	return to
}

// evidence is what a failed bound is reported with: the client's failed
// requests and both directors' logs since the failover began.
func (n *natLab) evidence(pr *prober, to takeover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "failover began %s; failed requests:\n  %s\n", to.from.Format("15:04:05.000"), strings.Join(pr.failures(to.from), "\n  "))
	for i, d := range n.dirs {
		log := n.logOf(d)
		if to.logs[i] <= len(log) {
			log = log[to.logs[i]:]
		}
		fmt.Fprintf(&b, "log of %s since:\n%s", d.name, log)
	}
	return b.String()
}

// checkServedBy asserts that the new master d2 carries the NAT traffic:
// both VIPs on d2, the real servers' gateway entry pointing at d2's eth1,
// and d2 taking new connections and de-NATing their replies while d1's
// table (kept by d1's kernel after kill -9) takes none.
func (n *natLab) checkServedBy(t *testing.T, pr *prober) {
	t.Helper()
	d1, d2 := n.dirs[0], n.dirs[1]
	if !n.holds(d2, "eth0", pairVIP) || !n.holds(d2, "eth1", natGatewayVIP) {
		t.Errorf("%s does not hold both VIPs: %s on eth0 %v, %s on eth1 %v",
			d2.name, pairVIP, n.holds(d2, "eth0", pairVIP), natGatewayVIP, n.holds(d2, "eth1", natGatewayVIP))
	}
	if st := n.states(d2); st["group "+natGroup] != "" && st["group "+natGroup] != "MASTER" {
		t.Errorf("sync group %s on %s is %s, want MASTER (%v)", natGroup, d2.name, st["group "+natGroup], st)
	}
	d2mac := n.mac(d2.name, "eth1")
	for _, rs := range n.reals {
		if got := n.gatewayMAC(rs); got != d2mac {
			t.Errorf("%s sends to the gateway %s at %q, want %s's eth1 %s", rs.name, natGatewayVIP, got, d2.name, d2mac)
		}
	}
	// The kernel folds its per-CPU IPVS counters into the totals
	// ipvsadm reads every 2 s (the rate estimator's tick), so both
	// readings wait that long after what they must include.
	time.Sleep(ipvsStatsTick)
	before1, before2 := n.counters(d1), n.counters(d2)
	from := time.Now()
	pr.settle(t, 20, 30*time.Second)
	time.Sleep(ipvsStatsTick)
	w := pr.since(from)
	after1, after2 := n.counters(d1), n.counters(d2)
	t.Logf("▶ after the takeover: %d new connections and %d de-NATed reply packets on %s, %d new connections on %s; the real servers' gateway %s is at %s (%s's eth1); client %v",
		after2.conns-before2.conns, after2.outPkts-before2.outPkts, d2.name, after1.conns-before1.conns, d1.name, natGatewayVIP, d2mac, d2.name, w)
	// The totals lag by up to one tick, so they are compared with zero,
	// not with the client's count.
	if after2.conns <= before2.conns || after2.outPkts <= before2.outPkts {
		t.Errorf("%s's IPVS did not carry the client's %d requests: counters before %+v, after %+v", d2.name, w.requests, before2, after2)
	}
	if after1.conns != before1.conns {
		t.Errorf("%s's IPVS still took new connections after the takeover: %+v → %+v", d1.name, before1, after1)
	}
}

// TestPairNAT runs an lvsd NAT director pair with an inside gateway VIP
// in a sync group through SIGTERM (gap under Skew_Time + 1 s), restart
// and preemption, kill -9 of the master's lvsd and loss of the whole
// master node (gap under Master_Down_Interval + 1 s), with the client
// fetching a page through the external VIP every 50 ms; after each
// takeover it checks that the new master carries the NAT traffic, and
// a control experiment shows the replies need the moved gateway VIP.
func TestPairNAT(t *testing.T) {
	n := newNATLab(t)
	d1, d2 := n.dirs[0], n.dirs[1]
	for _, d := range n.dirs {
		if err := os.WriteFile(d.cfgPath(), []byte(n.config(d)), 0o644); err != nil {
			t.Fatal(err)
		}
		n.start(d)
	}
	n.waitBoth(t, d1, "MASTER", 60*time.Second)
	n.waitBoth(t, d2, "BACKUP", 10*time.Second)
	pr := n.startProber()
	from := time.Now()
	pr.settle(t, 20, 30*time.Second)
	t.Logf("▶ lvsd NAT pair up: %s MASTER of %s (%s on eth0) and %s (gateway %s on eth1) in %s, %s BACKUP; client fetching http://%s/ every %v: %v",
		d1.name, natInstExt, pairVIP, natInstInt, natGatewayVIP, natGroup, d2.name, pairVIP, probeEvery, pr.since(from))

	t.Run("MasterServesBothRealServers", func(t *testing.T) {
		want := "TCP " + pairVIP + ":80 rr\n  -> 10.1.0.11:80 Masq 1\n  -> 10.1.0.12:80 Masq 1\n"
		if got := n.table(d1); got != want {
			t.Errorf("ipvsadm -Ln on the master %s:\n%s\nwant:\n%s", d1.name, got, want)
		}
		if got := n.table(d2); got != "" {
			t.Errorf("ipvsadm -Ln on the backup %s (lvs_program master by default): %q, want empty", d2.name, got)
		}
		if !n.holds(d1, "eth0", pairVIP) || !n.holds(d1, "eth1", natGatewayVIP) || n.holds(d2, "eth1", natGatewayVIP) {
			t.Errorf("VIPs: %s holds %s %v, %s %v; %s holds %s %v",
				d1.name, pairVIP, n.holds(d1, "eth0", pairVIP), natGatewayVIP, n.holds(d1, "eth1", natGatewayVIP),
				d2.name, natGatewayVIP, n.holds(d2, "eth1", natGatewayVIP))
		}
		w := pr.since(from)
		t.Logf("▶ %s's table: %s", d1.name, strings.ReplaceAll(strings.TrimSpace(n.table(d1)), "\n", " |"))
		if w.pages["pr-rs-in1"] == 0 || w.pages["pr-rs-in2"] == 0 {
			t.Errorf("the client was not served by both real servers: %v", w)
		}
	})

	t.Run("SIGTERMFailover", func(t *testing.T) {
		// Connections held mid-request survive through lvsd's default
		// connection sync (issue 15): d2's backup daemon has them.
		held := n.holdConnections(heldPerPhase)
		synced := n.waitSynced(d2, held)
		w := n.failoverNAT(t, pr, syscall.SIGTERM)
		r := finishHeld(held)
		t.Logf("▶ NAT, SIGTERM of the master: held connections %v (%d synced to %s)", r, synced, d2.name)
		if synced != len(held) || r.completed != len(held) {
			t.Errorf("NAT, SIGTERM: %d of %d held connections synced, %v (first error: %s)", synced, len(held), r, r.firstErr)
		}
		bound := d2.skew() + time.Second
		t.Logf("▶ SIGTERM of the master %s: %s MASTER of %s and %s; client %v (bound Skew_Time + 1 s = %v)",
			d1.name, d2.name, natInstExt, natInstInt, w.window, bound)
		if w.gap >= bound {
			t.Errorf("longest gap %v, want under Skew_Time + 1 s = %v; %s", w.gap, bound, n.evidence(pr, w))
		}
		// A stopping lvsd gives up both VIPs (priority 0 advert, RFC 3768 §6.4.3).
		if n.holds(d1, "eth0", pairVIP) || n.holds(d1, "eth1", natGatewayVIP) {
			t.Errorf("the stopped %s still holds a VIP", d1.name)
		}
		t.Logf("▶ %s's IPVS table after SIGTERM: %q", d1.name, n.table(d1))
		n.checkServedBy(t, pr)
	})

	t.Run("RestartPreempts", func(t *testing.T) {
		from := time.Now()
		n.start(d1)
		n.waitBoth(t, d1, "MASTER", 60*time.Second)
		n.waitBoth(t, d2, "BACKUP", 30*time.Second)
		pr.settle(t, 20, 30*time.Second)
		w := pr.since(from)
		t.Logf("▶ %s restarted and preempted back to MASTER of both instances; client %v", d1.name, w)
		if n.holds(d2, "eth0", pairVIP) || n.holds(d2, "eth1", natGatewayVIP) {
			t.Errorf("%s still holds a VIP after going BACKUP", d2.name)
		}
		if got := n.gatewayMAC(n.reals[0]); got != n.mac(d1.name, "eth1") {
			t.Errorf("%s sends to the gateway at %q, want %s's eth1", n.reals[0].name, got, d1.name)
		}
	})

	t.Run("KillFailover", func(t *testing.T) {
		// After kill -9 nobody removes d1's VIPs: its kernel keeps
		// pairVIP on eth0, the gateway VIP on eth1 and the IPVS table,
		// so d1's namespace goes on serving on its own until d2's
		// Master_Down_Timer fires. Then d2 adds both VIPs and sends
		// gratuitous ARP on both links: the client's entry for pairVIP
		// and the real servers' entries for the gateway move to d2
		// together (that is what the sync group is for). Requests in
		// flight at that moment fail: a connection d1 created now sends
		// its replies to d2, which has no IPVS entry to de-NAT them
		// (and the client's next segments reach d2, which drops or
		// resets them). From then on d1 still holds both addresses but
		// gets no traffic, as long as nobody broadcasts an ARP request
		// for them (neighbour entries are re-confirmed by unicast).
		w := n.failoverNAT(t, pr, syscall.SIGKILL)
		bound := d2.masterDown() + time.Second
		t.Logf("▶ kill -9 of the master %s: %s MASTER of %s and %s; client %v (bound Master_Down_Interval + 1 s = %v; %s's kernel keeps both VIPs and its table and serves until %s's gratuitous ARPs)",
			d1.name, d2.name, natInstExt, natInstInt, w.window, bound, d1.name, d2.name)
		if w.gap >= bound {
			t.Errorf("longest gap %v, want under Master_Down_Interval + 1 s = %v; %s", w.gap, bound, n.evidence(pr, w))
		}
		t.Logf("▶ %s's namespace after kill -9 still holds %s: %v, %s: %v",
			d1.name, pairVIP, n.holds(d1, "eth0", pairVIP), natGatewayVIP, n.holds(d1, "eth1", natGatewayVIP))
		n.checkServedBy(t, pr)
	})

	t.Run("RepliesNeedTheGatewayVIP", func(t *testing.T) {
		// The control experiment: pin the real servers' gateway entry
		// back to d1's eth1 (the dead master, whose kernel still holds
		// the gateway VIP) and the client's requests, balanced by d2,
		// go unanswered: d1 has no connection to de-NAT the replies, so
		// it forwards them with the real server's source, which the
		// client does not know. Point the entry at d2 again and they
		// succeed: the requests succeed only because the gateway VIP
		// moved with the external one.
		d1mac, d2mac := n.mac(d1.name, "eth1"), n.mac(d2.name, "eth1")
		pin := func(mac string) {
			for _, rs := range n.reals {
				n.in(rs.name, "/sbin/ip", "neigh", "replace", natGatewayVIP, "lladdr", mac, "dev", "eth0", "nud", "permanent")
			}
		}
		// The prober keeps running (its failures here fall in no
		// measured window); these requests are the experiment's own.
		tr := &http.Transport{DisableKeepAlives: true, DialContext: n.dialFromClient}
		c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
		var tried []string
		fetch := func(k int) (ok int) {
			for range k {
				resp, err := c.Get("http://" + pairVIP + "/")
				if err != nil {
					tried = append(tried, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				tried = append(tried, "served by "+string(body))
				ok++
			}
			return ok
		}
		pin(d1mac)
		wrong := fetch(4)
		pin(d2mac)
		right := fetch(4)
		for _, rs := range n.reals {
			n.in(rs.name, "/sbin/ip", "neigh", "replace", natGatewayVIP, "lladdr", d2mac, "dev", "eth0", "nud", "reachable")
		}
		// The prober's requests sent while the entry pointed at d1
		// time out; let them drain before the next window opens.
		pr.settle(t, 20, 30*time.Second)
		t.Logf("▶ real servers' gateway pinned to %s's eth1: %d/4 requests answered; pinned to %s's eth1: %d/4", d1.name, wrong, d2.name, right)
		if wrong != 0 || right != 4 {
			var live []string
			for _, d := range n.dirs {
				for _, line := range strings.Split(n.in(d.name, "/sbin/ipvsadm", "-Lnc"), "\n") {
					if strings.HasPrefix(line, "TCP") && !strings.Contains(line, "TIME_WAIT") {
						live = append(live, d.name+": "+line)
					}
				}
			}
			t.Errorf("replies via %s answered %d of 4 (want 0), via %s %d of 4 (want 4): %q; client's neighbours: %s; live IPVS connections:\n%s",
				d1.name, wrong, d2.name, right, tried, n.in(natClientNS, "/sbin/ip", "neigh"), strings.Join(live, "\n"))
		}
	})

	t.Run("RestartAfterKill", func(t *testing.T) {
		// d1's namespace still holds both VIPs and its IPVS table from
		// before the kill -9; the restarted lvsd must sort that out and
		// preempt d2 again.
		from := time.Now()
		n.start(d1)
		n.waitBoth(t, d1, "MASTER", 60*time.Second)
		n.waitBoth(t, d2, "BACKUP", 30*time.Second)
		pr.settle(t, 20, 30*time.Second)
		w := pr.since(from)
		t.Logf("▶ %s restarted after kill -9 (its namespace still holding both VIPs) and preempted back; client %v", d1.name, w)
		if w.failed > 0 {
			t.Logf("▶   failed requests: %s", strings.Join(pr.failures(from), "; "))
		}
		if got := n.gatewayMAC(n.reals[0]); got != n.mac(d1.name, "eth1") {
			t.Errorf("%s sends to the gateway at %q, want %s's eth1", n.reals[0].name, got, d1.name)
		}
	})

	t.Run("NodeLossFailover", func(t *testing.T) {
		// kill -9 alone leaves d1's kernel serving until d2 takes over,
		// which hides the takeover delay. Here the whole node goes: its
		// lvsd is killed and both links go down at once, so the client
		// is served by nobody until d2's Master_Down_Timer fires
		// (RFC 3768 §6.4.2) and its gratuitous ARPs move both VIPs.
		pr.settle(t, 10, 30*time.Second)
		held := n.holdConnections(heldPerPhase)
		synced := n.waitSynced(d2, held)
		to := takeover{from: time.Now(), logs: [2]int{len(n.logOf(d1)), len(n.logOf(d2))}}
		n.kill(d1, syscall.SIGKILL)
		n.ip("-n", d1.name, "link", "set", "eth0", "down")
		n.ip("-n", d1.name, "link", "set", "eth1", "down")
		n.waitBoth(t, d2, "MASTER", 30*time.Second)
		pr.settle(t, 20, 30*time.Second)
		r := finishHeld(held)
		t.Logf("▶ NAT, node loss: held connections %v (%d synced to %s)", r, synced, d2.name)
		if synced != len(held) || r.completed != len(held) {
			t.Errorf("NAT, node loss: %d of %d held connections synced, %v (first error: %s)", synced, len(held), r, r.firstErr)
		}
		w := pr.since(to.from)
		bound := d2.masterDown() + time.Second
		t.Logf("▶ loss of the master node %s (kill -9, eth0 and eth1 down): %s MASTER of both; client %v (bound Master_Down_Interval + 1 s = %v)",
			d1.name, d2.name, w, bound)
		if w.gap >= bound {
			to.window = w
			t.Errorf("longest gap %v, want under Master_Down_Interval + 1 s = %v; %s", w.gap, bound, n.evidence(pr, to))
		}
		n.checkServedBy(t, pr)
	})
}
