package main

import (
	"runtime/debug"
	"testing"
)

// TestGCPaceIsTightBetweenLoadsAndDefaultDuringThem checks the GC pace
// lvsd sets around configuration loads (goruntime.go), and that GOGC in
// the environment overrides it.
func TestGCPaceIsTightBetweenLoadsAndDefaultDuringThem(t *testing.T) {
	for _, tc := range []struct {
		name              string
		gogc              string
		duringLoad, after int
	}{
		{"lvsd's pace", "", 100, steadyGCPercent},
		{"GOGC in the environment", "80", 80, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			defer debug.SetGCPercent(debug.SetGCPercent(80))
			loadAtDefaultPace()
			if got := debug.SetGCPercent(-1); got != tc.duringLoad {
				t.Errorf("during a load GOGC=%d, want %d", got, tc.duringLoad)
			}
			debug.SetGCPercent(tc.duringLoad)
			releaseLoadGarbage()
			if got := debug.SetGCPercent(-1); got != tc.after {
				t.Errorf("after a load GOGC=%d, want %d", got, tc.after)
			}
		})
	}
}
