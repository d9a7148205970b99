package vm

import (
	"bytes"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestParseTestOutputAttributesLinesAndOutcomes(t *testing.T) {
	out := `=== RUN   TestA
    a_test.go:10: hello
--- PASS: TestA (0.01s)
=== RUN   TestB
=== RUN   TestB/one
    b_test.go:5: bad
=== RUN   TestB/two
    b_test.go:9: skipping
=== NAME  TestB
    b_test.go:12: parent
--- FAIL: TestB (1.50s)
    --- FAIL: TestB/one (0.00s)
    --- SKIP: TestB/two (0.00s)
=== RUN   TestC
[   12.345678] kernel noise
FAIL
`
	got := parseTestOutput(out)
	type row struct {
		name, outcome string
		lines         []string
	}
	var rows []row
	for _, r := range got {
		rows = append(rows, row{r.Name, r.Outcome, r.Output})
	}
	want := []row{
		{"TestA", "PASS", []string{"    a_test.go:10: hello"}},
		{"TestB", "FAIL", []string{"    b_test.go:12: parent"}},
		{"TestB/one", "FAIL", []string{"    b_test.go:5: bad"}},
		{"TestB/two", "SKIP", []string{"    b_test.go:9: skipping"}},
		{"TestC", "", []string{"[   12.345678] kernel noise"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("parse:\n got %q\nwant %q", rows, want)
	}
	if !anyFailed(got) {
		t.Error("anyFailed = false, want true")
	}
}

func TestSuiteOutputCutsBetweenMarkers(t *testing.T) {
	console := "noise\nLVSD-VM-SUITE-BEGIN lvs\n=== RUN   TestX\n--- PASS: TestX (0.00s)\nPASS\nLVSD-VM-SUITE-END lvs 0\nLVSD-VM-SUITE-BEGIN b\nFAIL\nLVSD-VM-SUITE-END b 1\n"
	out, code, ok := suiteOutput(console, "lvs")
	if !ok || code != 0 || out != "=== RUN   TestX\n--- PASS: TestX (0.00s)\nPASS" {
		t.Errorf("lvs: %q %d %v", out, code, ok)
	}
	out, code, ok = suiteOutput(console, "b")
	if !ok || code != 1 || out != "FAIL" {
		t.Errorf("b: %q %d %v", out, code, ok)
	}
	if _, _, ok := suiteOutput(console, "missing"); ok {
		t.Error("missing suite found")
	}
}

func TestLoadOrderPutsDependenciesFirst(t *testing.T) {
	dep := `kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz: kernel/net/netfilter/ipvs/ip_vs.ko.xz kernel/net/netfilter/nf_conntrack.ko.xz kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz kernel/lib/libcrc32c.ko.xz
kernel/net/netfilter/ipvs/ip_vs.ko.xz: kernel/net/netfilter/nf_conntrack.ko.xz kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz kernel/lib/libcrc32c.ko.xz
kernel/net/netfilter/nf_conntrack.ko.xz: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz kernel/lib/libcrc32c.ko.xz
kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz:
kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz:
kernel/lib/libcrc32c.ko.xz:
kernel/drivers/net/veth.ko.xz:
`
	md, err := parseModulesDep(strings.NewReader(dep))
	if err != nil {
		t.Fatal(err)
	}
	order, missing := md.loadOrder([]string{"ip_vs_rr", "veth", "no_such"})
	want := []string{
		"kernel/lib/libcrc32c.ko.xz",
		"kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz",
		"kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko.xz",
		"kernel/net/netfilter/nf_conntrack.ko.xz",
		"kernel/net/netfilter/ipvs/ip_vs.ko.xz",
		"kernel/net/netfilter/ipvs/ip_vs_rr.ko.xz",
		"kernel/drivers/net/veth.ko.xz",
	}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order:\n got %q\nwant %q", order, want)
	}
	if !reflect.DeepEqual(missing, []string{"no_such"}) {
		t.Errorf("missing = %q", missing)
	}
	if got := guestModulePath(Kernel{Version: "6.1"}, "kernel/drivers/net/veth.ko.xz"); got != "/lib/modules/6.1/kernel/drivers/net/veth.ko" {
		t.Errorf("guestModulePath = %q", got)
	}
}

func TestNewestKernelVersionSortsNumerically(t *testing.T) {
	if !versionLess("6.1.0-56-amd64", "6.1.0-112-amd64") || versionLess("6.10.0-1-amd64", "6.9.0-1-amd64") {
		t.Error("versionLess orders kernel versions as strings")
	}
}

func TestParseLddFindsLibrariesAndLoader(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n"
	want := []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if got := parseLdd([]byte(out)); !reflect.DeepEqual(got, want) {
		t.Errorf("parseLdd = %q, want %q", got, want)
	}
}

// TestArchiveIsReadableByCpio checks the newc writer against GNU cpio.
func TestArchiveIsReadableByCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed")
	}
	a := newArchive()
	a.file("/bin/hello", 0o755, []byte("hi\n"))
	a.symlink("/bin/sh", "busybox")
	a.charDev("/dev/console", 5, 1)
	var buf bytes.Buffer
	if err := a.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned", buf.Len())
	}
	cmd := exec.Command("cpio", "-it", "--quiet")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -t: %v\n%s", err, out)
	}
	want := "bin\nbin/hello\nbin/sh\ndev\ndev/console\n"
	if string(out) != want {
		t.Errorf("cpio lists %q, want %q", out, want)
	}
	if archiveKey(a) == archiveKey(newArchive()) {
		t.Error("different archives share a cache key")
	}
}

func TestStripTerminalCodesLeavesText(t *testing.T) {
	in := "\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)"
	if got := stripTerminalCodes(in); got != "SeaBIOS (version 1.16.2)" {
		t.Errorf("stripTerminalCodes = %q", got)
	}
}
