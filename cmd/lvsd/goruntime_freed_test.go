package main

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// TestReturnFreedHeapGivesBackWhatACollectionFreed: after a collection
// frees 16 MiB, one look returns it (the heap's free bytes fall below
// freedHeapReturn); a second look with no collection in between does
// nothing.
func TestReturnFreedHeapGivesBackWhatACollectionFreed(t *testing.T) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/memory/classes/heap/free:bytes"}}
	garbage := make([][]byte, 64)
	for i := range garbage {
		garbage[i] = make([]byte, 256<<10)
		for j := range garbage[i] {
			garbage[i][j] = 1 // resident
		}
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC()
	metrics.Read(samples)
	if free := samples[1].Value.Uint64(); free < freedHeapReturn {
		t.Skipf("the collection left %d bytes free: the runtime gave them back itself", free)
	}
	at, ok := returnFreedHeapOnce(samples, 0)
	if !ok {
		t.Fatal("no return after a collection freed 16 MiB")
	}
	metrics.Read(samples)
	if free := samples[1].Value.Uint64(); free >= freedHeapReturn {
		t.Errorf("after the return the heap keeps %d bytes free, want less than %d", free, freedHeapReturn)
	}
	if _, ok := returnFreedHeapOnce(samples, at); ok {
		t.Error("a second look with no collection since returned again")
	}
}
