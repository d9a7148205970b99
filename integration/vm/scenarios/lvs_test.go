package scenarios

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
)

// These tests program IPVS with package lvs (as lvsd does) and read the
// table back with ipvsadm -Ln, the independent reader.

// countingKernel counts the operations lvs applies.
type countingKernel struct {
	lvs.Kernel
	mu  sync.Mutex
	ops []lvs.Op
}

func (k *countingKernel) Apply(ops []lvs.Op) (int, []lvs.Refusal, error) {
	k.mu.Lock()
	k.ops = append(k.ops, ops...)
	k.mu.Unlock()
	return k.Kernel.Apply(ops)
}

// take returns and forgets the operations applied so far.
func (k *countingKernel) take() []lvs.Op {
	k.mu.Lock()
	defer k.mu.Unlock()
	ops := k.ops
	k.ops = nil
	return ops
}

// openDirector opens the director namespace's IPVS table through lvs.
func (l *lab) openDirector() (*countingKernel, *lvs.Manager) {
	l.t.Helper()
	k, err := lvs.OpenKernel(l.dirNS)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { k.Close() })
	ck := &countingKernel{Kernel: k}
	return ck, lvs.NewManager(ck, lvs.ManagerOptions{Interval: time.Hour})
}

// labConfig is a configuration with one service of every kind the issue
// names: DR, NAT, TUN, fwmark and IPv6, on lvs_program "always" (no VRRP
// instance needed), loaded through hcl as lvsd loads it. reloaded is the
// same file after an edit that touches each kind of object once: a
// destination's weight, a service's scheduler, a destination removed, the
// fwmark service removed, a destination added.
func labConfig(t testing.TB, reloaded bool) *hcl.Config {
	drReals := `real_server "10.0.0.11:80" {}
  real_server "10.0.0.12:80" {}`
	natWeight, tunAlgo, v6Extra := 1, "wlc", ""
	fwmark := `virtual_server "fwmark 1" {
  lb_algo = "sh"
  lb_kind = "DR"
  real_server "10.0.0.11" {}
  real_server "10.0.0.12" {}
}`
	if reloaded {
		drReals = `real_server "10.0.0.11:80" {}`
		natWeight, tunAlgo, fwmark = 4, "rr", ""
		v6Extra = `real_server "[fd00:10::13]:80" {}`
	}
	return hcltest.Load(t, fmt.Sprintf(`
global {
  lvs_program        = "always"
  reconcile_interval = 3600
}
virtual_server "%[1]s:80" {
  lb_algo = "rr"
  lb_kind = "DR"
  %[5]s
}
virtual_server "%[2]s:80" {
  lb_algo = "wrr"
  lb_kind = "NAT"
  real_server "10.0.0.11:80" { weight = 2 }
  real_server "10.0.0.12:80" { weight = %[6]d }
}
virtual_server "%[3]s:80" {
  lb_algo = %[7]q
  lb_kind = "TUN"
  real_server "10.0.0.11:80" { weight = 3 }
  real_server "10.0.0.12:80" {}
}
%[8]s
virtual_server "[%[4]s]:80" {
  lb_algo = "lc"
  lb_kind = "NAT"
  real_server "[fd00:10::11]:80" {}
  real_server "[fd00:10::12]:80" { weight = 5 }
  %[9]s
}
`, vipDR, vipNAT, vipTUN, vip6NAT, drReals, natWeight, tunAlgo, fwmark, v6Extra))
}

// labTable is labConfig as ipvsadm -Ln shows it, canonicalised.
const labTable = `FWM 1 sh
  -> 10.0.0.11:0 Route 1
  -> 10.0.0.12:0 Route 1
TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 1
  -> 10.0.0.12:80 Route 1
TCP 10.0.0.101:80 wlc
  -> 10.0.0.11:80 Tunnel 3
  -> 10.0.0.12:80 Tunnel 1
TCP 10.1.0.100:80 wrr
  -> 10.0.0.11:80 Masq 2
  -> 10.0.0.12:80 Masq 1
TCP [fd00:1::100]:80 lc
  -> [fd00:10::11]:80 Masq 1
  -> [fd00:10::12]:80 Masq 5
`

func TestLvsdProgramsNATDRTUNFwmarkAndIPv6ServicesExactly(t *testing.T) {
	l := newLab(t)
	k, m := l.openDirector()
	m.SetConfig(labConfig(t, false))
	if got := l.table(); got != labTable {
		t.Fatalf("ipvsadm -Ln after SetConfig:\n%s\nwant:\n%s", got, labTable)
	}
	// 5 services, 10 destinations, nothing else.
	if ops := k.take(); len(ops) != 15 {
		t.Errorf("SetConfig applied %d operations, want 15: %v", len(ops), ops)
	}
	if n, err := m.Reconcile(context.Background()); err != nil || n != 0 {
		t.Errorf("Reconcile of an equal table applied %d (err %v), want 0", n, err)
	}
}

func TestLvsdTrafficFollowsTheScheduler(t *testing.T) {
	l := newLab(t)
	_, m := l.openDirector()
	m.SetConfig(labConfig(t, false))
	t.Run("DR rr alternates", func(t *testing.T) { assertAlternates(t, l.pages(vipDR, 80, 6)) })
	t.Run("NAT wrr 2:1", func(t *testing.T) {
		counts := map[string]int{}
		got := l.pages(vipNAT, 80, 9)
		for _, p := range got {
			counts[p]++
		}
		if counts["rs1"] != 6 || counts["rs2"] != 3 {
			t.Errorf("9 connections with weights 2:1 went %v (%v), want rs1 6, rs2 3", counts, got)
		}
	})
	t.Run("TUN reaches both", func(t *testing.T) {
		got := l.pages(vipTUN, 80, 8)
		seen := map[string]bool{}
		for _, p := range got {
			seen[p] = true
		}
		if !seen["rs1"] || !seen["rs2"] {
			t.Errorf("TUN connections went %v, want both real servers", got)
		}
	})
	t.Run("IPv6 NAT reaches both", func(t *testing.T) {
		got := l.pages(vip6NAT, 80, 8)
		seen := map[string]bool{}
		for _, p := range got {
			seen[p] = true
		}
		if !seen["rs1"] || !seen["rs2"] {
			t.Errorf("IPv6 NAT connections went %v, want both real servers", got)
		}
	})
}

func TestLvsdReloadChangesOnlyWhatDiffers(t *testing.T) {
	l := newLab(t)
	k, m := l.openDirector()
	m.SetConfig(labConfig(t, false))
	k.take()

	m.SetConfig(labConfig(t, true))
	// One operation per difference; lvs deletes a retired service's
	// destinations before the service itself (2 + 1 for FWM 1).
	ops := k.take()
	if len(ops) != 7 {
		t.Errorf("reload applied %d operations, want 7:", len(ops))
		for _, op := range ops {
			t.Log(op)
		}
	}
	want := `TCP 10.0.0.100:80 rr
  -> 10.0.0.11:80 Route 1
TCP 10.0.0.101:80 rr
  -> 10.0.0.11:80 Tunnel 3
  -> 10.0.0.12:80 Tunnel 1
TCP 10.1.0.100:80 wrr
  -> 10.0.0.11:80 Masq 2
  -> 10.0.0.12:80 Masq 4
TCP [fd00:1::100]:80 lc
  -> [fd00:10::11]:80 Masq 1
  -> [fd00:10::12]:80 Masq 5
  -> [fd00:10::13]:80 Masq 1
`
	if got := l.table(); got != want {
		t.Errorf("ipvsadm -Ln after reload:\n%s\nwant:\n%s", got, want)
	}
}

func TestLvsdRestoresADestinationDeletedByIpvsadm(t *testing.T) {
	l := newLab(t)
	k, m := l.openDirector()
	m.SetConfig(labConfig(t, false))
	k.take()
	l.ipvsadm("-d", "-t", vipNAT+":80", "-r", "10.0.0.12:80")
	l.ipvsadm("-e", "-t", vipDR+":80", "-r", "10.0.0.11:80", "-g", "-w", "9")
	n, err := m.Reconcile(context.Background())
	if err != nil || n != 2 {
		t.Errorf("Reconcile applied %d (err %v), want 2: %v", n, err, k.take())
	}
	if got := l.table(); got != labTable {
		t.Errorf("ipvsadm -Ln after repair:\n%s\nwant:\n%s", got, labTable)
	}
}

func TestLvsdLeavesAForeignServiceAlone(t *testing.T) {
	l := newLab(t)
	l.ipvsadm("-A", "-u", "10.0.0.200:53", "-s", "rr")
	l.ipvsadm("-a", "-u", "10.0.0.200:53", "-r", "10.0.0.11:53", "-m")
	k, m := l.openDirector()
	m.SetConfig(labConfig(t, false))
	if n, err := m.Reconcile(context.Background()); err != nil || n != 0 {
		t.Errorf("Reconcile applied %d (err %v), want 0", n, err)
	}
	for _, op := range k.take() {
		if op.Service.Protocol == "UDP" {
			t.Errorf("lvs touched the foreign service: %v", op)
		}
	}
	want := labTable + "UDP 10.0.0.200:53 rr\n  -> 10.0.0.11:53 Masq 1\n"
	if got := l.table(); got != want {
		t.Errorf("ipvsadm -Ln:\n%s\nwant:\n%s", got, want)
	}
}

// assertAlternates checks that consecutive connections went to different
// real servers and that both were used (rr over two servers).
func assertAlternates(t *testing.T, got []string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("connections went %v: %d and %d hit the same real server", got, i-1, i)
		}
	}
	if !slices.Contains(got, "rs1") || !slices.Contains(got, "rs2") {
		t.Fatalf("connections went %v, want both rs1 and rs2", got)
	}
	t.Logf("connections went %v", got)
}
