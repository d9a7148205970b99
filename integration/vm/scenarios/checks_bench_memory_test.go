package scenarios

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The memory side of TestBenchChecksVsKeepalived: where each daemon's
// resident pages are, from /proc/PID/smaps (every mapping's Rss, Pss and
// Anonymous), and for a Go binary which of its ELF sections and which
// packages' code those pages hold (/proc/PID/pagemap against the binary's
// section and symbol tables). RSS summed over keepalived's two processes
// counts the pages they share twice (its binary, libc, libssl…); PSS
// divides each shared page among its sharers, so the PSS sum is what the
// daemon costs the machine.

// cbMemKinds are the rows of the breakdown, in print order.
var cbMemKinds = []string{"binary text", "binary rodata", "binary data+bss", "heap (brk)", "anon mappings", "main stack", "shared libs", "other"}

// cbMemRow is resident memory of one kind, in bytes; ref is the part of
// rss referenced since the window's start (smaps' Referenced, after
// cbClearRefs): the pages the daemon still uses, as against those it
// touched once (its start, its load) and keeps mapped; huge is the part
// of rss in transparent huge pages (smaps' AnonHugePages: 2 MB pages
// that count whole however few of their 4 KB pages are in use).
type cbMemRow struct{ rss, pss, anon, ref, huge int64 }

func (r *cbMemRow) add(o cbMemRow) {
	r.rss += o.rss
	r.pss += o.pss
	r.anon += o.anon
	r.ref += o.ref
	r.huge += o.huge
}

// cbProcMemory is one process's resident memory by kind.
type cbProcMemory struct {
	pid    int
	exe    string
	byKind map[string]cbMemRow
	total  cbMemRow
	// anon is every anonymous mapping's size and RSS: a Go heap arena
	// (64 MB reserved) apart from the runtime's smaller ones.
	anon [][2]int64
}

// cbSmaps reads /proc/PID/smaps and sums each mapping into its kind: the
// process's own executable by permission (r-x text; r-- rodata, which in
// a Go binary also holds the pclntab; rw- data, with the anonymous bss
// mapping that follows it), the brk heap, anonymous mappings (the Go
// heap and goroutine stacks live there, and glibc's thread stacks), the
// main thread's stack, shared libraries, and the rest (vdso…).
func cbSmaps(pid int) (cbProcMemory, error) {
	m := cbProcMemory{pid: pid, byKind: map[string]cbMemRow{}}
	m.exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	var kind string
	var row cbMemRow
	var lastEnd, dataEnd, size uint64
	flush := func() {
		if kind == "anon mappings" && row.rss > 0 {
			m.anon = append(m.anon, [2]int64{int64(size), row.rss})
		}
		if kind != "" {
			r := m.byKind[kind]
			r.add(row)
			m.byKind[kind] = r
			m.total.add(row)
		}
		row = cbMemRow{}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") && strings.Contains(fields[0], "-") && len(fields) >= 5 {
			flush()
			lo, hi, _ := strings.Cut(fields[0], "-")
			start, _ := strconv.ParseUint(lo, 16, 64)
			end, _ := strconv.ParseUint(hi, 16, 64)
			size = end - start
			perms, path := fields[1], ""
			if len(fields) >= 6 {
				path = fields[5]
			}
			switch {
			case path == m.exe && strings.Contains(perms, "x"):
				kind = "binary text"
			case path == m.exe && strings.Contains(perms, "w"):
				kind, dataEnd = "binary data+bss", end
			case path == m.exe:
				kind = "binary rodata"
			case path == "" && start == dataEnd && start == lastEnd:
				kind = "binary data+bss" // the bss beyond the file
			case path == "[heap]":
				kind = "heap (brk)"
			case path == "[stack]":
				kind = "main stack"
			case path == "":
				kind = "anon mappings"
			case strings.Contains(path, ".so"):
				kind = "shared libs"
			default:
				kind = "other"
			}
			lastEnd = end
			continue
		}
		kb := func() int64 {
			v, _ := strconv.ParseInt(fields[1], 10, 64)
			return v << 10
		}
		switch fields[0] {
		case "Rss:":
			row.rss = kb()
		case "Pss:":
			row.pss = kb()
		case "Anonymous:":
			row.anon = kb()
		case "Referenced:":
			row.ref = kb()
		case "AnonHugePages:":
			row.huge = kb()
		}
	}
	flush()
	return m, sc.Err()
}

// cbClearRefs clears the referenced bits of every page of every process
// of group pgid (/proc/PID/clear_refs, 1): from then on smaps' Referenced
// counts only the pages touched since. It changes no mapping and no RSS.
func cbClearRefs(pgid int) error {
	for _, pid := range cbGroupPids(pgid) {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("1"), 0); err != nil {
			return err
		}
	}
	return nil
}

// cbGroupPids lists the live processes of process group pgid.
func cbGroupPids(pgid int) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cbResidentGo says, for a Go binary mapped by pid, how many bytes of
// each ELF section are resident in the process (the present bit of each
// page in /proc/PID/pagemap), and of the resident .text, how much is the
// code of which package family (the symbol at each resident page's
// start), beside the family's whole code size.
func cbResidentGo(pid int, exe string) (sections []cbNamedSize, text []cbFamilySize, err error) {
	ef, err := elf.Open(exe)
	if err != nil {
		return nil, nil, err
	}
	defer ef.Close()
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, nil, err
	}
	defer pm.Close()
	const page = 4096
	present := func(addr uint64) bool {
		var b [8]byte
		if _, err := pm.ReadAt(b[:], int64(addr/page*8)); err != nil {
			return false
		}
		return binary.LittleEndian.Uint64(b[:])&(1<<63) != 0
	}
	var textSec *elf.Section
	for _, s := range ef.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Size == 0 || s.Addr == 0 {
			continue
		}
		if s.Name == ".text" {
			textSec = s
		}
		var res int64
		for a := s.Addr &^ (page - 1); a < s.Addr+s.Size; a += page {
			if present(a) {
				lo, hi := max(a, s.Addr), min(a+page, s.Addr+s.Size)
				res += int64(hi - lo)
			}
		}
		sections = append(sections, cbNamedSize{s.Name, res, int64(s.Size)})
	}
	if textSec == nil {
		return sections, nil, nil
	}
	syms, err := ef.Symbols()
	if err != nil {
		return sections, nil, err
	}
	type sym struct {
		addr, size uint64
		family     string
	}
	var code []sym
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value >= textSec.Addr && s.Value < textSec.Addr+textSec.Size {
			code = append(code, sym{s.Value, s.Size, cbFamily(s.Name)})
		}
	}
	sort.Slice(code, func(i, j int) bool { return code[i].addr < code[j].addr })
	fams := map[string]*cbFamilySize{}
	fam := func(name string) *cbFamilySize {
		if fams[name] == nil {
			fams[name] = &cbFamilySize{name: name}
		}
		return fams[name]
	}
	for _, s := range code {
		fam(s.family).size += int64(s.size)
	}
	for a := textSec.Addr &^ (page - 1); a < textSec.Addr+textSec.Size; a += page {
		if !present(a) {
			continue
		}
		i := sort.Search(len(code), func(i int) bool { return code[i].addr > a }) - 1
		name := "(padding)"
		if i >= 0 {
			name = code[i].family
		}
		fam(name).resident += page
	}
	for _, f := range fams {
		text = append(text, *f)
	}
	slices.SortFunc(text, func(a, b cbFamilySize) int { return int(b.resident - a.resident) })
	return sections, text, nil
}

// cbResidentReadOnly says which regions of a Go binary's read-only data
// (.rodata and .gopclntab) the resident pages of pid hold, each beside
// its size: what touches them tells them apart. Type descriptors and
// strings are read by the code that uses them (maps, interfaces,
// reflection, the collector's scan of a large object); the function
// table, the PC-value tables and the functions' data (stack maps) by
// every walk of a stack (the collector's scan of each goroutine, a stack
// growing or shrinking, a preemption); function and file names only by
// a traceback or a caller's frame asked for by name (runtime.Callers
// with CallersFrames, FuncForPC). The regions are the linker's marker
// symbols and the pclntab's header (runtime/symtab.go pcHeader, Go 1.20
// and later: magic, 4 bytes, nfunc, nfiles, textStart, then the offsets
// of the function names, the compilation units, the file names, the
// PC-value tables and the function table).
func cbResidentReadOnly(pid int, exe string) ([]cbNamedSize, error) {
	ef, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer ef.Close()
	syms, err := ef.Symbols()
	if err != nil {
		return nil, err
	}
	addr := map[string]uint64{}
	for _, s := range syms {
		switch s.Name {
		case "type:*", "go:string.*", "go:funcdesc", "runtime.erodata", "runtime.pclntab", "runtime.epclntab", "go:func.*", "runtime.findfunctab":
			addr[s.Name] = s.Value
		}
	}
	pcln := ef.Section(".gopclntab")
	if pcln == nil || addr["runtime.pclntab"] == 0 {
		return nil, fmt.Errorf("no pclntab")
	}
	hdr := make([]byte, 8+8*8)
	if _, err := pcln.ReadAt(hdr, int64(addr["runtime.pclntab"]-pcln.Addr)); err != nil {
		return nil, err
	}
	off := func(i int) uint64 { return addr["runtime.pclntab"] + binary.LittleEndian.Uint64(hdr[8+8*i:]) }
	// pcHeader's words after the first 8 bytes: nfunc, nfiles, textStart,
	// funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset.
	bounds := []struct {
		name string
		at   uint64
	}{
		{"types", addr["type:*"]},
		{"strings", addr["go:string.*"]},
		{"other rodata", addr["go:funcdesc"]},
		{"(gap)", addr["runtime.erodata"]},
		{"pclntab header", addr["runtime.pclntab"]},
		{"function names", off(3)},
		{"compilation units", off(4)},
		{"file names", off(5)},
		{"PC-value tables", off(6)},
		{"function table", off(7)},
		{"function data", addr["go:func.*"]},
		{"findfunctab", addr["runtime.findfunctab"]},
		{"end", pcln.Addr + pcln.Size},
	}
	for i, b := range bounds {
		if b.at == 0 || (i > 0 && b.at < bounds[i-1].at) {
			return nil, fmt.Errorf("region %s at %#x out of order", b.name, b.at)
		}
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	const page = 4096
	var out []cbNamedSize
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i].at, bounds[i+1].at
		if bounds[i].name == "(gap)" || hi <= lo {
			continue
		}
		r := cbNamedSize{name: bounds[i].name, size: int64(hi - lo)}
		for a := lo &^ (page - 1); a < hi; a += page {
			var b [8]byte
			if _, err := pm.ReadAt(b[:], int64(a/page*8)); err == nil && binary.LittleEndian.Uint64(b[:])&(1<<63) != 0 {
				r.resident += int64(min(a+page, hi) - max(a, lo))
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// cbNamedSize is a section's resident bytes beside its size.
type cbNamedSize struct {
	name           string
	resident, size int64
}

// cbFamilySize is a package family's resident code beside its code size.
type cbFamilySize struct {
	name           string
	resident, size int64
}

// cbFamily groups a Go symbol's package into the families the RSS
// question is about: gobgp and what only it brings (gRPC, protobuf), the
// rest of lvsd's dependencies, lvsd itself, the runtime, the standard
// library.
func cbFamily(sym string) string {
	pkg := sym
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		if j := strings.IndexByte(pkg[i:], '.'); j >= 0 {
			pkg = pkg[:i+j]
		}
	} else if j := strings.IndexByte(pkg, '.'); j >= 0 {
		pkg = pkg[:j]
	}
	for _, f := range []struct{ prefix, name string }{
		{"github.com/osrg/gobgp", "gobgp"},
		{"google.golang.org/grpc", "grpc"},
		{"google.golang.org/protobuf", "protobuf"},
		{"google.golang.org/genproto", "protobuf"},
		{"github.com/lvsd/lvsd", "lvsd"},
		{"github.com/prometheus", "prometheus"},
		{"github.com/hashicorp", "hcl+cty"},
		{"github.com/zclconf", "hcl+cty"},
		{"runtime", "runtime"},
		{"internal/runtime", "runtime"},
		{"crypto", "crypto+tls"},
		{"vendor/golang.org/x/crypto", "crypto+tls"},
		{"golang.org/x/net", "x/net (http2, trace)"},
		{"net/http", "net/http"},
	} {
		if pkg == f.prefix || strings.HasPrefix(pkg, f.prefix+"/") || strings.HasPrefix(pkg, f.prefix+".") {
			return f.name
		}
	}
	if strings.Contains(pkg, ".") && strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
		return "other modules"
	}
	return "other std"
}

// cbInitTrace sums GODEBUG=inittrace=1's lines in a Go program's output
// ("init PKG @T ms, C ms clock, B bytes, A allocs"): the whole, and the
// packages whose init allocated most.
func cbInitTrace(out string) (total string, top []string) {
	re := regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)
	type pkg struct {
		name   string
		ms     float64
		bytes  int64
		allocs int64
	}
	var pkgs []pkg
	var sum pkg
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		ms, _ := strconv.ParseFloat(m[2], 64)
		b, _ := strconv.ParseInt(m[3], 10, 64)
		a, _ := strconv.ParseInt(m[4], 10, 64)
		pkgs = append(pkgs, pkg{m[1], ms, b, a})
		sum.ms += ms
		sum.bytes += b
		sum.allocs += a
	}
	if len(pkgs) == 0 {
		return "no inittrace lines", nil
	}
	// GODEBUG=gctrace=1: the last cycle's heap sizes and goal.
	if gcs := regexp.MustCompile(`(?m)^gc \d+ @.*$`).FindAllString(out, -1); len(gcs) > 0 {
		top = append(top, fmt.Sprintf("%d GC cycles, the last: %q", len(gcs), gcs[len(gcs)-1]))
	}
	// GODEBUG=scavtrace=1, a line a cycle: the heap memory the runtime
	// keeps mapped after it ("now") and the share of that in use
	// ("util"): what is resident beyond the live heap and its goal.
	if sc := regexp.MustCompile(`(?m)^scav .*$`).FindAllString(out, -1); len(sc) > 0 {
		top = append(top, fmt.Sprintf("the scavenger's last: %q", sc[len(sc)-1]))
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return int(b.bytes - a.bytes) })
	for _, p := range pkgs[:min(6, len(pkgs))] {
		top = append(top, fmt.Sprintf("%s %.0f KB %.2f ms", p.name, float64(p.bytes)/1024, p.ms))
	}
	return fmt.Sprintf("%d package inits, %.1f ms clock, %.2f MB in %d allocations", len(pkgs), sum.ms, float64(sum.bytes)/(1<<20), sum.allocs), top
}

// cbMemoryReport is the breakdown of one daemon (every process of its
// group) as lines to print.
func cbMemoryReport(name string, pgid int) ([]string, cbMemRow) {
	var lines []string
	var procs []cbProcMemory
	for _, pid := range cbGroupPids(pgid) {
		m, err := cbSmaps(pid)
		if err != nil {
			lines = append(lines, fmt.Sprintf("%s: smaps of %d: %v", name, pid, err))
			continue
		}
		procs = append(procs, m)
	}
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	var sum cbMemRow
	head := fmt.Sprintf("  %-24s %-18s", name, "kind")
	for _, p := range procs {
		head += fmt.Sprintf(" %18s", fmt.Sprintf("pid %d RSS/PSS/anon", p.pid))
		sum.add(p.total)
	}
	lines = append(lines, head)
	for _, k := range cbMemKinds {
		l := fmt.Sprintf("  %-24s %-18s", "", k)
		nonzero := false
		for _, p := range procs {
			r := p.byKind[k]
			nonzero = nonzero || r.rss > 0
			l += fmt.Sprintf(" %18s", mb(r.rss)+"/"+mb(r.pss)+"/"+mb(r.anon))
		}
		if nonzero {
			lines = append(lines, l)
		}
	}
	l := fmt.Sprintf("  %-24s %-18s", "", "total")
	for _, p := range procs {
		l += fmt.Sprintf(" %18s", mb(p.total.rss)+"/"+mb(p.total.pss)+"/"+mb(p.total.anon))
	}
	lines = append(lines, l, fmt.Sprintf("  %-24s sum over %d processes: RSS %s MB (shared pages counted once per process), PSS %s MB (what the daemon costs the machine), anonymous %s MB",
		"", len(procs), mb(sum.rss), mb(sum.pss), mb(sum.anon)))
	// What the window itself touched of each kind, summed over the
	// processes (cbClearRefs at the window's start).
	l = fmt.Sprintf("  %-24s referenced in the window / resident, MB:", "")
	for _, k := range cbMemKinds {
		var r cbMemRow
		for _, p := range procs {
			r.add(p.byKind[k])
		}
		if r.rss > 0 {
			l += fmt.Sprintf(" %s %s/%s", k, mb(r.ref), mb(r.rss))
		}
	}
	lines = append(lines, l+fmt.Sprintf("; all %s/%s", mb(sum.ref), mb(sum.rss)),
		fmt.Sprintf("  %-24s in transparent huge pages: %s MB of the RSS", "", mb(sum.huge)))
	for _, p := range procs {
		slices.SortFunc(p.anon, func(a, b [2]int64) int { return int(b[1] - a[1]) })
		s := fmt.Sprintf("  %-24s pid %d anonymous mappings, RSS/size MB:", "", p.pid)
		for _, a := range p.anon[:min(6, len(p.anon))] {
			s += fmt.Sprintf(" %s/%s", mb(a[1]), mb(a[0]))
		}
		lines = append(lines, s)
	}
	for _, p := range procs {
		if f, err := elf.Open(p.exe); err != nil || f.Section(".gopclntab") == nil {
			if f != nil {
				f.Close()
			}
			continue
		} else {
			f.Close()
		}
		sections, text, err := cbResidentGo(p.pid, p.exe)
		if err != nil {
			lines = append(lines, fmt.Sprintf("  %-24s pagemap: %v", "", err))
			continue
		}
		s := fmt.Sprintf("  %-24s binary sections resident/size MB:", "")
		for _, sec := range sections {
			if sec.resident >= 64<<10 {
				s += fmt.Sprintf(" %s %s/%s", sec.name, mb(sec.resident), mb(sec.size))
			}
		}
		lines = append(lines, s)
		s = fmt.Sprintf("  %-24s .text resident/size MB by package:", "")
		for _, f := range text {
			s += fmt.Sprintf(" %s %s/%s", f.name, mb(f.resident), mb(f.size))
		}
		lines = append(lines, s)
		if regions, err := cbResidentReadOnly(p.pid, p.exe); err != nil {
			lines = append(lines, fmt.Sprintf("  %-24s read-only regions: %v", "", err))
		} else {
			s = fmt.Sprintf("  %-24s read-only data resident/size MB by region:", "")
			for _, r := range regions {
				s += fmt.Sprintf(" %s %s/%s", r.name, mb(r.resident), mb(r.size))
			}
			lines = append(lines, s)
		}
	}
	return lines, sum
}

// cbStraceCount counts the daemon's system calls over d with strace -c
// (every process of the group), and returns strace's table in brief: the
// calls per connect (each TCP_CHECK attempt makes one connect, in both
// daemons) and the top calls. The daemon runs slower under strace, so
// this runs after the measured window.
func cbStraceCount(pgid int, d time.Duration) string {
	strace, err := exec.LookPath("strace")
	if err != nil {
		return "strace not in the VM"
	}
	// Every thread of every process: -p attaches to one thread, and -f
	// follows only the threads created after.
	// -w: each call's time is wall-clock time, so a close that waits
	// (keepalived lingers, SO_LINGER {1, 5}) shows how long it waited.
	args := []string{"-c", "-w", "-f", "-q"}
	for _, pid := range cbGroupPids(pgid) {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, task := range tasks {
			args = append(args, "-p", task.Name())
		}
	}
	cmd := exec.Command(strace, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	time.Sleep(d)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	// "% time seconds usecs/call calls errors syscall" rows.
	type call struct {
		name  string
		calls int64
	}
	var calls []call
	var total, connects int64
	var closeWait string // close's usecs/call
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[0] == "%" || strings.HasPrefix(f[0], "-") {
			continue
		}
		n, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			continue
		}
		name := f[len(f)-1]
		if name == "total" {
			continue
		}
		calls = append(calls, call{name, n})
		total += n
		if name == "connect" {
			connects = n
		}
		if name == "close" {
			closeWait = f[2]
		}
	}

	if connects == 0 {
		return "no connect seen: " + strings.Join(strings.Fields(cbTail(out.String())), " ")
	}
	slices.SortFunc(calls, func(a, b call) int { return int(b.calls - a.calls) })
	s := fmt.Sprintf("%d connects in %v, close %s µs per call (wall clock), %.2f system calls per connect:", connects, d, closeWait, float64(total)/float64(connects))
	for _, c := range calls[:min(12, len(calls))] {
		s += fmt.Sprintf(" %s %.2f", c.name, float64(c.calls)/float64(connects))
	}
	return s
}
