package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/kadiff"
	"golang.org/x/sys/unix"
)

// The differential harness: keepalived 2.2.7 and lvsd read the same
// keepalived.conf files, and what each does is compared.
//
//  1. `-t` exit codes, in a namespace holding the links the files name.
//  2. The VRRP instances each daemon starts and the adverts each sends
//     (VRID, priority, interval, authentication, addresses), read off the
//     wire by a packet socket on the far side of every link (package
//     kadiff, which the VM's harness shares: the files whose keepalived
//     VRRP process needs IPVS are run there, TestIPVSInVM's
//     TestLvsdKeepalivedCorpusAdverts).
//
// The corpus is integration/testdata/keepalived-corpus (every leniency rule
// of docs/keepalived.md, and real-world-shaped files: 1.x configs, copied
// tutorials, stray braces, legacy keywords) and, when present, the
// keepalived samples the team shares (../shared/compat/keepalived-samples).
// A file on which the two differ fails the test unless kaKnownDifferences
// (-t) or kaKnownAdverts (runs) names it with what differs and why; a
// file named there that no longer differs so fails too.

// kaDiffCorpus lists the corpus files.
func kaDiffCorpus(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/keepalived-corpus/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	dir := os.Getenv("LVSD_KEEPALIVED_SAMPLES") // default: the team's shared copy
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "compat", "keepalived-samples")
	}
	samples, _ := filepath.Glob(filepath.Join(dir, "keepalived.conf.*"))
	files = append(files, samples...)
	// LVSD_KA_CORPUS_MATCH narrows the corpus to the files whose name matches
	// the glob (e.g. "track-*"), for a quick run.
	if pattern := os.Getenv("LVSD_KA_CORPUS_MATCH"); pattern != "" {
		files = slices.DeleteFunc(files, func(f string) bool {
			ok, _ := filepath.Match(pattern, filepath.Base(f))
			return !ok
		})
	}
	return files
}

// kaTDifference is a file on which lvsd's -t returns another status than
// keepalived 2.2.7's, on purpose: both statuses (a status above 128 is
// death by signal 128-N, as the shell shows it) and why.
type kaTDifference struct {
	keepalived, lvsd int
	why              string
	// keepalivedLogs is what keepalived's own run of the file (the
	// adverts step) logs that gives lvsd's status.
	keepalivedLogs string
}

// kaKnownDifferences are the files whose -t differs; every other file
// must agree, and a file named here must still differ exactly so.
var kaKnownDifferences = map[string]kaTDifference{
	"script-user-nobody.conf": {128 + int(syscall.SIGTERM), 6, "keepalived 2.2.7's -t kills itself with SIGTERM when it checks a script as another user " +
		"(lib/notify.c check_script_secure: main_pid is unset under -t; fixed in 2.2.8, aae8e910); lvsd exits 6, the SECURITY VIOLATION keepalived's VRRP process logs for the file",
		"SECURITY VIOLATION - scripts are being executed but script_security not enabled."},
}

// kaRunDifference is a file on which the daemons differ on purpose when
// they run it: whether each starts VRRP instances, whether the adverts
// read off the wire differ, what lvsd must warn (FILE:LINE and the
// consequence), and why.
type kaRunDifference struct {
	kaInstances, lvInstances bool
	advertsDiffer            bool
	lvsdWarns                string
	why                      string
}

// kaKnownAdverts are the files whose -t agrees and whose runs differ; a
// file named here must still differ exactly so.
var kaKnownAdverts = map[string]kaRunDifference{
	"net-unicast-ttl.conf": {kaInstances: true, lvInstances: true, advertsDiffer: true,
		lvsdWarns: "net-unicast-ttl.conf:12: warning: (VI_1): Cannot use unicast_ttl without unicast peers - resetting; " + kaUnicastTTLConsequence,
		why: "unicast_ttl without unicast peers: keepalived 2.2.7 resets it to 0 (vrrp_parser.c), so its multicast adverts never leave the host " +
			"(the kernel drops a multicast of TTL 0) and a BACKUP peer takes over; lvsd resets it to the RFC's 255 and warns"},
	"track-interface-missing.conf": {kaInstances: false, lvInstances: true,
		why: "a tracked interface that does not exist: keepalived's VRRP process stops (Non-existent interface specified in configuration) " +
			"and keepalived terminates; lvsd runs the instance in FAULT until the interface appears. Neither advertises"},
}

// kaDiffNamespace makes a namespace with kadiff.Links (eth0 10.99.0.1/24,
// eth1 10.99.1.1/24, ...; peers pN) and, where the kernel has VLANs,
// eth0.1; it is removed at cleanup.
func kaDiffNamespace(t *testing.T, name string) {
	t.Helper()
	if err := kadiff.Namespace(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kadiff.DeleteNamespace(name) })
}

// kaUnicastTTLConsequence is what lvsd adds to keepalived's warning about
// unicast_ttl without unicast peers (hcl/keepalived_vrrp_net.go).
const kaUnicastTTLConsequence = "lvsd advertises with TTL 255 (RFC 3768 §5.2.3); keepalived 2.2.7 resets it to 0, " +
	"so its multicast adverts never leave the host and a BACKUP peer takes over"

// kaExit runs a command in ns and returns its exit status, 128+N for a
// death by signal N (as the shell shows it), -1 when it did not end
// within limit.
func kaExit(ns string, limit time.Duration, args ...string) (int, string) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return -1, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return 128 + int(ws.Signal()), out.String() + "\n(killed by " + unix.SignalName(ws.Signal()) + ")"
			}
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			return -1, err.Error()
		}
		return 0, out.String()
	case <-time.After(limit):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return -1, out.String() + "\n(timed out)"
	}
}

// kaStatus names an exit status of kaExit.
func kaStatus(code int) string {
	switch {
	case code < 0:
		return "did not end"
	case code > 128:
		return "killed by " + unix.SignalName(syscall.Signal(code-128))
	}
	return fmt.Sprint(code)
}

func requireDiffTools(t *testing.T) string {
	t.Helper()
	requireNetns(t)
	requireKeepalived(t)
	bin := lvsdBinary(t)
	if bin == "" {
		t.Skip("needs the lvsd binary")
	}
	return bin
}

// TestKeepalivedDiffConfigTest compares `-t` exit codes file by file.
func TestKeepalivedDiffConfigTest(t *testing.T) {
	bin := requireDiffTools(t)
	ns := fmt.Sprintf("kdt%d", os.Getpid()%100000)
	kaDiffNamespace(t, ns)
	files := kaDiffCorpus(t)
	agree, known := 0, 0
	var report []string
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		ka, kaOut := kaExit(ns, 10*time.Second, "keepalived", "-t", "-l", "-n", "-f", abs)
		lv, lvOut := kaExit(ns, 10*time.Second, bin, "-t", "-f", abs)
		name := filepath.Base(f)
		line := fmt.Sprintf("%-45s keepalived %s  lvsd %s", name, kaStatus(ka), kaStatus(lv))
		d, named := kaKnownDifferences[name]
		switch {
		case ka == lv && !named:
			agree++
		case ka == lv:
			line += "  AGREES, yet named as a difference"
			t.Errorf("%s: keepalived and lvsd -t both exit %s; kaKnownDifferences names it (%s): drop it", name, kaStatus(ka), d.why)
		case named && d.keepalived == ka && d.lvsd == lv:
			known++
			line += "  known: " + d.why
		default:
			line += "  DIFFERS"
			t.Errorf("%s: keepalived -t: %s, lvsd -t: %s\nkeepalived:\n%s\nlvsd:\n%s", name, kaStatus(ka), kaStatus(lv), tail(kaOut, 15), tail(lvOut, 15))
		}
		report = append(report, line)
	}
	t.Logf("-t exit codes agree on %d of %d files (%d known differences):\n%s", agree, len(files), known, strings.Join(report, "\n"))
}

// TestKeepalivedDiffAdverts runs keepalived and lvsd (VRRP side, -P) on
// every file, each alone in its own namespace, and compares whether each
// runs VRRP instances and the adverts each sends once every instance has
// had its Master_Down_Interval (3 × advert_int + skew) to become MASTER.
// The files whose keepalived VRRP process needs IPVS (kadiff.NeedsIPVS)
// are compared in the VM (TestIPVSInVM/scenarios/TestLvsdKeepalivedCorpusAdverts),
// with the same kadiff.Run.
func TestKeepalivedDiffAdverts(t *testing.T) {
	bin := requireDiffTools(t)
	files := kaDiffCorpus(t)
	// advert_int 1 in most of the corpus: 3.6 s to MASTER, then
	// kadiff.Steady of adverts, and a margin for a loaded machine.
	const runFor = 8 * time.Second
	type result struct {
		name   string
		ipvs   bool // compared in the VM
		ka, lv kadiff.Result
	}
	results := make([]result, len(files))
	sem := make(chan struct{}, 8) // daemons in flight: 2 per file
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i, f := range files {
		abs, _ := filepath.Abs(f)
		src, err := os.ReadFile(abs)
		if err != nil {
			t.Fatal(err)
		}
		r := &results[i]
		r.name, r.ipvs = filepath.Base(f), kadiff.NeedsIPVS(src)
		if r.ipvs {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var inner sync.WaitGroup
			for _, run := range []struct {
				ns, daemon string
				into       *kadiff.Result
			}{{fmt.Sprintf("kdk%d%d", os.Getpid()%1000, i), "keepalived", &r.ka}, {fmt.Sprintf("kdl%d%d", os.Getpid()%1000, i), bin, &r.lv}} {
				inner.Go(func() {
					res, err := kadiff.Run(run.ns, dir, runFor, run.daemon, abs)
					if err != nil {
						t.Errorf("%s: %s: %v", r.name, run.daemon, err)
					}
					*run.into = res
				})
			}
			inner.Wait()
		})
	}
	wg.Wait()
	agree, known, inVM, instances, silent := 0, 0, 0, 0, 0
	var report []string
	for _, r := range results {
		if r.ipvs {
			inVM++
			report = append(report, fmt.Sprintf("%-45s compared in the VM: keepalived's VRRP process needs IPVS (lvs_sync_daemon)", r.name))
			continue
		}
		instances += len(r.ka.Adverts)
		kaIn, lvIn := r.ka.Instances(), r.lv.Instances()
		advertsDiffer := !slices.Equal(r.ka.Adverts, r.lv.Adverts)
		line := fmt.Sprintf("%-45s keepalived %d adverts, lvsd %d", r.name, len(r.ka.Adverts), len(r.lv.Adverts))
		if kaIn != lvIn {
			line += fmt.Sprintf("; VRRP instances running: keepalived %v, lvsd %v", kaIn, lvIn)
		}
		if !advertsDiffer {
			line += "; the same adverts"
		}
		if d, ok := kaKnownDifferences[r.name]; ok && d.keepalivedLogs != "" && !strings.Contains(r.ka.Log, d.keepalivedLogs) {
			t.Errorf("%s: keepalived does not log %q, which lvsd's -t status (%d) stands on\nkeepalived log:\n%s", r.name, d.keepalivedLogs, d.lvsd, tail(r.ka.Log, 12))
		}
		d, named := kaKnownAdverts[r.name]
		switch {
		case strings.Contains(r.ka.Log, "Can't initialize ipvs"):
			line += "  NOT COMPARED"
			t.Errorf("%s: keepalived's VRRP process needs IPVS, which this kernel lacks, and kadiff.NeedsIPVS does not send the file to the VM", r.name)
		case kaIn == lvIn && !advertsDiffer && !named:
			agree++
			if len(r.ka.Adverts) == 0 {
				silent++
				line += " (neither advertised)"
			}
		case kaIn == lvIn && !advertsDiffer:
			line += "  AGREES, yet named as a difference"
			t.Errorf("%s: both daemons run alike; kaKnownAdverts names it (%s): drop it", r.name, d.why)
		case named && d.kaInstances == kaIn && d.lvInstances == lvIn && d.advertsDiffer == advertsDiffer:
			known++
			line += "  known: " + d.why
			if d.lvsdWarns != "" && !strings.Contains(r.lv.Log, d.lvsdWarns) {
				t.Errorf("%s: lvsd does not warn %q\nlvsd log:\n%s", r.name, d.lvsdWarns, tail(r.lv.Log, 12))
			}
		default:
			line += "  DIFFERS"
			t.Errorf("%s: VRRP instances running: keepalived %v, lvsd %v; adverts\nkeepalived: %v\nlvsd:       %v\nkeepalived log:\n%s\nlvsd log:\n%s",
				r.name, kaIn, lvIn, r.ka.Adverts, r.lv.Adverts, tail(r.ka.Log, 12), tail(r.lv.Log, 12))
		}
		report = append(report, line)
	}
	t.Logf("instances and adverts agree on %d of %d files here (%d of them with no advert from either daemon; %d known differences; "+
		"keepalived advertised %d distinct instances); %d more are compared in the VM:\n%s",
		agree, len(files)-inVM, silent, known, instances, inVM, strings.Join(report, "\n"))
}
