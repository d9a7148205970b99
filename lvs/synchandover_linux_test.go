package lvs

import (
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// TestKernelHandoverReachesTheBackupDaemon sends a handover from one
// network namespace to a kernel backup daemon in another (a veth pair
// between them) and reads the receiver's connection table: the entry
// must be there, in the state sent, with the SYNC origin. It runs against
// a real IPVS kernel only (LVSD_IPVS_KERNEL=1, the VM harness), as root.
func TestKernelHandoverReachesTheBackupDaemon(t *testing.T) {
	if os.Getenv("LVSD_IPVS_KERNEL") != "1" || os.Geteuid() != 0 {
		t.Skip("set LVSD_IPVS_KERNEL=1 and run as root (the VM harness does)")
	}
	ip := "/sbin/ip"
	if _, err := os.Stat(ip); err != nil {
		t.Skip("no /sbin/ip")
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	for _, ns := range []string{"ho-old", "ho-new"} {
		run("netns", "add", ns)
		t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
		run("-n", ns, "link", "set", "lo", "up")
	}
	run("-n", "ho-old", "link", "add", "sync0", "type", "veth", "peer", "name", "sync0", "netns", "ho-new")
	run("-n", "ho-old", "addr", "add", "10.9.8.1/24", "dev", "sync0")
	run("-n", "ho-new", "addr", "add", "10.9.8.2/24", "dev", "sync0")
	run("-n", "ho-old", "link", "set", "sync0", "up")
	run("-n", "ho-new", "link", "set", "sync0", "up")

	open := func(ns string) *linuxKernel {
		t.Helper()
		k, err := OpenKernel("/run/netns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { k.Close() })
		return k.(*linuxKernel)
	}
	old, neu := open("ho-old"), open("ho-new")
	backup := SyncDaemon{State: SyncBackup, Interface: "sync0", SyncID: 51}
	if err := neu.StartSyncDaemon(backup); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { neu.StopSyncDaemon(SyncBackup) })
	// Let the daemon join its group.
	time.Sleep(300 * time.Millisecond)

	ap := netip.MustParseAddrPort
	sent := []handoverEntry{
		{Conn{Protocol: "TCP", Client: ap("10.9.9.9:40000"), Virtual: ap("10.9.7.100:80"), Dest: ap("10.9.6.11:80"), State: "SYN_RECV", Expires: 60 * time.Second}, ForwardRoute},
		{Conn{Protocol: "TCP", Client: ap("10.9.9.9:40002"), Virtual: ap("10.9.7.100:80"), Dest: ap("10.9.6.12:80"), State: "ESTABLISHED", Expires: 900 * time.Second}, ForwardMasq},
	}
	master := SyncDaemon{State: SyncMaster, Interface: "sync0", SyncID: 51}
	if err := old.SendSync(master, syncMessages(sent, master.SyncID, handoverMessageMaxLen)); err != nil {
		t.Fatal(err)
	}
	// Wait for every entry sent, not for as many entries: the receiving
	// kernel can list one connection twice (a CI run saw the SYN_RECV
	// one twice before the ESTABLISHED one arrived).
	synced := func(got []Conn, e handoverEntry) bool {
		for _, c := range got {
			if c.Client == e.Client && c.Virtual == e.Virtual && c.Dest == e.Dest && c.State == e.State && c.Synced {
				return true
			}
		}
		return false
	}
	var got []Conn
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		conns, err := neu.ConnTable()
		if err != nil {
			t.Fatal(err)
		}
		got = conns
		if !slices.ContainsFunc(sent, func(e handoverEntry) bool { return !synced(got, e) }) {
			break
		}
	}
	for _, e := range sent {
		if !synced(got, e) {
			t.Errorf("the receiving kernel has no synced %s entry %s -> %s -> %s; its table: %+v", e.State, e.Client, e.Virtual, e.Dest, got)
		}
	}
	t.Logf("the backup daemon's table after the handover: %+v", got)
}
