package scenarios

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The keepalived migration path (issue 7): lvsd run with keepalived's
// command line on the unchanged keepalived.conf files of the pair
// (`lvsd -n -l -D -f X.conf -p/-r/-c PIDFILE`, as the keepalived pair
// runs), and a keepalived pair replaced by lvsd one node at a time while
// the client runs. These directors are pairLabs with daemon "keepalived"
// (keepalived's files and command line); the binary is lvsd or keepalived
// per director, and the state is read as for keepalived (the VIP on eth0),
// since lvsd's control socket on keepalived.conf is the default
// /run/lvsd/lvsd.sock, shared by every namespace of the guest.

// pairWant2 is the table both directors program from keepalivedConfig
// with two real servers (keepalived programs IPVS on the backup too).
const pairWant2 = "TCP " + pairVIP + ":80 rr\n  -> 10.0.0.11:80 Route 1\n  -> 10.0.0.12:80 Route 1\n"

// requireLvsdBin skips outside the VM, and returns LVSD_BIN or skips.
func requireLvsdBin(t *testing.T) string {
	t.Helper()
	requireGuest(t)
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("no lvsd binary in the guest: LVSD_BIN unset (set by integration/pair_vm_test.go)")
	}
	return bin
}

// newMixedPairLab is a pair lab whose two directors run keepalived 2.2.7,
// with the path of the lvsd binary for the test to put in one of them; it
// skips the test where the guest has no keepalived or no lvsd.
func newMixedPairLab(t *testing.T) (p *pairLab, lvsd string) {
	t.Helper()
	lvsd = requireLvsdBin(t)
	ka := os.Getenv("KEEPALIVED_BIN")
	if ka == "" {
		t.Skip("no keepalived in the guest: KEEPALIVED_BIN unset (apt-get install keepalived on the host)")
	}
	return newPairLab(t, "keepalived", ka), lvsd
}

// waitLog waits until d's log, from byte offset from on, contains s.
func (p *pairLab) waitLog(d *pairDirector, from int, s string, within time.Duration) {
	p.t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if log := p.logOf(d); len(log) >= from && strings.Contains(log[from:], s) {
			return
		}
	}
	p.t.Fatalf("%s: no %q in the log within %v; log:\n%s", d.name, s, within, p.logOf(d))
}

// waitTable waits until d's IPVS table is want.
func (p *pairLab) waitTable(d *pairDirector, want string, within time.Duration) {
	p.t.Helper()
	var got string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = p.table(d); got == want {
			return
		}
	}
	p.t.Fatalf("ipvsadm -Ln in %s:\n%s\nwant:\n%s\nlog:\n%s", d.name, got, want, p.logOf(d))
}

// firstErr is w's first failure for the narrative, or "".
func firstErr(w window) string {
	if w.failed == 0 {
		return ""
	}
	return " (first failure: " + w.firstErr + ")"
}

// stateLines returns the lines of d's log from byte offset from on that
// record a VRRP state change (lvsd's "VRRP state change", keepalived's
// "Entering ... STATE").
func (p *pairLab) stateLines(d *pairDirector, from int) []string {
	log := p.logOf(d)
	if from > len(log) {
		from = len(log)
	}
	var out []string
	for _, l := range strings.Split(log[from:], "\n") {
		if strings.Contains(l, "VRRP state change") || strings.Contains(l, "STATE") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// wireComplaint matches what either daemon logs about a peer's VRRP
// packets it does not like: lvsd's dropped packets and address-list
// warning, keepalived's "bogus", "invalid ...", "... mismatch" and
// "... not present in MASTER advert".
var wireComplaint = regexp.MustCompile(`(?i)dropped VRRP packet|other virtual addresses|bogus|invalid|mismatch|not present`)

// complaints returns the lines of d's log from byte offset from on that
// complain about the peer's packets.
func (p *pairLab) complaints(d *pairDirector, from int) []string {
	log := p.logOf(d)
	if from > len(log) {
		from = len(log)
	}
	var out []string
	for _, l := range strings.Split(log[from:], "\n") {
		if wireComplaint.MatchString(l) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// TestPairKeepalivedConfRunsAPair runs both directors as `lvsd -n -f` on
// the keepalived.conf files the keepalived pair uses, unchanged: the
// client is served through the VIP, both IPVS tables are what keepalived
// programs, and a SIGTERM of the master moves the VIP within Skew_Time +
// 1 s.
func TestPairKeepalivedConfRunsAPair(t *testing.T) {
	lvsd := requireLvsdBin(t)
	p := newPairLab(t, "keepalived", lvsd)
	d1, d2 := p.dirs[0], p.dirs[1]
	pr := p.upPair()
	for _, d := range p.dirs {
		got, err := os.ReadFile(d.cfgPath())
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != p.keepalivedConfig(d, 2) {
			t.Errorf("%s is not the keepalived pair's file:\n%s", d.cfgPath(), got)
		}
		// In the director's namespace, where the interfaces the file
		// names exist: -t checks them, as keepalived's does.
		out, err := exec.Command("/sbin/ip", "netns", "exec", d.name, lvsd, "-t", "-f", d.cfgPath()).CombinedOutput()
		if err != nil {
			t.Errorf("lvsd -t -f %s: %v: %s", d.cfgPath(), err, out)
		}
	}
	t.Logf("▶ lvsd -n -l -D -f on unchanged keepalived.conf files: %s MASTER (priority %d), %s BACKUP (priority %d); lvsd -t accepts both files; client fetching http://%s/ every %v",
		d1.name, d1.prio, d2.name, d2.prio, pairVIP, probeEvery)
	for _, d := range p.dirs {
		// keepalived programs every virtual server on both directors;
		// lvsd on keepalived.conf does the same (lvs_program "always").
		p.waitTable(d, pairWant2, 30*time.Second)
	}
	t.Logf("▶ ipvsadm -Ln on both directors: %s", strings.ReplaceAll(strings.TrimSpace(pairWant2), "\n", " |"))
	// Whichever lvsd starts second finds the default control socket taken.
	for _, d := range p.dirs {
		for _, l := range strings.Split(p.logOf(d), "\n") {
			if strings.Contains(l, `msg="control socket"`) {
				t.Logf("▶ %s (second lvsd in the guest, /run/lvsd/lvsd.sock taken) runs on: %s", d.name, strings.TrimSpace(l))
			}
		}
	}

	w := p.failover(pr, syscall.SIGTERM)
	bound := d2.skew() + time.Second
	t.Logf("▶ SIGTERM of the master %s: %s took over; client %v%s (bound Skew_Time + 1 s = %v)", d1.name, d2.name, w, firstErr(w), bound)
	if w.gap >= bound {
		t.Errorf("longest gap %v, want under Skew_Time + 1 s = %v", w.gap, bound)
	}
	from := time.Now()
	p.comeBack(pr)
	w = pr.since(from)
	t.Logf("▶ %s restarted and preempted back to MASTER; client %v%s", d1.name, w, firstErr(w))
	if w.gap >= bound {
		t.Errorf("preemption back: longest gap %v, want under %v", w.gap, bound)
	}
}

// TestPairKeepalivedRollingReplacement replaces a running keepalived pair
// by lvsd one node at a time, each node keeping its keepalived.conf: first
// the backup (no failover: nothing the client sees), then the master (one
// SIGTERM failover to the lvsd backup, then lvsd on the old master
// preempts back). The longest gap the client sees across the whole
// replacement stays under one SIGTERM failover bound, Skew_Time + 1 s. A
// SIGTERM failover of the keepalived pair before the replacement is the
// reference measured in the same run.
func TestPairKeepalivedRollingReplacement(t *testing.T) {
	p, lvsd := newMixedPairLab(t)
	a, b := p.dirs[0], p.dirs[1]
	pr := p.upPair()
	bound := b.skew() + time.Second
	t.Logf("▶ keepalived pair up: %s MASTER (priority %d), %s BACKUP (priority %d); client fetching http://%s/ every %v",
		a.name, a.prio, b.name, b.prio, pairVIP, probeEvery)

	// Reference: keepalived A -> keepalived B and back.
	ref := p.failover(pr, syscall.SIGTERM)
	t.Logf("▶ reference, keepalived -> keepalived: SIGTERM of %s, %s took over; client %v%s", a.name, b.name, ref, firstErr(ref))
	from := time.Now()
	p.comeBack(pr)
	refBack := pr.since(from)
	t.Logf("▶ reference: keepalived on %s restarted and preempted back; client %v%s", a.name, refBack, firstErr(refBack))

	pr.settle(t, 10, 30*time.Second)
	start := time.Now()

	// Step 1: B, the backup, from keepalived to lvsd.
	aLog := len(p.logOf(a))
	bLog := len(p.logOf(b))
	from = time.Now()
	p.kill(b, syscall.SIGTERM)
	b.bin = lvsd
	p.start(b)
	p.waitLog(b, bLog, "to=BACKUP", 30*time.Second)
	p.waitTable(b, pairWant2, 30*time.Second)
	// Three advertisements of A's heard by lvsd on B, which stays BACKUP.
	time.Sleep(3 * pairAdvert)
	pr.settle(t, 20, 30*time.Second)
	w1 := pr.since(from)
	t.Logf("▶ step 1: %s's keepalived stopped (SIGTERM), lvsd -n -f %s started on the same file: %s %s, %s %s; client %v",
		b.name, b.cfgPath(), a.name, p.state(a), b.name, p.state(b), w1)
	for _, l := range p.stateLines(b, bLog) {
		t.Logf("▶   %s: %s", b.name, l)
	}
	if st := p.state(a); st != "MASTER" {
		t.Errorf("keepalived on %s is %s beside lvsd on %s, want MASTER", a.name, st, b.name)
	}
	if st := p.state(b); st != "BACKUP" {
		t.Errorf("lvsd on %s is %s beside keepalived on %s, want BACKUP", b.name, st, a.name)
	}
	if lines := p.stateLines(a, aLog); len(lines) > 0 {
		t.Errorf("keepalived on %s changed state while %s was replaced: %q", a.name, b.name, lines)
	}
	if w1.failed > 0 {
		t.Errorf("step 1: %d requests failed replacing the backup (first: %s)", w1.failed, w1.firstErr)
	}
	if c := p.complaints(b, bLog); len(c) > 0 {
		t.Errorf("lvsd on %s complains about keepalived's adverts from %s: %q", b.name, a.name, c)
	}

	// Step 2: A, the master: keepalived stops (priority 0), lvsd on B
	// takes over (the one failover), lvsd on A preempts back.
	aLog = len(p.logOf(a))
	from = time.Now()
	p.kill(a, syscall.SIGTERM)
	p.waitState(b, "MASTER", 30*time.Second)
	pr.settle(t, 20, 30*time.Second)
	w2 := pr.since(from)
	t.Logf("▶ step 2: SIGTERM of keepalived on the master %s: lvsd on %s took over; client %v%s (reference keepalived -> keepalived: %v, %d failed)",
		a.name, b.name, w2, firstErr(w2), ref.gap.Round(time.Millisecond), ref.failed)

	bLog = len(p.logOf(b))
	from = time.Now()
	a.bin = lvsd
	p.start(a)
	p.waitState(a, "MASTER", 60*time.Second)
	p.waitState(b, "BACKUP", 30*time.Second)
	pr.settle(t, 20, 30*time.Second)
	w3 := pr.since(from)
	t.Logf("▶ step 3: lvsd -n -f %s started on %s: preempted back to MASTER (priority %d > %d); client %v%s (reference keepalived preempting back: %v, %d failed)",
		a.cfgPath(), a.name, a.prio, b.prio, w3, firstErr(w3), refBack.gap.Round(time.Millisecond), refBack.failed)
	for _, l := range p.stateLines(a, aLog) {
		t.Logf("▶   %s: %s", a.name, l)
	}
	for _, l := range p.stateLines(b, bLog) {
		t.Logf("▶   %s: %s", b.name, l)
	}
	// A failed request here is the handover window: the old master drops
	// the VIP when it hears the new master's advertisement, and until the
	// new master's gratuitous ARP moves the client a SYN still goes to the
	// old master and is lost (the request times out), or its handshake
	// straddles the move and the new master, with no IPVS connection for
	// it, resets it. A capture in the client namespace showed lvsd's first
	// GARP 12 ms after its advertisement; keepalived sends its GARPs
	// first (vrrp_state_master_tx: become_master, then the advert).
	for _, f := range pr.failures(from) {
		t.Logf("▶   failed request: %s", f)
	}
	p.waitTable(a, pairWant2, 30*time.Second)

	whole := pr.since(start)
	t.Logf("▶ whole replacement (both nodes now lvsd on their keepalived.conf): client %v; failed per step: backup %d, master stop %d, preempt back %d (bound one SIGTERM failover, Skew_Time + 1 s = %v)",
		whole, w1.failed, w2.failed, w3.failed, bound)
	if whole.gap >= bound {
		t.Errorf("longest gap across the replacement %v, want under Skew_Time + 1 s = %v", whole.gap, bound)
	}
}

// failures lists the client's failed requests that ended after from, with
// their start and end times (to line up with the daemons' logs).
func (pr *prober) failures(from time.Time) []string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var out []string
	for _, pb := range pr.probes {
		if !pb.ok && !pb.end.Before(from) {
			out = append(out, fmt.Sprintf("%s..%s %s", pb.start.Format("15:04:05.000"), pb.end.Format("15:04:05.000"), pb.err))
		}
	}
	return out
}

// TestPairKeepalivedBackupOfLvsdMaster is the other half of a mixed pair:
// lvsd on keepalived.conf as the MASTER, keepalived as its BACKUP. The
// keepalived backup accepts lvsd's advertisements (stays BACKUP, logs no
// complaint), takes over when lvsd stops (SIGTERM: priority 0, within
// Skew_Time + 1 s), and yields to lvsd when it comes back (preemption).
func TestPairKeepalivedBackupOfLvsdMaster(t *testing.T) {
	p, lvsd := newMixedPairLab(t)
	a, b := p.dirs[0], p.dirs[1]
	a.bin = lvsd
	pr := p.upPair()
	// Both daemons start at once, so which one's Master_Down_Timer fires
	// first depends on start-up times (keepalived may be MASTER for a
	// moment before lvsd's first advert): the pair is judged once settled.
	for _, l := range p.stateLines(b, 0) {
		t.Logf("▶   %s start: %s", b.name, l)
	}
	settled := len(p.logOf(b))
	// Three advertisements of lvsd's heard by keepalived.
	time.Sleep(3 * pairAdvert)
	t.Logf("▶ mixed pair up: lvsd -n -f %s on %s %s (priority %d), keepalived on %s %s (priority %d); client fetching http://%s/ every %v",
		a.cfgPath(), a.name, p.state(a), a.prio, b.name, p.state(b), b.prio, pairVIP, probeEvery)
	if lines := p.stateLines(b, settled); len(lines) > 0 || p.state(b) != "BACKUP" {
		t.Errorf("keepalived on %s left BACKUP beside the lvsd master %s: %q", b.name, a.name, lines)
	}
	for _, d := range p.dirs {
		if c := p.complaints(d, 0); len(c) > 0 {
			t.Errorf("%s complains about its peer's adverts: %q", d.name, c)
		}
	}

	w := p.failover(pr, syscall.SIGTERM)
	bound := b.skew() + time.Second
	t.Logf("▶ SIGTERM of lvsd on the master %s: keepalived on %s took over; client %v%s (bound Skew_Time + 1 s = %v)",
		a.name, b.name, w, firstErr(w), bound)
	if w.gap >= bound {
		t.Errorf("longest gap %v, want under Skew_Time + 1 s = %v", w.gap, bound)
	}
	from := time.Now()
	bLog := len(p.logOf(b))
	p.comeBack(pr)
	w = pr.since(from)
	t.Logf("▶ lvsd on %s restarted and preempted keepalived on %s back to BACKUP; client %v%s", a.name, b.name, w, firstErr(w))
	for _, l := range p.stateLines(b, bLog) {
		t.Logf("▶   %s: %s", b.name, l)
	}
	if w.gap >= bound {
		t.Errorf("preemption back: longest gap %v, want under %v", w.gap, bound)
	}
	for _, d := range p.dirs {
		if c := p.complaints(d, 0); len(c) > 0 {
			t.Errorf("%s complains about its peer's adverts: %q", d.name, c)
		}
	}
}
