// Command child is the execenv test's program: it imports the package for
// its effect, and prints what it runs with: the huge page setting, the
// kernel's word on it, its process ID, arguments, an environment
// variable, GODEBUG as the runtime read it at the process's execve
// (/proc/self/environ) and as the program sees it now. With CHILD_SPIN
// set, it spins a goroutine on one processor instead and prints
// "preempted" when its main goroutine runs again, which only asynchronous
// preemption lets it.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	_ "github.com/lvsd/lvsd/internal/execenv"
)

func main() {
	if os.Getenv("CHILD_SPIN") != "" {
		runtime.GOMAXPROCS(1)
		go func() {
			for {
			}
		}()
		time.Sleep(20 * time.Millisecond)
		fmt.Println("preempted")
		return
	}
	set, _, _ := syscall.RawSyscall6(syscall.SYS_PRCTL, 42, 0, 0, 0, 0, 0) // PR_GET_THP_DISABLE
	enabled := "?"
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "THP_enabled:"); ok {
				enabled = strings.TrimSpace(v)
			}
		}
	}
	atExec := "unset"
	if environ, err := os.ReadFile("/proc/self/environ"); err == nil {
		for kv := range bytes.SplitSeq(environ, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("GODEBUG=")); ok {
				atExec = fmt.Sprintf("%q", v)
			}
		}
	}
	now := "unset"
	if v, ok := os.LookupEnv("GODEBUG"); ok {
		now = fmt.Sprintf("%q", v)
	}
	fmt.Printf("running set=%d THP_enabled=%s pid=%d args=%q env=%s godebug_at_exec=%s godebug=%s\n",
		set, enabled, os.Getpid(), os.Args[1:], os.Getenv("EXECENV_TEST"), atExec, now)
}
