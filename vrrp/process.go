package vrrp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvsd/lvsd/hcl"
)

// Counting the processes of a vrrp_track_process by reading /proc, as
// pgrep does (keepalived's track_process.c reads the same files, woken by
// the kernel's process connector; lvsd polls): a process's name is the
// comm field of /proc/PID/stat, or with full_command the first word of
// /proc/PID/cmdline, whose further words are its parameters. Zombies do not
// count.

// procEntry is one running process.
type procEntry struct {
	comm   string
	argv0  string
	params []string
}

// readProcs lists the processes under root (normally /proc).
func readProcs(root string) []procEntry {
	dirs, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []procEntry
	for _, d := range dirs {
		name := d.Name()
		if name == "" || strings.Trim(name, "0123456789") != "" {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(root, name, "stat"))
		if err != nil {
			continue
		}
		// "PID (comm) S ...": comm may hold spaces and parentheses.
		open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || closing < open || closing+2 >= len(stat) || stat[closing+2] == 'Z' {
			continue
		}
		e := procEntry{comm: string(stat[open+1 : closing])}
		if cmd, err := os.ReadFile(filepath.Join(root, name, "cmdline")); err == nil && len(cmd) > 0 {
			words := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
			e.argv0, e.params = words[0], words[1:]
		}
		out = append(out, e)
	}
	return out
}

// processMatches says whether e is one of p's processes
// (track_process.c check_params).
func processMatches(p hcl.TrackProcess, e procEntry) bool {
	name := e.comm
	if p.FullCommand {
		name = e.argv0
	}
	if name != p.Process {
		return false
	}
	switch p.ParamMatch {
	case hcl.ParamMatchExact:
		if len(e.params) != len(p.Params) {
			return false
		}
		for i := range p.Params {
			if e.params[i] != p.Params[i] {
				return false
			}
		}
	case hcl.ParamMatchPartial, hcl.ParamMatchInitial:
		// keepalived compares the NUL-separated parameter bytes: partial
		// wants the configured ones as a prefix; initial also lets the
		// last configured one be a prefix of its word.
		want := strings.Join(p.Params, "\x00")
		got := strings.Join(e.params, "\x00")
		if p.ParamMatch == hcl.ParamMatchPartial {
			return got == want || strings.HasPrefix(got, want+"\x00")
		}
		return strings.HasPrefix(got, want)
	}
	return true
}

// countProcesses counts p's processes among procs.
func countProcesses(p hcl.TrackProcess, procs []procEntry) int {
	n := 0
	for _, e := range procs {
		if processMatches(p, e) {
			n++
		}
	}
	return n
}
