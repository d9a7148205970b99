package scenarios

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The cluster (issue 16): N active directors behind a router's ECMP.
//
//	client 10.8.0.2 ── 10.8.0.1 router (BIRD 2, AS 65000, merge paths)
//	                     │ 10.9.N.1 ── 10.9.N.2 director dN (N = 1..3), lvsd
//	                     │                        with announce "bgp", VIP on lo
//	                     └ bridge srv 10.7.0.1/24: every director's eth1
//	                       (10.7.0.1N) and the real servers rsM (10.7.0.2M)
//
// Each director namespace has its own IPVS table, programmed by its own
// lvsd, DR to the real servers on the srv bridge; the real servers answer
// the client directly through the router. The router installs the VIP's
// route with one next hop per director that announces it and hashes flows
// over them on the 5-tuple (fib_multipath_hash_policy=1).
//
// Services on the VIP: TCP 80 (a line server on rs1, rs2 answering its
// name on every line, so a long-lived connection shows which real server
// it reached) and UDP 5353 and 5354 on rs1..rs3 (nothing listens: the
// directors' connection entries are what the consistent-hashing test
// reads). Each
// director checks the real servers on its own port, 808N (TCP_CHECK), so
// a test fails a real server for one director by closing that port.
const (
	clusterVIP    = "10.0.0.100"
	clusterRouter = "cl-rt"
	clusterClient = "cl-client"
	clusterDir    = "/tmp/cluster"
	// clusterHold is the BGP hold time: 9 s, not docs/cluster.md's 3 s,
	// since a loaded TCG guest can miss keepalives for seconds.
	clusterHold = 9 * time.Second
	// The two UDP services of the consistent-hashing test, on two VIPs
	// with the same real servers (rs1..rs3:5354), so the same Maglev
	// table: mh-port, inhibit_on_failure (a failed real server keeps its
	// place with weight 0) and mh-fallback. The flows are read on A before
	// a real server fails and on B after it, each a fresh scheduling.
	clusterUDPA    = "10.0.0.100:5354"
	clusterUDPB    = "10.0.0.101:5354"
	clusterUDPPort = 5354
	// clusterDrain is the announce block's drain_delay line: how long
	// `lvsd drain` and SIGTERM keep serving after the withdrawal.
	clusterDrain      = "  drain_delay = \"1s\"\n"
	clusterDrainDelay = time.Second
)

// clusterNode is one director namespace and its lvsd.
type clusterNode struct {
	n    int    // 1..3
	name string // namespace
	cmd  *exec.Cmd
	done chan struct{}
}

func (d *clusterNode) addr() string     { return fmt.Sprintf("10.9.%d.2", d.n) }
func (d *clusterNode) cfgPath() string  { return filepath.Join(clusterDir, d.name+".hcl") }
func (d *clusterNode) logPath() string  { return filepath.Join(clusterDir, d.name+".log") }
func (d *clusterNode) sockPath() string { return filepath.Join(clusterDir, d.name+".sock") }

// clusterReal is a real server namespace: the line server on 80 and one
// check port per director.
type clusterReal struct {
	name string
	ip   string
	mu   sync.Mutex
	lns  map[int]net.Listener
}

type clusterLab struct {
	*lab
	bin   string
	dirs  []*clusterNode
	reals []*clusterReal
	bird  *exec.Cmd
}

func newClusterLab(t *testing.T) *clusterLab {
	t.Helper()
	requireGuest(t)
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("LVSD_BIN is not set")
	}
	if _, err := os.Stat("/usr/sbin/bird"); err != nil {
		t.Skip("needs BIRD 2 in the guest (the host's /usr/sbin/bird, Debian bird2)")
	}
	os.RemoveAll(clusterDir)
	if err := os.MkdirAll(clusterDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &clusterLab{lab: &lab{t: t, client: clusterClient}, bin: bin}
	t.Cleanup(c.close)
	add := func(ns string) {
		c.ip("netns", "add", ns)
		c.created = append(c.created, ns)
		c.ip("-n", ns, "link", "set", "lo", "up")
	}
	// The backlog of packets a veth hands to the receiving side (global,
	// 1000 by default) would drop the synthetic flows' bursts under TCG.
	if err := os.WriteFile("/proc/sys/net/core/netdev_max_backlog", []byte("100000\n"), 0o644); err != nil {
		t.Logf("netdev_max_backlog: %v", err)
	}
	rt := clusterRouter
	add(rt)
	for _, k := range []string{"net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=1",
		"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"} {
		c.in(rt, "sysctl", "-qw", k)
	}
	c.ip("-n", rt, "link", "add", "srv", "type", "bridge")
	c.ip("-n", rt, "addr", "add", "10.7.0.1/24", "dev", "srv")
	c.ip("-n", rt, "link", "set", "srv", "up")
	// link joins namespace a's an with b's bn; a's end joins srv when
	// bridged.
	link := func(a, an, b, bn string, bridged bool) {
		c.ip("-n", a, "link", "add", an, "type", "veth", "peer", "name", bn, "netns", b)
		if bridged {
			c.ip("-n", a, "link", "set", an, "master", "srv")
		}
		c.ip("-n", a, "link", "set", an, "up")
		c.ip("-n", b, "link", "set", bn, "up")
	}
	add(clusterClient)
	link(rt, "rt-cl", clusterClient, "eth0", false)
	c.ip("-n", rt, "addr", "add", "10.8.0.1/24", "dev", "rt-cl")
	c.ip("-n", clusterClient, "addr", "add", "10.8.0.2/24", "dev", "eth0")
	c.ip("-n", clusterClient, "route", "add", "default", "via", "10.8.0.1")

	for n := 1; n <= 3; n++ {
		d := &clusterNode{n: n, name: fmt.Sprintf("cl-d%d", n)}
		c.dirs = append(c.dirs, d)
		add(d.name)
		link(rt, fmt.Sprintf("rt-d%d", n), d.name, "eth0", false)
		c.ip("-n", rt, "addr", "add", fmt.Sprintf("10.9.%d.1/24", n), "dev", fmt.Sprintf("rt-d%d", n))
		c.ip("-n", d.name, "addr", "add", d.addr()+"/24", "dev", "eth0")
		c.ip("-n", d.name, "route", "add", "default", "via", fmt.Sprintf("10.9.%d.1", n))
		link(rt, fmt.Sprintf("srv-d%d", n), d.name, "eth1", true)
		c.ip("-n", d.name, "addr", "add", fmt.Sprintf("10.7.0.1%d/24", n), "dev", "eth1")
		// docs/cluster.md: the VIP lvsd puts on lo is never answered for
		// by ARP on the director's links; flows from anywhere are taken.
		for _, k := range []string{"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
			"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
			"net.ipv4.conf.eth0.rp_filter=0"} {
			c.in(d.name, "sysctl", "-qw", k)
		}
	}
	for m := 1; m <= 3; m++ {
		rs := &clusterReal{name: fmt.Sprintf("cl-rs%d", m), ip: fmt.Sprintf("10.7.0.2%d", m), lns: map[int]net.Listener{}}
		c.reals = append(c.reals, rs)
		add(rs.name)
		link(rt, fmt.Sprintf("srv-rs%d", m), rs.name, "eth0", true)
		c.ip("-n", rs.name, "addr", "add", rs.ip+"/24", "dev", "eth0")
		c.ip("-n", rs.name, "route", "add", "default", "via", "10.7.0.1")
		c.hideVIPs(rs.name, clusterVIP)
		c.listen(rs, 80)
		for n := 1; n <= 3; n++ {
			c.listen(rs, 8080+n)
		}
	}
	c.startBIRD()
	return c
}

// listen opens port on rs: 80 is the line server, any other port accepts
// and closes (what TCP_CHECK needs).
func (c *clusterLab) listen(rs *clusterReal, port int) {
	c.t.Helper()
	var ln net.Listener
	err := inNamespace(rs.name, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		c.t.Fatalf("listening on %s:%d: %v", rs.name, port, err)
	}
	rs.mu.Lock()
	rs.lns[port] = ln
	rs.mu.Unlock()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if port != 80 {
				conn.Close()
				continue
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					if _, err := conn.Write([]byte(rs.name + "\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// unlisten closes port on rs: the checks of the director that uses it
// fail (connection refused).
func (c *clusterLab) unlisten(rs *clusterReal, port int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if ln := rs.lns[port]; ln != nil {
		ln.Close()
		delete(rs.lns, port)
	}
}

func (c *clusterLab) close() {
	for _, d := range c.dirs {
		if d.cmd != nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	if c.bird != nil {
		c.bird.Process.Kill()
		c.bird.Wait()
	}
	for _, rs := range c.reals {
		rs.mu.Lock()
		for _, ln := range rs.lns {
			ln.Close()
		}
		rs.mu.Unlock()
	}
	c.lab.close()
}

// startBIRD runs BIRD 2 in the router namespace with docs/cluster.md's
// configuration: eBGP from each director, the kernel protocol merging
// equal routes into one multipath route.
func (c *clusterLab) startBIRD() {
	c.t.Helper()
	cfg := `router id 10.9.0.1;
protocol device { scan time 1; }
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
`
	for n := 1; n <= 3; n++ {
		cfg += fmt.Sprintf(`protocol bgp d%d {
  local 10.9.%d.1 as 65000;
  neighbor 10.9.%d.2 as 65001;
  hold time 9;
  keepalive time 3;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import where net ~ [ 10.0.0.0/24+ ]; export none; };
}
`, n, n, n)
	}
	conf := filepath.Join(clusterDir, "bird.conf")
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		c.t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(clusterDir, "bird.log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command("/sbin/ip", "netns", "exec", clusterRouter, "/usr/sbin/bird", "-f", "-c", conf,
		"-s", filepath.Join(clusterDir, "bird.ctl"), "-P", filepath.Join(clusterDir, "bird.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("bird: %v", err)
	}
	c.bird = cmd
}

// config is director d's lvsd configuration: the same for every director
// but for the router id, the neighbor and the check port; the UDP services
// leave out the real server at address without, when set.
func (c *clusterLab) config(d *clusterNode, extra, without string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global {
  router_id      = %q
  lvs_program    = "always"
  control_socket = %q
}

virtual_server "%s:80" {
  protocol        = "TCP"
  lb_algo         = "mh"
  scheduler_flags = ["mh-port"]
  lb_kind         = "DR"
  delay_loop      = "300ms"
`, d.name, d.sockPath(), clusterVIP)
	for _, rs := range c.reals[:2] {
		fmt.Fprintf(&b, `  real_server "%s:80" {
    TCP_CHECK {
      connect_port    = %d
      connect_timeout = 3
      retry           = 0
    }
  }
`, rs.ip, 8080+d.n)
	}
	for _, vs := range []string{clusterUDPA, clusterUDPB} {
		fmt.Fprintf(&b, `}

virtual_server "%s" {
  protocol        = "UDP"
  lb_algo         = "mh"
  scheduler_flags = ["mh-port", "mh-fallback"]
  lb_kind         = "DR"
  delay_loop      = "300ms"
`, vs)
		for _, rs := range c.reals {
			if rs.ip == without {
				continue
			}
			fmt.Fprintf(&b, `  real_server "%s:%d" {
    inhibit_on_failure = true
    TCP_CHECK {
      connect_port    = %d
      connect_timeout = 3
      retry           = 0
    }
  }
`, rs.ip, clusterUDPPort, 8080+d.n)
		}
	}
	fmt.Fprintf(&b, `}

announce "bgp" {
  local_as  = 65001
  router_id = %q
%s  neighbor "10.9.%d.1" {
    remote_as = 65000
    hold_time = 9
    keepalive = 3
  }
}
`, d.addr(), extra, d.n)
	return b.String()
}

// start writes d's configuration and runs its lvsd, the log appended to
// d.logPath().
func (c *clusterLab) start(d *clusterNode, extra string) {
	c.t.Helper()
	if err := os.WriteFile(d.cfgPath(), []byte(c.config(d, extra, "")), 0o644); err != nil {
		c.t.Fatal(err)
	}
	logf, err := os.OpenFile(d.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command("/sbin/ip", "netns", "exec", d.name, c.bin, "run", "-f", d.cfgPath())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("lvsd in %s: %v", d.name, err)
	}
	d.cmd, d.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		cmd.Wait()
		logf.Close()
		close(done)
	}(d.done)
}

// signal sends sig to d's lvsd and returns how long it took to exit; it
// may run on a goroutine of its own.
func (c *clusterLab) signal(d *clusterNode, sig syscall.Signal, within time.Duration) (time.Duration, error) {
	start := time.Now()
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(within):
		return 0, fmt.Errorf("lvsd in %s did not exit within %v of %v; end of its log:\n%s", d.name, within, sig, c.logTail(d))
	}
	d.cmd = nil
	return time.Since(start), nil
}

// with returns a copy of the lab whose failures go to t (a subtest).
func (c *clusterLab) with(t *testing.T) *clusterLab {
	cc, l := *c, *c.lab
	l.t = t
	cc.lab = &l
	return &cc
}

func (c *clusterLab) logTail(d *clusterNode) string {
	s := c.logText(d)
	return s[max(0, len(s)-3000):]
}

func (c *clusterLab) logText(d *clusterNode) string {
	b, _ := os.ReadFile(d.logPath())
	return string(b)
}

// nextHops returns the directors the router's route to the VIP goes
// through, sorted.
func (c *clusterLab) nextHops() []string {
	out, _ := exec.Command("/sbin/ip", "-n", clusterRouter, "route", "show", clusterVIP+"/32").CombinedOutput()
	var hops []string
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "via" {
			hops = append(hops, f[i+1])
		}
	}
	slices.Sort(hops)
	return hops
}

// waitHops waits until the router's route has exactly the next hops of
// dirs and returns how long that took.
func (c *clusterLab) waitHops(within time.Duration, dirs ...*clusterNode) time.Duration {
	c.t.Helper()
	var want []string
	for _, d := range dirs {
		want = append(want, d.addr())
	}
	slices.Sort(want)
	start := time.Now()
	for time.Since(start) < within {
		if slices.Equal(c.nextHops(), want) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	birdc, _ := exec.Command("/usr/sbin/birdc", "-s", filepath.Join(clusterDir, "bird.ctl"), "show", "protocols").CombinedOutput()
	c.t.Fatalf("the router's route to %s goes through %v after %v, want %v\nBIRD: %s\nlvsd logs:\n%s", clusterVIP, c.nextHops(), within, want, birdc, c.logTail(dirs[len(dirs)-1]))
	return 0
}

// whereIs names the directors whose connection table has cc's flow, and
// the real server each sends it to.
func (c *clusterLab) whereIs(cc *clusterConn) string {
	client := cc.conn.LocalAddr().String()
	var out []string
	for _, d := range c.dirs {
		out2, _ := exec.Command("/sbin/ip", "netns", "exec", d.name, "/sbin/ipvsadm", "-Lnc").CombinedOutput()
		for _, line := range strings.Split(string(out2), "\n") {
			if f := strings.Fields(line); len(f) >= 6 && f[3] == client {
				out = append(out, d.name+" "+f[2]+" → "+f[5])
			}
		}
	}
	return "entries: " + strings.Join(out, ", ")
}

// diagnose shows each director's table, IPVS settings and log tail.
func (c *clusterLab) diagnose() string {
	var b strings.Builder
	for _, d := range c.dirs {
		tbl, _ := exec.Command("/sbin/ip", "netns", "exec", d.name, "/sbin/ipvsadm", "-Ln").CombinedOutput()
		ctl, _ := exec.Command("/sbin/ip", "netns", "exec", d.name, "/bin/sh", "-c", "cat /proc/sys/net/ipv4/vs/sloppy_tcp /proc/sys/net/ipv4/vs/expire_nodest_conn").CombinedOutput()
		fmt.Fprintf(&b, "== %s: sloppy_tcp, expire_nodest_conn %q\n%s\n%s\n", d.name, ctl, tbl, c.logTail(d))
	}
	return b.String()
}

// clusterConn is one long-lived client connection: the real server it
// reached first and what later lines got.
type clusterConn struct {
	conn  net.Conn
	rd    *bufio.Reader
	first string
}

// ask sends a line on cc and returns the real server's name.
func (cc *clusterConn) ask(timeout time.Duration) (string, error) {
	cc.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := cc.conn.Write([]byte("?\n")); err != nil {
		return "", err
	}
	line, err := cc.rd.ReadString('\n')
	return strings.TrimSpace(line), err
}

// open opens n long-lived connections to the VIP from the client, each
// asking once.
func (c *clusterLab) open(n int) []*clusterConn {
	c.t.Helper()
	var out []*clusterConn
	for range n {
		conn, err := c.dialFromClient(c.t.Context(), "tcp4", clusterVIP+":80")
		if err != nil {
			c.t.Fatalf("connection %d: %v", len(out), err)
		}
		cc := &clusterConn{conn: conn, rd: bufio.NewReader(conn)}
		if cc.first, err = cc.ask(5 * time.Second); err != nil {
			c.t.Fatalf("connection %d: first line: %v", len(out), err)
		}
		out = append(out, cc)
	}
	c.t.Cleanup(func() {
		for _, cc := range out {
			cc.conn.Close()
		}
	})
	return out
}

// startProber opens a new connection to the VIP every 40 ms and asks
// one line (pair_test.go's prober); any answer is served.
func (c *clusterLab) startProber() *prober {
	return startProbing(c.t, 40*time.Millisecond, c.askOnce, func(string) bool { return true })
}

// askOnce opens a new connection to the VIP, asks one line and closes.
func (c *clusterLab) askOnce() (string, error) {
	conn, err := c.dialFromClient(c.t.Context(), "tcp4", clusterVIP+":80")
	if err != nil {
		return "", err
	}
	defer conn.Close()
	cc := &clusterConn{conn: conn, rd: bufio.NewReader(conn)}
	return cc.ask(3 * time.Second)
}

// connEntries reads director d's connection table (ipvsadm -Lnc): for the
// entries of the virtual address vaddr, client address:port → real
// server address.
func (c *clusterLab) connEntries(d *clusterNode, proto, vaddr string) map[string]string {
	c.t.Helper()
	out := c.in(d.name, "/sbin/ipvsadm", "-Lnc")
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		// pro expire state source virtual destination
		if len(f) >= 6 && f[0] == proto && f[4] == vaddr {
			m[f[3]] = strings.Split(f[5], ":")[0]
		}
	}
	return m
}

// destOrder is the order of the service's destinations in d's kernel
// list, as ipvsadm -Ln prints it.
func (c *clusterLab) destOrder(d *clusterNode, service string) []string {
	c.t.Helper()
	out := c.in(d.name, "/sbin/ipvsadm", "-Ln")
	var order []string
	in := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && (f[0] == "TCP" || f[0] == "UDP"):
			in = f[0]+" "+f[1] == service
		case in && len(f) >= 2 && f[0] == "->" && f[1] != "RemoteAddress:Port":
			order = append(order, f[1])
		}
	}
	return order
}

// waitWeight waits until d's service lists real server rs with weight.
func (c *clusterLab) waitWeight(d *clusterNode, service, rs, weight string, within time.Duration) {
	c.t.Helper()
	var out string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out = c.in(d.name, "/sbin/ipvsadm", "-Ln")
		in := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && (f[0] == "TCP" || f[0] == "UDP"):
				in = f[0]+" "+f[1] == service
			case in && len(f) >= 4 && f[0] == "->" && f[1] == rs && f[3] == weight:
				return
			}
		}
	}
	c.t.Fatalf("%s: %s never listed %s with weight %s:\n%s", d.name, service, rs, weight, out)
}

// waitDests waits until d's service has exactly the real servers want.
func (c *clusterLab) waitDests(d *clusterNode, service string, within time.Duration, want ...string) {
	c.t.Helper()
	slices.Sort(want)
	var got []string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = c.destOrder(d, service)
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
	}
	c.t.Fatalf("%s: %s has %v, want %v", d.name, service, got, want)
}

// mac returns the hardware address of ns's dev.
func (c *clusterLab) mac(ns, dev string) net.HardwareAddr {
	c.t.Helper()
	out := c.in(ns, "/bin/cat", "/sys/class/net/"+dev+"/address")
	hw, err := net.ParseMAC(strings.TrimSpace(out))
	if err != nil {
		c.t.Fatal(err)
	}
	return hw
}

// clusterTuples are n distinct synthetic client (address, port) pairs.
func clusterTuples(n int) []netip.AddrPort {
	out := make([]netip.AddrPort, n)
	for i := range out {
		a := netip.AddrFrom4([4]byte{10, 66, byte(i / 200), byte(1 + i%200)})
		out[i] = netip.AddrPortFrom(a, uint16(1024+(i*7919)%60000))
	}
	return out
}

// sendUDP sends one UDP datagram from each tuple to each UDP service
// straight onto the router's link to d (a packet socket addressed to d's
// MAC, so the router's ECMP choice does not enter): d's IPVS schedules
// each as a new flow.
func (c *clusterLab) sendUDP(d *clusterNode, tuples []netip.AddrPort, services []netip.AddrPort) {
	c.t.Helper()
	dst := c.mac(d.name, "eth0")
	err := inNamespace(clusterRouter, func() error {
		ifi, err := net.InterfaceByName(fmt.Sprintf("rt-d%d", d.n))
		if err != nil {
			return err
		}
		const proto = unix.ETH_P_IP>>8 | unix.ETH_P_IP&0xff<<8 // network byte order
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(proto))
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifi.Index, Halen: 6}
		copy(sa.Addr[:], dst)
		for i, src := range tuples {
			for _, svc := range services {
				pkt := udpDatagram(src, svc, uint16(i))
				for try := 0; ; try++ {
					err := unix.Sendto(fd, pkt, 0, sa)
					if err == nil {
						break
					}
					if err != unix.ENOBUFS || try > 100 {
						return err
					}
					time.Sleep(time.Millisecond)
				}
			}
			if i%50 == 49 {
				time.Sleep(2 * time.Millisecond) // let the softirq keep up (TCG)
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("sending to %s: %v", d.name, err)
	}
}

// udpDatagram is an IPv4 packet carrying a 4-byte UDP datagram.
func udpDatagram(src, dst netip.AddrPort, id uint16) []byte {
	p := make([]byte, 32)
	p[0], p[8], p[9] = 0x45, 64, unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint16(p[4:], id)
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	binary.BigEndian.PutUint16(p[24:], 12) // UDP length; checksum 0: none (RFC 768)
	copy(p[28:], "lvsd")
	return p
}

// udpMappings sends the tuples to each UDP service of d until its
// connection table holds an entry for each (a datagram the softirq
// dropped is sent again) and returns, per service, tuple → real server.
func (c *clusterLab) udpMappings(d *clusterNode, tuples []netip.AddrPort, services ...netip.AddrPort) map[netip.AddrPort]map[string]string {
	c.t.Helper()
	maps := map[netip.AddrPort]map[string]string{}
	for _, svc := range services {
		maps[svc] = map[string]string{}
	}
	missing := tuples
	var rounds []string
	defer func() { c.t.Logf("%s: %d flows per service in rounds %v", d.name, len(tuples), rounds) }()
	for round := 0; round < 5 && len(missing) > 0; round++ {
		start := time.Now()
		c.sendUDP(d, missing, services)
		sent := time.Since(start)
		time.Sleep(200 * time.Millisecond)
		start = time.Now()
		out := c.in(d.name, "/sbin/ipvsadm", "-Lnc")
		rounds = append(rounds, fmt.Sprintf("%d sent in %v, read in %v", len(missing), sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond)))
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 6 || f[0] != "UDP" {
				continue
			}
			svc, err := netip.ParseAddrPort(f[4])
			if m := maps[svc]; err == nil && m != nil {
				m[f[3]] = strings.Split(f[5], ":")[0]
			}
		}
		missing = missing[:0:0]
		for _, tp := range tuples {
			for _, svc := range services {
				if _, ok := maps[svc][tp.String()]; !ok {
					missing = append(missing, tp)
					break
				}
			}
		}
	}
	if len(missing) > 0 {
		c.t.Fatalf("%s: %d of %d flows never made a connection entry", d.name, len(missing), len(tuples))
	}
	return maps
}

// TestLvsdClusterBehindBIRD runs three lvsd directors behind BIRD's ECMP
// with real IPVS in each director's namespace, and checks issue 16's list
// in order: three next hops; flows reach both real servers through every
// director; kill -9 of a director (d3, not restarted: its kernel still
// forwards what reaches it) leaves the ECMP set within the hold time while
// established flows keep their real server and new flows succeed; `lvsd
// drain` and --undo; a director whose real servers all fail withdraws
// while the others carry on; two directors map 10,000 synthetic flows to
// the same real servers and, when one real server fails, move only its
// share; last, SIGTERM drains without a failed request.
func TestLvsdClusterBehindBIRD(t *testing.T) {
	c := newClusterLab(t)
	d1, d2, d3 := c.dirs[0], c.dirs[1], c.dirs[2]
	for _, d := range c.dirs {
		c.start(d, clusterDrain)
	}
	took := c.waitHops(60*time.Second, d1, d2, d3)
	for _, d := range c.dirs {
		c.waitDests(d, "TCP "+clusterVIP+":80", 30*time.Second, c.reals[0].ip+":80", c.reals[1].ip+":80")
	}
	t.Logf("▶ three lvsd directors announce %s/32 to BIRD; the router's route has three next hops %v (after %v)", clusterVIP, c.nextHops(), took.Round(time.Millisecond))
	tcpService := "TCP " + clusterVIP + ":80"
	udpA, udpB := netip.MustParseAddrPort(clusterUDPA), netip.MustParseAddrPort(clusterUDPB)
	rsIPs := func(rs ...*clusterReal) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ip)
		}
		return out
	}
	ports := func(rs ...*clusterReal) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s:%d", r.ip, clusterUDPPort))
		}
		return out
	}
	rs1, rs2, rs3 := c.reals[0], c.reals[1], c.reals[2]

	t.Run("FlowsReachBothRealServersThroughEveryDirector", func(t *testing.T) {
		c := c.with(t)
		conns := c.open(90)
		byRS := map[string]int{}
		for _, cc := range conns {
			byRS[cc.first]++
		}
		vaddr := clusterVIP + ":80"
		for _, d := range c.dirs {
			seen := map[string]int{}
			for _, rs := range c.connEntries(d, "TCP", vaddr) {
				seen[rs]++
			}
			t.Logf("▶ %s forwarded %v", d.name, seen)
			if seen[rs1.ip] == 0 || seen[rs2.ip] == 0 {
				t.Errorf("%s forwarded flows to %v, want both real servers", d.name, seen)
			}
		}
		if byRS[rs1.name] == 0 || byRS[rs2.name] == 0 {
			t.Errorf("the client's flows reached %v, want both real servers", byRS)
		}
	})

	t.Run("KillNineLeavesTheECMPSetAndFlowsKeepTheirRealServer", func(t *testing.T) {
		c := c.with(t)
		o1, o2, o3 := c.destOrder(d1, tcpService), c.destOrder(d2, tcpService), c.destOrder(d3, tcpService)
		if !slices.Equal(o1, o2) || !slices.Equal(o1, o3) {
			t.Errorf("the directors' destination lists differ: d1 %v, d2 %v, d3 %v", o1, o2, o3)
		}
		conns := c.open(60)
		pr := c.startProber()
		time.Sleep(500 * time.Millisecond)
		from := time.Now()
		took := func() time.Duration {
			start := time.Now()
			if _, err := c.signal(d3, syscall.SIGKILL, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			c.waitHops(clusterHold+2*time.Second, d1, d2)
			return time.Since(start)
		}()
		t.Logf("▶ kill -9 of lvsd on d3: the router's next hops are %v after %v (hold time %v)", c.nextHops(), took.Round(time.Millisecond), clusterHold)
		if took > clusterHold+time.Second {
			t.Errorf("d3 left the ECMP set %v after kill -9, want within the hold time %v", took, clusterHold)
		}
		time.Sleep(time.Second)
		kept, failed := 0, []string{}
		for i, cc := range conns {
			name, err := cc.ask(5 * time.Second)
			switch {
			case err != nil:
				failed = append(failed, fmt.Sprintf("flow %d: %v (%s)", i, err, c.whereIs(cc)))
			case name != cc.first:
				failed = append(failed, fmt.Sprintf("flow %d: moved from %s to %s", i, cc.first, name))
			default:
				kept++
			}
		}
		w, newFailed := pr.since(from), pr.failures(from)
		t.Logf("▶ %d of %d established flows kept their real server; new flows: %d succeeded, %d failed", kept, len(conns), w.requests-w.failed, w.failed)
		if len(failed) > 0 {
			t.Errorf("established flows after d3 left: %s\n%s", strings.Join(failed, "\n"), c.diagnose())
		}
		if len(newFailed) > 0 {
			t.Errorf("new flows failed: %v", newFailed)
		}
		pr.close()
	})

	t.Run("LvsdDrainWithdrawsAndUndoAnnouncesAgain", func(t *testing.T) {
		c := c.with(t)
		pr := c.startProber()
		time.Sleep(300 * time.Millisecond)
		from := time.Now()
		start := time.Now()
		out := c.in(d2.name, c.bin, "drain", "--socket", d2.sockPath())
		took := time.Since(start)
		hops := c.nextHops()
		t.Logf("▶ lvsd drain on d2 answered after %v: %s; next hops now %v", took.Round(time.Millisecond), strings.TrimSpace(out), hops)
		if slices.Contains(hops, d2.addr()) || took < clusterDrainDelay {
			t.Errorf("after lvsd drain (%v, drain_delay %v) the next hops are %v", took, clusterDrainDelay, hops)
		}
		out = c.in(d2.name, c.bin, "drain", "--undo", "--socket", d2.sockPath())
		back := c.waitHops(10*time.Second, d1, d2)
		w, failed := pr.since(from), pr.failures(from)
		pr.close()
		t.Logf("▶ lvsd drain --undo: %s; d2 back in the ECMP set after %v; new flows %d succeeded, %d failed", strings.TrimSpace(out), back.Round(time.Millisecond), w.requests-w.failed, w.failed)
		if len(failed) > 0 {
			t.Errorf("requests failed while d2 drained: %v", failed)
		}
	})

	t.Run("ADirectorWhoseRealServersAllFailWithdraws", func(t *testing.T) {
		c := c.with(t)
		// Only d1 sees both real servers fail; d2 carries on alone.
		c.unlisten(rs1, 8081)
		c.unlisten(rs2, 8081)
		defer func() {
			c.listen(rs1, 8081)
			c.listen(rs2, 8081)
			c.waitHops(30*time.Second, d1, d2)
		}()
		took := c.waitHops(10*time.Second, d2)
		pr := c.startProber()
		time.Sleep(2 * time.Second)
		w, failed := pr.since(time.Time{}), pr.failures(time.Time{})
		pr.close()
		served := w.requests - w.failed
		t.Logf("▶ d1's checks of rs1 and rs2 fail: d1 withdrew after %v; then %d new flows through d2, %d failed", took.Round(time.Millisecond), served, w.failed)
		if served == 0 || len(failed) > 0 {
			t.Errorf("after d1 withdrew: %d requests succeeded, failures %v", served, failed)
		}
	})

	t.Run("TwoDirectorsMapTenThousandFlowsAlike", func(t *testing.T) {
		c := c.with(t)
		serviceA, serviceB := "UDP "+clusterUDPA, "UDP "+clusterUDPB
		// d1 and d2 (d3's lvsd was killed above). d1 drops rs2 from its
		// UDP services and takes it back (a reload each way): a director
		// that re-added it at the head of the kernel's list (ip_vs_mh.c
		// builds its table walking the list) would then hold another
		// Maglev table than d2, which never lost it.
		reload := func(without string) {
			if err := os.WriteFile(d1.cfgPath(), []byte(c.config(d1, clusterDrain, without)), 0o644); err != nil {
				t.Fatal(err)
			}
			d1.cmd.Process.Signal(syscall.SIGHUP)
		}
		reload(rs2.ip)
		c.waitDests(d1, serviceA, 10*time.Second, ports(rs1, rs3)...)
		reload("")
		c.waitDests(d1, serviceA, 10*time.Second, ports(rs1, rs2, rs3)...)
		c.waitDests(d1, serviceB, 10*time.Second, ports(rs1, rs2, rs3)...)
		for _, svc := range []string{serviceA, serviceB} {
			o1, o2 := c.destOrder(d1, svc), c.destOrder(d2, svc)
			t.Logf("▶ %s after rs2 left and came back on d1 only: d1 lists %v, d2 %v", svc, o1, o2)
			if !slices.Equal(o1, o2) {
				t.Errorf("%s: the kernels' destination lists differ: d1 %v, d2 %v", svc, o1, o2)
			}
		}
		for _, d := range []*clusterNode{d1, d2} {
			c.in(d.name, "/sbin/ipvsadm", "--set", "0", "0", "120") // UDP entries outlive the test
		}
		defer func() {
			for _, d := range []*clusterNode{d1, d2} {
				c.in(d.name, "/sbin/ipvsadm", "--set", "0", "0", "300")
			}
		}()

		// Before: 10,000 flows on A.
		tuples := clusterTuples(10000)
		before1, before2 := c.udpMappings(d1, tuples, udpA)[udpA], c.udpMappings(d2, tuples, udpA)[udpA]
		share, differ := map[string]int{}, 0
		for _, tp := range tuples {
			k := tp.String()
			share[before1[k]]++
			if before1[k] != before2[k] {
				differ++
			}
		}
		t.Logf("▶ 10000 synthetic UDP flows, each sent to d1 and to d2: shares %v, %d mapped differently", share, differ)
		if differ != 0 {
			t.Errorf("%d of 10000 flows went to different real servers on d1 and d2", differ)
		}
		for _, rs := range rsIPs(rs1, rs2, rs3) {
			if share[rs] < 2000 {
				t.Errorf("real server %s got %d of 10000 flows, want about a third", rs, share[rs])
			}
		}

		// rs2 fails for both directors (weight 0); after: the same flows
		// on B, whose table A's equals (same real servers, same order).
		c.unlisten(rs2, 8081)
		c.unlisten(rs2, 8082)
		defer func() {
			c.listen(rs2, 8081)
			c.listen(rs2, 8082)
			c.waitDests(d1, tcpService, 10*time.Second, rs1.ip+":80", rs2.ip+":80")
			c.waitDests(d2, tcpService, 10*time.Second, rs1.ip+":80", rs2.ip+":80")
		}()
		for _, d := range []*clusterNode{d1, d2} {
			c.waitWeight(d, serviceB, fmt.Sprintf("%s:%d", rs2.ip, clusterUDPPort), "0", 10*time.Second)
		}
		after1, after2 := c.udpMappings(d1, tuples, udpB)[udpB], c.udpMappings(d2, tuples, udpB)[udpB]
		moved, movedOther, differ := 0, 0, 0
		for _, tp := range tuples {
			k := tp.String()
			if after1[k] != after2[k] {
				differ++
			}
			switch {
			case before1[k] == rs2.ip:
				moved++
				if after1[k] == rs2.ip {
					t.Errorf("flow %s still goes to the failed rs2", k)
				}
			case after1[k] != before1[k]:
				movedOther++
			}
		}
		t.Logf("▶ rs2 failed (weight 0, mh-fallback): its %d flows moved to rs1 and rs3, %d of the other %d moved; %d mapped differently on d1 and d2", moved, movedOther, len(tuples)-moved, differ)
		if movedOther != 0 || differ != 0 {
			t.Errorf("after rs2 failed, %d flows of rs1 and rs3 moved and %d differ between d1 and d2; want 0 and 0", movedOther, differ)
		}
	})

	t.Run("SIGTERMDrainsWithoutAFailedRequest", func(t *testing.T) {
		c := c.with(t)
		conns := c.open(30)
		pr := c.startProber()
		time.Sleep(500 * time.Millisecond)
		from := time.Now()
		type result struct {
			took time.Duration
			err  error
		}
		exited := make(chan result, 1)
		go func() {
			took, err := c.signal(d2, syscall.SIGTERM, 30*time.Second)
			exited <- result{took, err}
		}()
		withdrawn := c.waitHops(5*time.Second, d1)
		res := <-exited
		if res.err != nil {
			t.Fatal(res.err)
		}
		exit := res.took
		time.Sleep(time.Second)
		kept, lost := 0, []string{}
		for i, cc := range conns {
			name, err := cc.ask(5 * time.Second)
			if err == nil && name == cc.first {
				kept++
				continue
			}
			lost = append(lost, fmt.Sprintf("flow %d: %q %v (first %s; %s)", i, name, err, cc.first, c.whereIs(cc)))
		}
		w, failed := pr.since(from), pr.failures(from)
		pr.close()
		t.Logf("▶ SIGTERM to lvsd on d2: routes withdrawn after %v, lvsd exited after %v; new flows %d succeeded, %d failed; %d of %d established flows kept their real server",
			withdrawn.Round(time.Millisecond), exit.Round(time.Millisecond), w.requests-w.failed, w.failed, kept, len(conns))
		if len(failed) > 0 {
			t.Errorf("requests failed while d2 drained: %v", failed)
		}
		// The router's route is read by polling `ip route` (slow in the
		// guest); lvsd's log says when it withdrew.
		drained := strings.Contains(c.logText(d2), "stopping: routes withdrawn; VIPs and IPVS kept for drain_delay")
		if exit < clusterDrainDelay || !drained {
			t.Errorf("SIGTERM: lvsd exited after %v (drain_delay %v), logged the withdrawal before the drain: %v\n%s", exit, clusterDrainDelay, drained, c.logTail(d2))
		}
		if kept != len(conns) {
			t.Errorf("%d of %d established flows lost their real server: %s\n%s", len(conns)-kept, len(conns), strings.Join(lost, "\n"), c.diagnose())
		}
	})
}

// TestBenchCluster measures the cluster (LVSD_BENCH=1, run by
// integration/cluster_bench_vm_test.go beside the VRRP pair's
// TestBenchFailover in the same boot): new connections per second through
// one, two and three directors (the others drained), as a ratio to one
// director, and the loss of one of three by kill -9: the time until the
// router drops it, the requests that failed and the established flows that
// were reset. Figures are printed as "BENCH cluster ..." lines.
func TestBenchCluster(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: LVSD_BENCH=1")
	}
	c := newClusterLab(t)
	d1, d2, d3 := c.dirs[0], c.dirs[1], c.dirs[2]
	for _, d := range c.dirs {
		c.start(d, clusterDrain)
	}
	c.waitHops(60*time.Second, d1, d2, d3)
	for _, d := range c.dirs {
		c.waitDests(d, "TCP "+clusterVIP+":80", 30*time.Second, c.reals[0].ip+":80", c.reals[1].ip+":80")
	}
	drain := func(d *clusterNode, undo bool) {
		args := []string{c.bin, "drain", "--socket", d.sockPath()}
		if undo {
			args = append(args, "--undo")
		}
		c.in(d.name, args...)
	}
	// rate opens new connections (one line each) from 8 workers for 5 s.
	rate := func() (float64, int) {
		var mu sync.Mutex
		ok, failed := 0, 0
		var wg sync.WaitGroup
		stop := time.Now().Add(5 * time.Second)
		for range 8 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					_, err := c.askOnce()
					mu.Lock()
					if err != nil {
						failed++
					} else {
						ok++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return float64(ok) / 5, failed
	}
	var rates []float64
	for n := 1; n <= 3; n++ {
		for i, d := range c.dirs {
			drain(d, i < n)
		}
		c.waitHops(30*time.Second, c.dirs[:n]...)
		r, failed := rate()
		rates = append(rates, r)
		t.Logf("%d director(s): %.0f connections/s, %d failed", n, r, failed)
	}
	line := "BENCH cluster connections/s through 1, 2, 3 directors:"
	for i, r := range rates {
		line += fmt.Sprintf("  %d: %.0f/s (x%.2f)", i+1, r, r/rates[0])
	}
	fmt.Println(line + "  (TCG: every namespace shares the guest's 2 vCPUs)")

	conns := c.open(60)
	pr := c.startProber()
	time.Sleep(time.Second)
	from := time.Now()
	start := time.Now()
	if _, err := c.signal(d3, syscall.SIGKILL, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c.waitHops(30*time.Second, d1, d2)
	withdrawn := time.Since(start)
	time.Sleep(time.Second)
	reset := 0
	for _, cc := range conns {
		if name, err := cc.ask(5 * time.Second); err != nil || name != cc.first {
			reset++
		}
	}
	w := pr.since(from)
	pr.close()
	fmt.Printf("BENCH cluster kill -9 of one of three directors: route withdrawn after %v (hold time %v); new requests %d failed of %d; established flows %d reset or moved of %d\n",
		withdrawn.Round(time.Millisecond), clusterHold, w.failed, w.requests, reset, len(conns))
}
