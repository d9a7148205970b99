package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The VRRP network keywords beside keepalived: one keepalived.conf with
// static_ipaddress, static_routes, static_rules and an instance with
// virtual_ipaddress_excluded, virtual_routes and virtual_rules, run by
// keepalived 2.2.7 and by lvsd, each alone in a namespace of the
// differential harness (kaDiffNamespace). What each leaves in the kernel
// is read back with ip route, ip rule and ip addr, independent readers,
// and compared: as MASTER, in FAULT (a tracked interface down: the
// virtual ones go, the static ones stay) and after SIGTERM (nothing of
// theirs left). keepalived 2.2.7 installs no route written with "or"
// (EINVAL with a dev, a route without next hop without); lvsd makes the
// multipath route keepalived.conf(5) describes, so "or" is left out here.

const routesConf = `global_defs {
    router_id routes
}
static_ipaddress {
    10.98.3.1/24 dev eth3 scope link
}
static_routes {
    10.200.0.0/16 via 10.99.0.254 dev eth0
    10.201.0.0/16 dev eth1 scope link table 100
}
static_rules {
    from 10.200.0.0/16 table 100 priority 100
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 100
    advert_int 1
    track_interface {
        eth2
    }
    virtual_ipaddress {
        10.99.0.100/24
    }
    virtual_ipaddress_excluded {
        10.99.1.100/24 dev eth1
        2001:db8:99::100/64 dev eth1
    }
    virtual_routes {
        src 10.99.0.100 10.210.0.0/16 via 10.99.0.254 dev eth0
        10.211.0.0/16 via 10.99.1.254 dev eth1 metric 50 table 101
        blackhole 10.212.0.0/16
        unreachable 10.213.0.0/16 table 101
        10.214.0.0/16 dev eth1 scope link
        2001:db8:214::/48 via 2001:db8:99::1 dev eth1
    }
    virtual_rules {
        from 10.99.0.100/32 table 101 priority 200
        to 10.210.0.0/16 table 101
        fwmark 7 table 101 priority 210
        iif eth1 table 101 priority 220
        from 10.216.0.0/16 blackhole priority 230
    }
}
`

// kernelNet is what a daemon left in a namespace, as ip prints it:
// routes and rules of protocol keepalived (both daemons' default), and
// the addresses besides the namespace's own.
func kernelNet(t *testing.T, ns string) string {
	t.Helper()
	var lines []string
	for _, args := range [][]string{
		{"-4", "route", "show", "table", "all"}, {"-6", "route", "show", "table", "all"},
		{"-4", "rule", "show"}, {"-6", "rule", "show"},
	} {
		out := run(t, append([]string{"ip", "-n", ns, "-o"}, args...)...)
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "proto keepalived") {
				lines = append(lines, args[0]+" "+args[1]+": "+strings.Join(strings.Fields(l), " "))
			}
		}
	}
	out := run(t, "ip", "-n", ns, "-o", "addr", "show")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[1] == "lo" || strings.HasPrefix(f[3], "fe80:") || strings.HasPrefix(f[3], "10.99.") && strings.HasSuffix(f[3], ".1/24") {
			continue
		}
		// index, dev, family, address and its flags up to valid_lft.
		end := slices.Index(f, "\\")
		if end < 0 {
			end = len(f)
		}
		lines = append(lines, "addr: "+strings.Join(f[1:end], " "))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// netRun is one daemon running routesConf in its own namespace.
type netRun struct {
	kind, ns string
	p        *proc
}

func startNetRun(t *testing.T, kind, ns, conf string) *netRun {
	t.Helper()
	kaDiffNamespace(t, ns)
	dir := t.TempDir()
	path := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := "keepalived"
	if kind == "lvsd" {
		bin = lvsdBinary(t)
	}
	p := startProc(t, ns, filepath.Join(dir, kind+".log"), nil, bin, "-f", path, "-n", "-l", "-P",
		"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
	return &netRun{kind: kind, ns: ns, p: p}
}

func TestVRRPRoutesRulesAndStaticAsKeepalived(t *testing.T) {
	requireDiffTools(t)
	id := os.Getpid() % 10000
	runs := []*netRun{
		startNetRun(t, "keepalived", fmt.Sprintf("krt%d", id), routesConf),
		startNetRun(t, "lvsd", fmt.Sprintf("lrt%d", id), routesConf),
	}
	// compare waits until both namespaces hold what want says (MASTER:
	// the VIP is there) and compares them.
	compare := func(phase string, limit time.Duration, settled func(string) bool) {
		t.Helper()
		var states [2]string
		ok := waitFor(limit, func() bool {
			for i, r := range runs {
				states[i] = kernelNet(t, r.ns)
			}
			return settled(states[0]) && settled(states[1]) && states[0] == states[1]
		})
		t.Logf("%s, keepalived and lvsd:\n%s", phase, states[0])
		if !ok {
			t.Errorf("%s: the kernels differ after %v\n--- keepalived:\n%s\n--- lvsd:\n%s\n--- lvsd log:\n%s", phase, limit,
				states[0], states[1], tail(runs[1].p.logText(), 15))
		}
	}
	master := func(s string) bool {
		return strings.Contains(s, "10.99.0.100/24") && strings.Contains(s, "10.214.0.0/16")
	}
	// keepalived starts in BACKUP and takes over after 3.6 s.
	compare("MASTER", 10*time.Second, master)
	if t.Failed() {
		return
	}
	for _, want := range []string{"blackhole 10.212.0.0/16", "10.211.0.0/16 via 10.99.1.254 dev eth1 table 101",
		"2001:db8:214::/48 via 2001:db8:99::1 dev eth1", "200: from 10.99.0.100 lookup 101",
		"16384: from all to 10.210.0.0/16 lookup 101", "addr: eth3 inet 10.98.3.1/24", "addr: eth1 inet6 2001:db8:99::100/64"} {
		if s := kernelNet(t, runs[1].ns); !strings.Contains(s, want) {
			t.Errorf("lvsd's kernel lacks %q", want)
		}
	}
	// A tracked interface down: FAULT. The virtual ones go, the static
	// ones stay.
	for _, r := range runs {
		run(t, "ip", "-n", r.ns, "link", "set", "eth2", "down")
	}
	compare("FAULT", 5*time.Second, func(s string) bool {
		return !strings.Contains(s, "10.99.0.100/24") && !strings.Contains(s, "10.211.0.0") && strings.Contains(s, "10.200.0.0/16")
	})
	for _, r := range runs {
		run(t, "ip", "-n", r.ns, "link", "set", "eth2", "up")
	}
	compare("MASTER again", 10*time.Second, master)
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			r.p.signal(syscall.SIGTERM)
			if _, ok := r.p.waitExit(8 * time.Second); !ok {
				t.Errorf("%s did not stop", r.kind)
			}
		})
	}
	wg.Wait()
	compare("stopped", 3*time.Second, func(s string) bool { return s == "" })
}
