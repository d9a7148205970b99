package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// garbage is where TestStartRunsNoCollectionUntilItsFirstTable's
// allocations go, so that the compiler keeps them.
var garbage [][]byte

// TestStartRunsNoCollectionUntilItsFirstTable: from the start's load to
// its first table (releaseLoadGarbage at OnRunning) the collector does not
// run, under a memory limit that grows with the file; then one collection
// runs and the pace between loads and no limit are set. GOGC or GOMEMLIMIT
// in the environment keep the runtime's hands off (the start's load then
// runs at loadAtLoosePace's pace).
func TestStartRunsNoCollectionUntilItsFirstTable(t *testing.T) {
	const file = 2 << 20
	for _, tc := range []struct {
		name, gogc, memlimit  string
		during, after         int   // GOGC
		limitDuring, limitEnd int64 // memory limit
	}{
		{"lvsd's pace", "", "", -1, steadyGCPercent, startHeapFloor + startHeapPerByte*file, math.MaxInt64},
		{"GOGC in the environment", "80", "", 80, 80, math.MaxInt64, math.MaxInt64},
		{"GOMEMLIMIT in the environment", "", "1GiB", loadGCPercent, steadyGCPercent, math.MaxInt64, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.memlimit)
			defer debug.SetGCPercent(debug.SetGCPercent(80))
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
			startWithoutCollection(file)
			if got := debug.SetGCPercent(-1); got != tc.during {
				t.Errorf("during the start GOGC=%d, want %d", got, tc.during)
			}
			debug.SetGCPercent(tc.during)
			if got := debug.SetMemoryLimit(-1); got != tc.limitDuring {
				t.Errorf("during the start the memory limit is %d, want %d", got, tc.limitDuring)
			}
			var before, after runtime.MemStats
			if tc.during < 0 {
				runtime.ReadMemStats(&before)
				for range 64 { // 64 MB: four times lvsd's default start heap
					garbage = append(garbage, make([]byte, 1<<20))
				}
				garbage = nil
				runtime.ReadMemStats(&after)
				if after.NumGC != before.NumGC {
					t.Errorf("%d collections ran during the start", after.NumGC-before.NumGC)
				}
			}
			runtime.ReadMemStats(&before)
			releaseLoadGarbage()
			runtime.ReadMemStats(&after)
			if after.NumGC == before.NumGC {
				t.Error("no collection ran after the first table")
			}
			if got := debug.SetGCPercent(-1); got != tc.after {
				t.Errorf("after the start GOGC=%d, want %d", got, tc.after)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.limitEnd {
				t.Errorf("after the start the memory limit is %d, want %d", got, tc.limitEnd)
			}
		})
	}
}
