package lvs_test

import (
	"testing"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// The benchmark table: 2,000 virtual services x 16 real servers.
const benchServices, benchReals = 2000, 16

func TestOneChangedWeightOnTheFullTableIsOneOperation(t *testing.T) {
	cur := lvstest.SyntheticTable(benchServices, benchReals)
	des := cur.Clone()
	des[1234].Destinations[7].Weight = 5
	ops := lvs.Plan(des, cur)
	if len(ops) != 1 || ops[0].Kind != lvs.OpEditDestination {
		t.Fatalf("got %d operations: %v", len(ops), ops)
	}
}

func BenchmarkDiffFullTableUnchanged(b *testing.B) {
	cur := lvstest.SyntheticTable(benchServices, benchReals)
	des := cur.Clone()
	b.ResetTimer()
	for b.Loop() {
		if ops := lvs.Plan(des, cur); len(ops) != 0 {
			b.Fatal(len(ops))
		}
	}
}

func BenchmarkDiffFullTableOneWeight(b *testing.B) {
	cur := lvstest.SyntheticTable(benchServices, benchReals)
	des := cur.Clone()
	des[1000].Destinations[3].Weight = 9
	b.ResetTimer()
	for b.Loop() {
		if ops := lvs.Plan(des, cur); len(ops) != 1 {
			b.Fatal(len(ops))
		}
	}
}

func BenchmarkDiffLoadIntoEmpty(b *testing.B) {
	des := lvstest.SyntheticTable(benchServices, benchReals)
	b.ResetTimer()
	for b.Loop() {
		if ops := lvs.Plan(des, nil); len(ops) != 34000 {
			b.Fatal(len(ops))
		}
	}
}

func BenchmarkDesireFullConfig(b *testing.B) {
	cfg := lvstest.SyntheticConfig(benchServices, benchReals)
	b.ResetTimer()
	for b.Loop() {
		lvs.Desire(lvs.State{Config: cfg})
	}
}

// BenchmarkEncodeFullLoad measures building the netlink messages of the
// 34,000 operations (the batched writer's CPU share).
func BenchmarkEncodeFullLoad(b *testing.B) {
	ops := lvs.Plan(lvstest.SyntheticTable(benchServices, benchReals), nil)
	buf := make([]byte, 0, 8<<20)
	b.ResetTimer()
	for b.Loop() {
		buf = buf[:0]
		for i := range ops {
			buf, _ = lvs.AppendOpMessage(buf, 0x20, uint32(i), lvs.NlmFRequest, &ops[i])
		}
	}
	b.SetBytes(int64(len(buf)))
}
