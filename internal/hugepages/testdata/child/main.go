// Command child is the hugepages test's program: it imports the package
// for its effect, and prints what it runs with: the setting, the kernel's
// word on it, its process ID, arguments and an environment variable.
package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	_ "github.com/lvsd/lvsd/internal/hugepages"
)

func main() {
	set, _, _ := syscall.RawSyscall6(syscall.SYS_PRCTL, 42, 0, 0, 0, 0, 0) // PR_GET_THP_DISABLE
	enabled := "?"
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "THP_enabled:"); ok {
				enabled = strings.TrimSpace(v)
			}
		}
	}
	fmt.Printf("running set=%d THP_enabled=%s pid=%d args=%q env=%s\n", set, enabled, os.Getpid(), os.Args[1:], os.Getenv("HUGEPAGES_TEST"))
}
