package lvs

import (
	"strings"
	"testing"
)

// The benchmark table: 2,000 virtual services x 16 real servers.
const benchServices, benchReals = 2000, 16

func TestSyntheticTableHas34000Objects(t *testing.T) {
	tbl := SyntheticTable(benchServices, benchReals)
	if n := tbl.Objects(); n != 34000 {
		t.Fatalf("%d objects", n)
	}
	if ops := Plan(tbl, nil); len(ops) != 34000 {
		t.Fatalf("loading into an empty table takes %d operations", len(ops))
	}
}

func TestOneChangedWeightOnTheFullTableIsOneOperation(t *testing.T) {
	cur := SyntheticTable(benchServices, benchReals)
	des := cur.Clone()
	des[1234].Destinations[7].Weight = 5
	ops := Plan(des, cur)
	if len(ops) != 1 || ops[0].Kind != OpEditDestination {
		t.Fatalf("got %d operations: %v", len(ops), ops)
	}
}

func BenchmarkDiffFullTableUnchanged(b *testing.B) {
	cur := SyntheticTable(benchServices, benchReals)
	des := cur.Clone()
	b.ResetTimer()
	for b.Loop() {
		if ops := Plan(des, cur); len(ops) != 0 {
			b.Fatal(len(ops))
		}
	}
}

func BenchmarkDiffFullTableOneWeight(b *testing.B) {
	cur := SyntheticTable(benchServices, benchReals)
	des := cur.Clone()
	des[1000].Destinations[3].Weight = 9
	b.ResetTimer()
	for b.Loop() {
		if ops := Plan(des, cur); len(ops) != 1 {
			b.Fatal(len(ops))
		}
	}
}

func BenchmarkDiffLoadIntoEmpty(b *testing.B) {
	des := SyntheticTable(benchServices, benchReals)
	b.ResetTimer()
	for b.Loop() {
		if ops := Plan(des, nil); len(ops) != 34000 {
			b.Fatal(len(ops))
		}
	}
}

func BenchmarkDesireFullConfig(b *testing.B) {
	cfg := SyntheticConfig(benchServices, benchReals)
	b.ResetTimer()
	for b.Loop() {
		Desire(State{Config: cfg})
	}
}

// BenchmarkEncodeFullLoad measures building the netlink messages of the
// 34,000 operations (the batched writer's CPU share).
func BenchmarkEncodeFullLoad(b *testing.B) {
	ops := Plan(SyntheticTable(benchServices, benchReals), nil)
	buf := make([]byte, 0, 8<<20)
	b.ResetTimer()
	for b.Loop() {
		buf = buf[:0]
		for i := range ops {
			buf, _ = appendOpMessage(buf, 0x20, uint32(i), nlmFRequest, &ops[i])
		}
	}
	b.SetBytes(int64(len(buf)))
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
