package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// The benchmark table: 2,000 virtual services × 16 real servers, 34,000
// IPVS objects (lvstest.SyntheticConfig).
const (
	benchServices = 2000
	benchReals    = 16
	benchObjects  = benchServices * (1 + benchReals)
	benchNS       = "lvsd-bench"
)

// TestBenchIPVSLoad times loading the benchmark table into an empty IPVS
// table, in one VM boot and one namespace: ipvsadm -R (the reference),
// lvs with its batched writer (what lvsd does), lvs one round trip per
// operation (moby/ipvs, the way keepalived and ipvsadm write), the lvsd
// binary (LVSD_BIN) and keepalived 2.2.7 (when the VM has it) each
// starting on the same keepalived.conf. Each load goes into a fresh
// namespace and is checked complete by counting the objects in
// /proc/net/ip_vs. Figures are ratios to ipvsadm -R: TCG makes absolute times
// meaningless.
func TestBenchIPVSLoad(t *testing.T) {
	requireGuest(t)
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1 (make bench)")
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	// Every load gets a fresh namespace, so a fresh IPVS instance: the
	// kernel keeps deleted destinations in a trash list for minutes
	// (IP_VS_DEST_TRASH_PERIOD) and searches it linearly on every
	// destination add, so a load after `ipvsadm -C` of 32,000
	// destinations is quadratic and measures the trash, not the loader.
	//
	// Only one loaded namespace exists at a time: IPVS's service hash is
	// global, and /proc/net/ip_vs of one namespace came out short (whole
	// services missing) while another held the same 2,000 services.
	type benchNet struct {
		name, path, procIPVS string
		drop                 func()
	}
	seq := 0
	freshNS := func() benchNet {
		t.Helper()
		seq++
		n := benchNet{name: fmt.Sprintf("%s-%d", benchNS, seq)}
		n.path = "/run/netns/" + n.name
		run("/sbin/ip", "netns", "add", n.name)
		// IPVS refuses a real server without a route to it: 10.0.0.0/8
		// on a dummy link covers every synthetic real server.
		run("/sbin/ip", "-n", n.name, "link", "set", "lo", "up")
		run("/sbin/ip", "-n", n.name, "link", "add", "rs", "type", "dummy")
		run("/sbin/ip", "-n", n.name, "addr", "add", "10.255.255.254/8", "dev", "rs")
		run("/sbin/ip", "-n", n.name, "link", "set", "rs", "up")
		// Objects are counted from the namespace of a process living in it.
		holder := exec.Command("/sbin/ip", "netns", "exec", n.name, "/bin/sleep", "3600")
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		n.drop = func() {
			holder.Process.Kill()
			holder.Wait()
			exec.Command("/sbin/ip", "netns", "del", n.name).Run()
		}
		t.Cleanup(n.drop)
		n.procIPVS = fmt.Sprintf("/proc/%d/net/ip_vs", holder.Process.Pid)
		want, err := os.Stat(n.path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ { // until ip has entered the namespace
			if fi, err := os.Stat(fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid)); err == nil && os.SameFile(fi, want) {
				break
			}
			if i == 500 {
				t.Fatal("the counting process never entered the bench namespace")
			}
			time.Sleep(20 * time.Millisecond)
		}
		return n
	}
	ipvsadm := func(n benchNet, stdin []byte, args ...string) {
		t.Helper()
		cmd := exec.Command("/sbin/ip", append([]string{"netns", "exec", n.name, "/sbin/ipvsadm"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ipvsadm %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	expectObjects := func(n benchNet, what string, want int) {
		t.Helper()
		if got := countObjects(n.procIPVS); got != want {
			// Ask netlink too, to tell a short load from a short read.
			k, err := lvs.OpenKernelWith(lvs.KernelOptions{NetnsPath: n.path})
			viaNetlink := -1
			if err == nil {
				if tab, err := k.Table(); err == nil {
					viaNetlink = tab.Objects()
				}
				k.Close()
			}
			t.Fatalf("after %s the table holds %d objects (netlink dump: %d), want %d", what, got, viaNetlink, want)
		}
	}

	var rules bytes.Buffer
	if err := lvstest.WriteIPVSADMRules(&rules, lvstest.SyntheticTable(benchServices, benchReals)); err != nil {
		t.Fatal(err)
	}
	var figures []loadFigure
	var prev *benchNet
	timeLoad := func(name string, load func(n benchNet)) (benchNet, time.Duration) {
		t.Helper()
		if prev != nil {
			// The kernel tears a namespace's IPVS down in a worker:
			// give it time off the clock.
			prev.drop()
			time.Sleep(5 * time.Second)
		}
		n := freshNS()
		prev = &n
		expectObjects(n, "creating the namespace", 0)
		start := time.Now()
		load(n)
		d := time.Since(start)
		expectObjects(n, name, benchObjects)
		t.Logf("%-28s %v", name, d.Round(time.Millisecond))
		return n, d
	}
	measure := func(name string, load func(n benchNet)) benchNet {
		t.Helper()
		n, d := timeLoad(name, load)
		figures = append(figures, loadFigure{name, d})
		return n
	}

	measure("ipvsadm -R", func(n benchNet) { ipvsadm(n, rules.Bytes(), "-R") })
	var m *lvs.Manager
	var closeLoaded func()
	loaded := measure("lvsd (lvs, batched)", func(n benchNet) { m, closeLoaded = loadWithLvs(t, lvs.KernelOptions{NetnsPath: n.path}) })
	// Not a load: what lvsd's periodic repair costs on the loaded table,
	// lvsd's steady pass (/proc/net/ip_vs and the services it reads
	// through netlink, lvs/repairpass.go) and a whole read with moby/ipvs's
	// reader (lvsd's pass before issue 19), beside ipvsadm -Ln reading the
	// same table.
	// The pass right after lvsd's own writes adopts the kernel's form of
	// every service (flags, list order): the steady pass, what runs every
	// reconcile_interval, is the next one.
	repair := func(m *lvs.Manager) time.Duration {
		t.Helper()
		var took time.Duration
		for range 2 {
			start := time.Now()
			if n, err := m.Reconcile(context.Background()); err != nil || n != 0 {
				t.Fatalf("after loading, Reconcile applied %d (err %v), want 0", n, err)
			}
			took = time.Since(start)
		}
		return took
	}
	repairNew := repair(m)
	mobyM, closeMoby := loadWithLvs(t, lvs.KernelOptions{NetnsPath: loaded.path, MobyReads: true}) // reads, writes nothing
	repairMoby := repair(mobyM)
	closeMoby()
	readCost := func(opts lvs.KernelOptions) lvs.ReadCost {
		t.Helper()
		opts.NetnsPath = loaded.path
		k, err := lvs.OpenKernelWith(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		tab, cost, err := lvs.ReadTable(k)
		if err != nil || tab.Objects() != benchObjects {
			t.Fatalf("reading the loaded table: %d objects, %v", tab.Objects(), err)
		}
		return cost
	}
	readNew, readMoby := readCost(lvs.KernelOptions{}), readCost(lvs.KernelOptions{MobyReads: true})
	start := time.Now()
	ipvsadm(loaded, nil, "-Ln")
	ipvsadmList := time.Since(start)
	t.Logf("%-28s %v (full table read and diff, nothing to do); moby/ipvs reader %v; ipvsadm -Ln %v",
		"lvsd periodic repair", repairNew.Round(time.Millisecond), repairMoby.Round(time.Millisecond), ipvsadmList.Round(time.Millisecond))
	// One changed weight on the full table: one operation (a health
	// event or a reload that changes one real server).
	vs := lvstest.SyntheticTable(benchServices, benchReals)[benchServices/2]
	start = time.Now()
	m.SetVerdict(lvs.VerdictKey{Service: vs.Key(), Real: vs.Destinations[3].Addr}, lvs.Verdict{Up: true, Weight: 7})
	oneWeight := time.Since(start)
	if c := m.Counters(); c.Applied["edit destination"] != 1 {
		t.Fatalf("one changed weight applied %v, want exactly one edit destination", c.Applied)
	}
	// The same as a reload (SIGHUP) of a file with one changed weight:
	// the whole configuration is desired and diffed, one operation goes
	// out.
	next := lvstest.SyntheticConfig(benchServices, benchReals)
	next.VirtualServers[benchServices/4].RealServers[5].Weight = 9
	start = time.Now()
	m.SetConfig(next)
	reload := time.Since(start)
	if c := m.Counters(); c.Applied["edit destination"] != 2 || c.Errors != 0 {
		t.Fatalf("a reload with one changed weight applied %v (errors %d), want exactly one more edit destination", c.Applied, c.Errors)
	}
	closeLoaded()
	var closeOne func()
	measure("lvs one-by-one (moby/ipvs)", func(n benchNet) { _, closeOne = loadWithLvs(t, lvs.KernelOptions{NetnsPath: n.path, OneByOne: true}) })
	closeOne()
	conf := "/tmp/keepalived-bench.conf"
	if err := os.WriteFile(conf, []byte(keepalivedConf()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same table as lvsd.hcl (what `lvsd convert` writes).
	hclConf := "/tmp/lvsd-bench.hcl"
	parsed, diags := hcl.Load(conf)
	if parsed == nil {
		t.Fatalf("reading %s: %v", conf, diags)
	}
	if err := os.WriteFile(hclConf, hcl.ConvertToHCL(parsed), 0o644); err != nil {
		t.Fatal(err)
	}
	var startParts []loadFigure
	var startRounds []lvsdRound
	if bin := os.Getenv("LVSD_BIN"); bin != "" {
		// lvsd's start beside the batched writer, in interleaved rounds:
		// the emulated machine's speed varies by 3x within a run on a
		// shared host, so each start is compared with a writer load of
		// the same minutes, and the writer's load is seen through the
		// same counts of /proc/net/ip_vs as the daemons' (a count of the
		// full table takes a fifth of a second of the guest's CPU). The
		// last two starts show what the processors and the collector
		// do: lvsd reads a big keepalived.conf on every processor (hcl's
		// keepalived_parts.go) and writes its first table on one
		// (cmd/lvsd/goruntime.go); GOMAXPROCS=1 reads it on one too, as
		// before session 8. The start runs no collection until its first
		// table is written (since session 9); GOGC=400 starts as before,
		// with one collection during the read (GOMAXPROCS and GOGC in the
		// environment override goruntime.go's choices).
		// The keepalived.conf starts log at debug level, with the
		// collector's trace: their stages (daemonStages).
		starts := []struct{ name, file, env string }{
			{"lvsd run (keepalived.conf)", conf, ""},
			{"lvsd run (lvsd.hcl)", hclConf, ""},
			{"lvsd run (keepalived.conf) GOMAXPROCS=1", conf, "GOMAXPROCS=1"},
			{"lvsd run (keepalived.conf) GOGC=400", conf, "GOGC=400"},
		}
		for range benchRounds {
			r := lvsdRound{starts: map[string]time.Duration{}, stages: map[string]startStages{}}
			_, r.writer = timeLoad("lvsd (lvs, batched), polled", func(n benchNet) { r.writerStages = loadWithLvsPolled(t, n.path, n.procIPVS) })
			for _, s := range starts {
				var env []string
				if s.env != "" {
					env = append(env, s.env)
				}
				args := []string{"run", "-f", s.file, "--pid-file", "/run/lvsd-bench.pid"}
				staged := s.file == conf
				if staged {
					args = append(args, "--debug")
					env = append(env, "GODEBUG=gctrace=1")
				}
				var run daemonRun
				_, r.starts[s.name] = timeLoad(s.name, func(n benchNet) {
					run = loadWithDaemon(t, n.name, n.procIPVS, env, append([]string{bin}, args...)...)
				})
				if staged {
					r.stages[s.name] = daemonStages(run, r.starts[s.name])
				}
			}
			startRounds = append(startRounds, r)
		}
		for _, s := range starts {
			var ds []time.Duration
			for _, r := range startRounds {
				ds = append(ds, r.starts[s.name])
			}
			figures = append(figures, loadFigure{s.name + ", median", median(ds)})
		}
		startParts = lvsdStartParts(t, bin, conf, hclConf)
	} else {
		t.Log("LVSD_BIN unset: no figure for the lvsd binary")
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err == nil {
		os.MkdirAll("/run/keepalived", 0o755)
		measure("keepalived 2.2.7", func(n benchNet) {
			// No --log-console: its lines would go out through the
			// emulated serial port and slow keepalived down.
			loadWithDaemon(t, n.name, n.procIPVS, nil, "/usr/sbin/keepalived", "--dont-fork", "--check", "--use-file", conf,
				"--pid", "/run/keepalived/bench.pid", "--checkers_pid", "/run/keepalived/bench-checkers.pid")
		})
	} else {
		t.Log("keepalived not in the VM: no keepalived figure")
	}

	var b strings.Builder
	fmt.Fprintf(&b, "IPVS load of %d services x %d real servers (%d objects) into an empty table, one VM boot (TCG):\n",
		benchServices, benchReals, benchObjects)
	ref := figures[0].d
	for _, f := range figures {
		fmt.Fprintf(&b, "  %-38s %10v  %6.3fx ipvsadm -R\n", f.name, f.d.Round(time.Millisecond), float64(f.d)/float64(ref))
	}
	if len(startRounds) > 0 {
		fmt.Fprintf(&b, "  lvsd run beside the batched writer, %d interleaved rounds (writer, then each start, all seen through the same counts; ratio to the same round's writer):\n", len(startRounds))
		for i, r := range startRounds {
			fmt.Fprintf(&b, "    round %d: writer %v", i+1, r.writer.Round(time.Millisecond))
			names := slices.Sorted(maps.Keys(r.starts))
			for _, name := range names {
				fmt.Fprintf(&b, "; %s %v (%.2fx)", strings.TrimPrefix(name, "lvsd run "), r.starts[name].Round(time.Millisecond), float64(r.starts[name])/float64(r.writer))
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "    stages of each round's writer and each lvsd run on the keepalived.conf, from lvsd run --debug's log (ms resolution; exec = ip netns exec, exec, Go init, flags; compact = compactModel before the write (since session 9 after it, off the path: \"after\"); to write = IPVS opened, desired table, table read, diff (lvsd since session 9: IPVS opened and the table read during the read, \"ahead\"); gc = the collector's cycles, at seconds since the start):\n")
		for i, r := range startRounds {
			w := r.writerStages
			ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
			if !w.complete {
				fmt.Fprintf(&b, "      round %d: the writer's stages not found\n", i+1)
				continue
			}
			fmt.Fprintf(&b, "      round %d: writer: to write %s, write %s (this process, counts included: %v)\n", i+1, ms(w.toWrite), ms(w.write), w.usage)
			for _, name := range slices.Sorted(maps.Keys(r.stages)) {
				d := r.stages[name]
				if !d.complete {
					fmt.Fprintf(&b, "        %s: stages not found in the log\n", name)
					continue
				}
				fmt.Fprintf(&b, "        %s: exec %s, read %s (ahead %s), compact %s (after %s), to write %s, write %s; - writer %s; %v; gc %s\n",
					strings.TrimPrefix(name, "lvsd run "), ms(d.toRead), ms(d.read), ms(d.ahead), ms(d.compact), ms(d.compactAfter), ms(d.toWrite), ms(d.write),
					ms(r.starts[name]-r.writer), d.usage, strings.Join(d.gcs, " "))
			}
		}
		names := slices.Sorted(maps.Keys(startRounds[0].starts))
		for _, name := range names {
			var ratios []float64
			for _, r := range startRounds {
				ratios = append(ratios, float64(r.starts[name])/float64(r.writer))
			}
			slices.Sort(ratios)
			fmt.Fprintf(&b, "    %-38s median %.2fx the writer of its round (range %.2f-%.2f; goal <= 1.5)\n", name, ratios[len(ratios)/2], ratios[0], ratios[len(ratios)-1])
		}
	}
	if len(startParts) > 0 {
		var writers []time.Duration
		for _, r := range startRounds {
			writers = append(writers, r.writer)
		}
		writer := median(writers)
		fmt.Fprintf(&b, "  where lvsd run's start goes (same VM, after the rounds; each program run once, the loads in this test's process):\n")
		for _, f := range startParts {
			fmt.Fprintf(&b, "    %-44s %10v  %6.3fx the rounds' median writer (%v)\n", f.name, f.d.Round(time.Millisecond), float64(f.d)/float64(writer), writer.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(&b, "  the daemons' loads end at the first count of /proc/net/ip_vs that finds every object (polled every %v; one count of the full table takes %v)\n",
		daemonPoll, countCost(prev.procIPVS).Round(time.Millisecond))
	fmt.Fprintf(&b, "  one changed weight on the full table: 1 operation, %v (%.3f%% of lvsd's full load)\n",
		oneWeight.Round(time.Microsecond), 100*float64(oneWeight)/float64(figures[1].d))
	fmt.Fprintf(&b, "  reload with one changed weight on the full table: 1 operation, %v (%.1f%% of lvsd's full load)\n",
		reload.Round(time.Microsecond), 100*float64(reload)/float64(figures[1].d))
	fmt.Fprintf(&b, "  periodic repair of the full table (read + compare, nothing to do; the pass after the first):\n")
	fmt.Fprintf(&b, "    lvsd steady pass:           %10v  (a whole read with lvs's reader: %v, %d dump requests, %d system calls, %d datagrams)\n",
		repairNew.Round(time.Millisecond), readNew.Took.Round(time.Millisecond), readNew.Requests, readNew.Syscalls, readNew.Datagrams)
	fmt.Fprintf(&b, "    moby/ipvs reader (before):  %10v  read %v: %d dump requests, 4 system calls and a 64 KiB buffer each\n",
		repairMoby.Round(time.Millisecond), readMoby.Took.Round(time.Millisecond), readMoby.Requests)
	fmt.Fprintf(&b, "    ipvsadm -Ln (same table):   %10v  (process start, read, print)\n", ipvsadmList.Round(time.Millisecond))
	fmt.Fprintf(&b, "    repair pass after/before: %.3f (goal <= 0.1)\n", float64(repairNew)/float64(repairMoby))
	t.Log("\n" + b.String())
	fmt.Print("BENCH " + strings.ReplaceAll(strings.TrimRight(b.String(), "\n"), "\n", "\nBENCH ") + "\n")
}

// lvsdStartParts times what `lvsd run` does before its first IPVS write,
// one part at a time: starting the binary (`lvsd version`: exec, the Go
// runtime and package initialisation), reading and validating each file
// (`lvsd check`, which is the start plus the load), and the load alone in
// this process (hcl.Load: no exec).
func lvsdStartParts(t *testing.T, bin, conf, hclConf string) []loadFigure {
	t.Helper()
	timed := func(name string, f func() error) loadFigure {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return loadFigure{name, time.Since(start)}
	}
	run := func(args ...string) func() error {
		return func() error {
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		}
	}
	load := func(file string) func() error {
		return func() error {
			if cfg, diags := hcl.Load(file); cfg == nil {
				return diags
			}
			return nil
		}
	}
	return []loadFigure{
		timed("lvsd version (exec and Go init)", run("version")),
		timed("lvsd check keepalived.conf (+ parse)", run("check", "-f", conf)),
		timed("lvsd check lvsd.hcl (+ parse)", run("check", "-f", hclConf)),
		timed("hcl.Load keepalived.conf, in process", load(conf)),
		timed("hcl.Load lvsd.hcl, in process", load(hclConf)),
	}
}

// benchRounds is how many interleaved rounds compare lvsd's start with
// the batched writer.
const benchRounds = 3

// lvsdRound is one round of that comparison: the writer's load, then each
// start of the lvsd binary, by name.
type lvsdRound struct {
	writer time.Duration
	starts map[string]time.Duration
	// The stages of the writer's load and of each start of lvsd run on the
	// keepalived.conf, by the start's name.
	writerStages startStages
	stages       map[string]startStages
}

// median is the middle of ds (the upper one of an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// loadFigure is one timed step of the load benchmark.
type loadFigure struct {
	name string
	d    time.Duration
}

// loadWithLvs loads the synthetic config through a Manager (SetConfig
// reads the empty table and applies 34,000 additions) and returns it with
// the function that closes its kernel handle (whose sockets keep the
// namespace alive).
func loadWithLvs(t *testing.T, opts lvs.KernelOptions) (*lvs.Manager, func()) {
	t.Helper()
	k, err := lvs.OpenKernelWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeK := func() { once.Do(func() { k.Close() }) }
	t.Cleanup(closeK)
	var log strings.Builder
	m := lvs.NewManager(k, lvs.ManagerOptions{Interval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	m.SetConfig(lvstest.SyntheticConfig(benchServices, benchReals))
	if c := m.Counters(); c.Errors > 0 {
		t.Fatalf("loading through lvs: %d errors:\n%s", c.Errors, log.String())
	}
	return m, closeK
}

// loadWithDaemon starts a director daemon (keepalived, or lvsd reading
// the same keepalived.conf) in the bench namespace and waits until the
// kernel holds every object; the daemon is killed with SIGKILL, which
// leaves the table in place (a clean stop may withdraw it and take time).
// env is added to this process's environment for the daemon. It returns
// when the daemon was started and what it printed until then.
func loadWithDaemon(t *testing.T, ns, procIPVS string, env []string, argv ...string) daemonRun {
	t.Helper()
	cmd := exec.Command("/sbin/ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group: keepalived forks its checker child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	killed := false
	kill := func() {
		if !killed {
			killed = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	defer kill()
	waitFull(t, procIPVS, argv[0], func() string {
		select {
		case <-exited:
			return "exited:\n" + out.String()
		default:
			return ""
		}
	})
	printed := out.String()
	kill()
	run := daemonRun{started: started, printed: printed}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.usage = usageOf(ru)
	}
	return run
}

// daemonRun is what loadWithDaemon saw of a daemon: when it started, what
// it printed until its table was full, and what it used until killed
// (ip netns exec, then the daemon: ip execs it in the same process).
type daemonRun struct {
	started time.Time
	printed string
	usage   usage
}

// usage is CPU time and page faults.
type usage struct {
	user, sys time.Duration
	faults    int64 // minor page faults
}

func usageOf(ru *syscall.Rusage) usage {
	return usage{
		user:   time.Duration(ru.Utime.Nano()),
		sys:    time.Duration(ru.Stime.Nano()),
		faults: ru.Minflt,
	}
}

// processUsage is this process's usage so far.
func processUsage() usage {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return usage{}
	}
	return usageOf(&ru)
}

func (u usage) minus(v usage) usage {
	return usage{user: u.user - v.user, sys: u.sys - v.sys, faults: u.faults - v.faults}
}

func (u usage) String() string {
	return fmt.Sprintf("cpu user %v sys %v, %d page faults", u.user.Round(time.Millisecond), u.sys.Round(time.Millisecond), u.faults)
}

// lockedBuffer is a bytes.Buffer that a daemon's output goroutine writes
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startStages is where one start of lvsd run, or one load of the batched
// writer, spent its time, from its debug log (lvsd run --debug; the
// writer's log in this process). Times are from the start (the exec of
// ip netns exec, or the writer's goroutine) to the end of each stage;
// the last one ends when a count of /proc/net/ip_vs finds every object.
type startStages struct {
	toRead  time.Duration // ip netns exec, exec, Go runtime and package init, flags (lvsd only)
	read    time.Duration // hcl.Load: read, parse, defaults, validation (lvsd only)
	compact time.Duration // compactModel before the first write (lvsd only; none since session 9)
	// Beside the stages, off their path (lvsd only, since session 9):
	// IPVS opened and its table read while the file was read, on their
	// goroutine, and compactModel after the first write.
	ahead, compactAfter time.Duration
	toWrite             time.Duration // to the first write: the model (writer), IPVS opened, desired table, table read, diff
	write               time.Duration // the write, to the count that found every object
	complete            bool          // every stage was found in the log
	gcs                 []string      // the collector's cycles (GODEBUG=gctrace=1): "@START(+WALL ms, HEAP MB)"
	// The daemon's usage from exec to its kill (right after the count
	// that found every object); the writer's is this process's over its
	// load, the counts of /proc/net/ip_vs included.
	usage usage
}

// applyingMsg is what lvs logs when it starts applying a big batch of
// operations (lvs.Manager logOps).
const applyingMsg = "applying IPVS operations"

// daemonStages takes a start of lvsd run --debug apart: its log's
// "configuration loaded" line (read and, before session 9, compacted
// durations), the IPVS table opened ahead and the compaction after the
// first write (their own lines), the time
// of its "applying IPVS operations" line, and the collector's cycles
// (GODEBUG=gctrace=1).
func daemonStages(run daemonRun, total time.Duration) startStages {
	st := startStages{usage: run.usage}
	var loaded, applying time.Time
	for line := range strings.Lines(run.printed) {
		if f := strings.Fields(line); len(f) > 6 && f[0] == "gc" && strings.HasPrefix(f[2], "@") {
			// "gc 1 @0.512s 3%: 0.01+12+0.02 ms clock, ..., 16->17->9 MB, 20 MB goal, ..., 2 P"
			cycle := f[2] + " " + f[4] + "ms"
			for i, w := range f {
				if strings.Contains(w, "->") && i+1 < len(f) && f[i+1] == "MB" {
					cycle += " " + w + "MB"
				}
			}
			st.gcs = append(st.gcs, cycle+" "+f[len(f)-2]+"P")
			continue
		}
		at, ok := logTime(line)
		if !ok {
			continue
		}
		switch {
		case strings.Contains(line, `msg="configuration loaded"`) && loaded.IsZero():
			read, ok1 := logDuration(line, "read")
			compacted, _ := logDuration(line, "compacted") // absent: compacted after the first write
			if ok1 {
				loaded, st.read, st.compact = at, read, compacted
			}
		case strings.Contains(line, `msg="IPVS opened and read while the configuration was read"`):
			st.ahead, _ = logDuration(line, "took")
		case strings.Contains(line, `msg="configuration compacted"`):
			st.compactAfter, _ = logDuration(line, "took")
		case strings.Contains(line, `msg="`+applyingMsg+`"`) && applying.IsZero():
			applying = at
		}
	}
	if loaded.IsZero() || applying.IsZero() {
		return st
	}
	st.toRead = loaded.Sub(run.started) - st.read - st.compact
	st.toWrite = applying.Sub(loaded)
	st.write = total - applying.Sub(run.started)
	st.complete = true
	return st
}

// logTime is the time= of a slog text line (millisecond precision).
func logTime(line string) (time.Time, bool) {
	v, ok := logField(line, "time")
	if !ok {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	return at, err == nil
}

// logDuration is a duration attribute of a slog text line.
func logDuration(line, key string) (time.Duration, bool) {
	v, ok := logField(line, key)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	return d, err == nil
}

// logField is the unquoted value of key= in a slog text line.
func logField(line, key string) (string, bool) {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// recordTime is a slog.Handler that keeps the time of the first record
// with its message.
type recordTime struct {
	msg string
	mu  *sync.Mutex
	at  *time.Time
}

func newRecordTime(msg string) recordTime {
	return recordTime{msg: msg, mu: &sync.Mutex{}, at: &time.Time{}}
}

func (h recordTime) Enabled(context.Context, slog.Level) bool { return true }
func (h recordTime) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h recordTime) WithGroup(string) slog.Handler            { return h }

func (h recordTime) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Message == h.msg && h.at.IsZero() {
		*h.at = r.Time
	}
	return nil
}

// time returns the record's time, zero if none came.
func (h recordTime) time() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return *h.at
}

// loadWithLvsPolled is loadWithLvs seen from outside, as loadWithDaemon
// sees the daemons: the load runs in another goroutine, and it ends at the
// first count of procIPVS that finds every object (the same counts, the
// same CPU they take from the guest and the same latency).
// It returns its stages (startStages: toWrite and write).
func loadWithLvsPolled(t *testing.T, netnsPath, procIPVS string) startStages {
	t.Helper()
	done := make(chan error, 1)
	applying := newRecordTime(applyingMsg)
	before := processUsage()
	started := time.Now()
	go func() {
		k, err := lvs.OpenKernelWith(lvs.KernelOptions{NetnsPath: netnsPath})
		if err != nil {
			done <- err
			return
		}
		defer k.Close()
		m := lvs.NewManager(k, lvs.ManagerOptions{Interval: time.Hour, Logger: slog.New(applying)})
		m.SetConfig(lvstest.SyntheticConfig(benchServices, benchReals))
		if c := m.Counters(); c.Errors > 0 {
			err = fmt.Errorf("%d errors", c.Errors)
		}
		done <- err
	}()
	var ended error
	finished := false
	waitFull(t, procIPVS, "the batched writer", func() string {
		if !finished {
			select {
			case ended = <-done:
				finished = true
			default:
			}
		}
		if ended != nil {
			return ended.Error()
		}
		return ""
	})
	total := time.Since(started)
	used := processUsage().minus(before)
	if !finished {
		ended = <-done
	}
	if ended != nil {
		t.Fatalf("the batched writer: %v", ended)
	}
	at := applying.time()
	if at.IsZero() {
		return startStages{}
	}
	return startStages{toWrite: at.Sub(started), write: total - at.Sub(started), complete: true, usage: used}
}

// waitFull counts the objects in procIPVS every daemonPoll until it finds
// all of them; failed says, between counts, why the loader (named by what)
// can no longer finish, or "" while it can.
func waitFull(t *testing.T, procIPVS, what string, failed func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for countObjects(procIPVS) < benchObjects {
		if why := failed(); why != "" {
			t.Fatalf("%s loaded %d of %d objects, then %s", what, countObjects(procIPVS), benchObjects, why)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s loaded %d of %d objects in 10 minutes", what, countObjects(procIPVS), benchObjects)
		}
		time.Sleep(daemonPoll)
	}
}

// daemonPoll is how often loadWithDaemon counts the daemon's objects.
const daemonPoll = 50 * time.Millisecond

// countCost is how long one countObjects of path takes.
func countCost(path string) time.Duration {
	start := time.Now()
	countObjects(path)
	return time.Since(start)
}

// keepalivedConf is lvstest.SyntheticConfig written as keepalived.conf.
func keepalivedConf() string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id bench\n}\n")
	for _, s := range lvstest.SyntheticTable(benchServices, benchReals) {
		fmt.Fprintf(&b, "virtual_server %s %d {\n  delay_loop 60\n  lb_algo %s\n  lb_kind DR\n  protocol TCP\n",
			s.Addr.Addr(), s.Addr.Port(), s.Scheduler)
		for _, d := range s.Destinations {
			fmt.Fprintf(&b, "  real_server %s %d {\n    weight %d\n  }\n", d.Addr.Addr(), d.Addr.Port(), d.Weight)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// countObjects counts services and destinations in a /proc/net/ip_vs
// file, -1 when it cannot be read.
func countObjects(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "TCP ") || strings.HasPrefix(l, "UDP ") || strings.HasPrefix(l, "FWM ") ||
			strings.HasPrefix(l, "SCTP ") || strings.HasPrefix(l, "  -> ") && !strings.Contains(l, "RemoteAddress") {
			n++
		}
	}
	return n
}
