package execenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSplitArgsKeepsEmptyArguments(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{"lvsd\x00run\x00-f\x00/etc/lvsd/lvsd.hcl\x00", []string{"lvsd", "run", "-f", "/etc/lvsd/lvsd.hcl"}},
		{"lvsd\x00\x00--log-detail\x00", []string{"lvsd", "", "--log-detail"}},
		{"lvsd\x00rewritten", []string{"lvsd", "rewritten"}},
		{"", nil},
	} {
		if got := splitArgs([]byte(tc.raw)); !slices.Equal(got, tc.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestGODEBUGHandedOnAndBack(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		set     bool
		handed  string
	}{
		{"", false, "asyncpreemptoff=1,lvsdexecenv=unset"},
		{"", true, "asyncpreemptoff=1,lvsdexecenv=set,"},
		{"inittrace=1", true, "asyncpreemptoff=1,lvsdexecenv=set,inittrace=1"},
		{"gctrace=1,madvdontneed=0", true, "asyncpreemptoff=1,lvsdexecenv=set,gctrace=1,madvdontneed=0"},
	} {
		handed := handedOn(tc.godebug, tc.set)
		if handed != tc.handed {
			t.Errorf("handedOn(%q, %v) = %q, want %q", tc.godebug, tc.set, handed, tc.handed)
		}
		if !names(handed, "asyncpreemptoff") {
			t.Errorf("%q does not set asyncpreemptoff", handed)
		}
		was, set, second := operatorGODEBUG(handed)
		if !second || was != tc.godebug || set != tc.set {
			t.Errorf("operatorGODEBUG(%q) = %q, %v, %v; want %q, %v, true", handed, was, set, second, tc.godebug, tc.set)
		}
	}
	for _, godebug := range []string{"", "inittrace=1", "asyncpreemptoff=1", "asyncpreemptoff=1,lvsdexecenv=sets"} {
		if _, _, second := operatorGODEBUG(godebug); second {
			t.Errorf("operatorGODEBUG(%q) takes it for the package's", godebug)
		}
	}
}

func TestNamesReadsKeysOnly(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		want    bool
	}{
		{"asyncpreemptoff=0", true},
		{"inittrace=1,asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,inittrace=1", true},
		{"", false},
		{"asyncpreemptoff", false},
		{"xasyncpreemptoff=1", false},
		{"asyncpreemptoffx=1", false},
		{",,asyncpreemptoff=", true},
	} {
		if got := names(tc.godebug, "asyncpreemptoff"); got != tc.want {
			t.Errorf("names(%q) = %v, want %v", tc.godebug, got, tc.want)
		}
	}
}

// buildChild builds testdata/child with its mode file pointed at one of the
// test's and returns both paths.
func buildChild(t *testing.T) (child, modeFile string) {
	t.Helper()
	dir := t.TempDir()
	modeFile = filepath.Join(dir, "enabled")
	child = filepath.Join(dir, "child")
	build := exec.Command("go", "build", "-o", child, "-ldflags=-X=github.com/lvsd/lvsd/internal/execenv.modeFile="+modeFile, "./testdata/child")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return child, modeFile
}

// The child (testdata/child) is started with the huge page setting
// cleared: where the mode is "always", or the operator's GODEBUG does not
// name asyncpreemptoff, it must start twice, the second time with the
// setting made and GODEBUG handed on, as the same process with the same
// arguments and environment but for GODEBUG, which the second start puts
// back; and it must start again before the packages that do not import
// what this one imports alone (os, here) are initialised. The runtime's
// inittrace shows every start's initialisers: os's once, in the second
// start only.
func TestStartsAgainOnceForWhatItLacks(t *testing.T) {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prGetTHPDisable, 0, 0, 0, 0, 0); errno != 0 {
		t.Skipf("PR_GET_THP_DISABLE: %v (a kernel before 3.15)", errno)
	}
	// This test binary made the setting in its own start; its children
	// would inherit it.
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 0, 0, 0, 0, 0); errno != 0 {
		t.Fatalf("PR_SET_THP_DISABLE 0: %v", errno)
	}
	t.Cleanup(func() { syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 1, 0, 0, 0, 0) })
	child, modeFile := buildChild(t)
	const (
		always  = "[always] madvise never\n"
		madvise = "always [madvise] never\n"
		never   = "always madvise [never]\n"
	)
	for _, tc := range []struct {
		name, mode, godebug string
		starts              int
		atExec              string
	}{
		{"always", always, "inittrace=1", 2, `"asyncpreemptoff=1,lvsdexecenv=set,inittrace=1"`},
		{"madvise", madvise, "inittrace=1", 2, `"asyncpreemptoff=1,lvsdexecenv=set,inittrace=1"`},
		{"never", never, "inittrace=1", 2, `"asyncpreemptoff=1,lvsdexecenv=set,inittrace=1"`},
		{"no mode file", "", "inittrace=1", 2, `"asyncpreemptoff=1,lvsdexecenv=set,inittrace=1"`},
		{"always, the operator's asyncpreemptoff", always, "inittrace=1,asyncpreemptoff=0", 2, `"inittrace=1,asyncpreemptoff=0"`},
		{"madvise, the operator's asyncpreemptoff", madvise, "inittrace=1,asyncpreemptoff=0", 1, `"inittrace=1,asyncpreemptoff=0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(modeFile)
			if tc.mode != "" {
				if err := os.WriteFile(modeFile, []byte(tc.mode), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(child, "first", "", "third")
			cmd.Env = append(withoutGODEBUG(os.Environ()), "EXECENV_TEST=kept", "GODEBUG="+tc.godebug)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			want := fmt.Sprintf("running set=1 THP_enabled=0 pid=%d args=[\"first\" \"\" \"third\"] env=kept godebug_at_exec=%s godebug=%q\n", pid, tc.atExec, tc.godebug)
			if stdout.String() != want {
				t.Fatalf("the child ran with\n%swant\n%s", stdout.String(), want)
			}
			inits := func(pkg string) int {
				n := 0
				for line := range strings.Lines(stderr.String()) {
					if f := strings.Fields(line); len(f) > 1 && f[0] == "init" && f[1] == pkg {
						n++
					}
				}
				return n
			}
			if n := inits("os"); n != 1 {
				t.Fatalf("os initialised %d times, want once:\n%s", n, stderr.String())
			}
			if n := inits("github.com/lvsd/lvsd/internal/execenv"); n != 1 {
				t.Fatalf("execenv's initialiser ended %d times, want once (the first start's ends in execve):\n%s", n, stderr.String())
			}
			// The runtime's own initialisers run at every start.
			if n := inits("runtime"); n != tc.starts {
				t.Fatalf("%d starts, want %d:\n%s", n, tc.starts, stderr.String())
			}
		})
	}
	t.Run("GODEBUG unset", func(t *testing.T) {
		os.WriteFile(modeFile, []byte(madvise), 0o644)
		cmd := exec.Command(child)
		cmd.Env = withoutGODEBUG(os.Environ())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if want := ` godebug_at_exec="asyncpreemptoff=1,lvsdexecenv=unset" godebug=unset`; !strings.Contains(string(out), want) {
			t.Fatalf("the child ran with\n%swant%s", out, want)
		}
	})
}

// The setting takes: on one processor, a goroutine that spins without a
// function call keeps the main goroutine from running again, unless the
// operator's GODEBUG turns asynchronous preemption back on.
func TestGoroutinesArePreemptedAtCallsOnly(t *testing.T) {
	child, _ := buildChild(t)
	for _, tc := range []struct {
		name, godebug string
		preempted     bool
	}{
		{"lvsd's setting", "", false},
		{"the operator's asyncpreemptoff=0", "GODEBUG=asyncpreemptoff=0", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(child)
			cmd.Env = append(withoutGODEBUG(os.Environ()), "CHILD_SPIN=1")
			if tc.godebug != "" {
				cmd.Env = append(cmd.Env, tc.godebug)
			}
			var stdout strings.Builder
			cmd.Stdout = &stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Asynchronous preemption stops the spinning goroutine 10 ms
			// after its start (sysmon's forcePreemptNS); two seconds are
			// room for a busy machine, not a figure under test.
			select {
			case err := <-exited:
				if !tc.preempted {
					t.Fatalf("the main goroutine ran again (%v, %q): the spinning goroutine was preempted", err, stdout.String())
				}
				if err != nil || stdout.String() != "preempted\n" {
					t.Fatalf("child: %v, %q", err, stdout.String())
				}
			case <-time.After(2 * time.Second):
				cmd.Process.Kill()
				<-exited
				if tc.preempted {
					t.Fatalf("the spinning goroutine was not preempted in 2 s: asynchronous preemption is off")
				}
			}
		})
	}
}

func withoutGODEBUG(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") })
}
