package lvs_test

import (
	"net"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvsd/lvsd/lvs"
)

// dialIn opens a TCP connection to addr from inside the network namespace
// at nsPath ("" = this one) and drops it, to move IPVS's counters.
func dialIn(t *testing.T, nsPath, addr string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if nsPath != "" {
			f, err := os.Open(nsPath)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
				t.Error(err)
				return
			}
		}
		if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
			c.Close()
		}
	}()
	<-done
}

// The table reader (genetlink_dump.go) reads every kind of service the
// kernel holds exactly as moby/ipvs does, counters and list order
// included, also when a dump takes many datagrams: a service with 300
// real servers, and 700 more services.
func TestKernelReaderReadsWhatMobyIPVSReads(t *testing.T) {
	e := newKernelEnv(t)
	k := e.open(lvs.KernelOptions{})
	moby := e.open(lvs.KernelOptions{MobyReads: true})
	cfg := kernelTestConfig(t, "", "", "")
	lvs.NewManager(k, lvs.ManagerOptions{}).SetConfig(cfg)
	var extra lvs.Table
	wide := lvs.Service{Protocol: "TCP", Addr: netip.MustParseAddrPort("192.0.2.200:443"), Scheduler: "rr", Netmask: 32}
	for i := range 300 {
		wide.Destinations = append(wide.Destinations, lvs.Destination{
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 443), Forward: lvs.ForwardRoute, Weight: i % 7})
	}
	extra = append(extra, wide)
	for i := range 700 {
		extra = append(extra, lvs.Service{Protocol: "UDP", Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 53),
			Scheduler: "rr", Netmask: 32, Destinations: []lvs.Destination{{Addr: netip.MustParseAddrPort("10.4.0.1:53"), Forward: lvs.ForwardMasq, Weight: 1}}})
	}
	if err := apply(k, lvs.Plan(extra, nil)); err != nil {
		t.Fatal(err)
	}
	// Traffic to the first service, so its counters are not all zero.
	e.setup("route", "replace", "192.0.2.0/24", "dev", "lo")
	for range 3 {
		dialIn(t, e.nsPath, "192.0.2.100:80")
	}
	// The kernel sums its per-CPU counters for readers every 2 s
	// (ip_vs_est.c).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if t, _ := k.Table(); t.Find(cfg.VirtualServers[0].Key()) != nil && t.Find(cfg.VirtualServers[0].Key()).Stats.Conns > 0 {
			break
		}
	}

	got, cost, err := lvs.ReadTable(k)
	if err != nil {
		t.Fatal(err)
	}
	want, err := moby.Table()
	if err != nil {
		t.Fatal(err)
	}
	// What moved between the two reads: the timers of the connections
	// just made. Read both again until they agree.
	for i := 0; i < 20 && !reflect.DeepEqual(got, want); i++ {
		time.Sleep(100 * time.Millisecond)
		got, _ = k.Table()
		want, _ = moby.Table()
	}
	if len(got) != len(want) {
		t.Fatalf("the reader read %d services, moby/ipvs %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("service %s:\nreader   %+v\nmoby/ipvs %+v", got[i].Key(), got[i], want[i])
		}
	}
	if s := got.Find(cfg.VirtualServers[0].Key()); s == nil || s.Stats.Conns == 0 || s.Stats.PacketsIn == 0 {
		t.Errorf("no counters read for %s after 3 connections: %+v", cfg.VirtualServers[0].Key(), s)
	}
	if ws := got.Find(wide.Key()); ws == nil || len(ws.Destinations) != 300 {
		t.Fatalf("the 300 real servers of %s came out short", wide.Key())
	}
	// One request for the services and one per service; a sendto and one
	// recvmmsg each, a few more for the services' dump.
	if n := len(got); cost.Requests != n+1 || cost.Syscalls > 2*n+2+20 {
		t.Errorf("reading %d services cost %+v, want %d requests and at most %d system calls", n, cost, n+1, 2*n+22)
	}
	t.Logf("read %d objects: %+v", got.Objects(), cost)
}
