package integration

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/vrrp"
)

// kaPeer is a director of the VRRP lab running lvsd or keepalived 2.2.7
// on a keepalived.conf (lvsd reads it with its keepalived reader, on
// keepalived's command line): the mixed pairs of use_vmac and auth_type
// AH, which only keepalived speaks besides lvsd.
type kaPeer struct {
	lab        *vrrpLab
	name, kind string
	priority   int
	body       string // instance keywords beside state, interface, VRID, priority, VIP
	p          *proc
}

func (d *kaPeer) String() string {
	return fmt.Sprintf("%s %s (priority %d)", d.kind, d.name, d.priority)
}

func (d *kaPeer) start() {
	t := d.lab.root
	conf := fmt.Sprintf(`global_defs {
    router_id %s_%s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
%s    virtual_ipaddress {
        %s%s
    }
}
`, d.kind, d.name, d.priority, d.body, labVIP, labPrefix)
	dir := d.lab.path(d.name + "-" + d.kind)
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := "keepalived"
	if d.kind == "lvsd" {
		if bin = lvsdBinary(t); bin == "" {
			t.Skip("needs the lvsd binary")
		}
	}
	for _, f := range []string{"main.pid", "vrrp.pid", "check.pid"} {
		os.Remove(filepath.Join(dir, f))
	}
	d.p = startProc(t, d.lab.ns[d.name], filepath.Join(dir, "daemon.log"), nil, bin, "-f", path, "-n", "-l", "-D", "-P",
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
}

func (d *kaPeer) term() {
	d.p.signal(syscall.SIGTERM)
	if _, ok := d.p.waitExit(8 * time.Second); !ok {
		d.lab.t.Fatalf("%v did not stop within 8 s of SIGTERM", d)
	}
}

// holds tells whether the VIP is on dev in the director's namespace.
func (d *kaPeer) holds(dev string) bool {
	out, err := exec.Command("ip", "-n", d.lab.ns[d.name], "-4", "-o", "addr", "show", "dev", dev).CombinedOutput()
	return err == nil && strings.Contains(string(out), " "+labVIP+"/")
}

func (d *kaPeer) masterDownInterval() time.Duration {
	return vrrp.MasterDownInterval(time.Second, d.priority)
}

// sysctl reads an IPv4 sysctl of dev in the director's namespace.
func (d *kaPeer) sysctl(dev, name string) string {
	out, _ := exec.Command("ip", "netns", "exec", d.lab.ns[d.name], "cat", "/proc/sys/net/ipv4/conf/"+dev+"/"+name).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// expectHolder waits until master holds the VIP on dev and backup holds
// it nowhere.
func expectHolder(t *testing.T, master, backup *kaPeer, dev string, limit time.Duration) {
	t.Helper()
	if !waitFor(limit, func() bool { return master.holds(dev) && !backup.holds(dev) && !backup.holds("eth0") }) {
		t.Fatalf("after %v: %v holds the VIP on %s: %v; %v: %v\n--- %v log:\n%s\n--- %v log:\n%s", limit, master, dev, master.holds(dev),
			backup, backup.holds(dev), master, tail(master.p.logText(), 20), backup, tail(backup.p.logText(), 20))
	}
}

// TestVRRPVMACMixedPair: lvsd (priority 150) and keepalived (100), both
// with use_vmac, on one segment. Each holds the VIP on its macvlan
// vrrp.51 while MASTER; the adverts and the gratuitous ARPs on the wire
// come from the virtual router MAC 00:00:5e:00:01:33 (RFC 3768 §7.3);
// lvsd sets keepalived's sysctls and, stopped, removes its macvlan and
// restores them; the pair fails over both ways.
func TestVRRPVMACMixedPair(t *testing.T) {
	requireKeepalived(t)
	l := newVRRPLab(t)
	wire := l.capture("C")
	vmac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 51}
	a := &kaPeer{lab: l, name: "A", kind: "lvsd", priority: 150, body: "    use_vmac\n"}
	b := &kaPeer{lab: l, name: "B", kind: "keepalived", priority: 100, body: "    use_vmac\n"}
	start := time.Now()
	a.start()
	b.start()
	expectHolder(t, a, b, "vrrp.51", a.masterDownInterval()+3*time.Second)
	if _, ok := wire.firstAnnounce(netip.MustParseAddr(labVIP), vmac, start, 3*time.Second); !ok {
		t.Errorf("no gratuitous ARP from %v's VMAC %s:\n%s", a, vmac, wire.describe(10))
	}
	if last, ok := wire.lastAdvertFrom(vmac, time.Now()); !ok || last.src.String() != l.addrOf("A") || last.priority != a.priority {
		t.Errorf("%v's adverts: last from %s is %+v (found %v), want from %s with priority %d", a, vmac, last, ok, l.addrOf("A"), a.priority)
	}
	if ev := wire.snapshot(); len(ev) > 0 {
		for _, e := range ev {
			if !e.garp && e.src.String() == l.addrOf("A") && e.mac.String() != vmac.String() {
				t.Errorf("%v sent an advert from %s, not its VMAC", a, e.mac)
				break
			}
		}
	}
	for _, s := range []struct{ dev, name, want string }{
		{"vrrp.51", "arp_ignore", "1"}, {"vrrp.51", "accept_local", "1"}, {"vrrp.51", "rp_filter", "0"},
		{"vrrp.51", "promote_secondaries", "1"}, {"eth0", "arp_ignore", "1"}, {"eth0", "arp_filter", "1"},
	} {
		if got, kaGot := a.sysctl(s.dev, s.name), b.sysctl(s.dev, s.name); got != s.want || kaGot != s.want {
			t.Errorf("%s %s: lvsd %q, keepalived %q, want %q", s.dev, s.name, got, kaGot, s.want)
		}
	}
	out := run(t, "ip", "-n", l.ns["A"], "-d", "link", "show", "vrrp.51")
	if !strings.Contains(out, "macvlan mode private") || !strings.Contains(out, vmac.String()) {
		t.Errorf("lvsd's VMAC is not a private macvlan with %s:\n%s", vmac, out)
	}

	// lvsd stops: keepalived takes over on its VMAC.
	stopAt := time.Now()
	a.term()
	expectHolder(t, b, a, "vrrp.51", b.masterDownInterval()+2*time.Second)
	if _, ok := wire.firstAnnounce(netip.MustParseAddr(labVIP), vmac, stopAt, 3*time.Second); !ok {
		t.Errorf("no gratuitous ARP from %v's VMAC after the takeover", b)
	}
	if err := exec.Command("ip", "-n", l.ns["A"], "link", "show", "vrrp.51").Run(); err == nil {
		t.Errorf("%v left its VMAC behind", a)
	}
	if got := a.sysctl("eth0", "arp_ignore") + a.sysctl("eth0", "arp_filter"); got != "00" {
		t.Errorf("%v left eth0's arp_ignore, arp_filter at %q, want them restored to 0, 0", a, got)
	}

	// lvsd returns and preempts keepalived.
	a.start()
	expectHolder(t, a, b, "vrrp.51", a.masterDownInterval()+3*time.Second)
	for _, d := range []*kaPeer{a, b} {
		if log := d.p.logText(); strings.Contains(log, "dropped VRRP packet") {
			t.Errorf("%v dropped adverts:\n%s", d, tail(log, 10))
		}
	}
}
