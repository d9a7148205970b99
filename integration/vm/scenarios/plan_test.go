package scenarios

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// planConfig is the configuration `lvsd plan` is asked about: against the
// live table of TestLvsdPlanShowsTheDiffAgainstTheLiveTable it changes one
// weight, adds a real server, drops one, changes a scheduler and adds a
// service; the hand-made service 10.9.0.200:22 is not in it.
const planConfig = `global {
  lvs_program    = "always"
  control_socket = "/tmp/plan/lvsd.sock"
}

virtual_server "10.9.0.100:80" {
  protocol = "TCP"
  lb_algo  = "rr"
  lb_kind  = "NAT"
  real_server "10.9.0.11:80" {
    weight = 1
  }
  real_server "10.9.0.12:80" {
    weight = 5
  }
  real_server "10.9.0.14:80" {
    weight = 1
  }
}

virtual_server "10.9.0.101:443" {
  protocol = "TCP"
  lb_algo  = "wlc"
  lb_kind  = "NAT"
  real_server "10.9.0.11:443" {
    weight = 1
  }
}

virtual_server "10.9.0.102:53" {
  protocol = "UDP"
  lb_algo  = "sh"
  lb_kind  = "NAT"
  real_server "10.9.0.11:53" {
    weight = 1
  }
}
`

// TestLvsdPlanShowsTheDiffAgainstTheLiveTable (issue 4): a table built by
// hand with ipvsadm, then `lvsd plan -f` (the real binary) in that
// namespace prints exactly the operations that would bring it to the
// configuration, names the foreign service it would leave alone, and
// changes nothing; `lvsd run` then applies that plan, after which plan
// says there is nothing to do.
func TestLvsdPlanShowsTheDiffAgainstTheLiveTable(t *testing.T) {
	requireGuest(t)
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("no lvsd binary in the guest (set by integration/ipvs_vm_test.go)")
	}
	const ns = "lvsd-plan"
	l := &lab{t: t}
	t.Cleanup(l.close)
	l.ip("netns", "add", ns)
	l.created = append(l.created, ns)
	l.ip("-n", ns, "link", "set", "lo", "up")
	l.ip("-n", ns, "link", "add", "rs", "type", "dummy")
	l.ip("-n", ns, "link", "set", "rs", "up")
	l.ip("-n", ns, "addr", "add", "10.9.0.1/24", "dev", "rs")
	for _, args := range [][]string{
		{"-A", "-t", "10.9.0.100:80", "-s", "rr"},
		{"-a", "-t", "10.9.0.100:80", "-r", "10.9.0.11:80", "-m", "-w", "1"},
		{"-a", "-t", "10.9.0.100:80", "-r", "10.9.0.12:80", "-m", "-w", "1"},
		{"-a", "-t", "10.9.0.100:80", "-r", "10.9.0.13:80", "-m", "-w", "1"},
		{"-A", "-t", "10.9.0.101:443", "-s", "rr"},
		{"-a", "-t", "10.9.0.101:443", "-r", "10.9.0.11:443", "-m", "-w", "1"},
		{"-A", "-t", "10.9.0.200:22", "-s", "rr"},
	} {
		l.in(ns, append([]string{"/sbin/ipvsadm"}, args...)...)
	}
	dir := "/tmp/plan"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "lvsd.hcl")
	if err := os.WriteFile(cfg, []byte(planConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	before := canonicalTable(l.in(ns, "/sbin/ipvsadm", "-Ln"))
	plan := l.in(ns, bin, "plan", "-f", cfg)
	t.Logf("▶ lvsd plan against a table made with ipvsadm:")
	for _, line := range strings.Split(strings.TrimRight(plan, "\n"), "\n") {
		t.Logf("▶   %s", line)
	}
	for _, want := range []string{
		"10.9.0.12:80", "weight 1 -> 5", // the changed weight
		"10.9.0.14:80",      // the added real server
		"10.9.0.13:80",      // the dropped one
		"rr -> wlc",         // the changed scheduler
		"UDP 10.9.0.102:53", // the new service
		"leave foreign service TCP:10.9.0.200:22 alone",
		"Plan: 3 to add, 2 to change, 1 to delete.",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	if after := canonicalTable(l.in(ns, "/sbin/ipvsadm", "-Ln")); after != before {
		t.Fatalf("lvsd plan changed the table:\n%s\nwas:\n%s", after, before)
	}

	// Apply it with the daemon, then the plan is empty.
	run := exec.Command("/sbin/ip", "netns", "exec", ns, bin, "run", "-f", cfg)
	var log strings.Builder
	run.Stdout, run.Stderr = &log, &log
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		run.Process.Kill()
		run.Wait()
	}()
	var again string
	for i := 0; i < 100; i++ {
		again = l.in(ns, bin, "plan", "-f", cfg)
		if strings.Contains(again, "No changes") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(again, "No changes: the IPVS table matches the configuration.") ||
		!strings.Contains(again, "leave foreign service TCP:10.9.0.200:22 alone") {
		t.Fatalf("after lvsd run applied it, plan says:\n%s\nlog:\n%s", again, log.String())
	}
	t.Logf("▶ after lvsd run: %s", strings.TrimSpace(again[strings.LastIndex(strings.TrimRight(again, "\n"), "\n")+1:]))
}
