package integration

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/kadiff"
	"github.com/mdlayher/packet"
)

// reserveNetns makes the namespace prefix+id for a lab and returns id, the
// process's id and three random digits, from which the lab names the rest
// of its namespaces and links. `ip netns add` refuses a name that exists,
// so two labs side by side (the t.Parallel subtests) never share an id:
// drawn from the clock's nanoseconds alone, a pair of them once had one
// chance in 1,000 to, and a run makes several pairs.
func reserveNetns(t *testing.T, prefix string) string {
	t.Helper()
	for range 100 {
		id := fmt.Sprintf("%d%03d", os.Getpid()%10000, rand.IntN(1000))
		out, err := exec.Command("ip", "netns", "add", prefix+id).CombinedOutput()
		if err == nil {
			return id
		}
		if !strings.Contains(string(out), "exists") {
			t.Fatalf("ip netns add %s: %v\n%s", prefix+id, err, out)
		}
	}
	t.Fatalf("no free name for a namespace %s<id> in 100 draws", prefix)
	return ""
}

// requireNetns skips unless the test can build network namespaces.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (ip)")
	}
}

// vrrpLab is a switch namespace with a bridge and director namespaces A and
// B plus a client namespace C, each with eth0 on the bridge:
//
//	A 10.99.0.1 ──┐
//	B 10.99.0.2 ──┼── br0 (switch namespace)
//	C 10.99.0.10 ─┘
type vrrpLab struct {
	t      *testing.T // the running (sub)test, for failures
	root   *testing.T // the test that owns the lab, for cleanups
	id     string
	sw     string
	ns     map[string]string // "A" → namespace name
	ip     map[string]string // "A" → 10.99.0.1
	mac    map[string]net.HardwareAddr
	swPort map[string]string // "A" → switch-side veth
	dir    string
	proto  proto // what the speakers speak (vrrp3_test.go); zero is VRRPv2 over IPv4
}

const (
	labVIP    = "10.99.0.100"
	labPrefix = "/24"
)

func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newVRRPLab(t *testing.T) *vrrpLab {
	t.Helper()
	requireNetns(t)
	id := reserveNetns(t, "lvsw")
	l := &vrrpLab{t: t, root: t, id: id, sw: "lvsw" + id, ns: map[string]string{}, ip: map[string]string{},
		mac: map[string]net.HardwareAddr{}, swPort: map[string]string{}, dir: t.TempDir()}
	t.Cleanup(l.destroy)
	run(t, "ip", "-n", l.sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0", "forward_delay", "0")
	run(t, "ip", "-n", l.sw, "link", "set", "br0", "up")
	run(t, "ip", "-n", l.sw, "link", "set", "lo", "up")
	for name, last := range map[string]int{"A": 1, "B": 2, "C": 10} {
		ns := "lv" + strings.ToLower(name) + id
		l.ns[name], l.ip[name] = ns, fmt.Sprintf("10.99.0.%d", last)
		port := "s" + strings.ToLower(name) + id
		tmp := "t" + strings.ToLower(name) + id
		l.swPort[name] = port
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "link", "add", tmp, "type", "veth", "peer", "name", port)
		run(t, "ip", "link", "set", port, "netns", l.sw)
		run(t, "ip", "link", "set", tmp, "netns", ns)
		run(t, "ip", "-n", ns, "link", "set", tmp, "name", "eth0")
		run(t, "ip", "-n", ns, "addr", "add", l.ip[name]+labPrefix, "dev", "eth0")
		run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", l.sw, "link", "set", port, "master", "br0", "up")
		l.mac[name] = l.macOf(name)
	}
	return l
}

func (l *vrrpLab) macOf(name string) net.HardwareAddr {
	out := run(l.t, "ip", "-n", l.ns[name], "-o", "link", "show", "eth0")
	f := strings.Fields(out)
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			hw, err := net.ParseMAC(f[i+1])
			if err != nil {
				l.t.Fatal(err)
			}
			return hw
		}
	}
	l.t.Fatalf("no MAC in %q", out)
	return nil
}

func (l *vrrpLab) destroy() {
	for _, ns := range l.ns {
		exec.Command("ip", "netns", "del", ns).Run()
	}
	exec.Command("ip", "netns", "del", l.sw).Run()
}

// holdsVIP tells whether namespace name has the VIP on eth0.
func (l *vrrpLab) holdsVIP(name string) bool {
	out, err := exec.Command("ip", "-n", l.ns[name], "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		l.t.Logf("ip addr in %s: %v %s", name, err, out)
		return false
	}
	return strings.Contains(string(out), " "+labVIP+"/")
}

// cutLink takes the switch port of name down (the cable is pulled: eth0 of
// name loses carrier) or brings it back.
func (l *vrrpLab) cutLink(name string, cut bool) {
	state := "up"
	if cut {
		state = "down"
	}
	run(l.t, "ip", "-n", l.sw, "link", "set", l.swPort[name], state)
}

// inNetns runs f on an OS thread switched into namespace ns
// (kadiff.InNetns); sockets it opens stay in ns.
func inNetns(ns string, f func() error) error { return kadiff.InNetns(ns, f) }

// wireEvent is one VRRP advert or ARP packet seen on the wire.
type wireEvent struct {
	at       time.Time
	garp     bool
	src      netip.Addr // advert IP source, or ARP sender IP
	mac      net.HardwareAddr
	priority int // adverts
	vrid     int
	naFlags  byte // unsolicited NAs: R, S, O bits (RFC 4861 §4.4)
}

// capture records adverts and gratuitous ARPs seen by the client.
type capture struct {
	mu     sync.Mutex
	events []wireEvent
	conn   *packet.Conn
}

func (l *vrrpLab) capture(name string) *capture {
	c := &capture{}
	err := inNetns(l.ns[name], func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c.conn, err = packet.Listen(ifi, packet.Raw, 0x0003 /* ETH_P_ALL */, nil)
		return err
	})
	if err != nil {
		l.t.Fatalf("capture in %s: %v", name, err)
	}
	l.root.Cleanup(func() { c.conn.Close() })
	go c.loop()
	return c
}

func (c *capture) loop() {
	buf := make([]byte, 2048)
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if ev, ok := parseFrame(buf[:n]); ok {
			ev.at = now
			c.mu.Lock()
			c.events = append(c.events, ev)
			c.mu.Unlock()
		}
	}
}

func parseFrame(b []byte) (wireEvent, bool) {
	if len(b) < 14 {
		return wireEvent{}, false
	}
	src := net.HardwareAddr(append([]byte(nil), b[6:12]...))
	switch binary.BigEndian.Uint16(b[12:14]) {
	case 0x0800:
		ip := b[14:]
		if len(ip) < 20 || ip[9] != 112 {
			return wireEvent{}, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if len(ip) < ihl+3 {
			return wireEvent{}, false
		}
		return wireEvent{src: netip.AddrFrom4([4]byte(ip[12:16])), mac: src, vrid: int(ip[ihl+1]), priority: int(ip[ihl+2])}, true
	case 0x86dd:
		return parseFrame6(b[14:], src)
	case 0x0806:
		a := b[14:]
		if len(a) < 28 {
			return wireEvent{}, false
		}
		spa, tpa := netip.AddrFrom4([4]byte(a[14:18])), netip.AddrFrom4([4]byte(a[24:28]))
		if spa != tpa {
			return wireEvent{}, false
		}
		return wireEvent{garp: true, src: spa, mac: net.HardwareAddr(append([]byte(nil), a[8:14]...))}, true
	}
	return wireEvent{}, false
}

func (c *capture) snapshot() []wireEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wireEvent(nil), c.events...)
}

// firstGARP waits until a GARP for the VIP from mac appears after since.
func (c *capture) firstGARP(mac net.HardwareAddr, since time.Time, limit time.Duration) (wireEvent, bool) {
	return c.firstAnnounce(netip.MustParseAddr(labVIP), mac, since, limit)
}

// lastAdvertBefore returns the last advert from src seen before t.
func (c *capture) lastAdvertBefore(src string, t time.Time) (wireEvent, bool) {
	a := netip.MustParseAddr(src)
	var last wireEvent
	found := false
	for _, ev := range c.snapshot() {
		if !ev.garp && ev.src == a && ev.at.Before(t) {
			last, found = ev, true
		}
	}
	return last, found
}

// proc is one VRRP speaker process in a namespace.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(t *testing.T, ns, logFile string, env []string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := &proc{cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.signalGroup(syscall.SIGKILL); <-p.done })
	return p
}

func (p *proc) signalGroup(sig syscall.Signal) {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

func (p *proc) signal(sig syscall.Signal) {
	if p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

// waitExit waits for the process to end and reports how long it took.
func (p *proc) waitExit(limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	select {
	case <-p.done:
		return time.Since(start), true
	case <-time.After(limit):
		return limit, false
	}
}

func (p *proc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// waitFor polls cond every 50 ms until it holds or limit passes.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *vrrpLab) path(name string) string { return filepath.Join(l.dir, name) }

// output runs a command and returns its combined output.
func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
