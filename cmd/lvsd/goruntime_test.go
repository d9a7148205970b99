package main

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestGCPaceIsTightBetweenLoadsAndLooseDuringThem checks the GC pace
// lvsd sets around configuration loads (goruntime.go), and that GOGC in
// the environment overrides it.
func TestGCPaceIsTightBetweenLoadsAndLooseDuringThem(t *testing.T) {
	for _, tc := range []struct {
		name              string
		gogc              string
		duringLoad, after int
	}{
		{"lvsd's pace", "", loadGCPercent, steadyGCPercent},
		{"GOGC in the environment", "80", 80, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			defer debug.SetGCPercent(debug.SetGCPercent(80))
			loadAtLoosePace()
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

// TestReleaseBinaryPagesUnmapsOnlyReadOnlyPages checks that the
// executable's code and read-only data leave the process's RSS, that its
// writable data keeps what was written, and that the process runs on.
func TestReleaseBinaryPagesUnmapsOnlyReadOnlyPages(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip("no /proc/self/exe")
	}
	// Written data: the GC pace lives in the runtime's writable data.
	defer debug.SetGCPercent(debug.SetGCPercent(37))
	// Every read-only page mapped first, so that the release has more to
	// drop than what the test runs: an earlier release in this process
	// (releaseLoadGarbage's) leaves only the working set, which comes
	// straight back.
	touchReadOnly(t, exe)
	readOnly0, writable0 := exeRSS(t, exe)
	if n := releaseBinaryPages(); n < 2 {
		t.Fatalf("released %d mappings, want the code and the read-only data", n)
	}
	readOnly1, writable1 := exeRSS(t, exe)
	t.Logf("read-only pages of the executable: %d KB -> %d KB; writable %d KB -> %d KB", readOnly0>>10, readOnly1>>10, writable0>>10, writable1>>10)
	// What the test runs meanwhile comes back at once, and a kernel that
	// keeps the binary in large folios maps it back 2 MB at a time: the
	// bound is only that it shrank.
	if readOnly1 >= readOnly0 {
		t.Errorf("read-only RSS %d KB after the release, want less than %d KB", readOnly1>>10, readOnly0>>10)
	}
	if writable1 < writable0 {
		t.Errorf("writable RSS fell from %d KB to %d KB: writable pages must be left alone", writable0>>10, writable1>>10)
	}
	if got := debug.SetGCPercent(37); got != 37 {
		t.Errorf("GOGC %d after the release, want 37 as written", got)
	}
}

// exeRSS sums Rss over the mappings of exe in /proc/self/smaps: read-only
// (code, read-only data) and writable.
func exeRSS(t *testing.T, exe string) (readOnly, writable int64) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	var inExe, w bool
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			inExe = len(f) >= 6 && f[5] == exe
			w = strings.Contains(f[1], "w")
			continue
		}
		if inExe && len(f) >= 2 && f[0] == "Rss:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			if w {
				writable += kb << 10
			} else {
				readOnly += kb << 10
			}
		}
	}
	return readOnly, writable
}

// touchReadOnly maps every page of exe's read-only mappings into the
// process by reading them through /proc/self/mem.
func touchReadOnly(t *testing.T, exe string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	mem, err := os.Open("/proc/self/mem")
	if err != nil {
		t.Skip(err)
	}
	defer mem.Close()
	buf := make([]byte, 1<<20)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[5] != exe || strings.Contains(f[1], "w") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		for off := start; off < end; off += uint64(len(buf)) {
			n := min(uint64(len(buf)), end-off)
			mem.ReadAt(buf[:n], int64(off))
		}
	}
}

// TestWithoutMemoryProfileUnlessAsked: the daemon samples no allocations,
// unless GODEBUG sets a rate or a benchmark asks for a profile.
func TestWithoutMemoryProfileUnlessAsked(t *testing.T) {
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	for _, tc := range []struct {
		name, godebug, profile string
		off                    bool
	}{
		{"a director", "gctrace=1", "", true},
		{"GODEBUG memprofilerate", "gctrace=1,memprofilerate=8192", "", false},
		{"LVSD_CPUPROFILE", "", "/tmp/cpu.pprof", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GODEBUG", tc.godebug)
			t.Setenv("LVSD_CPUPROFILE", tc.profile)
			runtime.MemProfileRate = 512 << 10
			withoutMemoryProfile()
			if off := runtime.MemProfileRate == 0; off != tc.off {
				t.Errorf("MemProfileRate %d, want off %v", runtime.MemProfileRate, tc.off)
			}
		})
	}
}

// lvsd's settings of its start (internal/execenv, which has the test of
// the settings and the second start) are made before the
// initialisers that a second start would otherwise run again: those of
// the packages that read configurations, speak BGP and serve metrics,
// each of which took milliseconds of the start in the test VM. The
// runtime's inittrace of this test binary, whose imports are lvsd's,
// shows the order.
func TestExecSettingsComeBeforeTheHeavyInitialisers(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var order []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "init" {
			order = append(order, f[1])
		}
	}
	at := slices.Index(order, "github.com/lvsd/lvsd/internal/execenv")
	if at < 0 {
		t.Fatalf("no initialiser of internal/execenv ran:\n%s", out)
	}
	for _, heavy := range []string{"github.com/osrg/gobgp/v4/api", "google.golang.org/protobuf/types/known/anypb", "github.com/lvsd/lvsd/hcl", "github.com/prometheus/procfs", "os", "reflect"} {
		if i := slices.Index(order, heavy); i < 0 {
			t.Errorf("%s: no initialiser ran", heavy)
		} else if i < at {
			t.Errorf("%s initialised before internal/execenv (%d of %d)", heavy, i, at)
		}
	}
	t.Logf("%d initialisers before internal/execenv': %s", at, strings.Join(order[:at], " "))
}

// TestSteadyProcsKeepsOneForVRRP: between loads the daemon runs on the
// runtime's count of processors, and one more where VRRP instances run;
// the start's one processor becomes that count.
func TestSteadyProcsKeepsOneForVRRP(t *testing.T) {
	for _, c := range []struct {
		n    int
		vrrp bool
		want int
	}{{1, false, 1}, {2, false, 2}, {1, true, 2}, {2, true, 3}, {8, true, 9}} {
		if got := steadyProcs(c.n, c.vrrp); got != c.want {
			t.Errorf("steadyProcs(%d, %v) = %d, want %d", c.n, c.vrrp, got, c.want)
		}
	}
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set: loadOnOneProc keeps it")
	}
	was := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(was)
	restore := loadOnOneProc(true)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("during the load GOMAXPROCS is %d, want 1", got)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != was+1 {
		t.Errorf("after the load with VRRP GOMAXPROCS is %d, want %d", got, was+1)
	}
	runtime.GOMAXPROCS(was)
	loadOnOneProc(false)()
	if got := runtime.GOMAXPROCS(0); got != was {
		t.Errorf("after the load without VRRP GOMAXPROCS is %d, want %d", got, was)
	}
}
