package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// The IPVS differential: keepalived 2.2.7 and lvsd (keepalived's command
// line) run on every LVS file of the keepalived corpus, each file in a
// namespace of its own whose default routes lead into a dummy link, so
// that every real server is silent: TCP, HTTP, SSL, SMTP, DNS and ICMP
// checks time out, UDP_CHECKs without require_reply pass, MISC_CHECK
// scripts say what they say. Once the slowest check of a file has had the
// time its settings give it to go down, `ipvsadm -Ln --tun-info` and
// `ipvsadm -L --timeout` of the two daemons must be the same: real
// servers removed or inhibited, sorry servers active where quorum is lost,
// the services of virtual_server_groups, tunnel types, persistence
// engines, lvs_timeouts.
//
// A file whose checks need longer than kaDiffMaxSettle to time out (the
// SMTP_CHECK sample: 30 s connect_timeout, retry 2, delay_loop 60, so
// 2m40s) runs in namespaces whose default routes are unreachable: every
// connect fails at once (EHOSTUNREACH) for both daemons, which then reach
// the same verdicts in warmup + retry × delay_before_retry. Its two
// daemons run side by side in two such namespaces from the start, so its
// settling overlaps the other files'.

// kaDiffKnown names the files whose tables still differ, with why.
var kaDiffKnown = map[string]string{}

// kaDiffMaxSettle bounds the wait of the files run one daemon after the
// other; kaDiffMaxRefused bounds that of a file run in refusing
// namespaces (a file slower than that is not compared: its checks are
// still on their random first rounds, warmup, at that point).
const (
	kaDiffMaxSettle  = 40 * time.Second
	kaDiffMaxRefused = 80 * time.Second
)

// kaDiffFile is one corpus file in its namespace.
type kaDiffFile struct {
	name, path, ns string
	settle         time.Duration
	// refused: the file runs in refusing namespaces (ns+"k" for
	// keepalived, ns+"l" for lvsd), both daemons at once.
	refused bool
	tables  map[string]string // daemon -> canonical table
	exited  map[string]chan struct{}
	mu      sync.Mutex
}

// kaDiffSettle is how long after start the slowest check of cfg has had
// to fail: its warmup (at most its delay_loop) and 1+retry attempts of
// connect_timeout (misc_timeout) spaced by delay_before_retry. With
// refused, a network check's attempt fails at once (a second is allowed
// for it).
func kaDiffSettle(cfg *hcl.Config, refused bool) time.Duration {
	var worst time.Duration
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			for _, c := range rs.Checkers {
				timeout := c.Timeout
				if m := c.Misc(); m != nil {
					timeout = m.Timeout
				}
				if refused && c.Kind != hcl.CheckMisc && c.Kind != hcl.CheckFile {
					timeout = min(timeout, time.Second)
				}
				d := max(c.Warmup, c.DelayLoop) + time.Duration(c.Retry+1)*timeout + time.Duration(c.Retry)*c.RetryDelay
				worst = max(worst, d)
			}
		}
	}
	return worst + 3*time.Second
}

var kaInterface = regexp.MustCompile(`(?m)^\s*(?:interface|lvs_sync_daemon_interface|lvs_sync_daemon)\s+(\S+)`)

// kaDiffNamespace makes ns: lo, a dummy "sink" holding the default
// routes (unreachable ones when refused), and a dummy link with an
// address for every interface the file names.
func kaDiffNamespace(t *testing.T, ns string, src []byte, refused bool) {
	t.Helper()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("/sbin/ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command("/sbin/ip", "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "link", "add", "sink", "type", "dummy")
	run("-n", ns, "addr", "add", "198.18.0.1/15", "dev", "sink")
	run("-n", ns, "addr", "add", "fd00:ffff::1/64", "dev", "sink", "nodad")
	run("-n", ns, "link", "set", "sink", "up")
	if refused {
		run("-n", ns, "route", "add", "unreachable", "default")
		run("-n", ns, "-6", "route", "add", "unreachable", "default")
	} else {
		run("-n", ns, "route", "add", "default", "dev", "sink")
		run("-n", ns, "-6", "route", "add", "default", "dev", "sink")
	}
	seen := map[string]bool{"lo": true, "sink": true}
	for i, m := range kaInterface.FindAllSubmatch(src, -1) {
		name := string(m[1])
		if seen[name] || len(name) > 15 || strings.ContainsAny(name, "/{}") {
			continue
		}
		seen[name] = true
		run("-n", ns, "link", "add", name, "type", "dummy")
		run("-n", ns, "addr", "add", fmt.Sprintf("203.0.113.%d/32", i+1), "dev", name)
		run("-n", ns, "link", "set", name, "up")
	}
}

// kaDiffRun starts daemon (keepalived or lvsd with keepalived's command
// line) on f in namespace ns and returns a stop function.
func kaDiffRun(t *testing.T, bin string, f *kaDiffFile, ns, dir string) func() {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, f.name+"-"+filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	pid := func(s string) string { return filepath.Join(dir, f.name+"-"+filepath.Base(bin)+"-"+s+".pid") }
	cmd := exec.Command("/sbin/ip", "netns", "exec", ns, bin, "-n", "-l", "-D", "-f", f.path, "-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checkers"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s on %s: %v", bin, f.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	f.mu.Lock()
	f.exited[bin] = done
	f.mu.Unlock()
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		exec.Command("/sbin/ip", "netns", "exec", ns, "/sbin/ipvsadm", "-C").Run()
	}
}

// kaDiffTable is the table in ns as `ipvsadm -Ln --tun-info` shows it,
// without the connection counters, and its timeouts (`ipvsadm -L
// --timeout`).
func kaDiffTable(ns string) string {
	out, _ := exec.Command("/sbin/ip", "netns", "exec", ns, "/sbin/ipvsadm", "-Ln", "--tun-info").CombinedOutput()
	var b strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		// -> ADDR FORWARD TUNNELINFO WEIGHT ACTIVE INACTIVE: the tunnel
		// joins the method, canonicalTable keeps ADDR, method, weight.
		if f := strings.Fields(line); len(f) == 7 && f[0] == "->" && f[1] != "RemoteAddress:Port" {
			line = "  -> " + f[1] + " " + f[2] + "/" + f[3] + " " + f[4] + " " + f[5] + " " + f[6]
		}
		b.WriteString(line + "\n")
	}
	timeouts, _ := exec.Command("/sbin/ip", "netns", "exec", ns, "/sbin/ipvsadm", "-L", "--timeout").CombinedOutput()
	return canonicalTable(b.String()) + strings.TrimSpace(string(timeouts)) + "\n"
}

// kaDiffReady waits until every daemon of files runs: lvsd has logged
// "lvsd running", keepalived has written its checkers' pid file (its
// health-check process is up). Under the emulator, starting some twenty
// daemons at once takes seconds, and a check's time runs from then, not
// from the command.
func kaDiffReady(t *testing.T, dir string, bins []string, files []*kaDiffFile) {
	deadline := time.Now().Add(30 * time.Second)
	for _, f := range files {
		for _, bin := range bins {
			base := filepath.Join(dir, f.name+"-"+filepath.Base(bin))
			f.mu.Lock()
			done := f.exited[bin]
			f.mu.Unlock()
			for {
				log, _ := os.ReadFile(base + ".log")
				_, pidErr := os.Stat(base + "-checkers.pid")
				if strings.Contains(string(log), `msg="lvsd running"`) || (filepath.Base(bin) == "keepalived" && pidErr == nil) {
					break
				}
				exited := false
				select {
				case <-done:
					exited = true // nothing to wait for
				default:
				}
				if exited {
					break
				}
				if time.Now().After(deadline) {
					t.Logf("%s: %s did not say it runs within 30 s", f.name, filepath.Base(bin))
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
}

// runRefused starts both daemons on f in its refusing namespaces at once, reads
// both tables once f has settled and stops the daemons.
func (f *kaDiffFile) runRefused(t *testing.T, ka, lvsd, dir string) {
	stops := []func(){kaDiffRun(t, ka, f, f.ns+"k", dir), kaDiffRun(t, lvsd, f, f.ns+"l", dir)}
	kaDiffReady(t, dir, []string{ka, lvsd}, []*kaDiffFile{f})
	time.Sleep(f.settle)
	f.mu.Lock()
	f.tables[ka], f.tables[lvsd] = kaDiffTable(f.ns+"k"), kaDiffTable(f.ns+"l")
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, stop := range stops {
		wg.Go(stop)
	}
	wg.Wait()
}

// TestLvsdKeepalivedCorpusTables runs the differential on every LVS file
// of the corpus (LVSD_KA_CORPUS, copied into the guest by TestIPVSInVM):
// all files at once, keepalived first, then lvsd.
func TestLvsdKeepalivedCorpusTables(t *testing.T) {
	requireGuest(t)
	ka, lvsd, corpus := os.Getenv("KEEPALIVED_BIN"), os.Getenv("LVSD_BIN"), os.Getenv("LVSD_KA_CORPUS")
	if ka == "" || lvsd == "" || corpus == "" {
		t.Skip("needs KEEPALIVED_BIN, LVSD_BIN and LVSD_KA_CORPUS")
	}
	paths, _ := filepath.Glob(filepath.Join(corpus, "*"))
	slices.Sort(paths)
	dir := t.TempDir()
	var files []*kaDiffFile
	var settle time.Duration
	for i, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(src), "virtual_server") {
			continue
		}
		l := hcl.Loader{}
		cfg, diags := l.Load(p)
		f := &kaDiffFile{name: filepath.Base(p), path: p, ns: fmt.Sprintf("kadiff%d", i), tables: map[string]string{}, exited: map[string]chan struct{}{}}
		if cfg != nil {
			f.settle = kaDiffSettle(cfg, false)
			if f.settle > kaDiffMaxSettle {
				f.refused, f.settle = true, kaDiffSettle(cfg, true)
			}
		} else {
			t.Logf("%s: lvsd refuses it: %v", f.name, diags.Errors())
		}
		if f.refused {
			kaDiffNamespace(t, f.ns+"k", src, true)
			kaDiffNamespace(t, f.ns+"l", src, true)
		} else {
			settle = max(settle, f.settle)
			kaDiffNamespace(t, f.ns, src, false)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("no LVS file in %s", corpus)
	}
	start := time.Now()
	var refused sync.WaitGroup
	for _, f := range files {
		if f.refused && f.settle <= kaDiffMaxRefused {
			refused.Go(func() { f.runRefused(t, ka, lvsd, dir) })
		}
	}
	settle = min(settle, kaDiffMaxSettle)
	for _, bin := range []string{ka, lvsd} {
		var stops []func()
		var started []*kaDiffFile
		for _, f := range files {
			if !f.refused {
				stops = append(stops, kaDiffRun(t, bin, f, f.ns, dir))
				started = append(started, f)
			}
		}
		kaDiffReady(t, dir, []string{bin}, started)
		time.Sleep(settle)
		for _, f := range files {
			if !f.refused {
				f.tables[bin] = kaDiffTable(f.ns)
			}
		}
		var wg sync.WaitGroup
		for _, stop := range stops {
			wg.Go(stop)
		}
		wg.Wait()
	}
	refused.Wait()
	t.Logf("the differential took %v", time.Since(start).Round(time.Second))
	same, compared := 0, 0
	for _, f := range files {
		f.mu.Lock()
		kt, lt := f.tables[ka], f.tables[lvsd]
		f.mu.Unlock()
		if limit := map[bool]time.Duration{false: settle, true: kaDiffMaxRefused}[f.refused]; f.settle > limit {
			t.Logf("%s: not compared: its checks need %v to settle, beyond %v", f.name, f.settle, limit)
			continue
		}
		if f.refused {
			t.Logf("%s: run in refusing namespaces, both daemons at once (settled after %v)", f.name, f.settle)
		}
		compared++
		switch {
		case kt == lt:
			same++
			t.Logf("%s: the same table (%d services, %d destinations)", f.name, strings.Count(kt, "\n")-strings.Count(kt, "  -> ")-1, strings.Count(kt, "  -> "))
		case kaDiffKnown[f.name] != "":
			t.Logf("%s: differs, known: %s", f.name, kaDiffKnown[f.name])
		default:
			log, _ := os.ReadFile(filepath.Join(dir, f.name+"-"+filepath.Base(lvsd)+".log"))
			t.Errorf("%s: lvsd's table differs from keepalived's\nkeepalived:\n%s\nlvsd:\n%s\nlvsd's log:\n%s", f.name, kt, lt, log)
		}
	}
	t.Logf("▶ %d of %d LVS files of the corpus compared give keepalived 2.2.7's ipvsadm -Ln (checks settled after %v; %d not compared)", same, compared, settle, len(files)-compared)
}
