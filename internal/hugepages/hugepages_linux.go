package hugepages

import "syscall"

// modeFile is the kernel's transparent huge page mode. Only the linker
// sets it otherwise (the package's test, -ldflags -X, to point a child at
// a file of its own); no code assigns it.
var modeFile = "/sys/kernel/mm/transparent_hugepage/enabled"

// prctl(2) options, linux/prctl.h.
const (
	prSetTHPDisable = 41
	prGetTHPDisable = 42
)

func init() {
	if disable(modeFile) {
		startAgain() // returns only if the kernel refuses: the process runs on as it is
	}
}

// disable makes the setting, and reports again true when the kernel's mode
// (modeFile) is "always" and the setting was not already the process's:
// then pages were mapped huge before it.
func disable(modeFile string) (again bool) {
	set, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prGetTHPDisable, 0, 0, 0, 0, 0)
	if errno != 0 || set != 0 {
		return false // before 3.15, or set already: inherited, this is the second start
	}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 1, 0, 0, 0, 0); errno != 0 {
		return false
	}
	return modeAlways(modeFile)
}

// modeAlways reports whether the mode file names "always" as the mode in
// force: "[always] madvise never".
func modeAlways(name string) bool {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	var buf [128]byte
	n, err := syscall.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return false
	}
	return contains(string(buf[:n]), "[always]")
}

// contains is strings.Contains, which this package does without: see
// the package's documentation for why it imports syscall alone.
func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// startAgain replaces the process with a new run of its own executable,
// same arguments (its command line, /proc/self/cmdline) and environment,
// same process ID: execve of /proc/self/exe, the running file even if a
// package upgrade replaced it since. It returns only if that fails.
func startAgain() error {
	args, err := commandLine()
	if err != nil {
		return err
	}
	return syscall.Exec("/proc/self/exe", args, syscall.Environ())
}

// commandLine is the process's arguments, as the kernel keeps them:
// each ends with a NUL.
func commandLine() ([]string, error) {
	fd, err := syscall.Open("/proc/self/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var raw []byte
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		raw = append(raw, buf[:n]...)
	}
	return splitArgs(raw), nil
}

// splitArgs cuts a command line into its arguments: each ends with a NUL,
// and an empty one is an argument too.
func splitArgs(raw []byte) []string {
	var args []string
	start := 0
	for i, b := range raw {
		if b == 0 {
			args = append(args, string(raw[start:i]))
			start = i + 1
		}
	}
	if start < len(raw) {
		args = append(args, string(raw[start:])) // no final NUL: a process that rewrote its arguments
	}
	return args
}
