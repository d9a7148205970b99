// Package hugepages turns transparent huge pages off for the lvsd process
// from its first page. A program imports it for that effect alone
// (cmd/lvsd: import _ "github.com/lvsd/lvsd/internal/hugepages"); it
// has nothing to call.
//
// The daemon's heap is a few MB, and 2 MB pages keep resident what the Go
// runtime gives back: Debian's and RHEL's kernels back anonymous memory
// with huge pages wherever they can (transparent_hugepage "always";
// khugepaged also fills a 2 MB range in which a single 4 KB page is in
// use, max_ptes_none 511). The setting is the process's
// (prctl PR_SET_THP_DISABLE, go.dev/issue/64332) and covers the pages
// faulted after it, and by the time any Go code runs, the runtime has
// faulted its heap's first pages and its own: in "always" mode, in 2 MB
// pages. So where the kernel's mode is "always", the process makes the
// setting and executes itself again, once, same arguments, environment
// and process ID: the setting is kept across execve (prctl(2)), and the
// second start runs without huge pages from its first page. The scripts
// lvsd runs inherit the setting too; a notify script or a MISC_CHECK has
// no use for huge pages either. A kernel without the prctl (before 3.15)
// refuses it, and nothing changes.
//
// In the checks benchmark's VM (Debian's 6.1, "always"), every lvsd had
// 2.0 MB of its RSS in huge pages with the setting made in main alone,
// and the same binary with its heap kept from them from the start had
// 2.8 MB less RSS (docs/benchmarks.md, "Session 14").
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
// "always" takes 35.0 ms against 23.7 with the setting inherited
// (docs/benchmarks.md, "Session 15").
package hugepages
