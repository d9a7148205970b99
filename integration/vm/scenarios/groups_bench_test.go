package scenarios

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The big table of keepalived #2318's shape (2,000 services x 16 real
// servers) declared through 100 virtual_server_groups of 20 addresses,
// each group's virtual_server with its 16 real servers.
const (
	groupBenchGroups  = 100
	groupBenchMembers = 20
	groupBenchReals   = 16
	groupBenchObjects = groupBenchGroups * groupBenchMembers * (1 + groupBenchReals)
)

// groupBenchConf writes the file; moved names group g's member moved
// elsewhere: its last address is replaced by the next one.
func groupBenchConf(moved int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id groupbench\n}\n")
	for g := range groupBenchGroups {
		fmt.Fprintf(&b, "virtual_server_group G%d {\n", g)
		for m := 1; m <= groupBenchMembers; m++ {
			host := m
			if g == moved && m == groupBenchMembers {
				host = groupBenchMembers + 1
			}
			fmt.Fprintf(&b, "  10.%d.%d.%d 80\n", 100+g/200, g%200, host)
		}
		b.WriteString("}\n")
	}
	for g := range groupBenchGroups {
		fmt.Fprintf(&b, "virtual_server group G%d {\n  delay_loop 60\n  lb_algo wlc\n  lb_kind DR\n  protocol TCP\n", g)
		for r := 1; r <= groupBenchReals; r++ {
			fmt.Fprintf(&b, "  real_server 10.%d.%d.%d 80 {\n    weight %d\n  }\n", 10+g/200, g%200, r, 1+r%3)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// TestBenchGroupsLoad (LVSD_BENCH=1, integration/bench_vm_test.go) times
// loading the big table declared through 100 groups into a fresh
// namespace, lvsd (keepalived's command line) beside keepalived 2.2.7, and
// counts the IPVS operations lvsd sends for a reload that moves one
// member of one group (lvsd logs them): the old member's service and its
// 16 real servers deleted (lvs's diff deletes a service's destinations
// before the service), the new one added with its 16, nothing else: 34.
func TestBenchGroupsLoad(t *testing.T) {
	requireGuest(t)
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1 (make bench)")
	}
	lvsd := os.Getenv("LVSD_BIN")
	if lvsd == "" {
		t.Skip("LVSD_BIN unset")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(groupBenchConf(-1)), 0o644); err != nil {
		t.Fatal(err)
	}
	type figure struct {
		name string
		d    time.Duration
	}
	var figures []figure
	seq := 0
	// load starts a daemon on conf in a fresh namespace and returns the
	// time to the full table, the daemon's log and a stop function.
	load := func(name string, argv ...string) (int, string, func()) {
		seq++
		ns := fmt.Sprintf("groupbench%d", seq)
		for _, args := range [][]string{{"netns", "add", ns}, {"-n", ns, "link", "set", "lo", "up"},
			{"-n", ns, "link", "add", "rs", "type", "dummy"}, {"-n", ns, "addr", "add", "10.255.255.254/8", "dev", "rs"},
			{"-n", ns, "link", "set", "rs", "up"}} {
			if out, err := exec.Command("/sbin/ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v: %v: %s", args, err, out)
			}
		}
		t.Cleanup(func() { exec.Command("/sbin/ip", "netns", "del", ns).Run() })
		logPath := filepath.Join(dir, name+".log")
		logf, _ := os.Create(logPath)
		cmd := exec.Command("/sbin/ip", append([]string{"netns", "exec", ns}, argv...)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); logf.Close(); close(exited) }()
		// Stopped, the daemon's namespace goes too: IPVS's service hash
		// is global, and a second namespace loading the same services
		// while the first still holds them comes out short (bench_test.go).
		stop := func() {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			exec.Command("/sbin/ip", "netns", "del", ns).Run()
			for i := 0; i < 100 && countObjects("/proc/net/ip_vs") > 0; i++ {
				time.Sleep(100 * time.Millisecond)
			}
		}
		proc := fmt.Sprintf("/proc/%d/net/ip_vs", cmd.Process.Pid)
		for deadline := time.Now().Add(15 * time.Minute); countObjects(proc) < groupBenchObjects; time.Sleep(50 * time.Millisecond) {
			select {
			case <-exited:
				log, _ := os.ReadFile(logPath)
				t.Fatalf("%s exited before the full table:\n%s", name, log)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s loaded %d of %d objects in 15 minutes", name, countObjects(proc), groupBenchObjects)
			}
		}
		figures = append(figures, figure{name, time.Since(start)})
		return cmd.Process.Pid, logPath, stop
	}

	pid, lvsdLog, stopLvsd := load("lvsd", lvsd, "-n", "-l", "-D", "-f", conf, "-p", filepath.Join(dir, "lvsd.pid"))
	// The reload: G37's last member moves, once lvsd has started (its
	// SIGHUP handler is in place and its start-up writes are done).
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if log, _ := os.ReadFile(lvsdLog); strings.Contains(string(log), `msg="lvsd running"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lvsd never said it runs")
		}
	}
	time.Sleep(2 * time.Second)
	before := countOps(t, lvsdLog)
	if err := os.WriteFile(conf, []byte(groupBenchConf(37)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	syscall.Kill(pid, syscall.SIGHUP) // ip netns exec execs lvsd: the same process
	// Done when the operations stop coming for 3 s.
	var ops []string
	reload := time.Duration(0)
	for deadline, last := time.Now().Add(2*time.Minute), time.Now(); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if now := opsSince(t, lvsdLog, before); len(now) != len(ops) {
			ops, last, reload = now, time.Now(), time.Since(start)
		} else if len(ops) > 0 && time.Since(last) > 3*time.Second {
			break
		}
	}
	stopLvsd()
	if want := 2 * (1 + groupBenchReals); len(ops) != want {
		log, _ := os.ReadFile(lvsdLog)
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		t.Logf("the end of lvsd's log:\n%s", log)
		t.Errorf("the reload that moves one member sent %d IPVS operations, want %d (one service out and one in, each with its %d real servers):\n%s",
			len(ops), want, groupBenchReals, strings.Join(ops, "\n"))
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err == nil {
		os.WriteFile(conf, []byte(groupBenchConf(-1)), 0o644)
		os.MkdirAll("/run/keepalived", 0o755)
		_, _, stopKa := load("keepalived 2.2.7", "/usr/sbin/keepalived", "--dont-fork", "--check", "--use-file", conf,
			"--pid", "/run/keepalived/groupbench.pid", "--checkers_pid", "/run/keepalived/groupbench-checkers.pid")
		stopKa()
	} else {
		t.Log("keepalived not in the VM: no keepalived figure")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "IPVS load of %d services x %d real servers declared through %d virtual_server_groups (%d objects), one VM boot (TCG):\n",
		groupBenchGroups*groupBenchMembers, groupBenchReals, groupBenchGroups, groupBenchObjects)
	for _, f := range figures {
		fmt.Fprintf(&b, "  %-20s %10v  %6.3fx lvsd\n", f.name, f.d.Round(time.Millisecond), float64(f.d)/float64(figures[0].d))
	}
	fmt.Fprintf(&b, "  lvsd reload moving one member of one group: %d IPVS operations in %v\n", len(ops), reload.Round(time.Millisecond))
	t.Log("\n" + b.String())
	fmt.Print("BENCH " + strings.ReplaceAll(strings.TrimRight(b.String(), "\n"), "\n", "\nBENCH ") + "\n")
}

// countOps counts the IPVS operations lvsd has logged (msg=ipvs op=...).
func countOps(t *testing.T, log string) int { return len(opsSince(t, log, 0)) }

// opsSince returns the operations logged after the first skip.
func opsSince(t *testing.T, log string, skip int) []string {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ops []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, "msg=ipvs") && strings.Contains(l, " op="):
			ops = append(ops, l)
		case strings.Contains(l, `msg="applying IPVS operations"`):
			// More than 32 at once are logged as a count (lvs.Manager).
			var n int
			if _, c, ok := strings.Cut(l, "count="); ok {
				fmt.Sscan(c, &n)
			}
			for range n {
				ops = append(ops, l)
			}
		}
	}
	if skip > len(ops) {
		return nil
	}
	return ops[skip:]
}
