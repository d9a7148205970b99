package scenarios

import (
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ipvsadmRules is a table with every kind of service ipvsadm -R reads:
// persistence with a netmask, thresholds, a weight 0, one-packet UDP, an
// IPv6 service with sh flags, fwmark services of both families, and a
// service written with service names as `ipvsadm -S` without -n prints it.
const ipvsadmRules = `-A -t 10.9.1.100:80 -s wlc -p 300 -M 255.255.255.0
-a -t 10.9.1.100:80 -r 10.9.1.11:80 -g -w 3
-a -t 10.9.1.100:80 -r 10.9.1.12:80 -g -w 0 -x 100 -y 10
-A -u 10.9.1.100:53 -s rr -o
-a -u 10.9.1.100:53 -r 10.9.1.11:5353 -m -w 2
-A -t [fd00:9::100]:443 -s sh -b sh-fallback,sh-port
-a -t [fd00:9::100]:443 -r [fd00:9::11]:443 -i -w 1
-A -f 7 -s wrr
-a -f 7 -r 10.9.1.13:0 -m -w 1
-A -f 8 -6 -s mh -b mh-port -p 60
-a -f 8 -6 -r fd00:9::12 -g -w 1
-A -t 10.9.1.101:http -s rr
-a -t 10.9.1.101:http -r 10.9.1.14:http -m -w 1
`

// rulesTable is a namespace's table as ipvsadm -S -n prints it, sorted
// (ipvsadm lists services in hash order), and as ipvsadm -Ln shows it.
func rulesTable(l *lab, ns string) string {
	lines := strings.Split(strings.TrimSpace(l.in(ns, "/sbin/ipvsadm", "-S", "-n")), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n" + canonicalTable(l.in(ns, "/sbin/ipvsadm", "-Ln"))
}

// startLvsd runs `lvsd run -f cfg` in namespace ns until the test ends.
func startLvsd(t *testing.T, ns, cfg string) (stop func() string, proc *os.Process) {
	t.Helper()
	return startDaemon(t, ns, os.Getenv("LVSD_BIN"), "run", "-f", cfg)
}

// startDaemon runs argv in namespace ns until the test ends; stop sends
// SIGTERM, waits and returns its output. ip netns exec execs the program,
// so proc is the daemon itself (SIGHUP reloads it).
func startDaemon(t *testing.T, ns string, argv ...string) (stop func() string, proc *os.Process) {
	t.Helper()
	run := exec.Command("/sbin/ip", append([]string{"netns", "exec", ns}, argv...)...)
	log := &strings.Builder{}
	run.Stdout, run.Stderr = log, log
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() string {
		if !stopped {
			stopped = true
			run.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { run.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				run.Process.Kill()
				<-done
			}
		}
		return log.String()
	}
	t.Cleanup(func() { stop() })
	return stop, run.Process
}

// waitTable polls until read() returns want, for at most d.
func waitTable(t *testing.T, d time.Duration, read func() string, want string) string {
	t.Helper()
	var got string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = read(); got == want {
			return got
		}
	}
	return got
}

// TestLvsdRunsIpvsadmRulesAsIpvsadmRestores (issue 17): the same rules
// file given to `ipvsadm -R` in one namespace and to `lvsd run -f` in
// another gives the same table; that table saved with `ipvsadm -S -n`,
// converted by `lvsd convert` and run again gives it once more.
func TestLvsdRunsIpvsadmRulesAsIpvsadmRestores(t *testing.T) {
	requireGuest(t)
	if os.Getenv("LVSD_BIN") == "" {
		t.Skip("no lvsd binary in the guest (set by integration/ipvs_vm_test.go)")
	}
	l := &lab{t: t}
	t.Cleanup(l.close)
	nsRef, nsLvsd, nsBack := "lvsd-rules-ref", "lvsd-rules", "lvsd-rules-back"
	for _, ns := range []string{nsRef, nsLvsd, nsBack} {
		l.ip("netns", "add", ns)
		l.created = append(l.created, ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	// ipvsadm -R resolves service names through /etc/services, which the
	// guest's initramfs lacks; lvsd's reader has Go's built-in table too.
	if _, err := os.Stat("/etc/services"); os.IsNotExist(err) {
		if err := os.WriteFile("/etc/services", []byte("http\t\t80/tcp\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove("/etc/services") })
	}
	dir := t.TempDir()
	rules := filepath.Join(dir, "ipvsadm.rules")
	if err := os.WriteFile(rules, []byte(ipvsadmRules), 0o644); err != nil {
		t.Fatal(err)
	}
	restore := exec.Command("/sbin/ip", "netns", "exec", nsRef, "/sbin/ipvsadm", "-R")
	restore.Stdin = strings.NewReader(ipvsadmRules)
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("ipvsadm -R: %v: %s", err, out)
	}
	want := rulesTable(l, nsRef)
	t.Logf("▶ ipvsadm -R gives:\n%s", want)

	stop, _ := startLvsd(t, nsLvsd, rules)
	if got := waitTable(t, 20*time.Second, func() string { return rulesTable(l, nsLvsd) }, want); got != want {
		t.Fatalf("lvsd run -f ipvsadm.rules gives:\n%s\nipvsadm -R gives:\n%s\nlvsd's log:\n%s", got, want, stop())
	}
	t.Logf("▶ lvsd run -f ipvsadm.rules: the same table")

	// ipvsadm -S -n of lvsd's table, converted to HCL, runs to the same table.
	saved := filepath.Join(dir, "saved")
	if err := os.WriteFile(saved, []byte(l.in(nsLvsd, "/sbin/ipvsadm", "-S", "-n")), 0o644); err != nil {
		t.Fatal(err)
	}
	stop()
	out, err := exec.Command(os.Getenv("LVSD_BIN"), "convert", saved).Output()
	if err != nil {
		t.Fatalf("lvsd convert %s: %v", saved, err)
	}
	converted := filepath.Join(dir, "converted.hcl")
	if err := os.WriteFile(converted, out, 0o644); err != nil {
		t.Fatal(err)
	}
	stop, _ = startLvsd(t, nsBack, converted)
	if got := waitTable(t, 20*time.Second, func() string { return rulesTable(l, nsBack) }, want); got != want {
		t.Fatalf("ipvsadm -S -n → lvsd convert → lvsd run gives:\n%s\nwant:\n%s\nHCL:\n%s\nlvsd's log:\n%s", got, want, out, stop())
	}
	t.Logf("▶ ipvsadm -S -n → lvsd convert → lvsd run: the same table")
}

// ldirectordLab is the lab's ldirectord.cf with every kind of check and
// table setting (testdata/ldirectord-lab.cf).
//
//go:embed testdata/ldirectord-lab.cf
var ldirectordLab []byte

// ldirectordCf is the LVS material's ldirectord.cf on the lab (a DR web
// service negotiated with request="index.html", the director as the
// fallback), with a connect-checked service beside it whose second real
// server does not exist.
const ldirectordCf = `checktimeout=2
checkinterval=1
autoreload=no
logfile="local0"
quiescent=%QUIESCENT%

virtual=10.0.0.100:80
	real=10.0.0.11:80 gate
	real=10.0.0.12:80 gate
	fallback=127.0.0.1:80 gate
	service=http
	request="index.html"
	receive="Test Page"
	scheduler=rr
	protocol=tcp
	checktype=negotiate

virtual=10.0.0.101:80
	real=10.0.0.11:80 gate
	real=10.0.0.13:80 gate
	checktype=connect
`

// TestLvsdRunsTheLVSMaterialsLdirectordCf (issue 17): lvsd run -f
// ldirectord.cf programs the table ldirectord's semantics give: real
// servers whose page matches receive, none that does not answer; a page
// that stops matching takes its real server out (quiescent=no) or to
// weight 0 (quiescent=yes, after a reload, which also keeps the real server
// that never answered at weight 0); with every real server gone,
// the fallback is in the table and serves; one page back, it leaves. Then
// testdata/ldirectord-lab.cf, which has every kind of check, gives the
// table ldirectord's semantics give. With ldirectord in the guest
// (LDIRECTORD_BIN), ldirectord itself runs the same steps first and must
// give every table of the LVS material's file.
func TestLvsdRunsTheLVSMaterialsLdirectordCf(t *testing.T) {
	if os.Getenv("LVSD_BIN") == "" {
		requireGuest(t)
		t.Skip("no lvsd binary in the guest (set by integration/ipvs_vm_test.go)")
	}
	l := newLab(t)
	// The fallback: the director's own httpd (LVS local delivery to 127.0.0.1).
	l.startHTTPD("lvsd-dir")
	type daemon struct {
		name  string
		start func(t *testing.T, cfg string) (func() string, *os.Process)
	}
	var daemons []daemon
	if bin := os.Getenv("LDIRECTORD_BIN"); bin != "" {
		// ldirectord itself first: the reference every table is checked
		// against, then lvsd must give the same ones.
		for _, d := range []string{"/var/run", "/var/log"} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		daemons = append(daemons, daemon{"ldirectord", func(t *testing.T, cfg string) (func() string, *os.Process) {
			return startDaemon(t, "lvsd-dir", "/usr/bin/perl", bin, "-d", cfg, "start")
		}})
	} else {
		t.Log("▶ no ldirectord in the guest: the tables below are ldirectord's semantics, not a run of it")
	}
	daemons = append(daemons, daemon{"lvsd", func(t *testing.T, cfg string) (func() string, *os.Process) {
		return startLvsd(t, "lvsd-dir", cfg)
	}})
	for _, d := range daemons {
		t.Run(d.name, func(t *testing.T) { ldirectordSequence(t, l, d.start) })
	}
}

// ldirectordSequence runs the steps of TestLvsdRunsTheLVSMaterialsLdirectordCf
// with one daemon (ldirectord or lvsd) reading the files.
func ldirectordSequence(t *testing.T, l *lab, start func(t *testing.T, cfg string) (func() string, *os.Process)) {
	page := func(rs, text string) {
		t.Helper()
		if err := os.WriteFile("/srv/"+rs+"/index.html", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l.ipvsadm("-C")
	page("rs1", "rs1 Test Page")
	page("rs2", "rs2 Test Page")
	page("lvsd-dir", "fallback")
	t.Cleanup(func() { page("rs1", "rs1"); page("rs2", "rs2") })

	dir := t.TempDir()
	cfg := filepath.Join(dir, "ldirectord.cf")
	write := func(quiescent string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(ldirectordCf, "%QUIESCENT%", quiescent)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("no")
	stop, proc := start(t, cfg)
	step := func(name, want string) {
		t.Helper()
		// ldirectord (perl under emulation, on a shared machine) may take
		// tens of seconds to start, and checks one real server after the
		// other: on the lab's corpus a round takes tens of seconds.
		wait := 60 * time.Second
		if strings.Contains(name, "lab") {
			wait = 90 * time.Second
		}
		if got := waitTable(t, wait, l.table, want); got != want {
			t.Fatalf("%s: table\n%s\nwant (ldirectord's semantics)\n%s\nthe daemon's log:\n%s", name, got, want, stop())
		}
		t.Logf("▶ %s:\n%s", name, want)
	}
	step("both pages match receive; 10.0.0.13 never answers", `TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.12:80 Route 1
TCP 10.0.0.101:80 wrr
  -> 10.0.0.11:80 Route 1
`)
	if got := l.pages(vipDR, 80, 4); !slices.Contains(got, "rs1 Test Page") || !slices.Contains(got, "rs2 Test Page") {
		t.Errorf("pages through the VIP: %q", got)
	}

	page("rs2", "rs2 is broken")
	step("rs2's page stops matching, quiescent=no: rs2 leaves", `TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 1
TCP 10.0.0.101:80 wrr
  -> 10.0.0.11:80 Route 1
`)

	write("yes")
	if err := proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	step("reloaded with quiescent=yes: rs2 and the silent 10.0.0.13 at weight 0, as ld_start() quiesces them", `TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.12:80 Route 0
TCP 10.0.0.101:80 wrr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.13:80 Route 0
`)

	page("rs1", "rs1 is broken")
	step("no page matches: the fallback serves", `TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 0
  -> 10.0.0.12:80 Route 0
  -> 127.0.0.1:80 Route 1
TCP 10.0.0.101:80 wrr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.13:80 Route 0
`)
	if got := l.pages(vipDR, 80, 2); got[0] != "fallback" || got[1] != "fallback" {
		t.Errorf("pages through the VIP with every real server down: %q, want the fallback's", got)
	}

	page("rs1", "rs1 Test Page")
	step("rs1 matches again: the fallback leaves", `TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.12:80 Route 0
TCP 10.0.0.101:80 wrr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.13:80 Route 0
`)

	// The lab's corpus, unchanged: every kind of check and table setting,
	// against real servers that answer, that answer the wrong page and
	// that do not exist.
	stop()
	l.ipvsadm("-C")
	page("rs1", "rs1")
	page("rs2", "rs2")
	// ldirectord's ping check (Net::Ping) looks icmp up in /etc/protocols,
	// which the guest's initramfs lacks.
	if _, err := os.Stat("/etc/protocols"); os.IsNotExist(err) {
		if err := os.WriteFile("/etc/protocols", []byte("icmp\t1\tICMP\ntcp\t6\tTCP\nudp\t17\tUDP\nipv6-icmp\t58\tIPv6-ICMP\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove("/etc/protocols") })
	}
	labCf := filepath.Join(dir, "ldirectord-lab.cf")
	if err := os.WriteFile(labCf, ldirectordLab, 0o644); err != nil {
		t.Fatal(err)
	}
	stop, _ = start(t, labCf)
	step("testdata/ldirectord-lab.cf", `FWM 42 rr
  -> 10.0.0.11:0 Route 1
  -> 10.0.0.12:0 Route 1
TCP 10.0.0.120:80 wlc persistent 300 mask 255.255.255.0
  -> 10.0.0.11:80 Route 2
TCP 10.0.0.121:8080 rr
  -> 10.0.0.11:80 Masq 1
  -> 10.0.0.13:80 Masq 0
TCP 10.0.0.122:80 wrr
  -> 10.0.0.11:80 Route 1
TCP 10.0.0.123:80 wrr
  -> 10.0.0.11:80 Route 1
TCP 10.0.0.124:80 wrr
  -> 10.0.0.12:80 Route 1
TCP 10.0.0.125:80 wrr
  -> 10.0.0.14:80 Tunnel 4
TCP 10.0.0.126:80 wrr
  -> 127.0.0.1:80 Route 1
TCP [fd00:10::120]:80 wrr
  -> [fd00:10::12]:80 Route 1
`)
}
