package main

import "runtime/debug"

// lvsd's one decision about the Go runtime's memory, taken here and
// nowhere else (docs/benchmarks.md has the figures):
//
//   - Loading a configuration allocates far more than it keeps: for
//     keepalived #2318's shape at 1/16 (2,469 IPVS objects) the HCL reader
//     allocates about 110 MB to keep 3 MB. The runtime hands freed memory
//     back to the kernel only gradually (its background scavenger), so the
//     daemon's RSS would stay near that peak for minutes after a start or
//     a reload. releaseLoadGarbage returns it at once: one GC and a
//     scavenge, after the start's IPVS table is written (it never delays
//     the table) and after each reload.
//   - Between loads the GC keeps Go's default pace (GOGC=100) and no
//     memory limit: the checks allocate little per attempt (one epoll loop
//     for TCP_CHECK, checks/connect.go), and a lower GOGC would buy a few
//     MB with CPU, which the benchmark weighs beside keepalived too. GOGC
//     and GOMEMLIMIT in the environment work as for any Go program.
func releaseLoadGarbage() {
	debug.FreeOSMemory()
}
