package integration

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// The BGP lab: a router namespace running BIRD 2 or FRR (routers no one on
// the team wrote) with multipath, and three director namespaces, each
// peering with it over its own link:
//
//	director d1 10.98.1.2 ── 10.98.1.1 ┐
//	director d2 10.98.2.2 ── 10.98.2.1 ┼ router (BIRD or FRR, AS 65000)
//	director d3 10.98.3.2 ── 10.98.3.1 ┘
//
// and the same over IPv6 (fd00:98:N::2 ── fd00:98:N::1): each director
// announces 192.0.2.100/32 over its IPv4 session and 2001:db8::100/128
// over its IPv6 one.
//
// Each director is this test binary re-run in its namespace
// (TestBGPDirectorHelper): a director.Director with the announce block, a
// real embedded gobgp, MISC_CHECKs on a file, and lvstest's fake IPVS
// kernel, since the host has no IPVS: what is under test is the
// announcement, decided from the checks and the quorum.
const (
	bgpVIP      = "192.0.2.100"
	bgpVIP6     = "2001:db8::100"
	bgpHelperFn = "LVSD_BGP_HELPER_CONFIG"
)

// TestBGPDirectorHelper is a director of the BGP lab when run by
// startBGPDirector; it does nothing in a normal test run.
func TestBGPDirectorHelper(t *testing.T) {
	path := os.Getenv(bgpHelperFn)
	if path == "" {
		t.Skip("run by TestBGPAnnouncesTheVIPToTheRouterWhileQuorumHolds")
	}
	cfg, diags := hcl.Load(path)
	if cfg == nil {
		t.Fatal(diags)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := director.New(cfg, director.Options{File: path, Checks: true, Logger: log,
		OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

type bgpLab struct {
	t      *testing.T
	id     string
	dir    string
	router string
	ns     map[string]string // "d1" → namespace
	// routes dumps the router's BGP table for failure messages.
	routes func() string
	// bfd runs BFD between BIRD and every director (bfd = true), with
	// hold time 9 s so that BFD, not the hold timer, detects a hang.
	bfd bool
}

func newBGPLab(t *testing.T) *bgpLab {
	t.Helper()
	requireNetns(t)
	id := reserveNetns(t, "lvrt")
	l := &bgpLab{t: t, id: id, dir: t.TempDir(), router: "lvrt" + id, ns: map[string]string{}}
	t.Cleanup(func() {
		for _, ns := range l.ns {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		exec.Command("ip", "netns", "del", l.router).Run()
	})
	run(t, "ip", "-n", l.router, "link", "set", "lo", "up")
	for i, name := range []string{"d1", "d2", "d3"} {
		ns := "lv" + name + id
		l.ns[name] = ns
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		rside, dside := fmt.Sprintf("r%d%s", i+1, id), fmt.Sprintf("d%d%s", i+1, id)
		run(t, "ip", "link", "add", rside, "type", "veth", "peer", "name", dside)
		run(t, "ip", "link", "set", rside, "netns", l.router)
		run(t, "ip", "link", "set", dside, "netns", ns)
		run(t, "ip", "-n", l.router, "addr", "add", fmt.Sprintf("10.98.%d.1/24", i+1), "dev", rside)
		run(t, "ip", "-n", l.router, "addr", "add", fmt.Sprintf("fd00:98:%d::1/64", i+1), "dev", rside, "nodad")
		run(t, "ip", "-n", l.router, "link", "set", rside, "up")
		run(t, "ip", "-n", ns, "link", "set", dside, "name", "eth0")
		run(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("10.98.%d.2/24", i+1), "dev", "eth0")
		run(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("fd00:98:%d::2/64", i+1), "dev", "eth0", "nodad")
		run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	}
	return l
}

// startBIRD runs BIRD in the router namespace: eBGP from every director,
// everything imported, nothing exported, and the kernel protocol merging
// equal routes into one multipath route (ECMP).
func (l *bgpLab) startBIRD() *proc {
	l.t.Helper()
	for _, tool := range []string{"bird", "birdc"} {
		if _, err := exec.LookPath(tool); err != nil {
			l.t.Skipf("needs BIRD 2 (%s; Debian bird2)", tool)
		}
	}
	conf := filepath.Join(l.dir, "bird.conf")
	birdc := filepath.Join(l.dir, "bird.ctl")
	l.routes = func() string {
		out, _ := output("birdc", "-s", birdc, "show", "route", "all")
		return out
	}
	cfg := `router id 10.98.0.1;
protocol device { scan time 1; }
`
	timers := "hold time 3;\n  keepalive time 1;"
	if l.bfd {
		// BIRD's side asks for 100 ms; the session runs at the slower of
		// the two sides' intervals (RFC 5880 section 6.8.3).
		cfg += `protocol bfd {
  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
`
		timers = "hold time 9;\n  keepalive time 3;\n  bfd on;"
	}
	cfg += `
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
protocol kernel {
  ipv6 { import none; export all; };
  merge paths on;
}
`
	for i := 1; i <= 3; i++ {
		cfg += fmt.Sprintf(`protocol bgp d%d {
  local 10.98.%d.1 as 65000;
  neighbor 10.98.%d.2 as 65001;
  %s
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export none; };
}
protocol bgp d%dv6 {
  local fd00:98:%d::1 as 65000;
  neighbor fd00:98:%d::2 as 65001;
  %s
  connect retry time 1;
  error wait time 1, 2;
  ipv6 { import all; export none; };
}
`, i, i, i, timers, i, i, i, timers)
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return startProc(l.t, l.router, filepath.Join(l.dir, "bird.log"), nil,
		"bird", "-f", "-c", conf, "-s", birdc, "-P", filepath.Join(l.dir, "bird.pid"))
}

// startDirector runs director name with its real servers' MISC_CHECKs
// passing while the file returned exists.
func (l *bgpLab) startDirector(name string) (p *proc, upFile string) {
	l.t.Helper()
	upFile = filepath.Join(l.dir, name+".up")
	if err := os.WriteFile(upFile, nil, 0o644); err != nil {
		l.t.Fatal(err)
	}
	i := name[1:]
	timers := "    hold_time = 3\n    keepalive = 1"
	if l.bfd {
		timers = "    hold_time = 9\n    keepalive = 3\n    bfd       = true"
	}
	cfg := fmt.Sprintf(`global { lvs_program = "always" }
virtual_server "%s:80" {
  lb_kind    = "DR"
  delay_loop = "200ms"
  real_server "10.98.%s.10:80" {
    MISC_CHECK {
      misc_path = "/bin/test -e %s"
      retry     = 0
    }
  }
}
virtual_server "[%s]:80" {
  lb_kind    = "DR"
  delay_loop = "200ms"
  real_server "[fd00:98:%s::10]:80" {
    MISC_CHECK {
      misc_path = "/bin/test -e %s"
      retry     = 0
    }
  }
}
announce "bgp" {
  local_as    = 65001
  router_id   = "10.98.%s.2"
  drain_delay = "500ms"
  neighbor "10.98.%s.1" {
    remote_as = 65000
%s
  }
  neighbor "fd00:98:%s::1" {
    remote_as = 65000
%s
  }
}
`, bgpVIP, i, upFile, bgpVIP6, i, upFile, i, i, timers, i, timers)
	path := filepath.Join(l.dir, name+".hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		l.t.Fatal(err)
	}
	p = startProc(l.t, l.ns[name], filepath.Join(l.dir, name+".log"), []string{bgpHelperFn + "=" + path},
		os.Args[0], "-test.run", "^TestBGPDirectorHelper$", "-test.v")
	return p, upFile
}

// nextHops returns the next hops of a VIP's route in the router's kernel
// table, as `ip route` shows them.
func (l *bgpLab) nextHops(vip string) []string {
	family, prefix := "-4", vip+"/32"
	if strings.Contains(vip, ":") {
		family, prefix = "-6", vip+"/128"
	}
	out, err := output("ip", "-n", l.router, family, "route", "show", prefix)
	if err != nil {
		l.t.Fatalf("ip route: %v\n%s", err, out)
	}
	var hops []string
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "via" {
			hops = append(hops, f[i+1])
		}
	}
	return hops
}

// startFRR runs FRR's zebra and bgpd in the router namespace with
// docs/cluster.md's configuration: a peer group of the directors, eBGP
// without the default policy requirement, a route map accepting only the
// VIPs, and maximum-paths for ECMP, which zebra installs in the kernel.
func (l *bgpLab) startFRR() {
	l.t.Helper()
	daemon := func(name string) string { return "/usr/lib/frr/" + name }
	for _, d := range []string{"zebra", "bgpd"} {
		if _, err := os.Stat(daemon(d)); err != nil {
			l.t.Skip("needs FRR's zebra and bgpd (Debian frr)")
		}
	}
	// Under /tmp and open to the frr user the daemons drop to.
	dir := filepath.Join(os.TempDir(), "lvsd-frr-bgp-"+l.id)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		l.t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	l.t.Cleanup(func() { os.RemoveAll(dir) })
	conf := `router bgp 65000
 bgp router-id 10.98.0.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor DIRECTORS peer-group
 neighbor DIRECTORS remote-as 65001
 neighbor DIRECTORS timers 1 3
 neighbor DIRECTORS timers connect 1
 neighbor DIRECTORS6 peer-group
 neighbor DIRECTORS6 remote-as 65001
 neighbor DIRECTORS6 timers 1 3
 neighbor DIRECTORS6 timers connect 1
 neighbor 10.98.1.2 peer-group DIRECTORS
 neighbor 10.98.2.2 peer-group DIRECTORS
 neighbor 10.98.3.2 peer-group DIRECTORS
 neighbor fd00:98:1::2 peer-group DIRECTORS6
 neighbor fd00:98:2::2 peer-group DIRECTORS6
 neighbor fd00:98:3::2 peer-group DIRECTORS6
 !
 address-family ipv4 unicast
  maximum-paths 8
  neighbor DIRECTORS activate
  neighbor DIRECTORS route-map VIPS-IN in
 exit-address-family
 !
 address-family ipv6 unicast
  maximum-paths 8
  neighbor DIRECTORS6 activate
  neighbor DIRECTORS6 route-map VIPS6-IN in
 exit-address-family
!
ip prefix-list VIPS seq 10 permit 192.0.2.0/24 ge 32
ipv6 prefix-list VIPS6 seq 10 permit 2001:db8::/32 ge 128
route-map VIPS-IN permit 10
 match ip address prefix-list VIPS
route-map VIPS6-IN permit 10
 match ipv6 address prefix-list VIPS6
`
	for name, text := range map[string]string{"zebra.conf": "", "bgpd.conf": conf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			l.t.Fatal(err)
		}
	}
	args := func(d string) []string {
		return []string{daemon(d), "-u", "frr", "-g", "frr", "-z", filepath.Join(dir, "zserv.api"), "--vty_socket", dir,
			"-i", filepath.Join(dir, d+".pid"), "-P", "0", "-f", filepath.Join(dir, d+".conf"), "--log", "stdout"}
	}
	startProc(l.t, l.router, filepath.Join(l.dir, "zebra.log"), nil, args("zebra")...)
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, "zserv.api")); return err == nil }) {
		l.t.Fatal("zebra did not open its socket")
	}
	startProc(l.t, l.router, filepath.Join(l.dir, "bgpd.log"), nil, args("bgpd")...)
	l.routes = func() string {
		out, _ := output("ip", "netns", "exec", l.router, "vtysh", "--vty_socket", dir, "-c", "show bgp ipv4 unicast", "-c", "show bgp ipv6 unicast", "-c", "show bgp summary")
		return out
	}
}

// waitHops waits until the router's routes to both VIPs have exactly the
// next hops of the directors named by their IPv4 addresses ("10.98.N.2",
// and "fd00:98:N::2" for the IPv6 VIP).
func (l *bgpLab) waitHops(what string, want ...string) {
	l.t.Helper()
	var want6 []string
	for _, w := range want {
		want6 = append(want6, strings.Replace(strings.Replace(w, "10.98.", "fd00:98:", 1), ".2", "::2", 1))
	}
	same := func(got, want []string) bool {
		if len(got) != len(want) {
			return false
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	}
	ok := waitFor(20*time.Second, func() bool {
		return same(l.nextHops(bgpVIP), want) && same(l.nextHops(bgpVIP6), want6)
	})
	if !ok {
		l.t.Fatalf("%s: the router's next hops are %v to %s and %v to %s, want %v and %v\nthe router's BGP table:\n%s",
			what, l.nextHops(bgpVIP), bgpVIP, l.nextHops(bgpVIP6), bgpVIP6, want, want6, l.routes())
	}
}

// TestBGPAnnouncesTheVIPToTheRouterWhileQuorumHolds: three directors
// announce the VIP (IPv4 and IPv6) to the router, BIRD 2 or FRR, which
// installs one route with three next hops (ECMP); a director whose real
// server fails its check (quorum lost) withdraws it and announces it again
// when the real server is back; a director stopped with SIGTERM withdraws
// it, and the others carry on; a director that hangs leaves the route
// within the hold time, one killed with SIGKILL at once (its kernel closes
// the session).
func TestBGPAnnouncesTheVIPToTheRouterWhileQuorumHolds(t *testing.T) {
	for _, router := range []string{"BIRD", "FRR"} {
		t.Run(router, func(t *testing.T) {
			l := newBGPLab(t)
			if router == "BIRD" {
				l.startBIRD()
			} else {
				l.startFRR()
			}
			testAnnouncement(t, l)
		})
	}
}

func testAnnouncement(t *testing.T, l *bgpLab) {
	d1, up1 := l.startDirector("d1")
	d2, _ := l.startDirector("d2")
	d3, _ := l.startDirector("d3")
	defer func() {
		if t.Failed() {
			t.Logf("d1:\n%s\nd2:\n%s\nd3:\n%s", d1.logText(), d2.logText(), d3.logText())
		}
	}()

	l.waitHops("three directors announce", "10.98.1.2", "10.98.2.2", "10.98.3.2")
	// Every director holds the VIPs itself, on lo.
	for _, name := range []string{"d1", "d2", "d3"} {
		out := run(t, "ip", "-n", l.ns[name], "addr", "show", "dev", "lo")
		if !strings.Contains(out, bgpVIP+"/32") || !strings.Contains(out, bgpVIP6+"/128") {
			t.Errorf("%s does not hold the VIPs on lo:\n%s", name, out)
		}
	}
	if r := l.routes(); !strings.Contains(r, "65001") {
		t.Errorf("the router's table lacks the directors' AS:\n%s", r)
	}

	start := time.Now()
	if err := os.Remove(up1); err != nil {
		t.Fatal(err)
	}
	l.waitHops("d1's real server failed", "10.98.2.2", "10.98.3.2")
	t.Logf("d1 withdrawn %v after its real server's check started failing", time.Since(start).Round(time.Millisecond))

	if err := os.WriteFile(up1, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l.waitHops("d1's real server is back", "10.98.1.2", "10.98.2.2", "10.98.3.2")

	start = time.Now()
	d2.signal(syscall.SIGTERM)
	l.waitHops("d2 stopped", "10.98.1.2", "10.98.3.2")
	withdrawn := time.Since(start)
	// drain_delay: d2 withdraws first and stops half a second later.
	if _, ok := d2.waitExit(10 * time.Second); !ok {
		t.Fatal("d2 did not stop within 10 s of SIGTERM")
	}
	t.Logf("d2 withdrawn %v after SIGTERM, stopped after %v", withdrawn.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if stopped := time.Since(start); stopped < 500*time.Millisecond || withdrawn > stopped {
		t.Errorf("d2 withdrawn after %v and stopped after %v: want the withdrawal first, the stop after drain_delay 500ms", withdrawn, stopped)
	}
	if !strings.Contains(d2.logText(), "BGP withdraw") {
		t.Errorf("d2 did not withdraw before it stopped:\n%s", d2.logText())
	}

	// A director that hangs (SIGSTOP: its sessions stay open, its
	// keepalives stop, as on a node that loses power) leaves the ECMP set
	// when BIRD's hold timer (3 s, the lower of the two sides') expires.
	d2, _ = l.startDirector("d2")
	l.waitHops("d2 is back", "10.98.1.2", "10.98.2.2", "10.98.3.2")
	start = time.Now()
	d1.signalGroup(syscall.SIGSTOP)
	l.waitHops("d1 hung", "10.98.2.2", "10.98.3.2")
	lost := time.Since(start)
	t.Logf("d1 left the ECMP set %v after it hung (hold time 3 s)", lost.Round(time.Millisecond))
	if lost > 4500*time.Millisecond {
		t.Errorf("d1 left the ECMP set %v after it hung, want within the 3 s hold time (and BIRD's 1 s scan)", lost)
	}
	d1.signalGroup(syscall.SIGKILL)

	// kill -9: the kernel closes the dead process's session at once.
	d1, _ = l.startDirector("d1")
	l.waitHops("d1 is back", "10.98.1.2", "10.98.2.2", "10.98.3.2")
	start = time.Now()
	d2.signalGroup(syscall.SIGKILL)
	l.waitHops("d2 killed", "10.98.1.2", "10.98.3.2")
	t.Logf("d2 left the ECMP set %v after kill -9", time.Since(start).Round(time.Millisecond))

	for _, d := range []*proc{d1, d3} {
		d.signal(syscall.SIGTERM)
		if _, ok := d.waitExit(10 * time.Second); !ok {
			t.Fatal("a director did not stop within 10 s of SIGTERM")
		}
	}
	l.waitHops("all stopped")
}

// TestBGPBFDDetectsAHungDirectorBeforeTheHoldTime measures bfd = true
// (GoBGP's BFD with lvsd's default timers, 300 ms × 3) against BIRD 2's
// BFD: the sessions come up, and a director that hangs leaves the ECMP set
// when BFD says it is down, in about a second, long before the 9 s hold
// time.
func TestBGPBFDDetectsAHungDirectorBeforeTheHoldTime(t *testing.T) {
	l := newBGPLab(t)
	l.bfd = true
	l.startBIRD()
	d1, _ := l.startDirector("d1")
	d2, _ := l.startDirector("d2")
	d3, _ := l.startDirector("d3")
	defer func() {
		if t.Failed() {
			t.Logf("d1:\n%s", d1.logText())
		}
		for _, d := range []*proc{d1, d2, d3} {
			d.signalGroup(syscall.SIGKILL)
		}
	}()
	l.waitHops("three directors announce", "10.98.1.2", "10.98.2.2", "10.98.3.2")
	birdc := func(args ...string) string {
		out, _ := output("birdc", append([]string{"-s", filepath.Join(l.dir, "bird.ctl")}, args...)...)
		return out
	}
	if !waitFor(20*time.Second, func() bool { return strings.Count(birdc("show", "bfd", "sessions"), " Up ") >= 3 }) {
		t.Fatalf("BIRD's BFD sessions with the directors never came up:\n%s", birdc("show", "bfd", "sessions"))
	}
	t.Logf("BIRD's BFD sessions:\n%s", birdc("show", "bfd", "sessions"))
	start := time.Now()
	d1.signalGroup(syscall.SIGSTOP)
	l.waitHops("d1 hung", "10.98.2.2", "10.98.3.2")
	lost := time.Since(start)
	t.Logf("with BFD (300 ms x 3), d1 left the ECMP set %v after it hung (hold time 9 s)", lost.Round(time.Millisecond))
	if lost > 2*time.Second {
		t.Errorf("d1 left the ECMP set %v after it hung: BFD did not act before the 9 s hold time", lost)
	}
	d1.signalGroup(syscall.SIGKILL)
}
