package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lvsd's decisions about the Go runtime, taken here and nowhere else
// (docs/benchmarks.md has the figures). GOMAXPROCS, GOGC and GOMEMLIMIT in
// the environment work as for any Go program and override them.
//
//   - The start writes its first IPVS table on one processor: that is one
//     goroutine's work, and more Ps only add the runtime's wakeups of idle
//     ones around it. On keepalived #2318's shape, one P read the
//     keepalived.conf 3.4x faster in the emulated test VM and no slower on
//     the host, when the read was one goroutine's work too. The read now
//     keeps every P (run.go calls loadOnOneProc after it): hcl reads a big
//     keepalived.conf in parts and parses a big lvsd.hcl's pieces, one
//     goroutine each, and validates 512 or more virtual servers in runs.
//     loadOnOneProc returns the
//     function that gives the daemon back its processors once the table is
//     written. The steady state keeps every P, and one more where VRRP
//     instances run (steadyProcs). One P all along was
//     measured again with the fair checks benchmark (docs/benchmarks.md,
//     "Seventh pass", session 9), a busy loop in the guest starving the
//     pair: one P cost 1.11-1.17x keepalived's CPU against two Ps'
//     1.41-1.52x, and since the connector reads its ready sockets before
//     it fails an attempt for its deadline, no attempt timed out on
//     either (before that fix one P let 1,660 of 10,882 time out "after
//     5s" in a starved window where two Ps let none, and two Ps 652 of
//     16,075 in one the host's load starved). But short of CPU, one P
//     fell behind its plan (251-256 of 388 checks/s, interval p50
//     +35-37 %) where two Ps kept it (365-387 checks/s, p50 -0.9 to
//     +3.6 %), and the takeover
//     test's margin to Master_Down_Interval + 100 ms (+56 to +86 ms) was
//     measured on two Ps only. A check run late is a verdict late. (One
//     P's VRRP adverts held their interval as two Ps' and keepalived's
//     did under the check load: advert p99 1.048-1.262 s against
//     1.087-1.220 s, session 7.) GOMAXPROCS=1 in the environment gives
//     one P.
//   - Loading a configuration allocates far more than it keeps: for
//     #2318's shape at 1/16 (2,469 IPVS objects) the HCL reader allocates
//     about 110 MB to keep 3 MB, the keepalived.conf reader 24 MB. The
//     runtime hands freed memory back to the kernel only gradually (its
//     background scavenger), so the daemon's RSS would stay near that peak
//     for minutes after a start or a reload. releaseLoadGarbage returns it
//     at once: one GC and a scavenge, after the start's table is written
//     (it never delays the table) and its health checks are built and
//     planned (thousands of them allocate and touch much of their own),
//     and after each reload.
//   - Between loads the GC runs at GOGC=25 instead of Go's 100: the heap
//     may grow to 1.25 times what is live instead of twice before a
//     cycle, and the runtime keeps about that much resident. What is live
//     after a start is the configuration (compacted, retain.go) and the
//     checks' and IPVS table's state: 7.2 MB at #2318's shape at 1/16
//     (heap profile of the director on a fake IPVS table, which holds 1.1
//     MB of it). Between loads the daemon allocates little (TCP_CHECK
//     nothing per attempt: 9 bytes per connect on average at #2318's full
//     scale, TestBenchChecks37kTargets; the periodic repair's reads), so
//     the extra cycles cost little CPU and the pace buys MB that `ps`
//     shows. On the host at 1/16, 40 s windows alternated: anonymous RSS
//     15.1-15.3 MB at GOGC=50, 13.1-13.4 MB at 25, 13.1 MB at 10 (the
//     heap's fragments set the floor there); the GC's CPU 0.0000-0.0003
//     core at 50, 0.0002-0.0010 at 25, 0.0008 at 10, beside the daemon's
//     0.061-0.073 core (about 1 % of it at 25). A reload's load runs
//     at GOGC=400 (loadAtLoosePace), the start's with no collection at
//     all until its first table is written and its checks built, under a memory limit
//     (startWithoutCollection, session 9); at 400 the readers
//     allocate ten to forty times what they keep, and every cycle during
//     a load scans a heap that only grows. In the test VM, lvsd's start
//     on the load benchmark's 34,000-object keepalived.conf took 2.11x
//     the batched writer's time at GOGC=400 against 3.67x at Go's default
//     100 (medians of three interleaved rounds, TestBenchIPVSLoad), as
//     fast as with the GC off, while the heap stays within five times
//     what is live. No memory limit between loads: a limit below a grown configuration
//     would make the GC run without end, and one set after the start saves
//     nothing (host, the checks of #2318's shape at 1/16 allocating 11 KB/s:
//     anonymous RSS 10.8 MB at GOGC=25, 11.5 MB at 10, 10.9 MB under a
//     limit of 1.05 times the heap after the start, which cost 1,603 GC
//     cycles in 30 s and 0.28 core). The floor is what is live and its
//     spans' fragments, not the pace.
//   - The executable's read-only pages are unmapped after each load
//     (releaseBinaryPages): a start maps far more of the 35 MB binary
//     than the daemon runs afterwards (every package's init, the readers,
//     the first table's writer), and the kernel maps the 64 KB around
//     every page touched. In the test VM, 19.5 MB of lvsd's 42 MB RSS
//     were pages of its binary. The pages stay in the page cache, so the
//     ones the daemon still runs come back on their next use by a minor
//     fault, without I/O; the rest stop counting in its RSS.
//   - The runtime samples no allocations for a heap profile
//     (withoutMemoryProfile), unless GODEBUG sets memprofilerate or a
//     benchmark asks for LVSD_CPUPROFILE. On the host, a director on the
//     checks benchmark's keepalived.conf (2,326 TCP_CHECKs, a fake IPVS
//     table) kept 12.9 MB of anonymous memory with Go's default sampling
//     and 11.9-12.4 MB without (two runs each, 40 s after its start).
//   - Transparent huge pages are off for lvsd from its first page, and
//     so is the runtime's asynchronous preemption unless GODEBUG names
//     asyncpreemptoff, made before any of this by the initialiser of
//     internal/execenv (main.go imports it for that): its heap is a few
//     MB, and 2 MB pages keep resident what the runtime gave back; each
//     preemption signal makes the kernel map 64 KB of the binary's PC
//     tables around what the handler reads, where every function call
//     is a preemption point anyway.
//   - LVSD_CPUPROFILE=FILE in the environment (set by the checks benchmark,
//     docs/benchmarks.md; not a setting for a director) writes a CPU
//     profile of the steady state to FILE: from the start's end (OnRunning),
//     for LVSD_CPUPROFILE_SECONDS (default 40), and the heap's profile
//     (sampled at GODEBUG=memprofilerate=N) at its start to FILE.heap0
//     and at its end to FILE.heap, each after two collections; each written
//     whole to a .tmp file and renamed, so that a reader never sees half.

// withoutMemoryProfile turns the runtime's sampling of allocations off
// (runtime.MemProfileRate 0) unless GODEBUG asks for a rate
// (memprofilerate=N, as the checks benchmark's profiled pair does) or
// LVSD_CPUPROFILE a profile (profileSteadyState). The daemon serves no
// heap profile, and Go samples one allocation in about
// 512 KB by default: each sampled call stack takes a record and a page of
// the profiler's 1.4 MB hash table, touched at random. A start allocates
// tens to hundreds of MB through hundreds of distinct stacks, so those
// pages stay resident for the daemon's life, memory no reader ever asks
// for. The daemon calls it first, before the start allocates.
func withoutMemoryProfile() {
	if strings.Contains(os.Getenv("GODEBUG"), "memprofilerate=") || os.Getenv("LVSD_CPUPROFILE") != "" {
		return
	}
	runtime.MemProfileRate = 0
}

// loadOnOneProc sets GOMAXPROCS to 1 unless the environment sets it, and
// returns what gives the daemon its steady state's processors:
// steadyProcs of the runtime's own count.
func loadOnOneProc(vrrp bool) (restore func()) {
	if os.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	prev := runtime.GOMAXPROCS(1)
	return func() { runtime.GOMAXPROCS(steadyProcs(prev, vrrp)) }
}

// steadyProcs is GOMAXPROCS between loads for a runtime whose own count is
// n: n, and one more where the configuration runs VRRP instances, so that
// a VRRP goroutine a timer or an advert wakes (the Master_Down timer, the
// advert reader, a transition's hook) finds a processor while a repair
// pass and a /metrics scrape hold every other. With asynchronous
// preemption off, a goroutine that holds a processor gives it up at its
// next function call once the runtime's monitor has seen it run 10 ms,
// and a timer that falls due on a busy processor waits for that; the
// kernel shares the machine's CPUs between the extra processor's thread
// and the others, and a thread just woken gets one at once. In the test
// VM (two CPUs, a repair pass of the 34,000-object table and back-to-back
// scrapes, TestLvsdTakesOverDuringARepairPassAndScrapes), the VRRP state
// change came 2.7-23 ms after the Master_Down expiry in 12 takeovers with
// one processor more (session 17), and up to 108 ms after it on the CPUs'
// count, where it made two of four takeovers over Master_Down_Interval +
// 100 ms in 48, and one more in session 18's rehearsal (+76 ms). The
// decision is the start's: a reload that adds the first VRRP instance
// keeps the count.
func steadyProcs(n int, vrrp bool) int {
	if vrrp {
		return n + 1
	}
	return n
}

// steadyGCPercent is GOGC between loads.
const steadyGCPercent = 25

// loadGCPercent is GOGC during a configuration load.
const loadGCPercent = 400

// loadAtLoosePace sets the GC pace for a reload's configuration load,
// unless the environment sets GOGC.
func loadAtLoosePace() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(loadGCPercent)
	}
}

// startHeapFloor and startHeapPerByte bound the heap of a start that runs
// no collection (startWithoutCollection): 256 MiB plus 32 bytes a byte of
// the file. The keepalived.conf reader allocates about 17 bytes a byte
// and keeps about 8, so such a start never collects; the HCL reader
// allocates about 190 (a big lvsd.hcl collects at the limit), and what a
// file keeps stays far below it, so the collector never runs without end.
const (
	startHeapFloor   = 256 << 20
	startHeapPerByte = 32
)

// startWithoutCollection holds the collector off for the start, from its
// load to its first IPVS table written and its checks built (releaseLoadGarbage then collects
// once and sets the pace between loads), with a memory limit as the bound
// (startHeapFloor), unless the environment sets GOGC or GOMEMLIMIT: then
// the start's load runs at loadAtLoosePace. fileSize is the configuration
// file's. At GOGC=400 a start on the load benchmark's 34,000-object
// keepalived.conf ran one collection, during the read: on the host a
// third of the read's time in a fresh process (44 against 28 ms), in the
// test VM a mark phase of 117-524 ms (docs/benchmarks.md, session 9).
func startWithoutCollection(fileSize int64) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		loadAtLoosePace()
		return
	}
	debug.SetMemoryLimit(startHeapFloor + startHeapPerByte*max(fileSize, 0))
	debug.SetGCPercent(-1)
}

// releaseLoadGarbage returns the memory a configuration load freed to the
// kernel and sets the pace between loads, unless the environment sets
// GOGC, and lifts the start's memory limit, unless it sets GOMEMLIMIT;
// then it unmaps the executable's read-only pages.
func releaseLoadGarbage() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(steadyGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(math.MaxInt64)
	}
	debug.FreeOSMemory()
	releaseBinaryPages()
}

// profileSteadyState starts the CPU profile LVSD_CPUPROFILE asks for; the
// daemon calls it once, at the start's end (OnRunning). It takes the
// variable out of the environment, so the scripts lvsd runs do not see it.
func profileSteadyState() {
	file := os.Getenv("LVSD_CPUPROFILE")
	if file == "" {
		return
	}
	os.Unsetenv("LVSD_CPUPROFILE")
	seconds, err := strconv.Atoi(os.Getenv("LVSD_CPUPROFILE_SECONDS"))
	if err != nil || seconds <= 0 {
		seconds = 40
	}
	f, err := os.Create(file + ".tmp")
	if err != nil {
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return
	}
	// The heap's profile at the start and at the end (sampled at
	// GODEBUG=memprofilerate): `go tool pprof -base FILE.heap0 FILE.heap`
	// is what the steady state allocated. A heap profile holds what was
	// allocated up to the last collection but one, so each is written
	// after two.
	writeHeap := func(name string) {
		runtime.GC()
		runtime.GC()
		if h, err := os.Create(name + ".tmp"); err == nil {
			if pprof.Lookup("heap").WriteTo(h, 0) == nil && h.Close() == nil {
				os.Rename(name+".tmp", name)
			}
		}
	}
	writeHeap(file + ".heap0")
	go func() {
		time.Sleep(time.Duration(seconds) * time.Second)
		pprof.StopCPUProfile()
		writeHeap(file + ".heap")
		if f.Close() == nil {
			os.Rename(file+".tmp", file)
		}
	}()
}

// releaseBinaryPages drops the process's mappings of its executable's
// code and read-only data (MADV_DONTNEED on its r-x and r-- mappings, as
// /proc/self/smaps lists them): the kernel maps each page again on its
// next use, from the page cache. A mapping that holds a page the process
// wrote is never touched, there DONTNEED would throw the writes away:
// writable mappings, and a read-only one with anonymous pages (a cgo
// build's RELRO, the relocations the dynamic linker wrote before making
// them read-only). It returns how many mappings it released (0 when /proc
// is not readable).
func releaseBinaryPages() (released int) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0
	}
	var start, end uint64
	candidate := false
	release := func() {
		if candidate {
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_DONTNEED); e == 0 {
				released++
			}
		}
		candidate = false
	}
	for line := range strings.Lines(string(b)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") {
			// A mapping: "start-end perms offset dev inode path".
			release()
			lo, hi, ok := strings.Cut(fields[0], "-")
			var err1, err2 error
			start, err1 = strconv.ParseUint(lo, 16, 64)
			end, err2 = strconv.ParseUint(hi, 16, 64)
			candidate = ok && err1 == nil && err2 == nil && end > start && len(fields) >= 6 && fields[5] == exe &&
				!strings.Contains(fields[1], "w") && strings.HasSuffix(fields[1], "p")
			continue
		}
		// Its pages: any anonymous one was written.
		if fields[0] == "Anonymous:" && len(fields) >= 2 && fields[1] != "0" {
			candidate = false
		}
	}
	release()
	return released
}
