// Package leakcheck lets a test see that the goroutines a Run started have
// ended when it returns: it lists the goroutines that run a function whose
// name starts with a prefix, e.g. "github.com/lvsd/lvsd/checks." or
// "github.com/lvsd/lvsd/vrrp.trackScript".
package leakcheck

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Running returns the stacks of the goroutines, other than the caller's,
// with a frame of a function whose name starts with prefix.
func Running(prefix string) []string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	// The caller's goroutine comes first; the others follow, one
	// paragraph each.
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue
		}
		for _, line := range strings.Split(g, "\n") {
			if strings.HasPrefix(line, prefix) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// None fails t when goroutines of prefix still run after within: a
// goroutine that has finished its work takes a moment to exit, one that
// still works does not exit in that moment.
func None(t testing.TB, prefix string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := Running(prefix)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutine(s) of %s still run:\n\n%s", len(left), prefix, strings.Join(left, "\n\n"))
		}
		time.Sleep(time.Millisecond)
	}
}
