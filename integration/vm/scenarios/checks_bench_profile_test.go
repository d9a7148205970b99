package scenarios

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Where each daemon's CPU goes in TestBenchChecksVsKeepalived's profiled
// pair: user and system time from /proc over the window for every pair,
// lvsd's own CPU profile over its steady state (LVSD_CPUPROFILE,
// cmd/lvsd/goruntime.go), and perf's samples of both daemons, user and
// kernel, taken the same way one after the other after the window.

// cbCPU is a process group's CPU time, user and system apart, and its
// threads' context switches: voluntary (a thread that waits: a futex, a
// poll, a sleep) and involuntary (a thread the scheduler took off its
// CPU). Each switch costs the kernel time that perf shows in
// finish_task_switch, so a daemon that hands its work from thread to
// thread pays for it there.
type cbCPU struct {
	user, sys              time.Duration
	voluntary, involuntary int64
}

// cbGroupCPU sums utime and stime over the live processes of process
// group pgid (clock ticks at 100 Hz, Linux's USER_HZ), and the context
// switches of all their threads (/proc/PID/task/TID/status).
func cbGroupCPU(pgid int) cbCPU {
	var c cbCPU
	for _, pid := range cbGroupPids(pgid) {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, t.Name()))
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(status), "\n") {
				k, v, ok := strings.Cut(line, ":")
				if !ok {
					continue
				}
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				switch k {
				case "voluntary_ctxt_switches":
					c.voluntary += n
				case "nonvoluntary_ctxt_switches":
					c.involuntary += n
				}
			}
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// f[11] and f[12] are fields 14 and 15 (utime, stime).
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		c.user += time.Duration(ut) * 10 * time.Millisecond
		c.sys += time.Duration(st) * 10 * time.Millisecond
	}
	return c
}

// cbProfileLines waits up to wait for lvsd's CPU profile at path and
// returns it as base64 lines, each "PPROF tag chunk", for the host to put
// together (docs/benchmarks.md says how).
func cbProfileLines(tag, path string, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	var b []byte
	for {
		var err error
		if b, err = os.ReadFile(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return []string{fmt.Sprintf("PPROF %s none: %v", tag, err)}
		}
		time.Sleep(500 * time.Millisecond)
	}
	enc := base64.StdEncoding.EncodeToString(b)
	var lines []string
	for len(enc) > 0 {
		n := min(len(enc), 96)
		lines = append(lines, "PPROF "+tag+" "+enc[:n])
		enc = enc[n:]
	}
	return lines
}

// cbPerfReport samples every thread of process group pgid with perf
// (cpu-clock, user and kernel) for d and returns perf report's table by
// object and symbol (the entries above 1 %), or why not.
func cbPerfReport(pgid int, d time.Duration) []string {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return []string{"perf not in the VM"}
	}
	var pids []string
	for _, pid := range cbGroupPids(pgid) {
		pids = append(pids, strconv.Itoa(pid))
	}
	data := fmt.Sprintf("/tmp/checks-bench/perf-%d.data", pgid)
	ctx, cancel := context.WithTimeout(context.Background(), d+2*time.Minute)
	defer cancel()
	rec := exec.CommandContext(ctx, perf, "record", "-q", "-e", "cpu-clock", "-F", "499", "-p", strings.Join(pids, ","),
		"-o", data, "--", "sleep", strconv.Itoa(int(d.Seconds())))
	if out, err := rec.CombinedOutput(); err != nil {
		return []string{fmt.Sprintf("perf record: %v: %s", err, cbTail(string(out)))}
	}
	var lines []string
	for _, sort := range []string{"dso", "dso,sym"} {
		rep := exec.CommandContext(ctx, perf, "report", "-i", data, "--stdio", "-q", "--no-children",
			"--sort", sort, "--percent-limit", "1")
		out, err := rep.Output()
		if err != nil {
			lines = append(lines, fmt.Sprintf("perf report: %v", err))
			continue
		}
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, "by "+sort+": "+strings.Join(strings.Fields(l), " "))
			}
		}
	}
	os.Remove(data)
	return lines
}
