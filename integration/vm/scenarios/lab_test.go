package scenarios

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses of the lab. The director's bridge "lan" joins the real
// servers and the client's first leg (DR and TUN need one link between
// director and real servers); the client's second leg "wan" is routed
// through the director, as NAT requires of the real servers' replies.
const (
	lanDirector = "10.0.0.1"
	lanClient   = "10.0.0.2"
	wanDirector = "10.1.0.1"
	wanClient   = "10.1.0.2"
	vipDR       = "10.0.0.100"
	vipTUN      = "10.0.0.101"
	vipNAT      = "10.1.0.100"
	vip6NAT     = "fd00:1::100"
	lan6        = "fd00:10::"
	wan6        = "fd00:1::"
)

// realServer is one real-server namespace with busybox httpd on port 80
// answering its own name.
type realServer struct {
	name string // namespace, also the page it serves
	ip   string // on lan
	ip6  string
}

// lab is the topology of one test; newLab builds it and t.Cleanup
// removes it.
type lab struct {
	t       *testing.T
	reals   []realServer
	dirNS   string // /run/netns/lvsd-dir, for lvs.OpenKernel
	client  string // namespace name
	httpds  []*exec.Cmd
	created []string
}

func requireGuest(t *testing.T) {
	t.Helper()
	if os.Getenv("LVSD_VM_GUEST") != "1" {
		t.Skip("runs only inside the IPVS test VM (LVSD_VM_GUEST=1; see integration/ipvs_vm_test.go)")
	}
}

func newLab(t *testing.T) *lab {
	t.Helper()
	requireGuest(t)
	l := &lab{t: t, dirNS: "/run/netns/lvsd-dir", client: "lvsd-client",
		reals: []realServer{
			{name: "rs1", ip: "10.0.0.11", ip6: lan6 + "11"},
			{name: "rs2", ip: "10.0.0.12", ip6: lan6 + "12"},
		}}
	t.Cleanup(l.close)
	for _, ns := range []string{"lvsd-dir", l.client, "rs1", "rs2"} {
		l.ip("netns", "add", ns)
		l.created = append(l.created, ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	d := "lvsd-dir"
	for _, k := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"} {
		l.in(d, "sysctl", "-qw", k)
	}
	l.ip("-n", d, "link", "add", "lan", "type", "bridge")
	l.ip("-n", d, "addr", "add", lanDirector+"/24", "dev", "lan")
	l.ip("-n", d, "addr", "add", lan6+"1/64", "dev", "lan", "nodad")
	l.ip("-n", d, "link", "set", "lan", "up")
	// The VIPs live on a dummy interface: local to the director, so IPVS
	// sees traffic for them in LOCAL_IN; the director answers ARP for them.
	l.ip("-n", d, "link", "add", "vips", "type", "dummy")
	for _, a := range []string{vipDR + "/32", vipTUN + "/32", vipNAT + "/32"} {
		l.ip("-n", d, "addr", "add", a, "dev", "vips")
	}
	l.ip("-n", d, "link", "set", "vips", "up")

	// Client: eth0 on lan (DR, TUN), eth1 on wan (NAT).
	l.veth(d, "cl-lan", l.client, "eth0", true)
	l.ip("-n", l.client, "addr", "add", lanClient+"/24", "dev", "eth0")
	l.ip("-n", l.client, "addr", "add", lan6+"2/64", "dev", "eth0", "nodad")
	l.veth(d, "cl-wan", l.client, "eth1", false)
	l.ip("-n", d, "addr", "add", wanDirector+"/24", "dev", "cl-wan")
	l.ip("-n", d, "addr", "add", wan6+"1/64", "dev", "cl-wan", "nodad")
	// IPv6 answers neighbour solicitations only for addresses on the
	// receiving interface, so the IPv6 VIP sits on the client-facing link.
	l.ip("-n", d, "addr", "add", vip6NAT+"/128", "dev", "cl-wan", "nodad")
	l.ip("-n", l.client, "addr", "add", wanClient+"/24", "dev", "eth1")
	l.ip("-n", l.client, "addr", "add", wan6+"2/64", "dev", "eth1", "nodad")

	for _, rs := range l.reals {
		l.veth(d, rs.name+"-p", rs.name, "eth0", true)
		l.ip("-n", rs.name, "addr", "add", rs.ip+"/24", "dev", "eth0")
		l.ip("-n", rs.name, "addr", "add", rs.ip6+"/64", "dev", "eth0", "nodad")
		// NAT: replies must go back through the director.
		l.ip("-n", rs.name, "route", "add", "default", "via", lanDirector)
		l.ip("-n", rs.name, "-6", "route", "add", "default", "via", lan6+"1")
		// DR and TUN: the VIPs on lo, never announced by ARP.
		l.hideVIPs(rs.name, vipDR, vipTUN)
		// TUN: decapsulate IP-in-IP on the fallback tunl0.
		if l.tryIP("-n", rs.name, "link", "set", "tunl0", "up") == nil {
			l.in(rs.name, "sysctl", "-qw", "net.ipv4.conf.tunl0.rp_filter=0")
		}
		l.startHTTPD(rs.name)
	}
	l.waitHTTP()
	return l
}

// hideVIPs puts the VIPs on ns's lo without ever announcing them by ARP
// (the LVS-DR arp_ignore/arp_announce recipe), as a DR or TUN real server
// needs.
func (l *lab) hideVIPs(ns string, vips ...string) {
	l.t.Helper()
	for _, k := range []string{
		"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
		"net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2",
	} {
		l.in(ns, "sysctl", "-qw", k)
	}
	for _, vip := range vips {
		l.ip("-n", ns, "addr", "add", vip+"/32", "dev", "lo")
	}
}

// startHTTPD serves /srv/NS/index.html, whose text is the namespace's
// name, with busybox httpd on port 80 in namespace ns; close stops it.
func (l *lab) startHTTPD(ns string) {
	l.t.Helper()
	dir := "/srv/" + ns
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/index.html", []byte(ns), 0o644); err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command("/sbin/ip", "netns", "exec", ns, "/bin/busybox", "httpd", "-f", "-p", "80", "-h", dir)
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("httpd in %s: %v", ns, err)
	}
	l.httpds = append(l.httpds, cmd)
}

// veth links namespace a's interface an with b's bn; a's end joins the
// bridge lan when bridged.
func (l *lab) veth(a, an, b, bn string, bridged bool) {
	l.ip("-n", a, "link", "add", an, "type", "veth", "peer", "name", bn, "netns", b)
	if bridged {
		l.ip("-n", a, "link", "set", an, "master", "lan")
	}
	l.ip("-n", a, "link", "set", an, "up")
	l.ip("-n", b, "link", "set", bn, "up")
}

func (l *lab) close() {
	for _, c := range l.httpds {
		c.Process.Kill()
		c.Wait()
	}
	for _, ns := range l.created {
		exec.Command("/sbin/ip", "netns", "del", ns).Run()
	}
}

// ip runs iproute2's ip (by full path: busybox has an ip applet).
func (l *lab) ip(args ...string) {
	l.t.Helper()
	if err := l.tryIP(args...); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) tryIP(args ...string) error {
	out, err := exec.Command("/sbin/ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// in runs a command inside namespace ns.
func (l *lab) in(ns string, args ...string) string {
	l.t.Helper()
	out, err := exec.Command("/sbin/ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s in %s: %v: %s", strings.Join(args, " "), ns, err, out)
	}
	return string(out)
}

// ipvsadm runs ipvsadm in the director's namespace.
func (l *lab) ipvsadm(args ...string) string {
	l.t.Helper()
	return l.in("lvsd-dir", append([]string{"/sbin/ipvsadm"}, args...)...)
}

// table reads the director's IPVS table with ipvsadm -Ln in canonical
// form (see canonicalTable).
func (l *lab) table() string {
	l.t.Helper()
	return canonicalTable(l.ipvsadm("-Ln"))
}

// canonicalTable turns `ipvsadm -Ln` output into a stable text: the header
// dropped, services sorted, each followed by its destinations sorted, the
// connection counters removed, columns single-spaced. ipvsadm lists
// services in hash order and destinations in insertion order.
func canonicalTable(out string) string {
	var blocks [][]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "IP Virtual Server") ||
			strings.HasPrefix(line, "Prot ") || strings.Contains(line, "RemoteAddress:Port"):
			continue
		case f[0] == "->":
			if len(f) >= 4 && len(blocks) > 0 {
				// -> ADDR FORWARD WEIGHT ACTIVE INACTIVE
				blocks[len(blocks)-1] = append(blocks[len(blocks)-1], "  -> "+strings.Join(f[1:4], " "))
			}
		default:
			blocks = append(blocks, []string{strings.Join(f, " ")})
		}
	}
	var b strings.Builder
	slices.SortFunc(blocks, func(x, y []string) int { return strings.Compare(x[0], y[0]) })
	for _, blk := range blocks {
		slices.Sort(blk[1:])
		for _, l := range blk {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// waitHTTP waits until every real server's httpd answers.
func (l *lab) waitHTTP() {
	l.t.Helper()
	for _, rs := range l.reals {
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var page string
			if page, err = l.get(rs.ip, 80); err == nil && page == rs.name {
				break
			}
		}
		if err != nil {
			l.t.Fatalf("httpd in %s never answered: %v", rs.name, err)
		}
	}
}

// get fetches http://addr:port/ from the client namespace with a fresh
// connection and returns the body (the real server's name).
func (l *lab) get(addr string, port int) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: l.dialFromClient}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(addr, fmt.Sprint(port)) + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(body)), err
}

// dialFromClient opens the socket inside the client namespace (see
// inNamespace).
func (l *lab) dialFromClient(ctx context.Context, network, addr string) (conn net.Conn, err error) {
	err = inNamespace(l.client, func() (err error) {
		var d net.Dialer
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// inNamespace runs f with this goroutine's thread in namespace ns: the
// thread enters the namespace, f creates its sockets there (a socket stays
// in the namespace it was created in), and the thread returns to its own
// namespace before it is released.
func inNamespace(ns string, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(self)
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("entering %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the wrong namespace: leave it locked
		// so the runtime discards it when the goroutine ends.
		runtime.LockOSThread()
		return fmt.Errorf("leaving %s: %w", ns, err)
	}
	return ferr
}

// pages fetches n pages through addr:port and returns the real servers'
// names in order.
func (l *lab) pages(addr string, port, n int) []string {
	l.t.Helper()
	var got []string
	for i := 0; i < n; i++ {
		page, err := l.get(addr, port)
		if err != nil {
			l.t.Fatalf("request %d to %s: %v (table:\n%s)", i, net.JoinHostPort(addr, fmt.Sprint(port)), err, l.table())
		}
		got = append(got, page)
	}
	return got
}
