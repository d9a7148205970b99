package hcl_test

import (
	"bytes"
	"testing"

	"github.com/lvsd/lvsd/hcl"
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
