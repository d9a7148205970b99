package integration

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// groupConfig is an lvsd config with two instances on eth0 in one
// vrrp_sync_group; VI_2 tracks trk0 when track is set; every notify hook appends its
// arguments to notifyFile.
func groupConfig(priority int, script string, track bool) string {
	inst := func(name string, vrid int, vip, extra string) string {
		return fmt.Sprintf(`vrrp_instance %q {
  interface         = "eth0"
  virtual_router_id = %d
  priority          = %d
  advert_int        = 1
  authentication {
    auth_type = "PASS"
    auth_pass = "secret"
  }
  virtual_ipaddress = ["%s/24 dev eth0"]
  notify_master     = "%s %s-master"
  notify            = %q
%s}
`, name, vrid, priority, vip, script, name, script, extra)
	}
	trackLine := ""
	if track {
		trackLine = "  track_interface = [\"trk0\"]\n"
	}
	return inst("VI_1", 51, "10.99.0.100", "") +
		inst("VI_2", 52, "10.99.0.101", trackLine) + fmt.Sprintf(`
vrrp_sync_group "G" {
  group  = ["VI_1", "VI_2"]
  notify = %q
}
`, script)
}

// TestVRRPSyncGroupTrackInterfaceNotify: a tracked interface going down puts
// its instance in FAULT, the sync group takes the other instance along, the
// peer takes both over after Skew_Time; notify scripts get keepalived's
// arguments; the link coming back makes the node preempt again.
func TestVRRPSyncGroupTrackInterfaceNotify(t *testing.T) {
	l := newVRRPLab(t)
	// trk0 is the tracked link; taking its veth peer trk1 down drops its
	// carrier (the host kernel may lack the dummy driver).
	run(t, "ip", "-n", l.ns["A"], "link", "add", "trk0", "type", "veth", "peer", "name", "trk1")
	run(t, "ip", "-n", l.ns["A"], "link", "set", "trk0", "up")
	run(t, "ip", "-n", l.ns["A"], "link", "set", "trk1", "up")
	scripts := map[string]string{}
	speakers := map[string]*speaker{}
	for name, prio := range map[string]int{"A": 150, "B": 100} {
		out := l.path(name + "-notify.out")
		script := l.path(name + "-notify.sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+out+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		scripts[name] = out
		s := l.speaker(name, "lvsd", prio)
		s.config = groupConfig(prio, script, name == "A")
		speakers[name] = s
	}
	a, b := speakers["A"], speakers["B"]
	a.start()
	b.start()
	holds := func(name, vip string) bool {
		out, _ := output("ip", "-n", l.ns[name], "-4", "-o", "addr", "show", "dev", "eth0")
		return strings.Contains(out, " "+vip+"/")
	}
	both := func(name string) bool { return holds(name, "10.99.0.100") && holds(name, "10.99.0.101") }
	none := func(name string) bool { return !holds(name, "10.99.0.100") && !holds(name, "10.99.0.101") }
	if !waitFor(a.masterDownInterval()+3*time.Second, func() bool { return both("A") && none("B") }) {
		t.Fatalf("A should hold both VIPs:\n%s\n%s", tail(a.logText(), 20), tail(b.logText(), 20))
	}
	notified := func(name string, want ...string) {
		t.Helper()
		ok := waitFor(2*time.Second, func() bool {
			got, _ := os.ReadFile(scripts[name])
			lines := strings.Split(string(got), "\n")
			for _, w := range want {
				if !slices.Contains(lines, w) {
					return false
				}
			}
			return true
		})
		if !ok {
			got, _ := os.ReadFile(scripts[name])
			t.Fatalf("%s notify: want %q in\n%s", name, want, got)
		}
	}
	notified("A", "VI_1-master", "VI_2-master", "INSTANCE VI_1 MASTER 150", "INSTANCE VI_2 MASTER 150", "GROUP G MASTER 0")
	notified("B", "INSTANCE VI_1 BACKUP 100", "INSTANCE VI_2 BACKUP 100")

	// trk0 down: VI_2 FAULT, VI_1 follows; both resign with priority 0,
	// so B takes over after its Skew_Time.
	at := time.Now()
	run(t, "ip", "-n", l.ns["A"], "link", "set", "trk1", "down")
	if !waitFor(b.masterDownInterval()+slack, func() bool { return both("B") && none("A") }) {
		t.Fatalf("B should hold both VIPs:\n%s\n%s", tail(a.logText(), 20), tail(b.logText(), 20))
	}
	t.Logf("tracked interface down -> B holds both VIPs after %v", time.Since(at).Round(time.Millisecond))
	notified("A", "INSTANCE VI_1 FAULT 150", "INSTANCE VI_2 FAULT 150", "GROUP G FAULT 0")
	notified("B", "INSTANCE VI_1 MASTER 100", "INSTANCE VI_2 MASTER 100", "GROUP G MASTER 0")

	run(t, "ip", "-n", l.ns["A"], "link", "set", "trk1", "up")
	if !waitFor(a.masterDownInterval()+3*time.Second, func() bool { return both("A") && none("B") }) {
		t.Fatalf("A should preempt again:\n%s\n%s", tail(a.logText(), 20), tail(b.logText(), 20))
	}
	a.term()
	notified("A", "INSTANCE VI_1 STOP 150", "INSTANCE VI_2 STOP 150")
}
