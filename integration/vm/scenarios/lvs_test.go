package scenarios

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
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

func service(addr string, algo, kind string, reals ...hcl.RealServer) hcl.VirtualServer {
	vs := hcl.VirtualServer{
		Name:        addr,
		Protocol:    hcl.ProtoTCP,
		DelayLoop:   time.Minute,
		LBAlgo:      algo,
		LBKind:      kind,
		Quorum:      1,
		RealServers: reals,
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		vs.Addr = ap
	}
	// A final configuration carries every default (hcl): lvs does not
	// default the persistence granularity again.
	vs.PersistenceGranularity = 32
	if vs.Addr.Addr().Is6() {
		vs.PersistenceGranularity = 128
	}
	return vs
}

func dest(addr string, weight int) hcl.RealServer {
	return hcl.RealServer{Addr: netip.MustParseAddrPort(addr), Weight: weight}
}

// labConfig is a configuration with one service of every kind the issue
// names: DR, NAT, TUN, fwmark and IPv6, on lvs_program "always" (no VRRP
// instance needed).
func labConfig() *hcl.Config {
	fw := service("fwmark 1", "sh", hcl.KindDR, dest("10.0.0.11:0", 1), dest("10.0.0.12:0", 1))
	fw.FWMark = 1
	fw.Protocol = ""
	return &hcl.Config{
		Global: hcl.Global{LVSProgram: hcl.LVSProgramAlways, ReconcileInterval: time.Hour},
		VirtualServers: []hcl.VirtualServer{
			service(vipDR+":80", "rr", hcl.KindDR, dest("10.0.0.11:80", 1), dest("10.0.0.12:80", 1)),
			service(vipNAT+":80", "wrr", hcl.KindNAT, dest("10.0.0.11:80", 2), dest("10.0.0.12:80", 1)),
			service(vipTUN+":80", "wlc", hcl.KindTUN, dest("10.0.0.11:80", 3), dest("10.0.0.12:80", 1)),
			fw,
			service("["+vip6NAT+"]:80", "lc", hcl.KindNAT, dest("[fd00:10::11]:80", 1), dest("[fd00:10::12]:80", 5)),
		},
	}
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
	m.SetConfig(labConfig())
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
	m.SetConfig(labConfig())
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
	m.SetConfig(labConfig())
	k.take()

	cfg := labConfig()
	cfg.VirtualServers[1].RealServers[1].Weight = 4                                                            // edit destination
	cfg.VirtualServers[2].LBAlgo = "rr"                                                                        // edit service
	cfg.VirtualServers[0].RealServers = cfg.VirtualServers[0].RealServers[:1]                                  // delete destination
	cfg.VirtualServers = append(cfg.VirtualServers[:3], cfg.VirtualServers[4])                                 // delete fwmark service (and its 2 destinations with it)
	cfg.VirtualServers[3].RealServers = append(cfg.VirtualServers[3].RealServers, dest("[fd00:10::13]:80", 1)) // add destination
	m.SetConfig(cfg)
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
	m.SetConfig(labConfig())
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
	m.SetConfig(labConfig())
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
