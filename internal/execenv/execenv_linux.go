package execenv

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

// GODEBUG as the first start hands it to the second: the setting, a
// marker that says GODEBUG was the package's doing, and what it was.
const (
	preemptOff = "asyncpreemptoff=1"
	// godebugWas follows preemptOff when the operator's GODEBUG was
	// set; its value (maybe empty) follows after a comma.
	godebugWas = preemptOff + ",lvsdexecenv=set,"
	// godebugUnset is the whole GODEBUG when the operator's was unset.
	godebugUnset = preemptOff + ",lvsdexecenv=unset"
)

func init() {
	again := disableHugePages(modeFile)
	godebug, set := syscall.Getenv("GODEBUG")
	if was, wasSet, second := operatorGODEBUG(godebug); second {
		// The runtime has read the setting; what runs from here on
		// sees the operator's GODEBUG.
		if wasSet {
			syscall.Setenv("GODEBUG", was)
		} else {
			syscall.Unsetenv("GODEBUG")
		}
		return
	}
	env := syscall.Environ()
	if !names(godebug, "asyncpreemptoff") {
		env = withGODEBUG(env, handedOn(godebug, set))
		again = true
	}
	if again {
		startAgain(env) // returns only if the kernel refuses: the process runs on as it is
	}
}

// handedOn is the GODEBUG the second start runs with.
func handedOn(godebug string, set bool) string {
	if !set {
		return godebugUnset
	}
	return godebugWas + godebug
}

// operatorGODEBUG reports whether godebug is one that handedOn made, and
// what the operator's was.
func operatorGODEBUG(godebug string) (was string, set, second bool) {
	if godebug == godebugUnset {
		return "", false, true
	}
	if hasPrefix(godebug, godebugWas) {
		return godebug[len(godebugWas):], true, true
	}
	return "", false, false
}

// names reports whether the comma-separated settings of godebug set key.
func names(godebug, key string) bool {
	for start := 0; start <= len(godebug); {
		end := start
		for end < len(godebug) && godebug[end] != ',' {
			end++
		}
		field := godebug[start:end]
		if hasPrefix(field, key+"=") {
			return true
		}
		start = end + 1
	}
	return false
}

// withGODEBUG is env with GODEBUG's entry replaced by, or added as, value.
func withGODEBUG(env []string, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if hasPrefix(kv, "GODEBUG=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GODEBUG="+value)
}

// disableHugePages makes the setting, and reports again true when the
// kernel's mode (modeFile) is "always" and the setting was not already the
// process's: then pages were mapped huge before it.
func disableHugePages(modeFile string) (again bool) {
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

// hasPrefix is strings.HasPrefix, which this package does without (see
// contains).
func hasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && s[:len(prefix)] == prefix
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
// same arguments (its command line, /proc/self/cmdline), the environment
// env, same process ID: execve of /proc/self/exe, the running file even if
// a package upgrade replaced it since. It returns only if that fails.
func startAgain(env []string) error {
	args, err := commandLine()
	if err != nil {
		return err
	}
	return syscall.Exec("/proc/self/exe", args, env)
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
