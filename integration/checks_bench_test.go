package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/checks"
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/integration/checktargets"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// keepalived's largest reported checker config (keepalived #2318).
const (
	benchVirtualServers = 2277
	benchRealServers    = 37205
	benchDelayLoop      = 6 * time.Second
)

// TestBenchChecks37kTargets runs the Manager over 37,205 distinct TCP_CHECK
// targets behind 2,277 virtual services (delay_loop 6s, warmup 6s) twice
// in the same run: with the operating system's dialer, whose TCP_CHECK
// attempts run on the connector's one epoll loop (checks/connect.go), and
// with a Dialer injected around Go's dialer, which runs each attempt on a
// goroutine of its own (what every TCP_CHECK did before the connector).
// For each it prints the CPU (fraction of a core, getrusage), the RSS,
// and the spread of the interval between two checks of one target as the
// targets' listeners saw it (a separate process per pass, so its accepts
// are not counted as lvsd's CPU). Gated by LVSD_BENCH=1;
// LVSD_BENCH_SECONDS sets each pass (default 36).
//
// Reference: keepalived's checker needs IPVS, which the host kernel lacks;
// TestBenchChecksInVM runs it beside lvsd on the same targets inside the
// VM (at a smaller scale). Here the goals stand in for it: p99 interval
// within 6s ± 1%, at most a quarter of a core (issue 19), under 200 MB.
func TestBenchChecks37kTargets(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1")
	}
	seconds := 36
	if s, err := strconv.Atoi(os.Getenv("LVSD_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	if err := checktargets.RaiseNofile(); err != nil {
		t.Logf("RLIMIT_NOFILE: %v", err)
	}
	cfg := benchChecksConfig(t)
	type pass struct {
		name   string
		dialer checks.Dialer // nil: the operating system's (the connector)
		procs  int           // GOMAXPROCS for the pass; 0: the machine's
	}
	var rows []string
	for _, p := range []pass{
		{name: "connector (epoll loop)"},
		// One P, as GOMAXPROCS=1 in lvsd's environment runs it (lvsd
		// itself runs only its start on one P, cmd/lvsd/goruntime.go).
		{name: "connector, one P", procs: 1},
		{name: "Go dialer per attempt", dialer: &recordingDialer{started: make(map[netip.AddrPort][]int64, benchRealServers), epoch: time.Now()}},
	} {
		if p.procs > 0 {
			prev := runtime.GOMAXPROCS(p.procs)
			rows = append(rows, benchChecksPass(t, cfg, p.name, p.dialer, time.Duration(seconds)*time.Second))
			runtime.GOMAXPROCS(prev)
			continue
		}
		rows = append(rows, benchChecksPass(t, cfg, p.name, p.dialer, time.Duration(seconds)*time.Second))
	}
	t.Logf("lvsd checks: %d virtual servers, %d real servers (%d distinct TCP targets), delay_loop %v, %ds per pass, same run:",
		len(cfg.VirtualServers), benchRealServers, benchRealServers, benchDelayLoop, seconds)
	t.Logf("  %-24s %9s %8s %9s %9s %9s %9s %9s %9s", "TCP_CHECK attempts", "CPU core", "RSS MB", "connects", "p50", "p99", "steady p1", "steady p99", "max")
	for _, r := range rows {
		t.Logf("%s", r)
	}
	t.Logf("reference: keepalived's checker needs IPVS: see TestBenchChecksInVM")
}

// benchChecksPass runs one Manager over cfg for the window with a fresh
// target server, and returns its row of figures.
func benchChecksPass(t *testing.T, cfg *hcl.Config, name string, dialer checks.Dialer, window time.Duration) string {
	t.Helper()
	// The targets' listeners, in a child process.
	helper := exec.Command(os.Args[0], "-test.run=^TestBenchChecksTargetServer$", "-test.v=false")
	helper.Env = append(os.Environ(), "LVSD_BENCH_TARGETS=1")
	stdin, _ := helper.StdinPipe()
	stdout, _ := helper.StdoutPipe()
	helper.Stderr = os.Stderr
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	if !lines.Scan() || lines.Text() != "READY" {
		t.Fatalf("target server did not start: %q", lines.Text())
	}

	// Reference for the machine's own noise, measured in the same run: a
	// bare goroutine sleeping to planned instants every 100ms, and how late
	// it wakes.
	noiseCtx, noiseStop := context.WithCancel(context.Background())
	var lateness []time.Duration
	var noiseWG sync.WaitGroup
	noiseWG.Go(func() {
		planned := time.Now()
		for noiseCtx.Err() == nil {
			planned = planned.Add(100 * time.Millisecond)
			time.Sleep(time.Until(planned))
			lateness = append(lateness, time.Since(planned))
		}
	})

	// The heap before the Manager (the configuration is loaded, and its
	// garbage returned as lvsd returns it after a load).
	debug.FreeOSMemory()
	heap0 := readHeap()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	m := checks.NewManager(cfg, checks.Options{Dialer: dialer})
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	// The steady heap: live bytes after a GC, late in the window, and
	// what the checks allocate per second from one delay_loop on.
	var heapAt [2]heapFigures
	var steadyAt [2]time.Time
	var heapWG sync.WaitGroup
	heapWG.Go(func() {
		for i, at := range []time.Duration{benchDelayLoop + 2*time.Second, window - 2*time.Second} {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			if i == 1 {
				runtime.GC()
			}
			heapAt[i], steadyAt[i] = readHeap(), time.Now()
		}
	})
	var downs, initial int
	var evWG sync.WaitGroup
	evWG.Go(func() {
		for ev := range m.Events() {
			if ev.Initial {
				initial++
			} else if !ev.Up {
				downs++
				if downs <= 5 {
					t.Logf("%s: down: %s %s: %s", name, ev.Service, ev.Real, ev.Reason)
				}
			}
		}
	})
	m.Run(ctx)
	evWG.Wait()
	heapWG.Wait()
	wall := time.Since(start)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	user := time.Duration(after.Utime.Nano() - before.Utime.Nano())
	cpu := user + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	rss := currentRSS()

	noiseStop()
	noiseWG.Wait()
	slices.Sort(lateness)
	noiseP99 := lateness[len(lateness)*99/100]

	stdin.Close()
	var figs [2]checktargets.Figures
	if !lines.Scan() {
		t.Fatal("no figures from the target server")
	}
	if err := json.Unmarshal(lines.Bytes(), &figs); err != nil {
		t.Fatalf("target server figures %q: %v", lines.Text(), err)
	}
	helper.Wait()

	core := cpu.Seconds() / wall.Seconds()
	st := figs[0]
	p50, p99 := time.Duration(st.P50), time.Duration(st.P99)
	dev := func(d time.Duration) float64 {
		return 100 * (d.Seconds() - benchDelayLoop.Seconds()) / benchDelayLoop.Seconds()
	}
	steady := figs[1]
	// The user part is lvsd's own code and the Go runtime's; the rest is
	// the kernel's connects (on loopback both ends of the handshake).
	t.Logf("%s: CPU %.3f core (%v user+sys in %v; user %.3f core, %.1f µs per connect), RSS now %.1f MB, peak of the process so far %.1f MB (ru_maxrss)",
		name, core, cpu.Round(time.Millisecond), wall.Round(time.Millisecond), user.Seconds()/wall.Seconds(),
		float64(user.Microseconds())/float64(max(figs[0].Accepts, 1)), float64(rss)/(1<<20), float64(after.Maxrss)/1024)
	t.Logf("%s: %d connects seen by the targets (%d targets), %d intervals: p1 %v p50 %v (%+.2f%%) p99 %v (%+.2f%%) max %v",
		name, st.Accepts, st.Targets, st.Count, time.Duration(st.P1).Round(time.Millisecond), p50.Round(time.Millisecond), dev(p50),
		p99.Round(time.Millisecond), dev(p99), time.Duration(st.Max).Round(time.Millisecond))
	t.Logf("%s: steady state (second round on), %d intervals: p1 %v (%+.2f%%) p50 %v p99 %v (%+.2f%%) max %v",
		name, steady.Count, time.Duration(steady.P1).Round(time.Millisecond), dev(time.Duration(steady.P1)), time.Duration(steady.P50).Round(time.Millisecond),
		time.Duration(steady.P99).Round(time.Millisecond), dev(time.Duration(steady.P99)), time.Duration(steady.Max).Round(time.Millisecond))
	if rec, ok := dialer.(*recordingDialer); ok {
		own := checktargets.Intervals(rec.started, 2, 0, wall)
		t.Logf("%s: as lvsd started them (steady), %d intervals: p1 %v (%+.2f%%) p50 %v p99 %v (%+.2f%%) max %v",
			name, own.Count, time.Duration(own.P1).Round(time.Millisecond), dev(time.Duration(own.P1)), time.Duration(own.P50).Round(time.Millisecond),
			time.Duration(own.P99).Round(time.Millisecond), dev(time.Duration(own.P99)), time.Duration(own.Max).Round(time.Millisecond))
	}
	if !steadyAt[1].IsZero() {
		span := steadyAt[1].Sub(steadyAt[0]).Seconds()
		t.Logf("%s: Go heap: live %.1f MB after the Manager's start and a GC (%.0f bytes per target; %.1f MB before it), heap objects %.1f MB, allocated %.2f MB/s in the steady state (%.0f bytes per connect), %.2f GC cycles/s",
			name, float64(heapAt[1].live)/(1<<20), float64(heapAt[1].live-heap0.live)/benchRealServers, float64(heap0.live)/(1<<20),
			float64(heapAt[1].objects)/(1<<20), float64(heapAt[1].allocs-heapAt[0].allocs)/span/(1<<20),
			float64(heapAt[1].allocs-heapAt[0].allocs)/span/(benchRealServers/benchDelayLoop.Seconds()),
			float64(heapAt[1].cycles-heapAt[0].cycles-1)/span)
	}
	t.Logf("%s: %d baseline events, %d down transitions (want 0)", name, initial, downs)
	t.Logf("%s: reference: machine noise in the same pass: a bare goroutine woke p50 %v, p99 %v, max %v after its planned instant (load average %s)",
		name, lateness[len(lateness)/2].Round(time.Microsecond), noiseP99.Round(time.Microsecond), lateness[len(lateness)-1].Round(time.Microsecond), loadAverage())
	if initial != benchRealServers {
		t.Errorf("%s: %d baseline events, want %d", name, initial, benchRealServers)
	}
	if downs > 0 {
		t.Errorf("%s: %d real servers went down on loopback", name, downs)
	}
	goal := func(ok bool, format string, args ...any) {
		if !ok {
			t.Logf("%s: GOAL MISSED: "+format, append([]any{name}, args...)...)
		}
	}
	goal(dev(time.Duration(steady.P1)) >= -1 && dev(time.Duration(steady.P99)) <= 1, "steady interval p1..p99 within 6s ± 1%%")
	goal(core <= 0.25, "at most a quarter of a core")
	goal(float64(after.Maxrss)*1024 < 200<<20, "under 200 MB")
	return fmt.Sprintf("  %-24s %9.3f %8.1f %9d %9s %9s %9s %9s %9s", name, core, float64(rss)/(1<<20), st.Accepts,
		fmt.Sprintf("%+.2f%%", dev(p50)), fmt.Sprintf("%+.2f%%", dev(p99)),
		fmt.Sprintf("%+.2f%%", dev(time.Duration(steady.P1))), fmt.Sprintf("%+.2f%%", dev(time.Duration(steady.P99))),
		time.Duration(st.Max).Round(time.Millisecond))
}

// TestBenchChecksTargetServer is the target side of TestBenchChecks37kTargets,
// run as a child process: it listens on the target ports (which answer
// every 127.x.y.z), records when each target was connected to, and when
// its stdin closes prints the interval percentiles as JSON: all of them,
// and the steady ones (from each target's second round on: the first
// round also carries the start-up of lvsd).
func TestBenchChecksTargetServer(t *testing.T) {
	if os.Getenv("LVSD_BENCH_TARGETS") != "1" {
		t.Skip("child process of TestBenchChecks37kTargets")
	}
	checktargets.RaiseNofile()
	rec, err := checktargets.Listen(2)
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	rec.Close()
	out, _ := json.Marshal([2]checktargets.Figures{rec.Figures(1), rec.Figures(2)})
	fmt.Println(string(out))
	os.Exit(0)
}

// recordingDialer notes when lvsd starts each connect, then dials with Go's
// dialer: being an injected Dialer, it also keeps TCP_CHECK off the
// connector.
type recordingDialer struct {
	mu      sync.Mutex
	started map[netip.AddrPort][]int64
	epoch   time.Time
}

func (d *recordingDialer) DialTCP(ctx context.Context, ep checks.Endpoint) (net.Conn, error) {
	at := int64(time.Since(d.epoch))
	d.mu.Lock()
	d.started[ep.Addr] = append(d.started[ep.Addr], at)
	d.mu.Unlock()
	return checks.NetDialer{}.DialTCP(ctx, ep)
}

// heapFigures are the Go runtime's own heap figures (runtime/metrics).
type heapFigures struct {
	live, objects, allocs, cycles uint64
}

// readHeap reads them: the live heap as the last GC marked it, the bytes
// in heap objects now, every byte allocated so far, and GC cycles.
func readHeap() heapFigures {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return heapFigures{s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()}
}

// loadAverage is the first field of /proc/loadavg.
func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// currentRSS reads VmRSS of this process in bytes.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchChecksConfig is keepalived #2318's shape as lvsd HCL, loaded as lvsd
// loads it: benchVirtualServers virtual servers sharing benchRealServers
// TCP_CHECK targets, the checker settings inherited from the virtual server.
func benchChecksConfig(t testing.TB) *hcl.Config {
	var b strings.Builder
	b.WriteString("global {\n  lvs_program = \"always\"\n}\n")
	perService := (benchRealServers + benchVirtualServers - 1) / benchVirtualServers
	// The last few virtual servers of #2318's count would have no real
	// server left: they hold no check, so they are left out.
	for v := range min(benchVirtualServers, (benchRealServers+perService-1)/perService) {
		fmt.Fprintf(&b, `virtual_server "10.%d.%d.1:80" {
  delay_loop         = %d
  warmup             = %[3]d
  connect_timeout    = 5
  retry              = 1
  delay_before_retry = 1
`, v>>8, v&255, int(benchDelayLoop.Seconds()))
		for i := v * perService; i < min((v+1)*perService, benchRealServers); i++ {
			fmt.Fprintf(&b, "  real_server %q {\n    TCP_CHECK {}\n  }\n", checktargets.Target(i).String())
		}
		b.WriteString("}\n")
	}
	return hcltest.Load(t, b.String())
}
