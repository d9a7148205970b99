package lvs_test

// Tests of the repair pass's change detector against a real IPVS kernel
// (the test VM's, Debian 12's 6.1, HZ 250): what /proc/net/ip_vs prints,
// and what a steady pass repairs at once and what only in its rotation
// slot. See kernel_linux_test.go for how they run.

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// debianHZ is the test VM kernel's CONFIG_HZ (Debian's amd64 kernels).
const debianHZ = 250

// procRecords cuts /proc/net/ip_vs text into its service records (a
// service line and its real servers' lines), sorted: the kernel prints
// services in its hash tables' order.
func procRecords(text []byte) (header string, records []string) {
	lines := strings.SplitAfter(string(text), "\n")
	for i, l := range lines {
		switch {
		case i < 3:
			header += l
		case strings.HasPrefix(l, "  -> "):
			records[len(records)-1] += l
		case l != "":
			records = append(records, l)
		}
	}
	slices.Sort(records)
	return header, records
}

// inListOrder returns t with each service's real servers in the kernel's
// list order (Position), as the kernel prints them.
func inListOrder(t lvs.Table) lvs.Table {
	t = t.Clone()
	for i := range t {
		slices.SortStableFunc(t[i].Destinations, func(a, b lvs.Destination) int { return a.Position - b.Position })
	}
	return t
}

// procKernelTable programs kernelTestConfig and, with ipvsadm, what it
// lacks that the file prints differently: a one-packet IPv4 UDP service
// with persistence and a dotted netmask, an SCTP service, a real server
// whose address is local (6.1 prints it Route, as asked), and a fwmark
// service in both families under one mark. It starts from an empty table.
func procKernelTable(t *testing.T, e *kernelEnv, k lvs.Kernel) {
	t.Helper()
	e.ipvsadmRun("-C")
	e.ipvsadmRun("-A", "-u", "192.0.2.120:53", "-s", "rr", "-o", "-p", "30", "-M", "255.255.0.0")
	e.ipvsadmRun("-a", "-u", "192.0.2.120:53", "-r", "10.0.9.1:53", "-m", "-w", "7")
	e.ipvsadmRun("-a", "-u", "192.0.2.120:53", "-r", "10.77.0.1:53", "-g", "-w", "2")
	e.ipvsadmRun("-A", "--sctp-service", "192.0.2.121:9", "-s", "rr")
	e.ipvsadmRun("-a", "--sctp-service", "192.0.2.121:9", "-r", "10.0.9.2:9", "-i", "-w", "0")
	e.ipvsadmRun("-A", "-f", "2", "-s", "rr")
	e.ipvsadmRun("-a", "-f", "2", "-r", "10.0.9.3", "-g", "-w", "5")
	lvs.NewManager(k, lvs.ManagerOptions{}).SetConfig(kernelTestConfig(t, "", "", ""))
}

func TestKernelProcTableIsWhatTheFakeRenders(t *testing.T) {
	e := newKernelEnv(t)
	k := e.open(lvs.KernelOptions{})
	e.setup("addr", "add", "10.77.0.1/32", "dev", "lo")
	procKernelTable(t, e, k)
	text, err := k.ProcTable(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("/proc/net/ip_vs:\n%s", text)
	tab, err := k.Table()
	if err != nil {
		t.Fatal(err)
	}
	if len(tab) != 8 {
		t.Fatalf("the kernel holds %d services, want 8", len(tab))
	}
	gotHeader, got := procRecords(text)
	wantHeader, want := procRecords(lvstest.ProcIPVS(inListOrder(tab), debianHZ))
	if !strings.HasPrefix(gotHeader, "IP Virtual Server version ") || gotHeader[strings.IndexByte(gotHeader, '\n'):] != wantHeader[strings.IndexByte(wantHeader, '\n'):] {
		t.Errorf("header:\ngot  %q\nwant %q", gotHeader, wantHeader)
	}
	if !slices.Equal(got, want) {
		t.Errorf("the kernel's /proc/net/ip_vs and lvstest.ProcIPVS of its netlink read differ:\ngot  %q\nwant %q", got, want)
	}
	// The detector reads it as the netlink read: nothing to read again.
	if keys, err := lvs.ProcChanges(text, tab, debianHZ); err != nil || len(keys) != 0 {
		t.Fatalf("ProcChanges of an unchanged table = %v, %v", keys, err)
	}
	// Nor does it know a persistence timeout in jiffies without HZ.
	if keys, _ := lvs.ProcChanges(text, tab, 0); len(keys) == 0 {
		t.Fatal("persistent services compared without the kernel's HZ")
	}
}

// Each ipvsadm edit is seen in /proc/net/ip_vs, or (shown false) is one
// the file does not print, left to the rotation.
func TestKernelProcTableShowsWhatItPrints(t *testing.T) {
	e := newKernelEnv(t)
	k := e.open(lvs.KernelOptions{})
	e.setup("addr", "add", "10.77.0.1/32", "dev", "lo")
	for _, tc := range []struct {
		name  string
		edit  [][]string
		key   []string // what ProcChanges must name; nil: nothing
		shown bool
	}{
		{"weight", [][]string{{"-e", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80", "-g", "-w", "9"}}, []string{"TCP:192.0.2.100:80"}, true},
		{"forwarding method", [][]string{{"-e", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80", "-m", "-w", "9"}}, []string{"TCP:192.0.2.100:80"}, true},
		{"real server deleted", [][]string{{"-d", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80"}}, []string{"TCP:192.0.2.100:80"}, true},
		{"real server added", [][]string{{"-a", "-t", "192.0.2.100:80", "-r", "10.0.0.7:80", "-g"}}, []string{"TCP:192.0.2.100:80"}, true},
		{"real server order", [][]string{{"-d", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80"}, {"-a", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80", "-g", "-w", "3"}}, []string{"TCP:192.0.2.100:80"}, true},
		{"scheduler", [][]string{{"-E", "-t", "192.0.2.100:80", "-s", "lc"}}, []string{"TCP:192.0.2.100:80"}, true},
		{"persistence dropped", [][]string{{"-E", "-t", "192.0.2.101:8080", "-s", "rr"}}, []string{"TCP:192.0.2.101:8080"}, true},
		{"persistence timeout", [][]string{{"-E", "-t", "192.0.2.101:8080", "-s", "rr", "-p", "601", "-M", "255.255.255.0"}}, []string{"TCP:192.0.2.101:8080"}, true},
		{"persistence netmask", [][]string{{"-E", "-t", "192.0.2.101:8080", "-s", "rr", "-p", "600", "-M", "255.255.0.0"}}, []string{"TCP:192.0.2.101:8080"}, true},
		{"IPv6 persistence netmask", [][]string{{"-E", "-u", "[2001:db8::100]:53", "-s", "rr", "-o", "-p", "60", "-M", "48"}}, []string{"UDP:[2001:db8::100]:53"}, true},
		{"one-packet scheduling", [][]string{{"-E", "-u", "192.0.2.120:53", "-s", "rr", "-p", "30", "-M", "255.255.0.0"}}, []string{"UDP:192.0.2.120:53"}, true},
		{"service deleted", [][]string{{"-D", "-t", "192.0.2.101:8080"}}, []string{"TCP:192.0.2.101:8080"}, true},
		{"service added", [][]string{{"-A", "-t", "192.0.2.130:80"}}, []string{"TCP:192.0.2.130:80"}, true},
		{"fwmark service added in the other family", [][]string{{"-A", "-f", "1", "-6", "-s", "rr"}}, []string{"FWM:1:inet", "FWM:1:inet6"}, true},
		{"fwmark real server weight", [][]string{{"-e", "-f", "2", "-r", "10.0.9.3", "-g", "-w", "6"}}, []string{"FWM:2:inet", "FWM:2:inet6"}, true},
		{"upper threshold", [][]string{{"-e", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80", "-g", "-w", "3", "-x", "100"}}, nil, false},
		{"IPv6 one-packet scheduling", [][]string{{"-E", "-u", "[2001:db8::100]:53", "-s", "rr", "-p", "60", "-M", "64"}}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			procKernelTable(t, e, k)
			view, err := k.Table()
			if err != nil {
				t.Fatal(err)
			}
			for _, args := range tc.edit {
				e.ipvsadmRun(args...)
			}
			after, err := k.Table()
			if err != nil {
				t.Fatal(err)
			}
			if ops := lvs.Plan(after, view); len(ops) == 0 &&
				bytes.Equal(lvstest.ProcIPVS(inListOrder(after), debianHZ), lvstest.ProcIPVS(inListOrder(view), debianHZ)) {
				t.Fatalf("the edit changed nothing the netlink read shows")
			}
			text, err := k.ProcTable(nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lvs.ProcChanges(text, view, debianHZ)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.key) {
				t.Errorf("ProcChanges after %v = %q, want %q\n%s", tc.edit, got, tc.key, text)
			}
		})
	}
}

// A steady pass (the file, then netlink for what it shows changed)
// repairs in one pass what TestKernelRepairsIpvsadmEditsAndLeavesForeign
// ServicesAlone's first pass (a whole read) repairs, and reads far fewer
// services than the table holds.
func TestKernelSteadyPassRepairsIpvsadmEditsInOnePass(t *testing.T) {
	e := newKernelEnv(t)
	e.ipvsadmRun("-A", "-t", "203.0.113.9:22", "-s", "rr")
	e.ipvsadmRun("-a", "-t", "203.0.113.9:22", "-r", "10.5.5.5:22", "-m")
	k := e.open(lvs.KernelOptions{})
	cfg := kernelTestConfig(t, "", "", "")
	// A rotation longer than the test: only the file finds the edits.
	m := lvs.NewManager(k, lvs.ManagerOptions{RereadPasses: 1000})
	m.SetConfig(cfg)
	want := lvs.Desire(lvs.State{Config: cfg}).Table
	for range 2 { // the first pass after the start reads everything
		if n, err := m.Reconcile(context.Background()); n != 0 || err != nil {
			t.Fatalf("clean pass = %d, %v", n, err)
		}
	}
	e.ipvsadmRun("-d", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80")
	e.ipvsadmRun("-e", "-t", "192.0.2.101:8080", "-r", "10.0.1.2:80", "-m", "-w", "9")
	e.ipvsadmRun("-E", "-t", "192.0.2.101:8080", "-s", "rr")
	e.ipvsadmRun("-D", "-f", "1")
	e.ipvsadmRun("-a", "-t", "192.0.2.100:80", "-r", "10.0.0.7:80", "-g", "-w", "2")
	before, _ := lvs.ReadCosts(k)
	n, err := m.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cost, _ := lvs.ReadCosts(k)
	cost = cost.Sub(before)
	if n != 6 {
		t.Errorf("repair applied %d operations, want 6", n)
	}
	e.requireTable(k, want, "TCP:203.0.113.9:22")
	// The file once; through netlink the two edited services and the
	// fwmark mark in both families, not the six services.
	if cost.ProcReads == 0 || cost.Services != 4 {
		t.Errorf("the pass read /proc/net/ip_vs in %d calls and %d services one by one; want the file and 4 services (%+v)", cost.ProcReads, cost.Services, cost)
	}
}

// An outside edit that /proc/net/ip_vs does not print (an upper
// threshold) is repaired by the rotation: not before the pass of the
// service's slot, and at that pass, at most RereadPasses passes after the
// edit: within RereadPasses x reconcile_interval (docs/configuration.md).
func TestKernelRepairsWhatProcDoesNotShowWithinItsRotation(t *testing.T) {
	e := newKernelEnv(t)
	k := e.open(lvs.KernelOptions{})
	cfg := kernelTestConfig(t, "", "", "")
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(cfg)
	want := lvs.Desire(lvs.State{Config: cfg}).Table
	const key = "TCP:192.0.2.100:80"
	for range 2 {
		if n, err := m.Reconcile(context.Background()); n != 0 || err != nil {
			t.Fatalf("clean pass = %d, %v", n, err)
		}
	}
	threshold := func() uint32 {
		t.Helper()
		tab, err := k.Table()
		if err != nil {
			t.Fatal(err)
		}
		return tab.Find(key).Destinations[0].UpperThreshold // 10.0.0.1:80
	}
	e.ipvsadmRun("-e", "-t", "192.0.2.100:80", "-r", "10.0.0.1:80", "-g", "-w", "3", "-x", "100")
	if got := threshold(); got != 100 {
		t.Fatalf("ipvsadm -x 100 left the threshold %d", got)
	}
	slot := lvs.RereadIn(m, key)
	if slot < 1 || slot > lvs.DefaultRereadPasses {
		t.Fatalf("the rotation reads %s in %d passes, outside 1..%d", key, slot, lvs.DefaultRereadPasses)
	}
	t.Logf("%s is read in pass %d of %d", key, slot, lvs.DefaultRereadPasses)
	for pass := 1; pass <= slot; pass++ {
		n, err := m.Reconcile(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := threshold()
		switch {
		case pass < slot && (n != 0 || got != 100):
			t.Fatalf("pass %d, before the slot (%d), applied %d and left the threshold %d: the file showed the edit, or the pass read the whole table", pass, slot, n, got)
		case pass == slot && (n != 1 || got != 0):
			t.Fatalf("pass %d, the slot, applied %d and left the threshold %d", pass, n, got)
		}
	}
	e.requireTable(k, want)
}
