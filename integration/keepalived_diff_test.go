package integration

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdlayher/packet"
)

// The differential harness: keepalived 2.2.7 and lvsd read the same
// keepalived.conf files, and what each does is compared.
//
//  1. `-t` exit codes, in a namespace holding the links the files name.
//  2. The VRRP instances each daemon starts and the adverts each sends
//     (VRID, priority, interval, authentication, addresses), read off the
//     wire by a packet socket on the far side of every link.
//
// The corpus is integration/testdata/keepalived-corpus (every leniency rule
// of docs/keepalived.md, and real-world-shaped files: 1.x configs, copied
// tutorials, stray braces, legacy keywords) and, when present, the
// keepalived samples the team shares (../shared/compat/keepalived-samples).
// A file on which the two differ fails the test unless kaKnownDifferences
// names it with the reason.

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

// kaKnownDifferences are the files where lvsd still differs from
// keepalived, each with why; every other file must agree. kaKnownAdverts
// adds the files whose -t agrees and whose adverts differ.
var kaKnownAdverts = map[string]string{
	"net-unicast-ttl.conf": "unicast_ttl without unicast peers: keepalived 2.2.7 resets it to 0 and its multicast adverts never leave the host " +
		"(a BACKUP peer would take over); lvsd sends them with TTL 255",
	"track-interface-missing.conf": "a tracked interface that does not exist: keepalived stops its VRRP process (Non-existent interface), " +
		"lvsd keeps the instance in FAULT until the interface appears",
}

var kaKnownDifferences = map[string]string{}

// kaDiffLinks are the links every namespace of the harness holds: the
// interfaces the corpus names (veth pairs: ethN here, pN its far side,
// where adverts are read).
var kaDiffLinks = []string{"eth0", "eth1", "eth2", "eth3"}

// kaDiffNamespace makes a namespace with kaDiffLinks (eth0 10.99.0.1/24,
// eth1 10.99.1.1/24, ...) and, where the kernel has VLANs, eth0.1; it is
// removed at cleanup.
func kaDiffNamespace(t *testing.T, name string) {
	t.Helper()
	exec.Command("ip", "netns", "del", name).Run()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	for i, l := range kaDiffLinks {
		peer := fmt.Sprintf("p%d", i)
		run(t, "ip", "-n", name, "link", "add", l, "type", "veth", "peer", "name", peer)
		run(t, "ip", "-n", name, "addr", "add", fmt.Sprintf("10.99.%d.1/24", i), "dev", l)
		run(t, "ip", "-n", name, "link", "set", l, "up")
		run(t, "ip", "-n", name, "link", "set", peer, "up")
	}
	// Best effort: a kernel without 8021q leaves eth0.1 missing, for both
	// daemons alike.
	if exec.Command("ip", "-n", name, "link", "add", "link", "eth0", "name", "eth0.1", "type", "vlan", "id", "1").Run() == nil {
		run(t, "ip", "-n", name, "link", "set", "eth0.1", "up")
	}
}

// kaExit runs a command in ns and returns its exit status; -1 when it
// did not end within limit (keepalived -t hangs on some files).
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
		line := fmt.Sprintf("%-45s keepalived %2d  lvsd %2d", name, ka, lv)
		switch {
		case ka == lv:
			agree++
		case kaKnownDifferences[name] != "":
			known++
			line += "  known: " + kaKnownDifferences[name]
		case ka < 0:
			line += "  (keepalived -t did not finish)"
			known++
		default:
			line += "  DIFFERS"
			t.Errorf("%s: keepalived -t exits %d, lvsd -t %d\nkeepalived:\n%s\nlvsd:\n%s", name, ka, lv, tail(kaOut, 15), tail(lvOut, 15))
		}
		report = append(report, line)
	}
	t.Logf("-t exit codes agree on %d of %d files (%d known differences):\n%s", agree, len(files), known, strings.Join(report, "\n"))
}

// kaAdvert is what the harness compares of one VRRP advert.
type kaAdvert struct {
	link     string
	version  int
	vrid     int
	priority int
	interval int // seconds (v2) or centiseconds (v3)
	authType int
	auth     string
	addrs    string
}

func (a kaAdvert) String() string {
	s := fmt.Sprintf("%s v%d vrid %d prio %d int %d", a.link, a.version, a.vrid, a.priority, a.interval)
	if a.authType != 0 {
		s += fmt.Sprintf(" auth %d %q", a.authType, a.auth)
	}
	return s + " [" + a.addrs + "]"
}

// parseAdvert decodes the VRRP part of an IPv4 frame (RFC 3768 §5.1,
// RFC 5798 §5.1).
func parseAdvert(link string, b []byte) (kaAdvert, bool) {
	if len(b) < 14+20 || binary.BigEndian.Uint16(b[12:14]) != 0x0800 {
		return kaAdvert{}, false
	}
	ip := b[14:]
	ihl := int(ip[0]&0x0f) * 4
	proto := ip[9]
	if proto == 51 && len(ip) >= ihl+12 && ip[ihl] == 112 {
		// IPsec AH (RFC 4302 section 2) before the advert: auth_type AH.
		ihl += (int(ip[ihl+1]) + 2) * 4
		proto = 112
	}
	if proto != 112 || len(ip) < ihl+8 {
		return kaAdvert{}, false
	}
	v := ip[ihl:]
	a := kaAdvert{link: link, version: int(v[0] >> 4), vrid: int(v[1]), priority: int(v[2])}
	if ip[9] == 51 {
		a.auth = "AH"
	}
	count := int(v[3])
	var addrs []string
	if a.version == 3 {
		a.interval = int(binary.BigEndian.Uint16(v[4:6]) & 0x0fff)
		for i := 0; i < count && 8+4*i+4 <= len(v); i++ {
			addrs = append(addrs, netip.AddrFrom4([4]byte(v[8+4*i:12+4*i])).String())
		}
	} else {
		a.authType, a.interval = int(v[4]), int(v[5])
		for i := 0; i < count && 8+4*i+4 <= len(v); i++ {
			addrs = append(addrs, netip.AddrFrom4([4]byte(v[8+4*i:12+4*i])).String())
		}
		if end := 8 + 4*count + 8; a.authType != 0 && end <= len(v) {
			a.auth = strings.TrimRight(string(v[end-8:end]), "\x00")
		}
	}
	slices.Sort(addrs)
	a.addrs = strings.Join(addrs, " ")
	return a, true
}

// kaSteady is the end of a run whose adverts are compared: long enough for
// every MASTER to advertise once (advert_int 3 is the corpus's longest),
// late enough that tracked scripts have moved priorities where they stay.
const kaSteady = 3500 * time.Millisecond

// kaRunAndListen runs one daemon on file in a fresh namespace for d and
// returns the distinct adverts it sent in the last kaSteady with a
// priority above 0 (the priority-0 adverts of a stop are left out: their
// timing is the stop's).
func kaRunAndListen(t *testing.T, ns string, d time.Duration, args ...string) ([]kaAdvert, string) {
	t.Helper()
	kaDiffNamespace(t, ns)
	var mu sync.Mutex
	seen := map[kaAdvert]time.Time{} // last seen
	var conns []*packet.Conn
	for i, link := range kaDiffLinks {
		peer := fmt.Sprintf("p%d", i)
		var c *packet.Conn
		err := inNetns(ns, func() error {
			ifi, err := net.InterfaceByName(peer)
			if err != nil {
				return err
			}
			c, err = packet.Listen(ifi, packet.Raw, 0x0003, nil)
			return err
		})
		if err != nil {
			t.Fatalf("listen on %s in %s: %v", peer, ns, err)
		}
		conns = append(conns, c)
		go func(link string) {
			buf := make([]byte, 2048)
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				if a, ok := parseAdvert(link, buf[:n]); ok && a.priority > 0 {
					mu.Lock()
					seen[a] = time.Now()
					mu.Unlock()
				}
			}
		}(link)
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "daemon.log")
	full := append(args, "-n", "-l", "-P", "-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
	p := startProc(t, ns, logFile, nil, full...)
	time.Sleep(d)
	mu.Lock()
	var out []kaAdvert
	for a, last := range seen {
		if time.Since(last) < kaSteady {
			out = append(out, a)
		}
	}
	mu.Unlock()
	p.signalGroup(syscall.SIGTERM)
	p.waitExit(5 * time.Second)
	for _, c := range conns {
		c.Close()
	}
	slices.SortFunc(out, func(x, y kaAdvert) int { return strings.Compare(x.String(), y.String()) })
	return out, p.logText()
}

// TestKeepalivedDiffAdverts runs keepalived and lvsd (VRRP side, -P) on
// every file, each alone in its own namespace, and compares whether each
// runs VRRP instances and the adverts each sends once every instance has
// had its Master_Down_Interval (3 × advert_int + skew) to become MASTER.
func TestKeepalivedDiffAdverts(t *testing.T) {
	bin := requireDiffTools(t)
	files := kaDiffCorpus(t)
	// advert_int 1 in most of the corpus: 3.6 s to MASTER, then kaSteady
	// of adverts, and a margin for a loaded machine.
	const runFor = 8 * time.Second
	type result struct {
		name         string
		ka, lv       []kaAdvert
		kaLog, lvLog string
	}
	results := make([]result, len(files))
	sem := make(chan struct{}, 8) // daemons in flight: 2 per file
	var wg sync.WaitGroup
	for i, f := range files {
		abs, _ := filepath.Abs(f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			r.name = filepath.Base(f)
			var inner sync.WaitGroup
			inner.Add(2)
			go func() {
				defer inner.Done()
				r.ka, r.kaLog = kaRunAndListen(t, fmt.Sprintf("kdk%d%d", os.Getpid()%1000, i), runFor, "keepalived", "-f", abs)
			}()
			go func() {
				defer inner.Done()
				r.lv, r.lvLog = kaRunAndListen(t, fmt.Sprintf("kdl%d%d", os.Getpid()%1000, i), runFor, bin, "-f", abs)
			}()
			inner.Wait()
		}()
	}
	wg.Wait()
	agree, known, unable, instances, silent := 0, 0, 0, 0, 0
	var report []string
	for _, r := range results {
		instances += len(r.ka)
		same := slices.Equal(r.ka, r.lv)
		line := fmt.Sprintf("%-45s keepalived %d adverts, lvsd %d", r.name, len(r.ka), len(r.lv))
		why := kaKnownDifferences[r.name]
		if why == "" {
			why = kaKnownAdverts[r.name]
		}
		// An instance that starts in FAULT says "entering FAULT state".
		kaRan := strings.Contains(r.kaLog, "Entering BACKUP STATE") || strings.Contains(r.kaLog, "Entering MASTER STATE") ||
			strings.Contains(r.kaLog, "Entering FAULT STATE") || strings.Contains(r.kaLog, ") entering FAULT state")
		lvRan := strings.Contains(r.lvLog, "VRRP state change")
		if kaRan != lvRan {
			same = false
			line += fmt.Sprintf(" (VRRP instances running: keepalived %v, lvsd %v)", kaRan, lvRan)
		}
		switch {
		case same && len(r.ka) == 0:
			agree++
			silent++
			line += "  (neither advertised)"
		case same:
			agree++
		case strings.Contains(r.kaLog, "Can't initialize ipvs"):
			// keepalived's VRRP process needs IPVS for
			// lvs_sync_daemon; this kernel has none (the VM has).
			unable++
			line += "  not compared: keepalived needs IPVS, which this kernel lacks"
		case why != "":
			known++
			line += "  known: " + why
		default:
			line += "  DIFFERS"
			t.Errorf("%s: adverts differ\nkeepalived: %v\nlvsd:       %v\nkeepalived log:\n%s\nlvsd log:\n%s", r.name, r.ka, r.lv, tail(r.kaLog, 12), tail(r.lvLog, 12))
		}
		report = append(report, line)
	}
	t.Logf("adverts agree on %d of %d files (%d of them with no advert from either daemon; %d known differences, %d not comparable here; keepalived advertised %d distinct instances):\n%s",
		agree, len(files), silent, known, unable, instances, strings.Join(report, "\n"))
}
