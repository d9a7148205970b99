package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/checksbench"
	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// TestCompactModelKeepsEverythingButPositions loads full configurations
// twice and checks that compactModel leaves the model equal to the one it
// was but for the Positions of its blocks, all of which it drops.
//
// A table of 600 services is compacted in three runs, one goroutine each,
// and so is the checks benchmark's shape at 600 services as lvsd.hcl,
// whose services' checkers are cut from one array (hcl ownCheckers): the
// runs write different checkers of it (go test -race would see one
// written by two).
func TestCompactModelKeepsEverythingButPositions(t *testing.T) {
	var big bytes.Buffer
	if err := lvstest.WriteKeepalivedVirtualServers(&big, lvstest.SyntheticConfig(600, 3)); err != nil {
		t.Fatal(err)
	}
	bigFile := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(bigFile, big.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bigHCL := filepath.Join(t.TempDir(), "lvsd.hcl")
	if err := os.WriteFile(bigHCL, checksBenchHCL(t, 600, 1800), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file string
		runs int
	}{
		{"../../hcl/testdata/hcl/full.hcl", 1},
		{"../../hcl/testdata/hcl/full.hcl.json", 1},
		{"../../hcl/testdata/keepalived/full.conf", 1},
		{bigFile, 3},
		{bigHCL, 3},
	} {
		file := tt.file
		t.Run(fmt.Sprintf("%s in %d runs", filepath.Base(file), tt.runs), func(t *testing.T) {
			want, diags := hcl.Load(file)
			if want == nil {
				t.Fatalf("loading %s: %v", file, diags)
			}
			got, _ := hcl.Load(file)
			if n := countPositions(reflect.ValueOf(got)); n == 0 {
				t.Fatalf("the model of %s has no Positions to drop", file)
			}
			compactModelIn(got, tt.runs)
			if n := countPositions(reflect.ValueOf(got)); n != 0 {
				t.Errorf("%d blocks keep their Positions after compactModel", n)
			}
			clearPositions(reflect.ValueOf(want))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("compactModel changed more than the Positions:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestCompactModelReachesTheKindSettings: a checker's kind settings are
// behind an interface (hcl.Checker.KindSettings), which compactModel
// follows: their strings are re-homed, equal ones in one copy, and their
// urls' Positions dropped.
func TestCompactModelReachesTheKindSettings(t *testing.T) {
	var b strings.Builder
	for v := range 2 {
		fmt.Fprintf(&b, "virtual_server 10.0.%d.1 80 {\n  protocol TCP\n  real_server 10.1.%d.1 80 {\n", v, v)
		b.WriteString("    HTTP_GET {\n      virtualhost www.example.com\n      url {\n        path /health\n      }\n    }\n")
		b.WriteString("    DNS_CHECK {\n      name www.example.com\n    }\n    SMTP_CHECK {\n      helo_name lb.example.com\n    }\n  }\n}\n")
	}
	var l hcl.Loader
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", []byte(b.String()))
	if cfg == nil || len(cfg.VirtualServers) != 2 {
		t.Fatalf("loading: %v", diags)
	}
	loaded := unsafe.StringData(cfg.VirtualServers[0].RealServers[0].Checkers[0].HTTP().URLs[0].Path)
	compactModelIn(cfg, 1)
	if n := countPositions(reflect.ValueOf(cfg)); n != 0 {
		t.Errorf("%d blocks keep their Positions, urls' among them", n)
	}
	var a [2][]string
	for i, vs := range cfg.VirtualServers {
		cs := vs.RealServers[0].Checkers
		http := cs[0].HTTP()
		a[i] = []string{http.URLs[0].Path, http.Virtualhost, http.URLs[0].Virtualhost, cs[1].DNS().Name, cs[2].SMTP().HeloName}
	}
	if unsafe.StringData(a[0][0]) == loaded {
		t.Errorf("the url's path is the one read, not a copy")
	}
	for j := range a[0] {
		if a[0][j] != a[1][j] || unsafe.StringData(a[0][j]) != unsafe.StringData(a[1][j]) {
			t.Errorf("%q and %q are two copies, want one", a[0][j], a[1][j])
		}
	}
	// One copy of www.example.com: the checker's virtualhost, the url's
	// and the DNS_CHECK's name.
	if unsafe.StringData(a[0][1]) != unsafe.StringData(a[0][3]) || unsafe.StringData(a[0][2]) != unsafe.StringData(a[0][3]) {
		t.Errorf("www.example.com kept in more than one copy")
	}
}

// TestCompactModelKeepsAGroupInOneRun: the members of a virtual_server
// group share their scheduler flags (hcl's groupMemberService copies the
// group's virtual server), so compacting them in two runs at once would
// write the same strings from two goroutines (go test -race finds it).
func TestCompactModelKeepsAGroupInOneRun(t *testing.T) {
	cfg := &hcl.Config{}
	flags := []string{strings.Clone("sh-fallback"), strings.Clone("sh-port")}
	for i := range 600 {
		vs := hcl.VirtualServer{Name: fmt.Sprintf("member %d", i), LBAlgo: "sh", SchedulerFlags: flags, Group: "big"}
		if i < 100 {
			vs.Group, vs.SchedulerFlags = "", []string{"sh-port"}
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	compactModelIn(cfg, 3)
	for i, vs := range cfg.VirtualServers {
		if i >= 100 && (len(vs.SchedulerFlags) != 2 || vs.SchedulerFlags[0] != "sh-fallback" || vs.SchedulerFlags[1] != "sh-port") {
			t.Fatalf("member %d: scheduler flags %q after compaction", i, vs.SchedulerFlags)
		}
	}
}

// TestCompactModelLetsTheFileGo checks that a compacted keepalived.conf
// model no longer keeps the file's text alive (the reader's words are
// slices of it): a file padded with 4 MB of comments costs the model
// about nothing once compacted.
func TestCompactModelLetsTheFileGo(t *testing.T) {
	for _, runs := range []int{1, 3} {
		t.Run(fmt.Sprintf("in %d runs", runs), func(t *testing.T) { requireCompactModelLetsTheFileGo(t, runs) })
	}
}

// requireCompactModelLetsTheFileGo is TestCompactModelLetsTheFileGo with
// the virtual servers compacted in runs runs.
func requireCompactModelLetsTheFileGo(t *testing.T, runs int) {
	path, size := paddedKeepalivedConf(t)
	kept := func(compact bool) int64 {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		cfg, diags := hcl.Load(path)
		if cfg == nil {
			t.Fatalf("loading: %v", diags)
		}
		if compact {
			compactModelIn(cfg, runs)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(cfg)
		return int64(after.HeapAlloc) - int64(before.HeapAlloc)
	}
	loaded, compacted := kept(false), kept(true)
	t.Logf("a %d KB file: the model keeps %d KB as loaded, %d KB compacted", size>>10, loaded>>10, compacted>>10)
	if loaded < size {
		// Then the reader no longer keeps the file and this test
		// proves nothing; compactModel's doc says otherwise.
		t.Logf("the model as loaded keeps less than the file")
	}
	if compacted > size/8 {
		t.Errorf("the compacted model keeps %d KB of a %d KB file, want the file let go", compacted>>10, size>>10)
	}
}

// TestStartCompactedAfterTheFirstWriteLetsTheFileGo: `lvsd run` compacts
// its start's model only once the first IPVS table is written
// (director.Options.AfterFirstWrite, as runDaemon wires it), so the
// director holds the model, and the IPVS manager its view of the kernel,
// from before the compaction. Neither keeps the file's text alive: a
// director built on a file padded with 4 MB of comments costs about
// nothing of it.
func TestStartCompactedAfterTheFirstWriteLetsTheFileGo(t *testing.T) {
	path, size := paddedKeepalivedConf(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cfg, diags := hcl.Load(path)
	if cfg == nil {
		t.Fatalf("loading: %v", diags)
	}
	kernel := lvstest.NewFakeKernel(nil)
	compacted := false
	d, err := director.New(cfg, director.Options{Checks: true,
		OpenKernel: func() (lvs.Kernel, error) { return kernel, nil },
		AfterFirstWrite: func(cfg *hcl.Config) {
			if t, _ := kernel.Table(); len(t) != 4 {
				panic("compacted before the first table was written")
			}
			compactModel(cfg)
			compacted = true
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !compacted {
		t.Fatal("the start's model was not compacted")
	}
	cfg = nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(d)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("a %d KB file: the director keeps %d KB", size>>10, kept>>10)
	if kept > size/8 {
		t.Errorf("the director keeps %d KB of a %d KB file, want the file let go", kept>>10, size>>10)
	}
}

// paddedKeepalivedConf writes a keepalived.conf of four virtual servers,
// each with a TCP_CHECK real server, padded with 4 MB of comments, and
// returns its path and size.
func paddedKeepalivedConf(t *testing.T) (string, int64) {
	t.Helper()
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id padded\n}\n")
	pad := "# " + strings.Repeat("x", 1000) + "\n"
	for v := range 4 {
		fmt.Fprintf(&b, "virtual_server 10.0.%d.1 80 {\n  delay_loop 6\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n", v)
		fmt.Fprintf(&b, "  real_server 10.1.%d.1 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n", v)
		for range 1024 {
			b.WriteString(pad)
		}
	}
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, int64(b.Len())
}

var positionsOf = reflect.TypeFor[hcl.Positions]()

// countPositions counts the Positions in v that are not the zero Positions.
func countPositions(v reflect.Value) int {
	n := 0
	visitPositions(v, func(p reflect.Value) {
		if !p.IsZero() {
			n++
		}
	})
	return n
}

// clearPositions sets every Positions in v to the zero Positions.
func clearPositions(v reflect.Value) {
	visitPositions(v, func(p reflect.Value) { p.SetZero() })
}

// visitPositions calls f on every settable Positions in v.
func visitPositions(v reflect.Value, f func(reflect.Value)) {
	if v.Type() == positionsOf {
		if v.CanSet() {
			f(v)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			visitPositions(v.Elem(), f)
		}
	case reflect.Interface:
		if !v.IsNil() && v.Elem().Kind() == reflect.Pointer {
			visitPositions(v.Elem(), f) // a checker's KindSettings: a URL's Positions
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				visitPositions(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			visitPositions(v.Index(i), f)
		}
	}
}

// BenchmarkCompactModel is compactModel on the load benchmark's table
// (2,000 virtual services × 16 real servers, each with a TCP_CHECK, read
// from keepalived.conf): what `lvsd run` adds between the load and its
// first IPVS write. Each round loads the file afresh (timer stopped).
func BenchmarkCompactModel(b *testing.B) {
	var src bytes.Buffer
	if err := lvstest.WriteKeepalivedVirtualServers(&src, lvstest.SyntheticConfig(2000, 16)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var l hcl.Loader
		cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", src.Bytes())
		if cfg == nil {
			b.Fatal(diags)
		}
		b.StartTimer()
		compactModel(cfg)
	}
}

// checksBenchHCL is the checks benchmark's lvsd.hcl: its keepalived.conf
// (checksbench.KeepalivedConf) converted by the project's own converter,
// as the benchmark converts it (cbKeepalivedConf and lvsd.hcl).
func checksBenchHCL(t testing.TB, vs, rs int) []byte {
	t.Helper()
	var l hcl.Loader
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", checksbench.KeepalivedConf(vs, rs))
	if cfg == nil {
		t.Fatalf("loading: %v", diags)
	}
	return hcl.ConvertToHCL(cfg)
}

// checksBenchFiles are the checks benchmark's configuration as each of the
// files the benchmark starts lvsd on.
func checksBenchFiles(t testing.TB) []struct {
	path string
	src  []byte
} {
	return []struct {
		path string
		src  []byte
	}{
		{"/etc/keepalived/keepalived.conf", checksbench.KeepalivedConf(checksbench.VirtualServers, checksbench.RealServers)},
		{"/etc/lvsd/lvsd.hcl", checksBenchHCL(t, checksbench.VirtualServers, checksbench.RealServers)},
	}
}

// heapGrowth is what of the heap f leaves in use once collected, in
// HeapInuse (the spans that hold live objects) and HeapAlloc (the objects):
// f runs with no collection, as a daemon's start reads its file
// (goruntime.go startWithoutCollection), and what it returns is kept
// alive until both are read.
func heapGrowth(f func() any) (inuse, alloc int64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	prev := debug.SetGCPercent(-1)
	kept := f()
	debug.SetGCPercent(prev)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	return int64(after.HeapInuse) - int64(before.HeapInuse), int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestChecksBenchModelHeap prints the heap the daemon's model holds for
// the checks benchmark's configuration (143 virtual servers, 2,326 real
// servers with one TCP_CHECK each), read from its keepalived.conf and from
// its lvsd.hcl: as loaded, and compacted as `lvsd run` keeps it
// (docs/benchmarks.md, "Session 11, the model's checkers" and "Session
// 11, what an lvsd.hcl start keeps"), three times each. The same model
// keeps the same spans either way: the lvsd.hcl's compacted model once
// kept 1.52-1.55 MB of HeapInuse for the keepalived.conf's 1.06-1.10 MB,
// the same objects in spans its reader's garbage had shared (hcl
// ownCheckers).
func TestChecksBenchModelHeap(t *testing.T) {
	var compacted [2]int64
	for i, file := range checksBenchFiles(t) {
		for _, compact := range []bool{false, true} {
			what := "as loaded"
			if compact {
				what = "compacted"
			}
			least := int64(math.MaxInt64)
			for range 3 {
				inuse, alloc := heapGrowth(func() any {
					cfg := loadSource(t, file.path, file.src)
					if compact {
						compactModel(cfg)
					}
					return cfg
				})
				least = min(least, inuse)
				t.Logf("%s, the model %s: HeapInuse +%d KB, HeapAlloc +%d KB (%d bytes a target)", filepath.Base(file.path), what, inuse>>10, alloc>>10, alloc/2326)
			}
			if compact {
				compacted[i] = least
			}
		}
	}
	if compacted[1] > compacted[0]*11/10 {
		t.Errorf("the lvsd.hcl's compacted model keeps %d KB of HeapInuse, the keepalived.conf's %d KB: want at most 1.1 times", compacted[1]>>10, compacted[0]>>10)
	}
}

// loadSource loads a configuration's text as path, or fails the test.
func loadSource(t *testing.T, path string, src []byte) *hcl.Config {
	t.Helper()
	var l hcl.Loader
	cfg, diags := l.LoadSource(path, src)
	if cfg == nil {
		t.Fatalf("loading %s: %v", path, diags)
	}
	return cfg
}

// TestChecksBenchStartHeap prints what a director started on the checks
// benchmark's configuration keeps of the heap (a fake IPVS table; its
// model compacted after the first write, as `lvsd run` does), from its
// keepalived.conf and from its lvsd.hcl, three times each: a start on
// either file keeps the same, within a tenth.
func TestChecksBenchStartHeap(t *testing.T) {
	var least [2]int64
	for i, file := range checksBenchFiles(t) {
		least[i] = math.MaxInt64
		for range 3 {
			inuse, alloc := heapGrowth(func() any {
				cfg := loadSource(t, file.path, file.src)
				kernel := lvstest.NewFakeKernel(nil)
				d, err := director.New(cfg, director.Options{Checks: true,
					OpenKernel:      func() (lvs.Kernel, error) { return kernel, nil },
					AfterFirstWrite: compactModel})
				if err != nil {
					t.Fatal(err)
				}
				return []any{d, kernel}
			})
			least[i] = min(least[i], inuse)
			t.Logf("%s, the director: HeapInuse +%d KB, HeapAlloc +%d KB", filepath.Base(file.path), inuse>>10, alloc>>10)
		}
	}
	if least[1] > least[0]*11/10 {
		t.Errorf("a start on the lvsd.hcl keeps %d KB of HeapInuse, on the keepalived.conf %d KB: want at most 1.1 times", least[1]>>10, least[0]>>10)
	}
}
