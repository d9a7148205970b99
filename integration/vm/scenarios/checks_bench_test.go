package scenarios

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/integration/checktargets"
)

// keepalived's largest reported checker configuration (keepalived #2318):
// 2,277 virtual servers, 37,205 real servers, one TCP_CHECK each.
const (
	cbVirtualServers = 2277
	cbRealServers    = 37205
	cbDelayLoop      = 6 * time.Second
	// cbDefaultScale divides the configuration for the VM: TCG runs
	// 10-30x slower than the host and 37,205 connects every 6 s (6,200/s)
	// is more than two emulated CPUs can serve for either daemon.
	cbDefaultScale = 16
	cbDir          = "/tmp/checks-bench"
)

// cbRealAddr is the i-th real server's address in IPVS: 10.128/9 behind a
// dummy link (IPVS wants a route; the checks go to checktargets.Target through
// connect_ip/connect_port, the same for both daemons).
func cbRealAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(128 + i>>16), byte(i >> 8), byte(i)})
}

// cbKeepalivedConf is the benchmark as keepalived.conf: vs virtual
// servers sharing rs (>= vs) real servers evenly, DR, one TCP_CHECK per real
// server pointed at its loopback target, delay_loop 6, warmup 6 (the
// first check of each comes at a random instant within one delay_loop,
// in both daemons).
func cbKeepalivedConf(vs, rs int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id checks-bench\n}\n")
	for v := range vs {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n  delay_loop %d\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n",
			v>>8, v&255, int(cbDelayLoop.Seconds()))
		// Spread evenly: every virtual server has at least one real
		// server (an empty one is not programmed by lvsd).
		for i := v * rs / vs; i < (v+1)*rs/vs; i++ {
			t := checktargets.Target(i)
			fmt.Fprintf(&b, "  real_server %s 80 {\n    weight 1\n    TCP_CHECK {\n      connect_ip %s\n      connect_port %d\n"+
				"      connect_timeout 5\n      retry 1\n      delay_before_retry 1\n      warmup %d\n    }\n  }\n",
				cbRealAddr(i), t.Addr(), t.Port(), int(cbDelayLoop.Seconds()))
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// cbResult is one daemon's measurement.
type cbResult struct {
	name      string
	cpu       float64 // fraction of one core over the window
	rss       int64   // bytes, summed over the daemon's processes
	rssAnon   int64   // of which anonymous (heap, stacks)
	rssFile   int64   // of which file pages (the binary, shared libraries)
	procs     int
	seen      checktargets.Figures
	noiseP99  time.Duration
	loadTable time.Duration
}

// TestBenchChecksVsKeepalived runs keepalived's largest reported checker
// configuration (scaled by LVSD_BENCH_CHECKS_SCALE, default 1/16, for
// TCG) in the VM with the lvsd binary (on its HCL, then on the very
// keepalived.conf keepalived reads) and then keepalived 2.2.7 on the same
// loopback targets, each in a fresh namespace of the same layout with its
// own listener process, for the same window after the table is loaded and
// one delay_loop has passed. It prints, for each, the time from start to
// the full IPVS table, CPU as a fraction of a core (utime+stime of every
// process of the daemon, from /proc/PID/stat), RSS (VmRSS summed, split
// into anonymous and file pages), checks per second seen by the listener,
// and the p50/p99 of the interval between two checks of one target
// against delay_loop; and how long reading each file alone takes
// (`lvsd check`, `keepalived -t`).
func TestBenchChecksVsKeepalived(t *testing.T) {
	requireGuest(t)
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1")
	}
	scale := cbDefaultScale
	if s, err := strconv.Atoi(os.Getenv("LVSD_BENCH_CHECKS_SCALE")); err == nil && s > 0 {
		scale = s
	}
	window := 40 * time.Second
	if s, err := strconv.Atoi(os.Getenv("LVSD_BENCH_SECONDS")); err == nil && s > 0 {
		window = time.Duration(s) * time.Second
	}
	vs := (cbVirtualServers + scale - 1) / scale
	rs := (cbRealServers + scale - 1) / scale
	if err := checktargets.RaiseNofile(); err != nil {
		t.Logf("RLIMIT_NOFILE: %v", err)
	}
	if err := os.MkdirAll(cbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("/run/keepalived", 0o755)
	conf := filepath.Join(cbDir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(cbKeepalivedConf(vs, rs)), 0o644); err != nil {
		t.Fatal(err)
	}
	// lvsd's own HCL for the same configuration (lvs_program "always",
	// as the keepalived.conf reader sets it).
	cfg, diags := hcl.Load(conf)
	if cfg == nil {
		t.Fatalf("reading %s: %v", conf, diags)
	}
	hclPath := filepath.Join(cbDir, "lvsd.hcl")
	if err := os.WriteFile(hclPath, hcl.ConvertToHCL(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same without the periodic repair of the IPVS table (a
	// reconcile_interval longer than the run): what the checks cost alone.
	cfg.Global.ReconcileInterval = time.Hour
	noRepairPath := filepath.Join(cbDir, "lvsd-no-repair.hcl")
	if err := os.WriteFile(noRepairPath, hcl.ConvertToHCL(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	var results []cbResult
	var parse []string
	if bin := os.Getenv("LVSD_BIN"); bin != "" {
		results = append(results, cbMeasure(t, "lvsd", 1, nil, vs, rs, window,
			bin, "run", "-f", hclPath, "--pid-file", "/run/lvsd-checks-bench.pid"))
		// The same daemon on the very file keepalived reads (lvsd is a
		// drop-in): the start then differs from keepalived's by the
		// daemon alone, not by the configuration language.
		results = append(results, cbMeasure(t, "lvsd keepalived.conf", 3, nil, vs, rs, window,
			bin, "run", "-f", conf, "--pid-file", "/run/lvsd-checks-bench.pid"))
		results = append(results, cbMeasure(t, "lvsd no repair (hcl)", 4, nil, vs, rs, window,
			bin, "run", "-f", noRepairPath, "--pid-file", "/run/lvsd-checks-bench.pid"))
		// How much of the start is reading the file: `lvsd check` of
		// each (parse and validation, nothing else), and how the Go
		// runtime's settings change it (under TCG the GC's atomics and
		// cross-CPU wakeups are dear).
		parse = append(parse, cbTimeCommand(t, "lvsd version", nil, bin, "version"),
			cbTimeCommand(t, "lvsd check lvsd.hcl", nil, bin, "check", "-f", hclPath),
			cbTimeCommand(t, "lvsd check keepalived.conf", nil, bin, "check", "-f", conf),
			cbTimeCommand(t, "lvsd check keepalived.conf GOGC=off", []string{"GOGC=off"}, bin, "check", "-f", conf),
			cbTimeCommand(t, "lvsd check keepalived.conf GOMAXPROCS=1", []string{"GOMAXPROCS=1"}, bin, "check", "-f", conf))
	} else {
		t.Log("LVSD_BIN unset: no figure for lvsd")
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err == nil {
		parse = append(parse, cbTimeCommand(t, "keepalived -t", nil, "/usr/sbin/keepalived", "-t", "-f", conf))
		results = append(results, cbMeasure(t, "keepalived 2.2.7", 2, nil, vs, rs, window,
			"/usr/sbin/keepalived", "-n", "-C", "-f", conf,
			"--pid", "/run/keepalived/checks-bench.pid", "--checkers_pid", "/run/keepalived/checks-bench-checkers.pid"))
	} else {
		t.Log("keepalived not in the VM: no keepalived figure")
	}
	if len(results) == 0 {
		t.Skip("neither lvsd nor keepalived to measure")
	}

	var b strings.Builder
	fmt.Fprintf(&b, "checks: keepalived #2318's config (%d virtual servers, %d real servers, one TCP_CHECK each) scaled 1/%d: %d virtual servers, %d real servers = %d distinct loopback TCP targets\n",
		cbVirtualServers, cbRealServers, scale, vs, rs, rs)
	fmt.Fprintf(&b, "checks: delay_loop %v, window %v after the full table + one delay_loop; one VM boot (TCG, 2 vCPUs), each daemon in a fresh namespace with its own listener; want %.1f checks/s\n",
		cbDelayLoop, window, float64(rs)/cbDelayLoop.Seconds())
	fmt.Fprintf(&b, "  %-21s %9s %7s %7s %7s %6s %9s %8s %8s %8s %8s %8s %10s\n",
		"daemon", "CPU core", "RSS MB", "anon", "file", "procs", "checks/s", "targets", "p1", "p50", "p99", "max", "noise p99")
	ms := func(ns int64) string { return fmt.Sprintf("%.3fs", time.Duration(ns).Seconds()) }
	for _, r := range results {
		rate := float64(r.seen.Accepts) / time.Duration(r.seen.Window).Seconds()
		fmt.Fprintf(&b, "  %-21s %9.3f %7.1f %7.1f %7.1f %6d %9.1f %8d %8s %8s %8s %8s %10v\n",
			r.name, r.cpu, float64(r.rss)/(1<<20), float64(r.rssAnon)/(1<<20), float64(r.rssFile)/(1<<20), r.procs, rate, r.seen.Targets,
			ms(r.seen.P1), ms(r.seen.P50), ms(r.seen.P99), ms(r.seen.Max), r.noiseP99.Round(time.Millisecond))
	}
	for _, r := range results {
		fmt.Fprintf(&b, "  %s: table of %d objects loaded %v after start; interval p50 %+.2f%%, p99 %+.2f%% vs delay_loop\n",
			r.name, vs+rs, r.loadTable.Round(time.Millisecond), cbDev(r.seen.P50), cbDev(r.seen.P99))
	}
	if k := results[len(results)-1]; strings.HasPrefix(k.name, "keepalived") && k.cpu > 0 && k.rss > 0 {
		for _, r := range results[:len(results)-1] {
			fmt.Fprintf(&b, "  %s / keepalived: CPU %.2fx, RSS %.2fx, start to full table %.2fx\n",
				r.name, r.cpu/k.cpu, float64(r.rss)/float64(k.rss), r.loadTable.Seconds()/k.loadTable.Seconds())
		}
	}
	for _, p := range parse {
		fmt.Fprintf(&b, "  reading the file alone: %s\n", p)
	}
	t.Log("\n" + b.String())
	fmt.Print("BENCH " + strings.ReplaceAll(strings.TrimRight(b.String(), "\n"), "\n", "\nBENCH ") + "\n")
}

// cbDev is an interval's deviation from delay_loop in percent.
func cbDev(ns int64) float64 {
	return 100 * (time.Duration(ns).Seconds() - cbDelayLoop.Seconds()) / cbDelayLoop.Seconds()
}

// cbMeasure makes a fresh namespace, starts the listener and the daemon in
// it, waits for the daemon's full IPVS table and one delay_loop, then
// measures for window.
func cbMeasure(t *testing.T, name string, seq int, env []string, vs, rs int, window time.Duration, argv ...string) cbResult {
	t.Helper()
	ns := fmt.Sprintf("lvsd-checks-bench-%d", seq)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("/sbin/ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	defer exec.Command("/sbin/ip", "netns", "del", ns).Run()
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "link", "add", "rs", "type", "dummy")
	run("-n", ns, "addr", "add", "10.255.255.254/8", "dev", "rs")
	run("-n", ns, "link", "set", "rs", "up")

	// The listener: this binary again, in the namespace.
	lst := exec.Command("/sbin/ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestBenchChecksTargetListener$", "-test.v=false")
	lst.Env = append(os.Environ(), "LVSD_BENCH_CHECK_TARGETS=1")
	lstIn, _ := lst.StdinPipe()
	lstOut, _ := lst.StdoutPipe()
	lst.Stderr = os.Stderr
	if err := lst.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		lst.Process.Kill()
		lst.Wait()
	}()
	lines := bufio.NewScanner(lstOut)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	expect := func(want string) {
		t.Helper()
		if !lines.Scan() || lines.Text() != want {
			t.Fatalf("%s: listener said %q, want %q (%v)", name, lines.Text(), want, lines.Err())
		}
	}
	expect("READY")
	procIPVS := fmt.Sprintf("/proc/%d/net/ip_vs", lst.Process.Pid)

	var out bytes.Buffer
	daemon := exec.Command("/sbin/ip", append([]string{"netns", "exec", ns}, argv...)...)
	daemon.Stdout, daemon.Stderr = &out, &out
	daemon.Env = append(os.Environ(), env...)
	// Its own process group: keepalived forks its checker child, and
	// every process of the group is the daemon's CPU and RSS.
	daemon.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		daemon.Wait()
		close(exited)
	}()
	defer func() {
		syscall.Kill(-daemon.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	alive := func(what string) {
		t.Helper()
		select {
		case <-exited:
			t.Fatalf("%s exited %s:\n%s", name, what, cbTail(out.String()))
		default:
		}
	}
	var loadTable time.Duration
	for {
		alive("before loading its table")
		if countObjects(procIPVS) >= vs+rs {
			loadTable = time.Since(start)
			t.Logf("%s: %d IPVS objects in %v; warmup %v, then a %v window", name, vs+rs, loadTable.Round(time.Millisecond), cbDelayLoop, window)
			break
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("%s loaded %d of %d IPVS objects in 3 minutes:\n%s", name, countObjects(procIPVS), vs+rs, cbTail(out.String()))
		}
		time.Sleep(25 * time.Millisecond)
	}
	time.Sleep(cbDelayLoop)
	alive("during the warmup")

	// The window: the listener forgets what came before, CPU is sampled
	// at both ends, a bare goroutine measures the machine's own lateness.
	if _, err := fmt.Fprintln(lstIn, "MARK"); err != nil {
		t.Fatal(err)
	}
	expect("MARKED")
	cpu0, _ := cbGroupUsage(daemon.Process.Pid)
	w0 := time.Now()
	var late []time.Duration
	planned := w0
	for time.Since(w0) < window {
		planned = planned.Add(100 * time.Millisecond)
		time.Sleep(time.Until(planned))
		late = append(late, time.Since(planned))
	}
	cpu1, mem := cbGroupUsage(daemon.Process.Pid)
	rss, procs := mem.rss, mem.procs
	wall := time.Since(w0)
	lstIn.Close()
	if !lines.Scan() {
		t.Fatalf("%s: no figures from the listener: %v", name, lines.Err())
	}
	var fig checktargets.Figures
	if err := json.Unmarshal(lines.Bytes(), &fig); err != nil {
		t.Fatalf("%s: listener figures %q: %v", name, lines.Text(), err)
	}
	alive("during the window")
	slices.Sort(late)
	r := cbResult{name: name, cpu: (cpu1 - cpu0).Seconds() / wall.Seconds(), rss: rss, rssAnon: mem.anon, rssFile: mem.file, procs: procs,
		seen: fig, noiseP99: late[len(late)*99/100], loadTable: loadTable}
	t.Logf("%s: CPU %.3f core, RSS %.1f MB over %d processes, %d connects to %d of %d targets in %v, intervals p50 %v p99 %v max %v",
		name, r.cpu, float64(rss)/(1<<20), procs, fig.Accepts, fig.Targets, rs, wall.Round(time.Millisecond),
		time.Duration(fig.P50).Round(time.Millisecond), time.Duration(fig.P99).Round(time.Millisecond), time.Duration(fig.Max).Round(time.Millisecond))
	if fig.Targets < rs {
		t.Logf("%s: only %d of %d targets were checked in the window", name, fig.Targets, rs)
	}
	t.Logf("%s output (tail):\n%s", name, cbTail(out.String()))
	return r
}

// cbTail is the last lines of a daemon's output.
func cbTail(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-15):], "\n")
}

// cbMemory is the resident memory of a process group, summed.
type cbMemory struct {
	rss, anon, file int64 // VmRSS, RssAnon, RssFile + RssShmem
	procs           int
}

// cbGroupUsage sums utime+stime and the resident memory over the live
// processes of process group pgid (clock ticks at 100 Hz, Linux's
// USER_HZ).
func cbGroupUsage(pgid int) (cpu time.Duration, mem cbMemory) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// f[0] is field 3 (state), f[2] field 5 (pgrp), f[11] and f[12]
		// fields 14 and 15 (utime, stime).
		if len(f) < 13 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		cpu += time.Duration(ut+st) * 10 * time.Millisecond
		mem.procs++
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(status), "\n") {
			g := strings.Fields(line)
			if len(g) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(g[1], 10, 64)
			switch g[0] {
			case "VmRSS:":
				mem.rss += kb << 10
			case "RssAnon:":
				mem.anon += kb << 10
			case "RssFile:", "RssShmem:":
				mem.file += kb << 10
			}
		}
	}
	return cpu, mem
}

// cbTimeCommand runs a command (with env added) to its end and says how
// long it took.
func cbTimeCommand(t *testing.T, name string, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return fmt.Sprintf("%s: %v (%v): %s", name, took.Round(time.Millisecond), err, cbTail(string(out)))
	}
	return fmt.Sprintf("%s: %v", name, took.Round(time.Millisecond))
}

// TestBenchChecksTargetListener is the target side of
// TestBenchChecksVsKeepalived, run as a child process in the bench
// namespace: it listens on the target ports (answering every 127.x.y.z),
// records when each target was connected to, forgets it all on a "MARK"
// line on stdin (answering "MARKED"), and when stdin closes prints the
// window's figures as JSON.
func TestBenchChecksTargetListener(t *testing.T) {
	if os.Getenv("LVSD_BENCH_CHECK_TARGETS") != "1" {
		t.Skip("child process of TestBenchChecksVsKeepalived")
	}
	checktargets.RaiseNofile()
	rec, err := checktargets.Listen(1)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "MARK" {
			rec.Mark()
			fmt.Println("MARKED")
		}
	}
	rec.Close()
	out, _ := json.Marshal(rec.Figures(1))
	fmt.Println(string(out))
	os.Exit(0)
}
