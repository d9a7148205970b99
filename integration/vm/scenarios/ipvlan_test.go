package scenarios

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// use_ipvlan needs the ipvlan module, which the build hosts' kernel
// lacks: it is compared here, in the VM. A director namespace and a
// client namespace share a veth; keepalived 2.2.7 and then lvsd run the
// same keepalived.conf (an instance with use_ipvlan NAME ADDR private) as
// the only director.

const ipvlanConf = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    use_ipvlan ipv51 10.2.0.10/24 private
    virtual_ipaddress {
        10.2.0.100/24
    }
}
`

// ipvlanSeen is what one daemon made: the device of the VIP, the link as
// `ip -d link` describes it, the addresses on it, the adverts' source, whether the client
// reached the VIP and whether the link was gone after SIGTERM.
type ipvlanSeen struct {
	vipDev    string
	link      string
	addrs     []string
	advertSrc string
	pinged    bool
	removed   bool
}

var ipvlanKind = regexp.MustCompile(`ipvlan\s+mode\s+\S+\s+\S+`)

func ipvlanRun(t *testing.T, bin, name string) ipvlanSeen {
	t.Helper()
	for _, ns := range []string{"ipv-d", "ipv-c"} {
		ipvlanCmd(t, "/sbin/ip", "netns", "add", ns)
		t.Cleanup(func() { exec.Command("/sbin/ip", "netns", "del", ns).Run() })
		ipvlanCmd(t, "/sbin/ip", "-n", ns, "link", "set", "lo", "up")
	}
	ipvlanCmd(t, "/sbin/ip", "-n", "ipv-d", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", "ipv-c")
	ipvlanCmd(t, "/sbin/ip", "-n", "ipv-d", "addr", "add", "10.2.0.1/24", "dev", "eth0")
	ipvlanCmd(t, "/sbin/ip", "-n", "ipv-c", "addr", "add", "10.2.0.2/24", "dev", "eth0")
	ipvlanCmd(t, "/sbin/ip", "-n", "ipv-d", "link", "set", "eth0", "up")
	ipvlanCmd(t, "/sbin/ip", "-n", "ipv-c", "link", "set", "eth0", "up")

	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(ipvlanConf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/sbin/ip", "netns", "exec", "ipv-d", bin, "-n", "-l", "-D", "-f", conf,
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "checkers.pid"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	log := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }

	var seen ipvlanSeen
	holds := func() bool {
		out, _ := exec.Command("/sbin/ip", "-n", "ipv-d", "-o", "-4", "addr", "show").CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[3] == "10.2.0.100/24" {
				seen.vipDev = f[1]
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(15 * time.Second)
	for !holds() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !holds() {
		t.Fatalf("%s never held the VIP:\n%s", name, log())
	}
	out, _ := exec.Command("/sbin/ip", "-n", "ipv-d", "-d", "-o", "link", "show", "ipv51").CombinedOutput()
	seen.link = ipvlanKind.FindString(string(out))
	out, _ = exec.Command("/sbin/ip", "-n", "ipv-d", "-o", "-4", "addr", "show", "dev", "ipv51").CombinedOutput()
	for _, f := range strings.Fields(string(out)) {
		if strings.Count(f, ".") == 3 && strings.Contains(f, "/") {
			seen.addrs = append(seen.addrs, f)
		}
	}
	slices.Sort(seen.addrs)
	if src, err := advertSource("ipv-c", 4*time.Second); err == nil {
		seen.advertSrc = src.String()
	} else {
		t.Logf("%s: no advert read: %v", name, err)
	}
	seen.pinged = exec.Command("/sbin/ip", "netns", "exec", "ipv-c", "/bin/busybox", "ping", "-c", "1", "-W", "2", "10.2.0.100").Run() == nil
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not stop within 10 s of SIGTERM", name)
	}
	seen.removed = exec.Command("/sbin/ip", "-n", "ipv-d", "link", "show", "ipv51").Run() != nil
	t.Logf("▶ %s: %+v", name, seen)
	for _, ns := range []string{"ipv-d", "ipv-c"} {
		exec.Command("/sbin/ip", "netns", "del", ns).Run()
	}
	return seen
}

// advertSource reads one VRRP advert (IP protocol 112) in namespace ns
// and returns its IP source.
func advertSource(ns string, limit time.Duration) (netip.Addr, error) {
	var src netip.Addr
	err := inNamespace(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 112)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		// Multicast adverts reach a raw socket only on a member of the
		// group (RFC 3768 §5.2.2: 224.0.0.18).
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		mreq := &unix.IPMreqn{Multiaddr: [4]byte{224, 0, 0, 18}, Ifindex: int32(ifi.Index)}
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); err != nil {
			return err
		}
		tv := unix.NsecToTimeval(limit.Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		if n < 20 {
			return errors.New("short packet")
		}
		src = netip.AddrFrom4([4]byte(buf[12:16]))
		return nil
	})
	return src, err
}

func ipvlanCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestLvsdKeepalivedIPVLAN: both daemons make the same l2 ipvlan (flag
// private) named ipv51 on eth0 holding its address 10.2.0.10/24, add the
// VIP to eth0 as MASTER (keepalived 2.2.7 leaves VIPs on the instance's
// interface with an ipvlan), send their adverts from that address, answer the
// client's ping to the VIP, and remove the ipvlan at stop.
func TestLvsdKeepalivedIPVLAN(t *testing.T) {
	requireGuest(t)
	ka, lvsd := os.Getenv("KEEPALIVED_BIN"), os.Getenv("LVSD_BIN")
	if ka == "" || lvsd == "" {
		t.Skip("needs KEEPALIVED_BIN and LVSD_BIN in the guest")
	}
	kaSeen := ipvlanRun(t, ka, "keepalived")
	lvSeen := ipvlanRun(t, lvsd, "lvsd")
	want := ipvlanSeen{vipDev: "eth0", link: "ipvlan  mode l2 private", addrs: []string{"10.2.0.10/24"},
		advertSrc: "10.2.0.10", pinged: true, removed: true}
	norm := func(s ipvlanSeen) string {
		s.link = strings.Join(strings.Fields(s.link), " ")
		return fmt.Sprintf("%+v", s)
	}
	if norm(kaSeen) != norm(want) {
		t.Logf("keepalived did not do what was expected: %s", norm(kaSeen))
	}
	if lvSeen.advertSrc == "" {
		t.Errorf("no advert of lvsd's read on the client")
	}
	if norm(lvSeen) != norm(kaSeen) {
		t.Errorf("use_ipvlan\n keepalived %s\n lvsd       %s", norm(kaSeen), norm(lvSeen))
	}
}
