package scenarios

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"golang.org/x/sys/unix"
)

// The takeover under load (issue 19): a BACKUP director whose IPVS table
// is big takes over from its MASTER within VRRP's bound,
// Master_Down_Interval + 100 ms after the master's last advert, while its
// periodic repair re-reads the whole table and /metrics is scraped back to
// back. tk-d1 (priority 150) and tk-d2 (priority 100) share VI_T on one
// link; tk-d2 also holds VI_BIG alone, which owns the big table (fwmark
// services × 16 real servers), so the table is programmed on tk-d2 while
// it is BACKUP for VI_T, and the takeover programs VI_T's own service.
// Both run connection sync as lvsd defaults it (on, for VI_T, on eth0):
// the takeover also switches tk-d2's sync daemons and hands over.
const (
	tkDir      = "/tmp/takeover"
	tkVIP      = "10.9.0.100"
	tkD1, tkD2 = "10.9.0.1", "10.9.0.2"
	tkVRID     = 61
	tkAdvert   = time.Second
	tkPrio2    = 100
	tkMetrics  = "127.0.0.1:9651"
	tkReals    = 16
	// The load benchmark's whole table (bench_test.go).
	tkServicesBench = benchServices
)

// tkMasterDown is RFC 3768 §6.1's Master_Down_Interval of tk-d2:
// 3 × Advertisement_Interval + Skew_Time, (256 − Priority) / 256 s.
const tkMasterDown = 3*tkAdvert + time.Duration(256-tkPrio2)*time.Second/256

// tkFrame is one VRRP advert or ARP packet seen on tk-d2's eth0.
type tkFrame struct {
	at   time.Time // the kernel's timestamp
	out  bool      // sent by tk-d2
	arp  bool      // an ARP packet (else a VRRP advert)
	src  string    // advert: IP source; ARP: sender protocol address
	vrid int
}

// tkCapture records VRRP adverts and ARP packets on eth0 of namespace ns
// with kernel timestamps, until ctx ends.
type tkCapture struct {
	mu     sync.Mutex
	frames []tkFrame
	adds   chan tkFrame // each frame as it comes, for whoever waits
}

func startCapture(t *testing.T, ctx context.Context, ns string) *tkCapture {
	t.Helper()
	var fd int
	err := inNamespace(ns, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		proto := int(binary.BigEndian.Uint16(binary.NativeEndian.AppendUint16(nil, unix.ETH_P_ALL)))
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatalf("capture on %s eth0: %v", ns, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	c := &tkCapture{adds: make(chan tkFrame, 1024)}
	done := make(chan struct{})
	t.Cleanup(func() { <-done; unix.Close(fd) })
	go func() {
		defer close(done)
		buf, oob := make([]byte, 2048), make([]byte, 256)
		for ctx.Err() == nil {
			n, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, 0)
			if err != nil {
				continue // the receive timeout, to look at ctx
			}
			f, ok := parseTkFrame(buf[:n])
			if !ok {
				continue
			}
			f.at = time.Now()
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, m := range msgs {
					if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
						f.at = time.Unix(int64(binary.NativeEndian.Uint64(m.Data)), int64(binary.NativeEndian.Uint64(m.Data[8:])))
					}
				}
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok {
				f.out = ll.Pkttype == unix.PACKET_OUTGOING
			}
			c.mu.Lock()
			c.frames = append(c.frames, f)
			c.mu.Unlock()
			select {
			case c.adds <- f:
			default:
			}
		}
	}()
	return c
}

// parseTkFrame reads an Ethernet frame: an IPv4 VRRP advert or an ARP
// packet.
func parseTkFrame(b []byte) (tkFrame, bool) {
	if len(b) < 14 {
		return tkFrame{}, false
	}
	switch binary.BigEndian.Uint16(b[12:]) {
	case 0x0800:
		ip := b[14:]
		if len(ip) < 20 || ip[9] != 112 {
			return tkFrame{}, false
		}
		ihl := int(ip[0]&0xf) * 4
		if len(ip) < ihl+2 {
			return tkFrame{}, false
		}
		return tkFrame{src: net.IP(ip[12:16]).String(), vrid: int(ip[ihl+1])}, true
	case 0x0806:
		arp := b[14:]
		if len(arp) < 28 {
			return tkFrame{}, false
		}
		return tkFrame{arp: true, src: net.IP(arp[14:18]).String()}, true
	}
	return tkFrame{}, false
}

func (c *tkCapture) snapshot() []tkFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames)
}

// tkPass is one periodic repair pass of tk-d2, from its debug log.
type tkPass struct{ start, end time.Time }

// lvs/repairpass_log_test.go pins the same pattern on lvs.Manager.Run's
// log, so that a renamed line fails there instead of making this test skip.
var tkPassLine = regexp.MustCompile(`time=(\S+) level=DEBUG msg="periodic IPVS repair pass".* took=(\S+)`)

// repairPasses reads the passes tk-d2 has logged so far.
func repairPasses(log string) []tkPass {
	var out []tkPass
	for _, m := range tkPassLine.FindAllStringSubmatch(log, -1) {
		end, err1 := time.Parse(time.RFC3339Nano, m[1])
		took, err2 := time.ParseDuration(m[2])
		if err1 == nil && err2 == nil {
			out = append(out, tkPass{end.Add(-took), end})
		}
	}
	return out
}

// tkRepairInterval is tk-d2's reconcile_interval: a pass starts that
// long after the one before ended (lvs.Manager.Run).
const tkRepairInterval = time.Second

// tkWindow is where, from its start, a pass should hold the Master_Down
// expiry: around the middle of the shortest of the last five passes,
// 60 ms from either end when they are long enough (the pass's timer may
// fire late, and the takeover's path should run inside the pass), at
// least 25 ms either side of the middle otherwise.
func tkWindow(passes []tkPass) (lo, hi time.Duration) {
	passes = passes[max(0, len(passes)-5):]
	shortest := passes[0].end.Sub(passes[0].start)
	for _, p := range passes[1:] {
		shortest = min(shortest, p.end.Sub(p.start))
	}
	mid := shortest / 2
	half := max(mid-60*time.Millisecond, 25*time.Millisecond)
	return mid - half, mid + half
}

// tkLands reports whether a Master_Down expiry falls in the window of the
// pass that follows the last one logged: it starts tkRepairInterval after
// that one ended, so the aim is checked about a second ahead, where the
// pass's place is known.
func tkLands(passes []tkPass, expiry time.Time) bool {
	if len(passes) == 0 {
		return false
	}
	lo, hi := tkWindow(passes)
	into := expiry.Sub(passes[len(passes)-1].end.Add(tkRepairInterval))
	return into >= lo && into <= hi
}

// tkNextAdvert is when tk-d1 should send its next advert (at now or
// later) so that the Master_Down expiry it starts falls in the window of
// a coming pass, as the last passes place them: each starts
// tkRepairInterval after the one before ended and lasts the median of the
// last five. tkLands checks the aim once the pass before that one ended.
func tkNextAdvert(passes []tkPass, now time.Time) time.Time {
	if len(passes) == 0 {
		return now
	}
	recent := passes[max(0, len(passes)-5):]
	var took []time.Duration
	for _, p := range recent {
		took = append(took, p.end.Sub(p.start))
	}
	slices.Sort(took)
	period := tkRepairInterval + took[len(took)/2]
	lo, hi := tkWindow(passes)
	start := passes[len(passes)-1].end.Add(tkRepairInterval)
	for {
		if at := start.Add((lo + hi) / 2).Add(-tkMasterDown); !at.Before(now) {
			return at
		}
		start = start.Add(period)
	}
}

// tkLogTail follows tk-d2's log for its repair passes, reading only what
// was written since the last look (the aim looks every few
// milliseconds).
type tkLogTail struct {
	path   string
	off    int64
	rest   string
	passes []tkPass
}

// poll returns every pass logged so far.
func (lt *tkLogTail) poll() []tkPass {
	f, err := os.Open(lt.path)
	if err != nil {
		return lt.passes
	}
	defer f.Close()
	b, _ := io.ReadAll(io.NewSectionReader(f, lt.off, 1<<40))
	lt.off += int64(len(b))
	text := lt.rest + string(b)
	cut := strings.LastIndexByte(text, '\n') + 1
	lt.rest = text[cut:]
	lt.passes = append(lt.passes, repairPasses(text[:cut])...)
	return lt.passes
}

// The takeover test makes up to tkAttempts takeovers until one expiry
// lands inside a pass (make bench: tkBenchTakeovers); each aims for at
// most tkAimFor, then kills anyway.
const (
	tkAttempts       = 4
	tkBenchTakeovers = 6
	tkAimFor         = 25 * time.Second
)

type tkDirector struct {
	name, ip, cfg string
	prio          int
	cmd           *exec.Cmd
	done          chan struct{}
	exited        *time.Time // when the running process was reaped; read after done
	logFrom       int        // the log's length when the running process started
}

func (d *tkDirector) logPath() string  { return filepath.Join(tkDir, d.name+".log") }
func (d *tkDirector) sockPath() string { return filepath.Join(tkDir, d.name+".sock") }

// tkConfig is a director's lvsd.hcl; services > 0 adds VI_BIG and its
// fwmark services, and VI_T's service on the VIP.
func tkConfig(d *tkDirector, services int) string {
	state := "BACKUP"
	if d.prio > tkPrio2 {
		state = "MASTER"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `global {
  router_id          = %q
  control_socket     = %q
  metrics_listen     = %q
  reconcile_interval = "1s"
}
vrrp_instance "VI_T" {
  state             = %q
  interface         = "eth0"
  virtual_router_id = %d
  priority          = %d
  advert_int        = 1
  virtual_ipaddress = ["%s/24 dev eth0"]
}
virtual_server "%s:80" {
  lb_algo = "rr"
  lb_kind = "DR"
  real_server "10.9.0.11:80" { weight = 1 }
  real_server "10.9.0.12:80" { weight = 1 }
}
`, d.name, d.sockPath(), tkMetrics, state, tkVRID, d.prio, tkVIP, tkVIP)
	if services == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, `vrrp_instance "VI_BIG" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = %d
  priority          = 200
  advert_int        = 1
  virtual_ipaddress = ["10.9.1.100/32 dev eth0"]
}
`, tkVRID+1)
	for i := range services {
		fmt.Fprintf(&b, "virtual_server \"fwmark %d\" {\n  vrrp_instance = \"VI_BIG\"\n  lb_algo = \"wlc\"\n  lb_kind = \"DR\"\n", i+1)
		for j := range tkReals {
			fmt.Fprintf(&b, "  real_server \"172.%d.%d.%d\" { weight = 1 }\n", 16+i>>8, i&255, j+1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func (l *lab) startTk(d *tkDirector, bin string, args ...string) {
	l.t.Helper()
	logf, err := os.OpenFile(d.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	d.logFrom = d.logLen()
	cmd := exec.Command("/sbin/ip", append([]string{"netns", "exec", d.name, bin, "run", "-f", d.cfg}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	d.cmd, d.done, d.exited = cmd, make(chan struct{}), new(time.Time)
	go func(done chan struct{}, exited *time.Time) {
		cmd.Wait()
		*exited = time.Now()
		logf.Close()
		close(done)
	}(d.done, d.exited)
}

func (d *tkDirector) stop(sig syscall.Signal) {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
	d.cmd = nil
}

// tkState is the VRRP state of instance on d: the last state change the
// running process logged. (Not `lvsd status`: on tk-d2's big table its
// whole-table report can take longer than the waits here in a loaded VM.)
func tkState(d *tkDirector, instance string) string {
	b, _ := os.ReadFile(d.logPath())
	state := ""
	for _, line := range strings.Split(string(b[min(d.logFrom, len(b)):]), "\n") {
		if strings.Contains(line, `msg="VRRP state change"`) && strings.Contains(line, " instance="+instance+" ") {
			if i := strings.Index(line, " to="); i >= 0 {
				state = strings.Fields(line[i+len(" to="):])[0]
			}
		}
	}
	return state
}

func (l *lab) waitTk(d *tkDirector, instance, state string, within time.Duration) {
	l.t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if tkState(d, instance) == state {
			return
		}
	}
	l.t.Fatalf("%s: %s never %s in %v; its log:\n%s", d.name, instance, state, within, tkLogDigest(d))
}

// tkLogDigest is the end of d's log without its routine lines.
func tkLogDigest(d *tkDirector) string {
	b, _ := os.ReadFile(d.logPath())
	return logDigest(string(b))
}

// logDigest is the end of an lvsd log without its routine lines.
func logDigest(log string) string {
	var keep []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=DEBUG") || strings.Contains(line, `msg="real server health"`) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep[max(0, len(keep)-60):], "\n")
}

// stallProbe measures how long the emulated machine itself stops: a
// thread of the test sleeps 2 ms in a loop and records by how much each
// sleep overran. The guest's scheduler wakes such a sleeper at once
// whatever lvsd's threads do, so what it sees is mostly time the whole VM
// did not run (the host's scheduler), which no process in it can avoid
// (and, at times, both vCPUs busy: see stalled).
type stallProbe struct {
	mu   sync.Mutex
	runs []tkPass // each sleep: start, end
}

func startStallProbe(ctx context.Context) *stallProbe {
	p := &stallProbe{}
	go func() {
		for ctx.Err() == nil {
			start := time.Now()
			time.Sleep(2 * time.Millisecond)
			p.mu.Lock()
			p.runs = append(p.runs, tkPass{start, time.Now()})
			p.mu.Unlock()
		}
	}()
	return p
}

// stalled sums the overruns of the sleeps (what a sleep took beyond its
// 2 ms and 1 ms of slack), each clipped to [from, to]: a stop that began
// before from counts only from from on. The probe also sees both vCPUs
// kept busy (lvsd's pass and scrape, the test's own threads), which only
// makes the deduction larger, never the test fail.
func (p *stallProbe) stalled(from, to time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sum time.Duration
	for _, r := range p.runs {
		begin, end := r.start.Add(3*time.Millisecond), r.end
		if begin.Before(from) {
			begin = from
		}
		if end.After(to) {
			end = to
		}
		if over := end.Sub(begin); over > 0 {
			sum += over
		}
	}
	return sum
}

// tkFaults are a process's page faults so far, all its threads, and its
// resident set (/proc/PID/stat, /proc/PID/status).
type tkFaults struct{ minor, major, rssKB uint64 }

func tkFaultsOf(pid int) tkFaults {
	var f tkFaults
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// After the command's ")": state ppid pgrp session tty_nr tpgid
		// flags minflt cminflt majflt (proc(5)).
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			if fields := strings.Fields(string(b[i+1:])); len(fields) > 9 {
				fmt.Sscan(fields[7], &f.minor)
				fmt.Sscan(fields[9], &f.major)
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				fmt.Sscan(rest, &f.rssKB)
			}
		}
	}
	return f
}

// since is the faults from before to f, with f's resident set.
func (f tkFaults) since(before tkFaults) tkFaults {
	return tkFaults{minor: f.minor - before.minor, major: f.major - before.major, rssKB: f.rssKB}
}

// scraper fetches /metrics from tk-d2 back to back until ctx ends.
type scraper struct {
	mu       sync.Mutex
	scrapes  []tkPass  // start and end of each scrape
	inFlight time.Time // start of the scrape in progress
	failed   int
	lastErr  error
}

func startScraper(ctx context.Context, ns string) (*scraper, *sync.WaitGroup) {
	s := &scraper{}
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		err = inNamespace(ns, func() (err error) {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	// A scrape of the 34,000-object table took 8–11 s in the guest on a
	// quiet host and over 30 s at load 12 (session 7): its time is the
	// emulator's speed, not the takeover's bound, so only a scrape that
	// fails, or outlasts five minutes, counts as failed.
	client := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			start := time.Now()
			s.mu.Lock()
			s.inFlight = start
			s.mu.Unlock()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+tkMetrics+"/metrics", nil)
			if err != nil {
				panic(err)
			}
			// Asked for explicitly, gzip is not inflated by the
			// transport: the test does not spend the guest's two vCPUs,
			// which tk-d2's takeover needs, on 12 MB of text a scrape
			// (Prometheus inflates on its own host).
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := client.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if ctx.Err() != nil {
				return // the test ended the scrape in flight
			}
			s.mu.Lock()
			if err != nil {
				s.failed++
				s.lastErr = err
			} else {
				s.scrapes = append(s.scrapes, tkPass{start, time.Now()})
			}
			s.mu.Unlock()
			if err != nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	return s, &wg
}

// tkLab is the takeover lab: tk-d1 (MASTER of VI_T) and tk-d2 (its
// BACKUP, holding VI_BIG's table of services × tkReals real servers) on
// one link, each running lvsd with connection sync as lvsd defaults it:
// on, for VI_T, on eth0.
type tkLab struct {
	*lab
	bin      string
	d1, d2   *tkDirector
	services int
}

// newTkLab builds the lab and starts both directors: tk-d1 until it is
// MASTER, then tk-d2 until its table is programmed and it is BACKUP for
// VI_T.
func newTkLab(t *testing.T, bin string, services int) *tkLab {
	l := &lab{t: t}
	t.Cleanup(l.close)
	tl := &tkLab{
		lab: l, bin: bin, services: services,
		d1: &tkDirector{name: "tk-d1", ip: tkD1, prio: 150},
		d2: &tkDirector{name: "tk-d2", ip: tkD2, prio: tkPrio2},
	}
	d1, d2 := tl.d1, tl.d2
	os.RemoveAll(tkDir)
	if err := os.MkdirAll(tkDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*tkDirector{d1, d2} {
		l.ip("netns", "add", d.name)
		l.created = append(l.created, d.name)
		l.ip("-n", d.name, "link", "set", "lo", "up")
	}
	l.veth(d1.name, "eth0", d2.name, "eth0", false)
	for _, d := range []*tkDirector{d1, d2} {
		l.ip("-n", d.name, "addr", "add", d.ip+"/24", "dev", "eth0")
	}
	// The big table's real servers: 172.16.0.0/12 behind a dummy link.
	l.ip("-n", d2.name, "link", "add", "rs", "type", "dummy")
	l.ip("-n", d2.name, "addr", "add", "172.31.255.254/12", "dev", "rs")
	l.ip("-n", d2.name, "link", "set", "rs", "up")
	for _, c := range []struct {
		d        *tkDirector
		services int
	}{{d1, 0}, {d2, services}} {
		c.d.cfg = filepath.Join(tkDir, c.d.name+".hcl")
		if err := os.WriteFile(c.d.cfg, []byte(tkConfig(c.d, c.services)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { d1.stop(syscall.SIGTERM); d2.stop(syscall.SIGTERM) })

	l.startTk(d1, bin)
	l.waitTk(d1, "VI_T", "MASTER", 30*time.Second)
	start := time.Now()
	tl.startD2()
	l.waitTk(d2, "VI_T", "BACKUP", 30*time.Second)
	t.Logf("tk-d2 holds %d objects (VI_BIG's %d services x %d real servers) %v after its start, BACKUP for VI_T",
		countObjects(tl.d2Table()), services, tkReals, time.Since(start).Round(time.Millisecond))
	return tl
}

// d2Table is tk-d2's /proc/net/ip_vs.
func (tl *tkLab) d2Table() string {
	return fmt.Sprintf("/proc/%d/net/ip_vs", tl.d2.cmd.Process.Pid)
}

// startD2 starts tk-d2 (with debug logging: its repair passes) and waits
// until its table holds VI_BIG's services.
func (tl *tkLab) startD2() {
	tl.t.Helper()
	tl.startTk(tl.d2, tl.bin, "--debug")
	want := tl.services * (1 + tkReals)
	for deadline := time.Now().Add(3 * time.Minute); countObjects(tl.d2Table()) < want; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			tl.t.Fatalf("tk-d2 programmed %d of %d objects in 3 minutes", countObjects(tl.d2Table()), want)
		}
	}
}

// aim kills tk-d1 so that tk-d2's Master_Down timer expires inside one of
// its repair passes. A pass now lasts a few hundred milliseconds, and the
// expiry is set 3.6 s ahead by tk-d1's last advert, further than the
// passes can be foretold; so tk-d1 is stopped (SIGSTOP) right after an
// advert, which sets the coming expiry as its death would (tk-d2 hears
// nothing more), and the kill waits until tk-d2 logs the end of a pass:
// the next one starts tkRepairInterval later, about a second ahead, and
// if the expiry falls in its window (tkLands) tk-d1 is killed. Otherwise,
// half a second before the expiry at the latest, tk-d1 runs on (SIGCONT)
// until its next advert, timed by tkNextAdvert, and is stopped again: a
// new expiry, one cycle more. Past tkAimFor the kill goes anyway.
func (tl *tkLab) aim(capture *tkCapture, tail *tkLogTail) (killed time.Time, aimed bool, cycles int) {
	t, d1 := tl.t, tl.d1
	t.Helper()
	drain := func() {
		for len(capture.adds) > 0 {
			<-capture.adds
		}
	}
	newestAdvert := func(after time.Time) time.Time {
		var at time.Time
		for _, f := range capture.snapshot() {
			if !f.arp && !f.out && f.src == tkD1 && f.vrid == tkVRID && f.at.After(after) {
				at = f.at
			}
		}
		return at
	}
	// stopAfterAdvert lets tk-d1 run until it sent an advert after
	// after, stops it and returns its last advert.
	// Its deadline is on the guest's clock, which runs on while the
	// whole emulated machine stands still (6.4 s of 9.3 s in one boot at
	// host load 9): 30 s, not the one advert interval it normally takes.
	stopAfterAdvert := func(after time.Time) time.Time {
		for deadline := time.Now().Add(30 * time.Second); newestAdvert(after).IsZero(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no advert of tk-d1 in 30 s")
			}
		}
		d1.cmd.Process.Signal(syscall.SIGSTOP)
		time.Sleep(30 * time.Millisecond) // an advert on its way as it stopped
		return newestAdvert(after)
	}
	kill := func() time.Time {
		drain()
		d1.cmd.Process.Signal(syscall.SIGKILL)
		return time.Now()
	}
	drain()
	start := time.Now()
	last := stopAfterAdvert(time.Now().Add(-50 * time.Millisecond))
	for cycles = 1; ; cycles++ {
		expiry := last.Add(tkMasterDown)
		seen := -1
		for time.Until(expiry) > 500*time.Millisecond {
			if passes := tail.poll(); len(passes) != seen {
				seen = len(passes)
				if tkLands(passes, expiry) {
					return kill(), true, cycles
				}
				if seen > 0 && passes[seen-1].end.Add(tkRepairInterval).After(expiry) {
					break // the next pass starts too late, and so will every later one
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		if time.Since(start) > tkAimFor {
			return kill(), false, cycles
		}
		next := tkNextAdvert(tail.poll(), time.Now())
		if latest := expiry.Add(-500 * time.Millisecond); next.After(latest) {
			next = latest
		}
		time.Sleep(time.Until(next))
		d1.cmd.Process.Signal(syscall.SIGCONT)
		last = stopAfterAdvert(last)
	}
}

// holdHookKeys keeps an inet output chain, empty, in the guest's root
// namespace for the test's life. The reset guard's Hold adds its output
// chain and its Release deletes it (internal/resetguard), and the first
// hook at a point switches the kernel's static key for it
// (nf_hooks_needed, IPv4 and IPv6 LOCAL_OUT), which patches the kernel's
// code: microseconds on hardware, but the emulator (TCG) then throws its
// translated code away and the whole guest stood still for 56–301 ms at
// each takeover (session 7, docs/benchmarks.md). A director with any
// netfilter rule at that point, as most have, pays nothing for it; so does
// the test with this chain, and it measures lvsd rather than the
// emulator's retranslation.
func holdHookKeys(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/nft"); err != nil {
		t.Skipf("no nft in the guest (the host's nftables package): %v", err)
	}
	const table = "lvsd_test_hook_keys"
	nft := func(cmd string) {
		if out, err := exec.Command("/usr/sbin/nft", cmd).CombinedOutput(); err != nil {
			t.Fatalf("nft %s: %v: %s", cmd, err, out)
		}
	}
	nft("add table inet " + table + "; add chain inet " + table + " out { type filter hook output priority 100; }")
	t.Cleanup(func() { nft("delete table inet " + table) })
}

// TestLvsdTakesOverDuringARepairPassAndScrapes kills tk-d1's lvsd (the
// master) at a moment chosen so that tk-d2's Master_Down timer expires in
// the middle of one of its repair passes, /metrics being scraped all the
// while, and checks the time from tk-d1's last advert to tk-d2's
// gratuitous ARP for the VIP (its services programmed, the VIP added):
// within Master_Down_Interval + 100 ms of the guest's running time (a
// stop of the whole emulated machine, measured by a probe thread over the
// same window, is not counted). Up to tkAttempts takeovers, until one has
// landed inside a repair pass (all of them under make bench, for the
// figures); each must meet the bound.
func TestLvsdTakesOverDuringARepairPassAndScrapes(t *testing.T) {
	requireGuest(t)
	// In CI since session 8. On the emulated (TCG) machine the bound is
	// met with the status read and the scrape out of the takeover's way
	// (statusread.go, internal/priority), SetActive raising the write gate
	// before lvs's inputs lock (7820f25) and the guest's empty inet output
	// chain (holdHookKeys): six of six boots of this form passed in session
	// 7, by 25 ms at least (docs/benchmarks.md).
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("LVSD_BIN unset (set by integration/ipvs_vm_test.go)")
	}
	// The benchmark's whole table: its passes last long enough to be
	// aimed at (CI's 200 services made passes of about 0.1 s, which four
	// aimed kills missed in a rehearsal).
	services := tkServicesBench
	holdHookKeys(t)
	tl := newTkLab(t, bin, services)
	l, d1, d2 := tl.lab, tl.d1, tl.d2

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	capture := startCapture(t, ctx, d2.name)
	probe := startStallProbe(ctx)
	scr, scrapers := startScraper(ctx, d2.name)
	defer scrapers.Wait()
	defer stop()

	bound := tkMasterDown + 100*time.Millisecond
	tail := &tkLogTail{path: d2.logPath()}
	// make bench makes every takeover, for the figures; otherwise the
	// test stops at the first that landed inside a pass.
	takeovers, attempts := 1, tkAttempts
	if os.Getenv("LVSD_BENCH") == "1" {
		takeovers, attempts = tkBenchTakeovers, tkBenchTakeovers
	}
	landed, made := false, 0
	var margins []time.Duration // deducted
	for attempt := 1; attempt <= attempts && (!landed || attempt <= takeovers); attempt++ {
		made = attempt
		if attempt > 1 {
			l.startTk(d1, bin)
			l.waitTk(d1, "VI_T", "MASTER", 30*time.Second)
			l.waitTk(d2, "VI_T", "BACKUP", 30*time.Second)
		}
		// Let a few repair passes and scrapes go by, then aim (tkLab.aim).
		time.Sleep(2 * time.Second)
		killed, aimed, cycles := tl.aim(capture, tail)
		faultsAtKill := tkFaultsOf(d2.cmd.Process.Pid)
		// Where tk-d2's threads wait in the kernel from the kill to its
		// gratuitous ARP, for a takeover over the bound.
		sampleCtx, stopSampling := context.WithCancel(ctx)
		waits := sampleKernelWaits(sampleCtx, d2.cmd.Process.Pid, killed)
		for garp := false; !garp; {
			select {
			case f := <-capture.adds:
				garp = f.arp && f.out && f.src == tkVIP
			case <-time.After(30 * time.Second):
				t.Fatalf("no gratuitous ARP from tk-d2 in 30 s after tk-d1's kill; its log:\n%s", tkLogDigest(d2))
			}
		}
		faults := tkFaultsOf(d2.cmd.Process.Pid).since(faultsAtKill)
		// tk-d1's exit is looked at only now: past tkExitBound, waitGone
		// dumps the guest's blocked tasks (sysrq-w), which must not run
		// during the takeover it would slow.
		// Its bound is on the guest's running time, as the takeover's.
		if took, hold := d1.waitGone(killed); took > tkExitBound {
			if stall := probe.stalled(killed, killed.Add(took)); took-stall > tkExitBound {
				t.Errorf("attempt %d: tk-d1 killed was not gone within %v (%v, %v of it with the VM stopped); where the kernel held it:\n%s", attempt, tkExitBound, took, stall, hold)
			} else {
				t.Logf("attempt %d: tk-d1 gone %v after its kill, %v of it with the VM stopped", attempt, took, stall)
			}
		}
		frames := capture.snapshot()
		var lastAdvert, garp time.Time
		for _, f := range frames {
			switch {
			case !f.arp && !f.out && f.src == tkD1 && f.vrid == tkVRID && !f.at.After(killed):
				lastAdvert = f.at
			case f.arp && f.out && f.src == tkVIP && f.at.After(killed) && garp.IsZero():
				garp = f.at
			}
		}
		// The aim kills tk-d1 half a second before tk-d2's expiry at the
		// latest; a test process descheduled longer than that kills it
		// after tk-d2 took over. Nothing of lvsd's is measured then: the
		// attempt is void, not failed.
		// A gratuitous ARP before Master_Down_Interval (less the capture's
		// 100 ms allowance) had passed is not the test's lateness but
		// tk-d2 taking over from a live master: that fails.
		var early time.Time
		for _, f := range frames {
			if f.arp && f.out && f.src == tkVIP && f.at.After(lastAdvert) && !f.at.After(killed) && early.IsZero() {
				early = f.at
			}
		}
		if !early.IsZero() && !lastAdvert.IsZero() && early.Before(lastAdvert.Add(tkMasterDown-100*time.Millisecond)) {
			t.Fatalf("attempt %d: tk-d2 took over (gratuitous ARP) %v after tk-d1's last advert, before Master_Down_Interval %v", attempt, early.Sub(lastAdvert).Round(time.Millisecond), tkMasterDown)
		}
		if !early.IsZero() && !lastAdvert.IsZero() {
			stopSampling()
			t.Logf("attempt %d void: tk-d2 took over (gratuitous ARP) before the test killed tk-d1 at %v, %v after its last advert", attempt, killed.Format("15:04:05.000"), killed.Sub(lastAdvert).Round(time.Millisecond))
			continue
		}
		if lastAdvert.IsZero() || garp.IsZero() {
			t.Fatalf("attempt %d: no advert of tk-d1 before the kill (%v) or no gratuitous ARP of tk-d2 after it (%v)", attempt, lastAdvert, garp)
		}
		took := garp.Sub(lastAdvert)
		expiry := lastAdvert.Add(tkMasterDown)
		// The pass that was running at the expiry is logged when it ends.
		var during *tkPass
		var log []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			log, _ = os.ReadFile(d2.logPath())
			passes := repairPasses(string(log))
			for _, p := range passes {
				if !p.start.After(expiry) && !p.end.Before(expiry) {
					during = &p
				}
			}
			if during != nil || len(passes) > 0 && passes[len(passes)-1].start.After(expiry) {
				break
			}
		}
		scr.mu.Lock()
		scraping := !scr.inFlight.IsZero() && !scr.inFlight.After(expiry)
		for _, s := range scr.scrapes {
			scraping = scraping || !s.start.After(expiry) && !s.end.Before(expiry)
		}
		nScrapes, failed, lastErr := len(scr.scrapes), scr.failed, scr.lastErr
		scr.mu.Unlock()
		// What tk-d2 logged from the expiry to its gratuitous ARP, for
		// the record: the transition, the mastership, the IPVS writes.
		var steps []string
		for _, line := range strings.Split(string(log), "\n") {
			at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(strings.Fields(line + " x")[0], "time="))
			if err != nil || at.Before(expiry.Add(-200*time.Millisecond)) || at.After(garp.Add(50*time.Millisecond)) || strings.Contains(line, `msg="real server health"`) {
				continue
			}
			steps = append(steps, fmt.Sprintf("%+8.1f ms %s", float64(at.Sub(expiry).Microseconds())/1000, line[strings.Index(line, "level="):]))
		}
		t.Logf("takeover %d: from the Master_Down expiry (0 ms) to the gratuitous ARP (%+.1f ms):\n%s",
			attempt, float64(garp.Sub(expiry).Microseconds())/1000, strings.Join(steps, "\n"))
		where := "between two repair passes"
		if during != nil {
			landed = true
			where = fmt.Sprintf("%v into a %v repair pass", expiry.Sub(during.start).Round(time.Millisecond), during.end.Sub(during.start).Round(time.Millisecond))
		}
		// The bound holds on the guest's running time: a stop of the
		// whole emulated machine between the expiry and the ARP (the
		// probe's overruns) is not lvsd's.
		stall := probe.stalled(expiry, garp)
		t.Logf("takeover %d (aimed %v in %d cycles): tk-d1's last advert to tk-d2's gratuitous ARP %v raw, %v without the %v the VM stood still (bound Master_Down_Interval %v + 100 ms = %v; margin %v raw, %v deducted); Master_Down expired %s, a /metrics scrape in progress: %v (%d scrapes so far, %d failed)",
			attempt, aimed, cycles, took.Round(time.Millisecond), (took - stall).Round(time.Millisecond), stall.Round(time.Millisecond), tkMasterDown, bound,
			(bound - took).Round(time.Millisecond), (bound - took + stall).Round(time.Millisecond), where, scraping, nScrapes, failed)
		t.Logf("takeover %d: tk-d2's page faults from the kill to the gratuitous ARP seen: %d minor, %d major; its RSS %d kB", attempt, faults.minor, faults.major, faults.rssKB)
		stopSampling()
		margins = append(margins, bound-took+stall)
		if took-stall > bound {
			t.Errorf("takeover %d took %v (%v of it with the VM stopped), over Master_Down_Interval + 100 ms = %v; tk-d2's threads in the kernel meanwhile (from the kill):\n%s",
				attempt, took, stall, bound, waits.String(expiry, garp))
		}
		if took < tkMasterDown-100*time.Millisecond {
			t.Errorf("takeover %d took %v, under Master_Down_Interval %v: the capture missed adverts of tk-d1", attempt, took, tkMasterDown)
		}
		if failed > 0 {
			t.Errorf("%d /metrics scrapes failed (last: %v)", failed, lastErr)
		}
	}
	if len(margins) == 0 {
		t.Skipf("every one of %d attempts was void (the kill came after the takeover)", made)
	}
	t.Logf("%d takeovers, smallest margin (deducted) %v, all: %v", made, slices.Min(margins).Round(time.Millisecond), margins)
	if !landed {
		// The aim's luck, not lvsd's (each attempt lands about two times
		// in three): every takeover was held to the bound above, none
		// inside a pass. Skipped, so that it shows, not failed.
		t.Skipf("no takeover's Master_Down expiry landed inside a repair pass in %d attempts", attempts)
	}
}

// TestTakeoverAimPlacesTheExpiryInsideTheNextPass: the aim of the
// takeover test accepts an expiry in the window of the pass that follows
// the last one logged (tkRepairInterval after it ended), not in the gap
// before it or near its edges, and times tk-d1's next advert so that its
// expiry falls in the middle of a coming pass's window.
func TestTakeoverAimPlacesTheExpiryInsideTheNextPass(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// Passes of 500 ms (one of 400 ms), each starting 1 s after the one
	// before ended.
	var passes []tkPass
	at := t0
	for i := range 5 {
		took := 500 * time.Millisecond
		if i == 2 {
			took = 400 * time.Millisecond
		}
		passes = append(passes, tkPass{at, at.Add(took)})
		at = at.Add(took + tkRepairInterval)
	}
	next := passes[4].end.Add(tkRepairInterval) // the next pass's start
	// The shortest pass, 400 ms: a window of 60–340 ms into a pass.
	if lo, hi := tkWindow(passes); lo != 60*time.Millisecond || hi != 340*time.Millisecond {
		t.Errorf("window %v–%v, want 60ms–340ms", lo, hi)
	}
	// Passes of 120 ms: at least 25 ms either side of the middle.
	short := []tkPass{{t0, t0.Add(120 * time.Millisecond)}}
	if lo, hi := tkWindow(short); lo != 35*time.Millisecond || hi != 85*time.Millisecond {
		t.Errorf("window of a 120 ms pass %v–%v, want 35ms–85ms", lo, hi)
	}
	for _, tc := range []struct {
		name   string
		passes []tkPass
		expiry time.Time
		want   bool
	}{
		{"the middle of the next pass", passes, next.Add(200 * time.Millisecond), true},
		{"the window's first edge", passes, next.Add(60 * time.Millisecond), true},
		{"the gap before the next pass", passes, next.Add(-300 * time.Millisecond), false},
		{"its first tenth", passes, next.Add(40 * time.Millisecond), false},
		{"its last fifth", passes, next.Add(420 * time.Millisecond), false},
		{"the pass after it", passes, next.Add(tkRepairInterval + 700*time.Millisecond), false},
		{"no pass yet", nil, next.Add(200 * time.Millisecond), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tkLands(tc.passes, tc.expiry); got != tc.want {
				t.Errorf("tkLands = %v, want %v", got, tc.want)
			}
		})
	}
	// The next advert: its expiry in the middle (200 ms) of the window
	// of the first pass it can still reach, the passes being 1.5 s apart
	// (1 s + the median 500 ms).
	if got := tkNextAdvert(passes, next.Add(-tkMasterDown)); !tkLands(passes, got.Add(tkMasterDown)) {
		t.Errorf("the expiry of the advert timed for the next pass does not land in it")
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"the next pass, when there is time", next.Add(-tkMasterDown), next.Add(200 * time.Millisecond).Add(-tkMasterDown)},
		{"a later pass, when the next is too near", next.Add(-time.Second), next.Add(2 * 1500 * time.Millisecond).Add(200 * time.Millisecond).Add(-tkMasterDown)},
		{"no pass yet: at once", t0, t0},
	} {
		t.Run("next advert: "+tc.name, func(t *testing.T) {
			ps := passes
			if tc.now.Equal(t0) {
				ps = nil
			}
			got := tkNextAdvert(ps, tc.now)
			if !got.Equal(tc.want) {
				t.Errorf("tkNextAdvert = %v after the last pass's end, want %v", got.Sub(passes[4].end), tc.want.Sub(passes[4].end))
			}
		})
	}
}
