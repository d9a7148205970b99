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
//   - Between loads the GC keeps Go's default pace (GOGC=100) and no
//     memory limit: the checks allocate little per attempt (one epoll loop
//     for TCP_CHECK, checks/connect.go), and a lower GOGC would buy a few
//     MB with CPU, which the benchmark weighs beside keepalived too.

// loadOnOneProc sets GOMAXPROCS to 1 unless the environment sets it, and
// returns what restores the previous value.
func loadOnOneProc() (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(prev) }
}

// releaseLoadGarbage returns the memory a configuration load freed to the
// kernel.
func releaseLoadGarbage() {
	debug.FreeOSMemory()
}
