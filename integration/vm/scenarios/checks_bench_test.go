package scenarios

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
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
	user, sys float64 // of which in user space, in the kernel (/proc)
	// voluntary, involuntary: the context switches of the daemon's
	// threads over the window (cbGroupCPU).
	voluntary, involuntary int64
	rss                    int64 // bytes, summed over the daemon's processes (their status' VmRSS)
	// smaps is the same from /proc/PID/smaps, page by page, read a moment
	// later (cbMemoryReport). The kernel's per-process counters that
	// VmRSS (and ps) read lag behind a multi-threaded process's faults:
	// Linux 6.1 keeps each thread's count of the pages it mapped until it
	// has faulted 64 times more, and a fault of a file page maps the 64 KB
	// around it. lvsd's VmRSS read 14.3 MB where smaps found 18.9 MB;
	// keepalived's threads fault often enough to agree within 0.2 MB.
	// The ratio to keepalived is smaps'.
	smaps     cbMemRow
	rssAnon   int64 // of which anonymous (heap, stacks)
	rssFile   int64 // of which file pages (the binary, shared libraries)
	procs     int
	seen      checktargets.Figures
	noiseP99  time.Duration
	loadTable time.Duration
	adverts   cbAdvertFigures // VRRP, with cbVRRPInstance in the configuration
	memory    []string        // the breakdown of the resident pages (cbMemoryReport)
	syscalls  string          // strace -c after the window (cbStraceCount)
	failures  string          // lvsd's failed attempts by reason (cbFailureReasons)
	inittrace string          // GODEBUG=inittrace=1's sum, for a Go daemon
	initTop   []string
	perf      []string // perf report by object and symbol, in a profiled pair
	pprof     []string // lvsd's CPU profile as base64 lines, in a profiled pair
}

// TestBenchChecksVsKeepalived runs keepalived's largest reported checker
// configuration (scaled by LVSD_BENCH_CHECKS_SCALE, default 1/16, for
// TCG) in the VM with the lvsd binary three times — on the very
// keepalived.conf keepalived reads, on its HCL, and on its HCL without the
// periodic repair of the table — each time beside keepalived 2.2.7 started
// at the same instant and measured in the same window, each daemon in a
// fresh namespace of the same layout with its own listener process on the
// same loopback targets. It prints, for each, the time from start to the
// full IPVS table, CPU as a fraction of a core over the window
// (utime+stime of every process of the daemon, from /proc/PID/stat), RSS
// (VmRSS summed, split into anonymous and file pages), checks per second
// seen by the listener, and the spread of the interval between two checks
// of one target against delay_loop; then how long reading each file alone
// takes (`lvsd check`, `keepalived -t`).
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
	// LVSD_BENCH_FAULT_AROUND=N sets the guest kernel's fault_around_bytes
	// (debugfs; 65536 by default): at 4096 a file fault maps the page
	// faulted and no other, so a daemon's binary pages are those it
	// touched. A measurement of how much of the RSS the kernel's
	// fault-around makes, not a setting to compare daemons under.
	if n := os.Getenv("LVSD_BENCH_FAULT_AROUND"); n != "" {
		os.MkdirAll("/sys/kernel/debug", 0o755)
		exec.Command("mount", "-t", "debugfs", "debugfs", "/sys/kernel/debug").Run()
		if err := os.WriteFile("/sys/kernel/debug/fault_around_bytes", []byte(n), 0o644); err != nil {
			t.Fatalf("fault_around_bytes: %v", err)
		}
		b, _ := os.ReadFile("/sys/kernel/debug/fault_around_bytes")
		t.Logf("fault_around_bytes %s", strings.TrimSpace(string(b)))
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

	// Each lvsd is measured beside keepalived in the same window (see
	// cbMeasure): on the very keepalived.conf keepalived reads (lvsd is a
	// drop-in, so the start differs by the daemon alone), on its HCL, and
	// on its HCL without the periodic repair (what the checks cost alone).
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skip("keepalived not in the VM: nothing to compare with")
	}
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("LVSD_BIN unset: no lvsd to measure")
	}
	keepalived := cbSpec{name: "keepalived 2.2.7", argv: []string{"/usr/sbin/keepalived", "-n", "-C", "-f", conf,
		"--pid", "/run/keepalived/checks-bench.pid", "--checkers_pid", "/run/keepalived/checks-bench-checkers.pid"}}
	// The same with a VRRP instance (checks_bench_vrrp_test.go): how each
	// daemon's advert timing holds under the full check load, keepalived
	// with its VRRP process beside its checker.
	confVRRP := filepath.Join(cbDir, "keepalived-vrrp.conf")
	if err := os.WriteFile(confVRRP, []byte(cbWithVRRP(cbKeepalivedConf(vs, rs))), 0o644); err != nil {
		t.Fatal(err)
	}
	keepalivedVRRP := cbSpec{name: "keepalived + VRRP", argv: []string{"/usr/sbin/keepalived", "-n", "-f", confVRRP,
		"--pid", "/run/keepalived/checks-bench.pid", "--checkers_pid", "/run/keepalived/checks-bench-checkers.pid",
		"--vrrp_pid", "/run/keepalived/checks-bench-vrrp.pid"}}
	// GODEBUG=inittrace=1 prints what each package's init allocates
	// (at the start only; it costs nothing after), gctrace=1 one line per
	// GC cycle (heap sizes and goal), scavtrace=1 one per cycle too (the
	// heap memory kept mapped, and how much of it is in use).
	lvsdOf := func(bin string) func(name, file string, env ...string) cbSpec {
		return func(name, file string, env ...string) cbSpec {
			return cbSpec{name: name, env: append([]string{"GODEBUG=inittrace=1,gctrace=1,scavtrace=1"}, env...),
				argv: []string{bin, "run", "-f", file, "--pid-file", "/run/lvsd-checks-bench.pid"}}
		}
	}
	lvsd := lvsdOf(bin)
	// LVSD_BENCH_CHECKS_BUSY: how many busy loops a starved pair runs
	// beside it (default 1, half the VM's two vCPUs; with one per vCPU
	// the kernel dropped loopback packets, softnet's backlog full, and
	// both daemons checked at a fifth to a half of the planned rate).
	busy := 1
	if n, err := strconv.Atoi(os.Getenv("LVSD_BENCH_CHECKS_BUSY")); err == nil && n > 0 {
		busy = n
	}
	starved := func(s cbSpec) cbSpec {
		s.busy = busy
		return s
	}
	// lvsd's CPU and heap profiles over its steady state and perf's
	// samples of both daemons after the window
	// (checks_bench_profile_test.go); the heap sampled every 8 KB.
	profiled := func(name string, env ...string) cbSpec {
		s := lvsd(name, conf, append([]string{"GODEBUG=inittrace=1,gctrace=1,scavtrace=1,memprofilerate=8192"}, env...)...)
		s.profile = true
		return s
	}
	specs := []cbSpec{
		lvsd("lvsd keepalived.conf", conf),
		profiled("lvsd keepalived.conf profiled"),
		profiled("lvsd GOMAXPROCS=1 profiled", "GOMAXPROCS=1"),
		lvsd("lvsd lvsd.hcl", hclPath),
		lvsd("lvsd no repair", noRepairPath),
		// One P all along (GOMAXPROCS in the environment overrides
		// lvsd's own choice, cmd/lvsd/goruntime.go).
		lvsd("lvsd GOMAXPROCS=1", conf, "GOMAXPROCS=1"),
		// With asynchronous preemption, which lvsd turns off for itself
		// (internal/execenv) unless GODEBUG names it: the runtime's
		// signals to a goroutine that ran 10 ms, each a tgkill and a
		// look into the pclntab where it stopped. What they cost in
		// CPU and in resident binary pages.
		lvsd("lvsd asyncpreempt on", conf, "GODEBUG=inittrace=1,gctrace=1,scavtrace=1,asyncpreemptoff=0"),
		lvsd("lvsd + VRRP", confVRRP),
		lvsd("lvsd + VRRP GOMAXPROCS=1", confVRRP, "GOMAXPROCS=1"),
		// A starved machine, made in the guest rather than by loading
		// the host that others share: busy loops beside the pair, from
		// the start to the window's end. What one P costs where the
		// machine is short of CPU (the fifth pass's spurious "timeout
		// after 5s", docs/benchmarks.md).
		starved(lvsd("lvsd keepalived.conf starved", conf)),
		starved(lvsd("lvsd GOMAXPROCS=1 starved", conf, "GOMAXPROCS=1")),
	}
	// LVSD_BIN_BEFORE: an older lvsd binary measured the same way in
	// the same boot, for before/after figures from one run.
	if before := os.Getenv("LVSD_BIN_BEFORE"); before != "" {
		specs = append([]cbSpec{lvsdOf(before)("lvsd before .conf", conf),
			lvsdOf(before)("lvsd before GOMAXPROCS=1", conf, "GOMAXPROCS=1")}, specs...)
	}
	// LVSD_BENCH_CHECKS_ONLY: a regular expression choosing the lvsd
	// runs by name (each takes a few minutes of the boot).
	if only := os.Getenv("LVSD_BENCH_CHECKS_ONLY"); only != "" {
		re := regexp.MustCompile(only)
		specs = slices.DeleteFunc(specs, func(s cbSpec) bool { return !re.MatchString(s.name) })
	}
	// Each executable starts once, untimed, before its first timed pair.
	// The VM emulates its CPUs (QEMU's TCG), which translates guest code
	// the first time it runs and keeps the translation for the next runs
	// of the same pages: the first start of a binary in a boot paid for
	// it, which a machine with CPUs of its own never does. lvsd's
	// initialisers took 296-423 ms of clock in the first pair of its
	// binary and 70-174 ms in the next pairs, same binary, same boot
	// (session 15, docs/benchmarks.md), and the plain keepalived.conf
	// pair, always the first, started 0.90-1.19x keepalived's time where
	// the pairs after it started 0.45-0.67x. The warm-up pair is the
	// binary's first spec beside keepalived, whose own first start it
	// also takes, with a window of a second.
	warm := map[string]bool{}
	for i, l := range specs {
		if warm[l.argv[0]] {
			continue
		}
		warm[l.argv[0]] = true
		w := l
		w.name, w.profile = "warm-up ("+l.name+")", false
		cbMeasure(t, 100+i, []cbSpec{w, keepalived}, vs, rs, time.Second)
	}
	var pairs [][]cbResult
	for i, l := range specs {
		k := keepalived
		if strings.Contains(l.name, "VRRP") {
			k = keepalivedVRRP
		}
		pairs = append(pairs, cbMeasure(t, i, []cbSpec{l, k}, vs, rs, window))
	}
	// How much of the start is reading the file: `lvsd check` of each
	// (parse and validation, nothing else), and how the Go runtime's
	// settings change it (under TCG the GC's atomics and cross-CPU wakeups
	// are dear); keepalived's config test beside.
	// Three rounds, interleaved, so that a moment of load hits every
	// command alike.
	commands := []struct {
		name string
		env  []string
		argv []string
	}{
		{"lvsd version", nil, []string{bin, "version"}},
		{"lvsd check lvsd.hcl", nil, []string{bin, "check", "-f", hclPath}},
		{"lvsd check keepalived.conf", nil, []string{bin, "check", "-f", conf}},
		{"lvsd check keepalived.conf GOMAXPROCS=1", []string{"GOMAXPROCS=1"}, []string{bin, "check", "-f", conf}},
		{"lvsd check keepalived.conf GOGC=off", []string{"GOGC=off"}, []string{bin, "check", "-f", conf}},
		{"keepalived -t", nil, []string{"/usr/sbin/keepalived", "-t", "-f", conf}},
	}
	took := make([][]string, len(commands))
	for range 3 {
		for i, c := range commands {
			took[i] = append(took[i], cbTimeCommand(t, c.env, c.argv...))
		}
	}
	var parse []string
	for i, c := range commands {
		parse = append(parse, c.name+": "+strings.Join(took[i], " "))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "checks: keepalived #2318's config (%d virtual servers, %d real servers, one TCP_CHECK each) scaled 1/%d: %d virtual servers, %d real servers = %d distinct loopback TCP targets\n",
		cbVirtualServers, cbRealServers, scale, vs, rs, rs)
	fmt.Fprintf(&b, "checks: delay_loop %v, window %v after the full tables + one delay_loop; one VM boot (TCG, 2 vCPUs), each daemon in a fresh namespace with its own listener, each lvsd beside keepalived in the same window; want %.1f checks/s\n",
		cbDelayLoop, window, float64(rs)/cbDelayLoop.Seconds())
	clk, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	avail, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/available_clocksource")
	fmt.Fprintf(&b, "checks: the guest's clock source %s (available: %s)\n", strings.TrimSpace(string(clk)), strings.TrimSpace(string(avail)))
	fmt.Fprintf(&b, "  %-21s %8s %8s %7s %6s %6s %5s %8s %7s %7s %7s %7s %7s %9s\n",
		"daemon", "start", "CPU core", "RSS MB", "anon", "file", "procs", "checks/s", "p1", "p50", "p99", "max", "targets", "noise p99")
	ms := func(ns int64) string { return fmt.Sprintf("%.3fs", time.Duration(ns).Seconds()) }
	for _, pair := range pairs {
		for _, r := range pair {
			rate := float64(r.seen.Accepts) / time.Duration(r.seen.Window).Seconds()
			fmt.Fprintf(&b, "  %-21s %8s %8.3f %7.1f %6.1f %6.1f %5d %8.1f %7s %7s %7s %7s %7d %9v\n",
				r.name, ms(int64(r.loadTable)), r.cpu, float64(r.rss)/(1<<20), float64(r.rssAnon)/(1<<20), float64(r.rssFile)/(1<<20), r.procs, rate,
				ms(r.seen.P1), ms(r.seen.P50), ms(r.seen.P99), ms(r.seen.Max), r.seen.Targets, r.noiseP99.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(&b, "  (start: from exec to the full table of %d objects; p1..max: the interval between two checks of one target, each dated at its handshake by the targets' kernel; RSS MB, anon, file: VmRSS, which lags a multi-threaded process's faults: the ratios below are smaps')\n", vs+rs)
	fmt.Fprintf(&b, "  the same intervals by the SYNs' timestamps (when the checker called connect, its kernel's millisecond clock):\n")
	for _, pair := range pairs {
		for _, r := range pair {
			fmt.Fprintf(&b, "  %-21s %d intervals, p1 %s p50 %s p99 %s max %s\n", r.name, r.seen.SYN.Count, ms(r.seen.SYN.P1), ms(r.seen.SYN.P50), ms(r.seen.SYN.P99), ms(r.seen.SYN.Max))
		}
	}
	// CPU per check the listener saw: when the host starves the VM and
	// the daemons fall behind, the one that keeps up better checks more
	// and spends more, so both ratios are printed.
	perCheck := func(r cbResult) float64 { return r.cpu / float64(max(r.seen.Accepts, 1)) }
	for _, pair := range pairs {
		r, k := pair[0], pair[1]
		fmt.Fprintf(&b, "  %s / keepalived, same window: CPU %.2fx (per check seen %.2fx), RSS %.2fx (%.1f / %.1f MB, smaps; anon %.2fx; VmRSS %.2fx), start to full table %.2fx; interval p50 %+.2f%% vs %+.2f%%, p99 %+.2f%% vs %+.2f%%; by the SYNs' timestamps p1 %+.2f%% vs %+.2f%%, p99 %+.2f%% vs %+.2f%%\n",
			r.name, r.cpu/k.cpu, perCheck(r)/perCheck(k), float64(r.smaps.rss)/float64(max(k.smaps.rss, 1)), float64(r.smaps.rss)/(1<<20), float64(k.smaps.rss)/(1<<20),
			float64(r.smaps.anon)/float64(max(k.smaps.anon, 1)), float64(r.rss)/float64(k.rss), r.loadTable.Seconds()/k.loadTable.Seconds(),
			cbDev(r.seen.P50), cbDev(k.seen.P50), cbDev(r.seen.P99), cbDev(k.seen.P99),
			cbDev(r.seen.SYN.P1), cbDev(k.seen.SYN.P1), cbDev(r.seen.SYN.P99), cbDev(k.seen.SYN.P99))
	}
	for _, p := range parse {
		fmt.Fprintf(&b, "  reading the file alone: %s\n", p)
	}
	for _, pair := range pairs {
		for _, r := range pair {
			if r.adverts.Count > 0 {
				fmt.Fprintf(&b, "  VRRP under the check load (advert_int 1s), %s: %s\n", r.name, r.adverts)
			}
		}
	}
	// Where the resident pages are, each daemon at the end of its window.
	fmt.Fprintf(&b, "memory at the end of each window, MB (smaps: RSS/PSS/anonymous per mapping kind and process; pagemap for a Go binary's sections and code):\n")
	for _, pair := range pairs {
		for _, r := range pair {
			for _, l := range r.memory {
				fmt.Fprintf(&b, "%s\n", l)
			}
			if r.inittrace != "" {
				fmt.Fprintf(&b, "  %-24s inittrace: %s; most: %s\n", "", r.inittrace, strings.Join(r.initTop, ", "))
			}
		}
	}
	// A failed attempt is retried delay_before_retry later: the short
	// and long intervals come from these.
	for _, pair := range pairs {
		for _, r := range pair {
			if r.failures != "" {
				fmt.Fprintf(&b, "  failed attempts since the start, %s: %s\n", r.name, r.failures)
			}
			fmt.Fprintf(&b, "  %-24s CPU in user space %.3f, in the kernel %.3f core; context switches %.2f voluntary, %.2f involuntary per connection; %d of the window's %d connections ended otherwise than by the checker's FIN\n",
				r.name, r.user, r.sys, float64(r.voluntary)/float64(max(r.seen.Accepts, 1)), float64(r.involuntary)/float64(max(r.seen.Accepts, 1)), r.seen.Unclean, r.seen.Accepts)
			fmt.Fprintf(&b, "  %-24s late by more than 1 %% of the median interval, by second of the window:%s\n", r.name, cbLateSeconds(r.seen.LatePerSecond))
		}
	}
	fmt.Fprintf(&b, "system calls after each window (strace -c -f, every process of the daemon):\n")
	for _, pair := range pairs {
		for _, r := range pair {
			fmt.Fprintf(&b, "  %-24s %s\n", r.name, r.syscalls)
		}
	}
	for _, pair := range pairs {
		for _, r := range pair {
			if len(r.perf) > 0 {
				fmt.Fprintf(&b, "perf, %s (cpu-clock, 10 s after the window):\n", r.name)
				for _, l := range r.perf {
					fmt.Fprintf(&b, "  %s\n", l)
				}
			}
		}
	}
	t.Log("\n" + b.String())
	fmt.Print("BENCH " + strings.ReplaceAll(strings.TrimRight(b.String(), "\n"), "\n", "\nBENCH ") + "\n")
	// lvsd's CPU profiles, for the host: grep '^PPROF TAG ' | cut -d' ' -f3 | base64 -d.
	for _, pair := range pairs {
		for _, r := range pair {
			for _, l := range r.pprof {
				fmt.Println(l)
			}
		}
	}
}

// cbDev is an interval's deviation from delay_loop in percent.
func cbDev(ns int64) float64 {
	return 100 * (time.Duration(ns).Seconds() - cbDelayLoop.Seconds()) / cbDelayLoop.Seconds()
}

// cbSpec is one daemon to measure: its name, added environment and
// command line.
type cbSpec struct {
	name string
	env  []string
	argv []string
	// profile: lvsd writes a CPU profile of its steady state (its
	// LVSD_CPUPROFILE), and perf samples both daemons of the pair after
	// the window.
	profile bool
	// busy: so many busy loops run in the guest beside the pair, from
	// before the daemons start to the window's end (cbBusyLoops).
	busy int
}

// cbLateSeconds prints a window's late connections per second
// (checktargets.Figures.LatePerSecond) as " SECOND:COUNT" for each second
// that had any, and their sum.
func cbLateSeconds(late []int) string {
	var b strings.Builder
	sum := 0
	for s, n := range late {
		if n > 0 {
			fmt.Fprintf(&b, " %d:%d", s, n)
			sum += n
		}
	}
	return fmt.Sprintf("%s (%d in all)", b.String(), sum)
}

// cbMeasure measures the daemons side by side: a fresh namespace and
// listener each, the daemons started at the same instant, then, once every
// table is full and one delay_loop has passed, one window for all of them.
// The VM is emulated and the host's load moves its speed, so daemons
// compared in the same window are weighed alike; one after the other they
// would not be.
func cbMeasure(t *testing.T, seq int, specs []cbSpec, vs, rs int, window time.Duration) []cbResult {
	t.Helper()
	type running struct {
		cbSpec
		lines     *bufio.Scanner
		lstIn     io.WriteCloser
		procIPVS  string
		daemon    *exec.Cmd
		out       bytes.Buffer
		exited    chan struct{}
		loadTable time.Duration
		cpu0      time.Duration
		times0    cbCPU
	}
	ds := make([]*running, len(specs))
	for i, spec := range specs {
		d := &running{cbSpec: spec, exited: make(chan struct{})}
		ds[i] = d
		ns := fmt.Sprintf("lvsd-checks-bench-%d-%d", seq, i)
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
		// The targets' kernel acknowledges the checker's FIN at once
		// (the routes' quickack metric) instead of holding the ACK for
		// the listener's own FIN or the delayed-ACK timer (Linux's
		// tcp_fin enters pingpong mode). keepalived's TCP_CHECK lingers
		// (SO_LINGER {1, 5}, layer4.c socket_bind_connect), so its
		// close() waits for that ACK: with the listener a starved
		// process on the same emulated CPUs, keepalived's one checker
		// thread waited on every close and fell behind (11,000 connects
		// in 40 s instead of 15,500, interval p50 +41 %). A real server
		// on its own machine answers within a round trip; this gives
		// keepalived that best case. lvsd does not linger, so nothing
		// of its own changes. The checker's source is 127.0.0.1, so
		// the listener's answers take that route.
		for _, dst := range []string{"127.0.0.0/8", "127.0.0.1"} {
			run("-n", ns, "route", "replace", "local", dst, "dev", "lo", "table", "local",
				"proto", "kernel", "scope", "host", "src", "127.0.0.1", "quickack", "1")
		}

		// TCP timestamps without the kernel's offset (RFC 7323's option
		// as it is, the guest's millisecond clock), so that the
		// listener reads from each SYN when the checker called connect
		// (checktargets.Figures.SYN). Both daemons send timestamps
		// either way; only the offset goes.
		if out, err := exec.Command("/sbin/ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.tcp_timestamps=2").CombinedOutput(); err != nil {
			t.Fatalf("sysctl net.ipv4.tcp_timestamps=2 in %s: %v: %s", ns, err, out)
		}

		// The listener: this binary again, in the namespace.
		lst := exec.Command("/sbin/ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestBenchChecksTargetListener$", "-test.v=false")
		lst.Env = append(os.Environ(), "LVSD_BENCH_CHECK_TARGETS=1")
		d.lstIn, _ = lst.StdinPipe()
		lstOut, _ := lst.StdoutPipe()
		lst.Stderr = os.Stderr
		if err := lst.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			lst.Process.Kill()
			lst.Wait()
		}()
		d.lines = bufio.NewScanner(lstOut)
		d.lines.Buffer(make([]byte, 1<<20), 1<<20)
		d.procIPVS = fmt.Sprintf("/proc/%d/net/ip_vs", lst.Process.Pid)

		d.daemon = exec.Command("/sbin/ip", append([]string{"netns", "exec", ns}, spec.argv...)...)
		d.daemon.Stdout, d.daemon.Stderr = &d.out, &d.out
		d.daemon.Env = append(os.Environ(), spec.env...)
		if spec.profile {
			d.daemon.Env = append(d.daemon.Env, "LVSD_CPUPROFILE="+cbProfilePath(seq, i),
				fmt.Sprintf("LVSD_CPUPROFILE_SECONDS=%d", int((window+cbDelayLoop).Seconds())))
			os.Remove(cbProfilePath(seq, i))
		}
		// Its own process group: keepalived forks its checker child,
		// and every process of the group is the daemon's CPU and RSS.
		d.daemon.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	expect := func(d *running, want string) {
		t.Helper()
		if !d.lines.Scan() || d.lines.Text() != want {
			t.Fatalf("%s: listener said %q, want %q (%v)", d.name, d.lines.Text(), want, d.lines.Err())
		}
	}
	for _, d := range ds {
		expect(d, "READY")
	}
	alive := func(d *running, what string) {
		t.Helper()
		select {
		case <-d.exited:
			t.Fatalf("%s exited %s:\n%s", d.name, what, cbTail(d.out.String()))
		default:
		}
	}
	stopBusy := cbBusyLoops(t, slices.MaxFunc(specs, func(a, b cbSpec) int { return a.busy - b.busy }).busy)
	defer stopBusy()
	start := time.Now()
	for _, d := range ds {
		if err := d.daemon.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			d.daemon.Wait()
			close(d.exited)
		}()
		defer func() {
			syscall.Kill(-d.daemon.Process.Pid, syscall.SIGKILL)
			<-d.exited
		}()
	}
	for loading := len(ds); loading > 0; {
		for _, d := range ds {
			if d.loadTable > 0 {
				continue
			}
			alive(d, "before loading its table")
			if countObjects(d.procIPVS) >= vs+rs {
				d.loadTable = time.Since(start)
				loading--
				t.Logf("%s: %d IPVS objects in %v", d.name, vs+rs, d.loadTable.Round(time.Millisecond))
			} else if time.Since(start) > 3*time.Minute {
				t.Fatalf("%s loaded %d of %d IPVS objects in 3 minutes:\n%s", d.name, countObjects(d.procIPVS), vs+rs, cbTail(d.out.String()))
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	time.Sleep(cbDelayLoop)

	// The window: the listeners forget what came before, CPU is sampled
	// at both ends, a bare goroutine measures the machine's own lateness.
	for _, d := range ds {
		alive(d, "during the warmup")
		if _, err := fmt.Fprintln(d.lstIn, "MARK"); err != nil {
			t.Fatal(err)
		}
		expect(d, "MARKED")
	}
	for _, d := range ds {
		d.cpu0, _ = cbGroupUsage(d.daemon.Process.Pid)
		d.times0 = cbGroupCPU(d.daemon.Process.Pid)
		if err := cbClearRefs(d.daemon.Process.Pid); err != nil {
			t.Logf("%s: clear_refs: %v", d.name, err)
		}
	}
	w0 := time.Now()
	var late []time.Duration
	planned := w0
	for time.Since(w0) < window {
		planned = planned.Add(100 * time.Millisecond)
		time.Sleep(time.Until(planned))
		late = append(late, time.Since(planned))
	}
	wall := time.Since(w0)
	stopBusy()
	slices.Sort(late)
	results := make([]cbResult, len(ds))
	for i, d := range ds {
		cpu1, mem := cbGroupUsage(d.daemon.Process.Pid)
		times1 := cbGroupCPU(d.daemon.Process.Pid)
		results[i] = cbResult{name: d.name, cpu: (cpu1 - d.cpu0).Seconds() / wall.Seconds(), rss: mem.rss, rssAnon: mem.anon, rssFile: mem.file,
			procs: mem.procs, noiseP99: late[len(late)*99/100], loadTable: d.loadTable,
			user: (times1.user - d.times0.user).Seconds() / wall.Seconds(), sys: (times1.sys - d.times0.sys).Seconds() / wall.Seconds(),
			voluntary: times1.voluntary - d.times0.voluntary, involuntary: times1.involuntary - d.times0.involuntary}
	}
	// The listeners' figures for the window itself: what strace and perf
	// do to the daemons after it is not counted.
	for i, d := range ds {
		if _, err := fmt.Fprintln(d.lstIn, "FIGURES"); err != nil {
			t.Fatal(err)
		}
		r := &results[i]
		if !d.lines.Scan() || json.Unmarshal(d.lines.Bytes(), &r.seen) != nil {
			t.Fatalf("%s: listener figures %q: %v", d.name, d.lines.Text(), d.lines.Err())
		}
		if !d.lines.Scan() || json.Unmarshal(d.lines.Bytes(), &r.adverts) != nil {
			t.Fatalf("%s: no VRRP figures from the listener: %q %v", d.name, d.lines.Text(), d.lines.Err())
		}
	}
	// The memory breakdown, then the system calls (strace slows the
	// daemon it watches, so one at a time and after the window).
	for i, d := range ds {
		results[i].memory, results[i].smaps = cbMemoryReport(d.name, d.daemon.Process.Pid)
		if len(d.argv) > 1 && d.argv[1] == "run" {
			results[i].failures = cbFailureReasons(d.argv[0])
		}
		if strings.Contains(strings.Join(d.env, " "), "inittrace=1") {
			results[i].inittrace, results[i].initTop = cbInitTrace(d.out.String())
		}
	}
	for i, d := range ds {
		results[i].syscalls = cbStraceCount(d.daemon.Process.Pid, 10*time.Second)
	}
	profiled := slices.ContainsFunc(specs, func(s cbSpec) bool { return s.profile })
	for i, d := range ds {
		if profiled {
			results[i].perf = cbPerfReport(d.daemon.Process.Pid, 10*time.Second)
		}
		if d.profile {
			results[i].pprof = cbProfileLines(fmt.Sprintf("%d-%d", seq, i), cbProfilePath(seq, i), 30*time.Second)
			results[i].pprof = append(results[i].pprof, cbProfileLines(fmt.Sprintf("%d-%d-heap", seq, i), cbProfilePath(seq, i)+".heap", time.Second)...)
			results[i].pprof = append(results[i].pprof, cbProfileLines(fmt.Sprintf("%d-%d-heap0", seq, i), cbProfilePath(seq, i)+".heap0", time.Second)...)
		}
	}
	for i, d := range ds {
		d.lstIn.Close()
		r := &results[i]
		alive(d, "during the window")
		fig := r.seen
		t.Logf("%s: CPU %.3f core, RSS %.1f MB over %d processes, %d connects to %d of %d targets in %v, intervals p50 %v p99 %v max %v",
			d.name, r.cpu, float64(r.rss)/(1<<20), r.procs, fig.Accepts, fig.Targets, rs, wall.Round(time.Millisecond),
			time.Duration(fig.P50).Round(time.Millisecond), time.Duration(fig.P99).Round(time.Millisecond), time.Duration(fig.Max).Round(time.Millisecond))
		if fig.Targets < rs {
			t.Logf("%s: only %d of %d targets were checked in the window", d.name, fig.Targets, rs)
		}
		t.Logf("%s output (tail):\n%s", d.name, cbTail(d.out.String()))
	}
	return results
}

// cbBusyLoops starts n busy loops (busybox sh, each its own process at
// the daemons' priority) and returns what stops them; calling it again
// does nothing.
func cbBusyLoops(t *testing.T, n int) (stop func()) {
	t.Helper()
	var loops []*exec.Cmd
	for range n {
		c := exec.Command("/bin/sh", "-c", "while :; do :; done")
		if err := c.Start(); err != nil {
			t.Fatalf("busy loop: %v", err)
		}
		loops = append(loops, c)
	}
	return func() {
		for _, c := range loops {
			c.Process.Kill()
			c.Wait()
		}
		loops = nil
	}
}

// cbProfilePath is where the seq-th pair's i-th lvsd writes its CPU
// profile.
func cbProfilePath(seq, i int) string {
	return filepath.Join(cbDir, fmt.Sprintf("lvsd-%d-%d.pprof", seq, i))
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
func cbTimeCommand(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return fmt.Sprintf("%v (%v: %s)", took.Round(time.Millisecond), err, cbTail(string(out)))
	}
	return took.Round(time.Millisecond).String()
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
	// Room in every port's accept queue for all the targets at once
	// (the backlog is the namespace's somaxconn, read at listen).
	if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n < cbRealServers/cbDefaultScale*2 {
			os.WriteFile("/proc/sys/net/core/somaxconn", []byte(strconv.Itoa(cbRealServers/cbDefaultScale*2)), 0o644)
		}
	}
	rec, err := checktargets.Listen(1)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	// VRRP adverts leaving through the dummy link (only a configuration
	// with cbVRRPInstance sends any).
	adverts, err := cbCaptureAdverts("rs")
	if err != nil {
		fmt.Println("capture:", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	in := bufio.NewScanner(os.Stdin)
	var drops0 map[string]int64
	for in.Scan() {
		switch in.Text() {
		case "MARK":
			rec.Mark()
			adverts.mark()
			drops0 = cbListenDrops()
			fmt.Println("MARKED")
		case "FIGURES":
			// Connections the namespace's kernel refused the listener in
			// the window (a full accept queue): the checker's SYN is then
			// sent again a second later, and that interval is the
			// listener's, not the daemon's.
			drops := cbListenDrops()
			fmt.Fprintf(os.Stderr, "checks listener: in the window ListenOverflows %d, ListenDrops %d\n",
				drops["ListenOverflows"]-drops0["ListenOverflows"], drops["ListenDrops"]-drops0["ListenDrops"])
			// Since the namespace was made (its counters start at 0):
			// SYNs sent again (a handshake lost on the loopback, which a
			// connect_timeout can then outlast), and the machine's
			// softirq backlog drops (/proc/net/softnet_stat, every CPU).
			fmt.Fprintf(os.Stderr, "checks listener: since the start TCPSynRetrans %d, TCPTimeouts %d, TCPReqQFullDrop %d, TCPBacklogDrop %d, ListenOverflows %d; softnet dropped %d, time squeezed %d\n",
				drops["TCPSynRetrans"], drops["TCPTimeouts"], drops["TCPReqQFullDrop"], drops["TCPBacklogDrop"], drops["ListenOverflows"],
				cbSoftnet(1), cbSoftnet(2))
			out, _ := json.Marshal(rec.Figures(1))
			fmt.Println(string(out))
			out, _ = json.Marshal(adverts.figures())
			fmt.Println(string(out))
		}
	}
	rec.Close()
	adverts.close()
	os.Exit(0)
}

// cbListenDrops reads the TcpExt counters of the namespace's kernel
// (/proc/net/netstat: a line of names, then a line of values).
func cbListenDrops() map[string]int64 {
	b, _ := os.ReadFile("/proc/net/netstat")
	lines := strings.Split(string(b), "\n")
	out := map[string]int64{}
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(values) != len(names) || values[0] != "TcpExt:" {
			continue
		}
		for j := 1; j < len(names); j++ {
			out[names[j]], _ = strconv.ParseInt(values[j], 10, 64)
		}
	}
	return out
}

// cbSoftnet sums column col (1: dropped, 2: time squeezed) of
// /proc/net/softnet_stat over the CPUs (hexadecimal counters).
func cbSoftnet(col int) int64 {
	b, _ := os.ReadFile("/proc/net/softnet_stat")
	var sum int64
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > col {
			n, _ := strconv.ParseInt(f[col], 16, 64)
			sum += n
		}
	}
	return sum
}

// cbFailureReasons sums lvsd's failed check attempts since its start by
// reason, from `lvsd status --json` on the default control socket.
func cbFailureReasons(bin string) string {
	// A starved daemon may close the connection without a status
	// (`lvsd status` then fails saying so, cmd/lvsd/control.go): ask again.
	var out []byte
	var err error
	for range 3 {
		if out, err = exec.Command(bin, "status", "--json").Output(); err == nil && len(out) > 0 {
			break
		}
	}
	if err != nil {
		return "lvsd status: " + err.Error()
	}
	var r struct {
		Health []struct {
			Attempts uint64            `json:"attempts"`
			Failures map[string]uint64 `json:"failures"`
		} `json:"real_servers"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return "lvsd status: " + err.Error()
	}
	var attempts, failed uint64
	reasons := map[string]uint64{}
	for _, h := range r.Health {
		attempts += h.Attempts
		for reason, n := range h.Failures {
			reasons[reason] += n
			failed += n
		}
	}
	names := slices.Collect(maps.Keys(reasons))
	sort.Slice(names, func(i, j int) bool { return reasons[names[i]] > reasons[names[j]] })
	parts := []string{fmt.Sprintf("%d of %d attempts", failed, attempts)}
	for _, name := range names[:min(len(names), 5)] {
		parts = append(parts, fmt.Sprintf("%q %d", name, reasons[name]))
	}
	return strings.Join(parts, ", ")
}
