package fullnat

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nftNamespace makes a network namespace for one test and returns its
// name; it skips without root, ip or nft.
func nftNamespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (iproute2, nftables)", tool)
		}
	}
	ns := fmt.Sprintf("lvsd-fnat-%d", time.Now().UnixNano()%1_000_000_000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

func nft(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "nft"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestTableHoldsExactlyTheFullNATRules: the rules lvsd writes are what
// nft reads (the original-direction match and the source NAT to the
// pool); a second Apply changes only what differs (the rule kept keeps
// its handle: nothing is flushed); Remove takes lvsd's table away and
// leaves another table of the ruleset alone.
func TestTableHoldsExactlyTheFullNATRules(t *testing.T) {
	ns := nftNamespace(t)
	if out, err := nft(t, ns, "add", "table", "ip", "someone_else"); err != nil {
		t.Fatalf("nft add table: %v: %s", err, out)
	}
	procSys := t.TempDir()
	os.MkdirAll(filepath.Join(procSys, "net/ipv4/vs"), 0o755)
	tbl, err := Open("/run/netns/"+ns, procSys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	web := Rule{Protocol: "TCP", VIP: netip.MustParseAddrPort("10.1.0.100:81"), From: netip.MustParseAddr("10.0.0.250"), To: netip.MustParseAddr("10.0.0.251")}
	dns := Rule{Protocol: "UDP", VIP: netip.MustParseAddrPort("10.1.0.100:53"), From: netip.MustParseAddr("10.0.0.250"), To: netip.MustParseAddr("10.0.0.250")}
	if n, err := tbl.Apply([]Rule{web, dns}); err != nil || n != 2 {
		t.Fatalf("first Apply: %d, %v", n, err)
	}
	if b, _ := os.ReadFile(filepath.Join(procSys, "net/ipv4/vs/conntrack")); strings.TrimSpace(string(b)) != "1" {
		t.Errorf("net.ipv4.vs.conntrack = %q, want 1", b)
	}
	out, err := nft(t, ns, "-a", "list", "table", "ip", TableName)
	if err != nil {
		t.Fatalf("nft list table: %v: %s", err, out)
	}
	t.Logf("nft -a list table ip %s:\n%s", TableName, out)
	for _, want := range []string{
		"type nat hook postrouting priority srcnat; policy accept;",
		// nft prints a range that is a prefix as one.
		"meta l4proto tcp ct original ip daddr 10.1.0.100 ct original proto-dst 81 snat to 10.0.0.250/31",
		"meta l4proto udp ct original ip daddr 10.1.0.100 ct original proto-dst 53 snat to 10.0.0.250",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nft does not show %q", want)
		}
	}
	handle := func(listing, vip string) string {
		for _, line := range strings.Split(listing, "\n") {
			if strings.Contains(line, vip) {
				if _, h, ok := strings.Cut(line, "# handle "); ok {
					return h
				}
			}
		}
		return ""
	}
	webHandle := handle(out, "proto-dst 81 ")
	if n, err := tbl.Apply([]Rule{web}); err != nil || n != 1 {
		t.Fatalf("second Apply: %d changes, %v; want 1 (the UDP rule deleted)", n, err)
	}
	out, _ = nft(t, ns, "-a", "list", "table", "ip", TableName)
	if strings.Contains(out, "proto-dst 53") || handle(out, "proto-dst 81 ") != webHandle || webHandle == "" {
		t.Errorf("after the second Apply:\n%s\nwant the TCP rule alone, still handle %s", out, webHandle)
	}
	if got, err := tbl.Rules(); err != nil || len(got) != 1 || got[0] != web {
		t.Errorf("Rules() = %+v, %v; want %+v", got, err, web)
	}
	if n, err := tbl.Apply([]Rule{web}); err != nil || n != 0 {
		t.Errorf("an Apply with nothing to change changed %d (%v)", n, err)
	}
	if err := tbl.Remove(); err != nil {
		t.Fatal(err)
	}
	if out, err := nft(t, ns, "list", "table", "ip", TableName); err == nil {
		t.Errorf("lvsd's table is still there after Remove:\n%s", out)
	}
	if out, err := nft(t, ns, "list", "table", "ip", "someone_else"); err != nil {
		t.Errorf("Remove took another table with it: %v: %s", err, out)
	}
}
