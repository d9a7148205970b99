package hcl_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/checksbench"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// The load benchmark's table (integration/vm/scenarios TestBenchIPVSLoad):
// 2,000 virtual services × 16 real servers, written as keepalived.conf
// and as lvsd.hcl, so the parse cost of `lvsd run` shows without a VM.
const (
	bigServices = 2000
	bigReals    = 16
)

func bigKeepalivedConf(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := lvstest.WriteKeepalivedVirtualServers(&buf, lvstest.SyntheticConfig(bigServices, bigReals)); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchmarkLoad(b *testing.B, path string, src []byte) {
	b.Helper()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		var l hcl.Loader
		cfg, diags := l.LoadSource(path, src)
		if cfg == nil || len(cfg.VirtualServers) != bigServices {
			b.Fatalf("loading the big table: %v", diags)
		}
	}
}

// BenchmarkLoadBigKeepalivedConf is the parse, defaults and validation of
// the 34,000-object keepalived.conf: what `lvsd run` does before its
// first IPVS write.
func BenchmarkLoadBigKeepalivedConf(b *testing.B) {
	benchmarkLoad(b, "/etc/keepalived/keepalived.conf", bigKeepalivedConf(b))
}

// BenchmarkLoadBigHCL is the same table written as lvsd.hcl (what `lvsd
// convert` makes of the keepalived.conf).
func BenchmarkLoadBigHCL(b *testing.B) {
	var l hcl.Loader
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", bigKeepalivedConf(b))
	if cfg == nil {
		b.Fatal(diags)
	}
	benchmarkLoad(b, "/etc/lvsd/lvsd.hcl", hcl.ConvertToHCL(cfg))
}

// TestBigKeepalivedConfReadsAsWritten loads a keepalived.conf whose first
// virtual server has more real servers than one slab of the reader's
// reading state holds, each with its own weight and TCP_CHECK, then one
// more service: every real server keeps what was written for it (the
// reader reuses that state from one virtual server to the next).
func TestBigKeepalivedConfReadsAsWritten(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("global_defs {\n  router_id big\n}\n")
	const first = 600
	for vs, reals := range []int{first, 3} {
		fmt.Fprintf(&b, "virtual_server 192.0.2.%d 80 {\n  lb_algo wrr\n  lb_kind NAT\n  protocol TCP\n", vs+1)
		for i := range reals {
			fmt.Fprintf(&b, "  real_server 10.%d.%d.%d 8080 {\n    weight %d\n    TCP_CHECK {\n      connect_port %d\n    }\n  }\n",
				vs, i/250, i%250+1, i%100+1, 9000+i)
		}
		b.WriteString("}\n")
	}
	var l hcl.Loader
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", b.Bytes())
	if cfg == nil {
		t.Fatal(diags)
	}
	if len(cfg.VirtualServers) != 2 {
		t.Fatalf("%d virtual servers, want 2", len(cfg.VirtualServers))
	}
	for vs, reals := range []int{first, 3} {
		got := cfg.VirtualServers[vs].RealServers
		if len(got) != reals {
			t.Fatalf("virtual server %d: %d real servers, want %d", vs, len(got), reals)
		}
		for i, rs := range got {
			addr := netip.MustParseAddrPort(fmt.Sprintf("10.%d.%d.%d:8080", vs, i/250, i%250+1))
			if rs.Addr != addr || rs.Weight != i%100+1 || len(rs.Checkers) != 1 || rs.Checkers[0].Connect.Port() != uint16(9000+i) {
				t.Fatalf("virtual server %d real server %d: %s weight %d checkers %v, want %s weight %d and a TCP_CHECK on port %d",
					vs, i, rs.Addr, rs.Weight, rs.Checkers, addr, i%100+1, 9000+i)
			}
			if want := (hcl.Pos{File: rs.Pos.File, Line: rs.Pos.Line + 1}); rs.Positions.Where("weight", hcl.Pos{}) != want {
				t.Fatalf("virtual server %d real server %d: weight written at %v, want %v", vs, i, rs.Positions.Where("weight", hcl.Pos{}), want)
			}
		}
	}
}

func benchmarkLoadChecks(b *testing.B, path string, src []byte) {
	b.Helper()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		var l hcl.Loader
		cfg, diags := l.LoadSource(path, src)
		if cfg == nil || len(cfg.VirtualServers) != 143 {
			b.Fatalf("loading the checks benchmark's table: %v", diags)
		}
	}
}

// BenchmarkLoadChecksKeepalivedConf is the read of the checks benchmark's
// keepalived.conf (2,469 objects).
func BenchmarkLoadChecksKeepalivedConf(b *testing.B) {
	benchmarkLoadChecks(b, "/etc/keepalived/keepalived.conf", checksbench.KeepalivedConf(checksbench.VirtualServers, checksbench.RealServers))
}

// BenchmarkLoadChecksHCL is the same table as lvsd.hcl (what the
// benchmark's lvsd reads).
func BenchmarkLoadChecksHCL(b *testing.B) {
	var l hcl.Loader
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", checksbench.KeepalivedConf(checksbench.VirtualServers, checksbench.RealServers))
	if cfg == nil {
		b.Fatal(diags)
	}
	benchmarkLoadChecks(b, "/etc/lvsd/lvsd.hcl", hcl.ConvertToHCL(cfg))
}
