package hugepages

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
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

// The child (testdata/child) is built with its mode file pointed at one
// of the test's, and started with the setting cleared: where the mode is
// "always" it must start twice, the second time with the setting made,
// as the same process with the same arguments and environment, and it
// must start again before the packages that do not import what this one
// imports alone (os, here) are initialised. The runtime's inittrace
// shows every start's initialisers: os's once, in the second start only.
func TestStartsAgainOnceWhenTheKernelGivesThemUnasked(t *testing.T) {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prGetTHPDisable, 0, 0, 0, 0, 0); errno != 0 {
		t.Skipf("PR_GET_THP_DISABLE: %v (a kernel before 3.15)", errno)
	}
	// This test binary made the setting in its own start; its children
	// would inherit it.
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 0, 0, 0, 0, 0); errno != 0 {
		t.Fatalf("PR_SET_THP_DISABLE 0: %v", errno)
	}
	t.Cleanup(func() { syscall.RawSyscall6(syscall.SYS_PRCTL, prSetTHPDisable, 1, 0, 0, 0, 0) })
	dir := t.TempDir()
	modeFile := filepath.Join(dir, "enabled")
	child := filepath.Join(dir, "child")
	build := exec.Command("go", "build", "-o", child, "-ldflags=-X=github.com/lvsd/lvsd/internal/hugepages.modeFile="+modeFile, "./testdata/child")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name, mode string
		starts     int
	}{
		{"always", "[always] madvise never\n", 2},
		{"madvise", "always [madvise] never\n", 1},
		{"never", "always madvise [never]\n", 1},
		{"no such file", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(modeFile)
			if tc.mode != "" {
				if err := os.WriteFile(modeFile, []byte(tc.mode), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(child, "first", "", "third")
			cmd.Env = append(os.Environ(), "HUGEPAGES_TEST=kept", "GODEBUG=inittrace=1")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pid := cmd.Process.Pid
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			want := fmt.Sprintf("running set=1 THP_enabled=0 pid=%d args=[\"first\" \"\" \"third\"] env=kept\n", pid)
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
			if n := inits("github.com/lvsd/lvsd/internal/hugepages"); n != 1 {
				t.Fatalf("hugepages' initialiser ended %d times, want once (the first start's ends in execve):\n%s", n, stderr.String())
			}
			// The runtime's own initialisers run at every start.
			if n := inits("runtime"); n != tc.starts {
				t.Fatalf("%d starts, want %d:\n%s", n, tc.starts, stderr.String())
			}
		})
	}
}
