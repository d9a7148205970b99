package main

import (
	"os"
	"runtime"
	"runtime/debug"
)

// lvsd's decisions about the Go runtime, taken here and nowhere else
// (docs/benchmarks.md has the figures). GOMAXPROCS, GOGC and GOMEMLIMIT in
// the environment work as for any Go program and override them.
//
//   - The start runs on one processor: reading the configuration and
//     writing the first IPVS table is one goroutine's work, and more Ps only
//     add the runtime's wakeups of idle ones around it. On keepalived
//     #2318's shape, one P read the keepalived.conf 3.4x faster in the
//     emulated test VM and no slower on the host. loadOnOneProc returns the
//     function that gives the daemon back its processors once the table is
//     written.
//   - Loading a configuration allocates far more than it keeps: for
//     #2318's shape at 1/16 (2,469 IPVS objects) the HCL reader allocates
//     about 110 MB to keep 3 MB, the keepalived.conf reader 24 MB. The
//     runtime hands freed memory back to the kernel only gradually (its
//     background scavenger), so the daemon's RSS would stay near that peak
//     for minutes after a start or a reload. releaseLoadGarbage returns it
//     at once: one GC and a scavenge, after the start's table is written
//     (it never delays the table) and after each reload.
//   - Between loads the GC runs at GOGC=50 instead of Go's 100: the heap
//     may grow to 1.5 times what is live instead of twice before a cycle,
//     and the runtime keeps about that much resident. What is live after
//     a start is mostly the configuration and the checks' and IPVS
//     table's state (8 MB at #2318's shape at 1/16), and between loads
//     the daemon allocates little (TCP_CHECK 36 bytes per attempt,
//     TestBenchChecks37kTargets), so the extra cycles cost little CPU
//     and the pace buys MB that `ps` shows. A load runs at the default
//     pace (loadAtDefaultPace): the readers allocate ten to forty times
//     what they keep, and a tighter pace there would only add cycles.
//     No memory limit: a limit below a grown configuration would make
//     the GC run without end.

// loadOnOneProc sets GOMAXPROCS to 1 unless the environment sets it, and
// returns what restores the previous value.
func loadOnOneProc() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}

// steadyGCPercent is GOGC between loads.
const steadyGCPercent = 50

// loadAtDefaultPace sets Go's default GC pace for a configuration load
// (a reload; the start begins at it), unless the environment sets GOGC.
func loadAtDefaultPace() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(100)
	}
}

// releaseLoadGarbage returns the memory a configuration load freed to the
// kernel and sets the pace between loads, unless the environment sets
// GOGC.
func releaseLoadGarbage() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(steadyGCPercent)
	}
	debug.FreeOSMemory()
}
