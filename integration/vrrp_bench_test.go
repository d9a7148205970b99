package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBenchVRRPTakeover measures, in one run and the same namespace lab,
// an lvsd pair beside a keepalived pair: takeover latency after SIGTERM
// (expect ≈ Skew_Time of the backup: 609 ms at priority 100) and after a
// link cut (≈ Master_Down_Interval: 3.609 s), each from the master's last
// advert on the wire to the backup's first GARP as the client sees them;
// and the resident memory of one node with one instance (keepalived: the
// sum of all its processes). Runs only with LVSD_BENCH=1 (make bench).
func TestBenchVRRPTakeover(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1")
	}
	requireNetns(t)
	requireKeepalived(t)
	const rounds = 3
	type result struct {
		term, cut []time.Duration
		rssKB     int
	}
	results := map[string]*result{}
	kinds := []string{"lvsd", "keepalived"}
	for _, kind := range kinds {
		res := &result{}
		results[kind] = res
		t.Run(kind, func(t *testing.T) {
			l := newVRRPLab(t)
			wire := l.capture("C")
			a, b := startPair(t, l, kind, kind)
			time.Sleep(time.Second)
			res.rssKB = groupRSS(t, b.p.cmd.Process.Pid)
			measure := func(fail, heal func()) time.Duration {
				time.Sleep(300 * time.Millisecond)
				at := time.Now()
				fail()
				garp, ok := wire.firstGARP(l.mac["B"], at, b.masterDownInterval()+3*time.Second)
				if !ok {
					t.Fatalf("no takeover by %v", b)
				}
				last, ok := wire.lastAdvertBefore(l.ip["A"], garp.at)
				if !ok {
					t.Fatal("no advert of the master on the wire")
				}
				heal()
				expectMaster(t, a, b, a.masterDownInterval()+3*time.Second)
				return garp.at.Sub(last.at)
			}
			for range rounds {
				res.term = append(res.term, measure(func() { a.term() }, a.start))
				res.cut = append(res.cut, measure(func() { l.cutLink("A", true) }, func() { l.cutLink("A", false) }))
			}
		})
	}
	lvsdNode := "the in-test helper node (LVSD_BIN=helper or no binary)"
	if bin := lvsdBinary(t); bin != "" {
		lvsdNode = bin + " run -f FILE"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nVRRP takeover, last master advert -> first backup GARP (median of %d; backup priority 100, advert_int 1)\n", rounds)
	fmt.Fprintf(&sb, "%-28s %14s %14s\n", "", "lvsd", "keepalived")
	fmt.Fprintf(&sb, "%-28s %14v %14v\n", "after SIGTERM (prio 0)", median(results["lvsd"].term), median(results["keepalived"].term))
	fmt.Fprintf(&sb, "%-28s %14v %14v\n", "after link cut", median(results["lvsd"].cut), median(results["keepalived"].cut))
	fmt.Fprintf(&sb, "%-28s %11d kB %11d kB\n", "RSS, one node, 1 instance", results["lvsd"].rssKB, results["keepalived"].rssKB)
	fmt.Fprintf(&sb, "lvsd node: %s; keepalived RSS is the sum of its processes\n", lvsdNode)
	fmt.Fprintf(&sb, "all SIGTERM: lvsd %v keepalived %v\nall link cut: lvsd %v keepalived %v\n",
		results["lvsd"].term, results["keepalived"].term, results["lvsd"].cut, results["keepalived"].cut)
	t.Log(sb.String())
	fmt.Print(sb.String())
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(time.Millisecond)
}

// groupRSS sums VmRSS (kB) of every process in the process group pgid.
func groupRSS(t *testing.T, pgid int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g != pgid {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
				total += kb
			}
		}
	}
	return total
}
