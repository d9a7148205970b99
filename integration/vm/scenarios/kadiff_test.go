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
// time its settings give it to go down, `ipvsadm -Ln` of the two daemons
// must be the same: real servers removed or inhibited, sorry servers
// active where quorum is lost, the services of virtual_server_groups.

// kaDiffKnown names the files whose tables still differ, with why.
var kaDiffKnown = map[string]string{}

// kaDiffMaxSettle bounds the wait: a file whose checks need longer (an
// SMTP_CHECK sample with 30 s timeouts: 2m40s) is not compared, since its
// checks are still on their random first rounds (warmup) at this point.
const kaDiffMaxSettle = 40 * time.Second

// kaDiffFile is one corpus file in its namespace.
type kaDiffFile struct {
	name, path, ns string
	settle         time.Duration
	tables         map[string]string // daemon -> canonical table
}

// kaDiffSettle is how long after start the slowest check of cfg has had
// to fail: its warmup (at most its delay_loop) and 1+retry attempts of
// connect_timeout (misc_timeout) spaced by delay_before_retry.
func kaDiffSettle(cfg *hcl.Config) time.Duration {
	var worst time.Duration
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			for _, c := range rs.Checkers {
				timeout := c.Timeout
				if c.Kind == hcl.CheckMisc {
					timeout = c.MiscTimeout
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
// routes, and a dummy link with an address for every interface the file
// names.
func kaDiffNamespace(t *testing.T, ns string, src []byte) {
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
	run("-n", ns, "route", "add", "default", "dev", "sink")
	run("-n", ns, "-6", "route", "add", "default", "dev", "sink")
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
// line) on f in its namespace and returns a stop function.
func kaDiffRun(t *testing.T, bin string, f *kaDiffFile, dir string) func() {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, f.name+"-"+filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	pid := func(s string) string { return filepath.Join(dir, f.name+"-"+filepath.Base(bin)+"-"+s+".pid") }
	cmd := exec.Command("/sbin/ip", "netns", "exec", f.ns, bin, "-n", "-l", "-D", "-f", f.path, "-p", pid("main"), "-r", pid("vrrp"), "-c", pid("checkers"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s on %s: %v", bin, f.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		exec.Command("/sbin/ip", "netns", "exec", f.ns, "/sbin/ipvsadm", "-C").Run()
	}
}

func kaDiffTable(ns string) string {
	out, _ := exec.Command("/sbin/ip", "netns", "exec", ns, "/sbin/ipvsadm", "-Ln").CombinedOutput()
	return canonicalTable(string(out))
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
		f := &kaDiffFile{name: filepath.Base(p), path: p, ns: fmt.Sprintf("kadiff%d", i), tables: map[string]string{}}
		if cfg != nil {
			f.settle = kaDiffSettle(cfg)
		} else {
			t.Logf("%s: lvsd refuses it: %v", f.name, diags.Errors())
		}
		settle = max(settle, f.settle)
		kaDiffNamespace(t, f.ns, src)
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("no LVS file in %s", corpus)
	}
	settle = min(settle, kaDiffMaxSettle)
	for _, bin := range []string{ka, lvsd} {
		var stops []func()
		for _, f := range files {
			stops = append(stops, kaDiffRun(t, bin, f, dir))
		}
		time.Sleep(settle)
		for _, f := range files {
			f.tables[bin] = kaDiffTable(f.ns)
		}
		var wg sync.WaitGroup
		for _, stop := range stops {
			wg.Go(stop)
		}
		wg.Wait()
	}
	same, compared := 0, 0
	for _, f := range files {
		kt, lt := f.tables[ka], f.tables[lvsd]
		if f.settle > settle {
			t.Logf("%s: not compared: its checks need %v to settle, beyond %v", f.name, f.settle, settle)
			continue
		}
		compared++
		switch {
		case kt == lt:
			same++
			t.Logf("%s: the same table (%d services, %d destinations)", f.name, strings.Count(kt, "\n")-strings.Count(kt, "  -> "), strings.Count(kt, "  -> "))
		case kaDiffKnown[f.name] != "":
			t.Logf("%s: differs, known: %s", f.name, kaDiffKnown[f.name])
		default:
			log, _ := os.ReadFile(filepath.Join(dir, f.name+"-"+filepath.Base(lvsd)+".log"))
			t.Errorf("%s: lvsd's table differs from keepalived's\nkeepalived:\n%s\nlvsd:\n%s\nlvsd's log:\n%s", f.name, kt, lt, log)
		}
	}
	t.Logf("▶ %d of %d LVS files of the corpus compared give keepalived 2.2.7's ipvsadm -Ln (checks settled after %v; %d not compared)", same, compared, settle, len(files)-compared)
}
