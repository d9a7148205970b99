// Package execenv gives the lvsd process the two settings that only an
// execve can give it, since the kernel and the Go runtime take them before
// any Go code runs: transparent huge pages off, and the runtime's
// asynchronous preemption off. A program imports it for that effect alone
// (cmd/lvsd: import _ "github.com/lvsd/lvsd/internal/execenv"); it has
// nothing to call. When the process does not have both, its initialiser
// makes what it can and executes the process's own executable again, once,
// same arguments and process ID, and the second start has both from its
// first page.
//
// # Huge pages
//
// The daemon's heap is a few MB, and 2 MB pages keep resident what the Go
// runtime gives back: Debian's and RHEL's kernels back anonymous memory
// with huge pages wherever they can (transparent_hugepage "always";
// khugepaged also fills a 2 MB range in which a single 4 KB page is in
// use, max_ptes_none 511). The setting is the process's
// (prctl PR_SET_THP_DISABLE, go.dev/issue/64332) and covers the pages
// faulted after it, and by the time any Go code runs, the runtime has
// faulted its heap's first pages and its own: in "always" mode, in 2 MB
// pages. So the initialiser makes the setting, which is kept across
// execve (prctl(2)), and where the kernel's mode is "always" it starts
// again. The scripts lvsd runs inherit the setting too; a notify script or
// a MISC_CHECK has no use for huge pages either. A kernel without the
// prctl (before 3.15) refuses it, and nothing changes. In the checks
// benchmark's VM (Debian's 6.1, "always"), every lvsd had 2.0 MB of its
// RSS in huge pages with the setting made in main alone, and the same
// binary with its heap kept from them from the start had 2.8 MB less RSS
// (docs/benchmarks.md, "Session 14").
//
// # Asynchronous preemption
//
// The runtime's monitor preempts a goroutine that has run 10 ms without a
// pause by a signal (Go 1.14's asynchronous preemption): the handler looks
// the interrupted instruction up in the binary's PC tables, and the
// kernel maps the 64 KB around each page of them it touches. Where lvsd's
// goroutines run that long (under an emulator, or a hypervisor that steals
// its CPU), that is three system calls and a signal frame each time, and
// MB of tables resident that nothing else reads: in the checks benchmark's
// VM, with asynchronous preemption off (GODEBUG=asyncpreemptoff=1), lvsd's
// .gopclntab was 1.7-3.1 MB resident against 3.3-4.1 MB with it on, and
// its RSS 0.90-0.99 times keepalived's against 1.04-1.07 times
// (docs/benchmarks.md, "Session 15"). What asynchronous preemption buys is
// that a loop which calls no function can still be stopped, for a garbage
// collection or another goroutine; lvsd has no such loop that runs for
// long, and every function call stays a preemption point as before Go
// 1.14. The runtime reads GODEBUG once, at its start, and a program can
// set it no other way for every build (the go command refuses
// //go:debug asyncpreemptoff), so the initialiser adds the setting to
// GODEBUG and starts again; the second start puts GODEBUG back as it was,
// so what lvsd runs (scripts, checks) inherits the operator's environment,
// not lvsd's setting. A GODEBUG that names asyncpreemptoff already (say
// asyncpreemptoff=0) is the operator's choice and is kept.
//
// # One start again, early
//
// It is done in the package's initialiser, not in main, so that the
// first start runs as little as it can: Go initialises packages in the
// order of their import paths, each once all it imports is initialised,
// and this package imports syscall alone, so its initialiser runs before
// those of the packages that read configurations, speak BGP (protobuf's
// registrations) or serve metrics, which import fmt, os or reflect.
// Made in main, the second start ran every initialiser again: 404 per
// start in the test VM, 219 since (inittrace); on the host the 203
// initialisers take 16-17 ms, and `lvsd version` with the mode forced to
// "always" took 35.0 ms against 23.7 with the setting inherited
// (docs/benchmarks.md, "Session 15").
package execenv
