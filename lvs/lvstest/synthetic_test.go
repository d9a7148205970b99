package lvstest

import (
	"strings"
	"testing"

	"github.com/lvsd/lvsd/lvs"
)

func TestSyntheticTableHas34000Objects(t *testing.T) {
	tbl := SyntheticTable(2000, 16)
	if n := tbl.Objects(); n != 34000 {
		t.Fatalf("%d objects", n)
	}
	if ops := lvs.Plan(tbl, nil); len(ops) != 34000 {
		t.Fatalf("loading into an empty table takes %d operations", len(ops))
	}
}

func TestKeepalivedConfigOfTheBenchmarkTable(t *testing.T) {
	var b strings.Builder
	if err := WriteKeepalivedVirtualServers(&b, SyntheticConfig(2, 2)); err != nil {
		t.Fatal(err)
	}
	want := "virtual_server 198.18.0.2 80 {\n    protocol TCP\n    delay_loop 60\n    lb_algo wlc\n    lb_kind DR\n" +
		"    real_server 10.0.1.1 80 {\n        weight 1\n    }\n"
	if !strings.Contains(b.String(), want) || strings.Count(b.String(), "real_server") != 4 {
		t.Fatalf("keepalived.conf:\n%s", b.String())
	}
}
