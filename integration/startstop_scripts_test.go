package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/script/scripttest"
)

// TestStartupShutdownScriptsAsKeepalived runs keepalived 2.2.7 and lvsd
// on the same keepalived.conf, each in a namespace of its own: the
// startup_script makes the interface the instance runs on (a veth eth9,
// a second later), so the instance can only come up if the daemon waited
// for the script; the shutdown_script records whether the VIP was still
// held when it ran and removes eth9. Both daemons must leave the same
// trace: the startup script, then, after the stop, the shutdown script
// with the VIP already gone.
func TestStartupShutdownScriptsAsKeepalived(t *testing.T) {
	bin := requireDiffTools(t)
	for _, daemon := range []string{"keepalived", "lvsd"} {
		t.Run(daemon, func(t *testing.T) {
			t.Parallel()
			path := map[string]string{"keepalived": "keepalived", "lvsd": bin}[daemon]
			ns := fmt.Sprintf("kss%d%s", os.Getpid()%10000, daemon[:2])
			kaDiffNamespace(t, ns)
			dir := t.TempDir()
			trace := filepath.Join(dir, "trace")
			_, startup := scripttest.Write(t, "sleep 1\nip link add eth9 type veth peer name eth9p && ip link set eth9p up && ip link set eth9 up && ip addr add 10.99.9.1/24 dev eth9\necho startup >> "+trace)
			_, shutdown := scripttest.Write(t, "if ip -4 addr show dev eth9 | grep -q 10.99.9.100; then echo shutdown vip-held; else echo shutdown vip-gone; fi >> "+trace+"\nip link del eth9")
			conf := filepath.Join(dir, "keepalived.conf")
			os.WriteFile(conf, []byte(fmt.Sprintf(`global_defs {
    enable_script_security
    script_user root
    startup_script %s
    startup_script_timeout 5
    shutdown_script %s
}
vrrp_instance VI_1 {
    state MASTER
    interface eth9
    virtual_router_id 67
    priority 255
    advert_int 1
    virtual_ipaddress {
        10.99.9.100/24
    }
}
`, startup, shutdown)), 0o644)
			p := startProc(t, ns, filepath.Join(dir, "daemon.log"), nil, path, "-f", conf, "-n", "-l", "-D", "-P",
				"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
			holds := func() bool {
				out, _ := exec.Command("ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth9").CombinedOutput()
				return strings.Contains(string(out), " 10.99.9.100/24")
			}
			if !waitFor(15*time.Second, holds) {
				t.Fatalf("%s: the VIP never came up on the startup script's eth9\n%s", daemon, tail(p.logText(), 20))
			}
			p.signal(syscall.SIGTERM)
			if _, ok := p.waitExit(20 * time.Second); !ok {
				t.Fatalf("%s did not stop within 20 s\n%s", daemon, tail(p.logText(), 20))
			}
			b, _ := os.ReadFile(trace)
			if got, want := string(b), "startup\nshutdown vip-gone\n"; got != want {
				t.Errorf("%s: trace %q, want %q\n%s", daemon, got, want, tail(p.logText(), 20))
			}
			if err := exec.Command("ip", "-n", ns, "link", "show", "eth9").Run(); err == nil {
				t.Errorf("%s: eth9 is still there: the shutdown script did not run to its end", daemon)
			}
		})
	}
}
