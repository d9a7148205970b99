package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/lvs"
)

// The benchmark table: 2,000 virtual services × 16 real servers, 34,000
// IPVS objects (lvs.SyntheticConfig).
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
// starting on the same keepalived.conf. Each load is checked complete by
// counting the objects in /proc/net/ip_vs; the table is flushed between
// loads. Figures are ratios to ipvsadm -R: TCG makes absolute times
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
	run("/sbin/ip", "netns", "add", benchNS)
	t.Cleanup(func() { exec.Command("/sbin/ip", "netns", "del", benchNS).Run() })
	// IPVS refuses a real server without a route to it: 10.0.0.0/8 on a
	// dummy link covers every synthetic real server.
	run("/sbin/ip", "-n", benchNS, "link", "set", "lo", "up")
	run("/sbin/ip", "-n", benchNS, "link", "add", "rs", "type", "dummy")
	run("/sbin/ip", "-n", benchNS, "addr", "add", "10.255.255.254/8", "dev", "rs")
	run("/sbin/ip", "-n", benchNS, "link", "set", "rs", "up")
	nsPath := "/run/netns/" + benchNS
	ipvsadm := func(stdin []byte, args ...string) {
		t.Helper()
		cmd := exec.Command("/sbin/ip", append([]string{"netns", "exec", benchNS, "/sbin/ipvsadm"}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ipvsadm %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	// Objects are counted from the namespace of a process living in it.
	holder := exec.Command("/sbin/ip", "netns", "exec", benchNS, "/bin/sleep", "3600")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	procIPVS := fmt.Sprintf("/proc/%d/net/ip_vs", holder.Process.Pid)
	want, err := os.Stat(nsPath)
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
	expectObjects := func(what string, want int) {
		t.Helper()
		if got := countObjects(procIPVS); got != want {
			t.Fatalf("after %s the table holds %d objects, want %d", what, got, want)
		}
	}

	var rules bytes.Buffer
	if err := lvs.WriteIPVSADMRules(&rules, lvs.SyntheticTable(benchServices, benchReals)); err != nil {
		t.Fatal(err)
	}
	type figure struct {
		name string
		d    time.Duration
	}
	var figures []figure
	measure := func(name string, load func()) {
		t.Helper()
		ipvsadm(nil, "-C")
		expectObjects("ipvsadm -C", 0)
		start := time.Now()
		load()
		d := time.Since(start)
		expectObjects(name, benchObjects)
		t.Logf("%-28s %v", name, d.Round(time.Millisecond))
		figures = append(figures, figure{name, d})
	}

	measure("ipvsadm -R", func() { ipvsadm(rules.Bytes(), "-R") })
	var m *lvs.Manager
	measure("lvsd (lvs, batched)", func() { m = loadWithLvs(t, lvs.KernelOptions{NetnsPath: nsPath}) })
	// Not a load: a full read and compare of the loaded table, what
	// lvsd's periodic repair costs.
	start := time.Now()
	if n, err := m.Reconcile(context.Background()); err != nil || n != 0 {
		t.Fatalf("after loading, Reconcile applied %d (err %v), want 0", n, err)
	}
	t.Logf("%-28s %v (full table read and diff, nothing to do)", "lvsd periodic repair", time.Since(start).Round(time.Millisecond))
	measure("lvs one-by-one (moby/ipvs)", func() { loadWithLvs(t, lvs.KernelOptions{NetnsPath: nsPath, OneByOne: true}) })
	conf := "/tmp/keepalived-bench.conf"
	if err := os.WriteFile(conf, []byte(keepalivedConf()), 0o644); err != nil {
		t.Fatal(err)
	}
	if bin := os.Getenv("LVSD_BIN"); bin != "" {
		measure("lvsd run (keepalived.conf)", func() {
			loadWithDaemon(t, procIPVS, bin, "run", "-f", conf, "--pid-file", "/run/lvsd-bench.pid")
		})
	} else {
		t.Log("LVSD_BIN unset: no figure for the lvsd binary")
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err == nil {
		os.MkdirAll("/run/keepalived", 0o755)
		measure("keepalived 2.2.7", func() {
			// No --log-console: its lines would go out through the
			// emulated serial port and slow keepalived down.
			loadWithDaemon(t, procIPVS, "/usr/sbin/keepalived", "--dont-fork", "--check", "--use-file", conf,
				"--pid", "/run/keepalived/bench.pid", "--checkers_pid", "/run/keepalived/bench-checkers.pid")
		})
	} else {
		t.Log("keepalived not in the VM: no keepalived figure")
	}
	ipvsadm(nil, "-C")

	var b strings.Builder
	fmt.Fprintf(&b, "IPVS load of %d services x %d real servers (%d objects) into an empty table, one VM boot (TCG):\n",
		benchServices, benchReals, benchObjects)
	ref := figures[0].d
	for _, f := range figures {
		fmt.Fprintf(&b, "  %-28s %10v  %6.2fx ipvsadm -R\n", f.name, f.d.Round(time.Millisecond), float64(f.d)/float64(ref))
	}
	t.Log("\n" + b.String())
}

// loadWithLvs loads the synthetic config through a Manager (SetConfig
// reads the empty table and applies 34,000 additions) and returns it.
func loadWithLvs(t *testing.T, opts lvs.KernelOptions) *lvs.Manager {
	t.Helper()
	k, err := lvs.OpenKernelWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	m := lvs.NewManager(k, lvs.ManagerOptions{Interval: time.Hour})
	m.SetConfig(lvs.SyntheticConfig(benchServices, benchReals))
	return m
}

// loadWithDaemon starts a director daemon (keepalived, or lvsd reading
// the same keepalived.conf) in the bench namespace and waits until the
// kernel holds every object; the daemon is killed with SIGKILL, which
// leaves the table in place (a clean stop may withdraw it and take time).
func loadWithDaemon(t *testing.T, procIPVS string, argv ...string) {
	t.Helper()
	cmd := exec.Command("/sbin/ip", append([]string{"netns", "exec", benchNS}, argv...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group: keepalived forks its checker child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	deadline := time.Now().Add(10 * time.Minute)
	for countObjects(procIPVS) < benchObjects {
		select {
		case <-exited:
			t.Fatalf("%s exited having loaded %d of %d objects:\n%s", argv[0], countObjects(procIPVS), benchObjects, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s loaded %d of %d objects in 10 minutes:\n%s", argv[0], countObjects(procIPVS), benchObjects, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keepalivedConf is lvs.SyntheticConfig written as keepalived.conf.
func keepalivedConf() string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id bench\n}\n")
	for _, s := range lvs.SyntheticTable(benchServices, benchReals) {
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
