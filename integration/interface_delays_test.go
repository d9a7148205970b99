package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInterfaceUpDownDelaysAsKeepalived runs keepalived 2.2.7 and lvsd on
// the same keepalived.conf, each in a namespace of its own: a MASTER on
// eth0 tracking eth1, with interface_up_down_delays { eth1 3 0 }. eth1
// down for 1 s changes nothing (the VIP stays); down for longer, the
// instance goes to FAULT (the VIP leaves) only after the 3 s; up again,
// it comes back at once. Both daemons must do so.
func TestInterfaceUpDownDelaysAsKeepalived(t *testing.T) {
	bin := requireDiffTools(t)
	for _, daemon := range []string{"keepalived", "lvsd"} {
		t.Run(daemon, func(t *testing.T) {
			t.Parallel()
			path := map[string]string{"keepalived": "keepalived", "lvsd": bin}[daemon]
			ns := fmt.Sprintf("kud%d%s", os.Getpid()%10000, daemon[:2])
			kaDiffNamespace(t, ns)
			dir := t.TempDir()
			conf := filepath.Join(dir, "keepalived.conf")
			os.WriteFile(conf, []byte(`interface_up_down_delays {
    eth1 3 0
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 72
    priority 255
    advert_int 1
    track_interface {
        eth1
    }
    virtual_ipaddress {
        10.99.0.172/24
    }
}
`), 0o644)
			p := startProc(t, ns, filepath.Join(dir, "daemon.log"), nil, path, "-f", conf, "-n", "-l", "-D", "-P",
				"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
			holds := func() bool {
				out, _ := exec.Command("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
				return strings.Contains(string(out), " 10.99.0.172/24")
			}
			link := func(state string) {
				if out, err := exec.Command("ip", "-n", ns, "link", "set", "eth1", state).CombinedOutput(); err != nil {
					t.Fatalf("eth1 %s: %v %s", state, err, out)
				}
			}
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("%s: "+format+"\n%s", append(append([]any{daemon}, args...), tail(p.logText(), 20))...)
			}
			if !waitFor(10*time.Second, holds) {
				fail("never MASTER")
			}
			// A 1 s flap: the VIP stays all along.
			link("down")
			for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if !holds() {
					fail("eth1 down for less than its 3 s delay took the VIP away")
				}
			}
			link("up")
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
				if !holds() {
					fail("the VIP left after eth1 came back within its delay")
				}
			}
			// Down for good: FAULT after the delay, not before.
			link("down")
			downAt := time.Now()
			if !waitFor(8*time.Second, func() bool { return !holds() }) {
				fail("eth1 down: the VIP stayed")
			}
			if took := time.Since(downAt); took < 2500*time.Millisecond {
				fail("eth1 down: the VIP left after %v, before the 3 s delay", took)
			}
			link("up")
			if !waitFor(6*time.Second, holds) {
				fail("eth1 up again: the VIP did not come back")
			}
		})
	}
}
