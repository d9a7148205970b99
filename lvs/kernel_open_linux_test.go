package lvs

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// fakeModprobe puts a modprobe first in PATH that loads nothing, says it
// failed, and leaves a note of each run; ran reports whether it ran. A
// test that opens IPVS therefore never runs the real one.
func fakeModprobe(t *testing.T) (ran func() bool) {
	t.Helper()
	dir := t.TempDir()
	note := filepath.Join(dir, "ran")
	script := "#!/bin/sh\necho \"$@\" >> " + note + "\necho 'modprobe: FATAL: loading disabled by the test' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "modprobe"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() bool {
		_, err := os.Stat(note)
		return !errors.Is(err, fs.ErrNotExist)
	}
}

// captureStderr sends what is written to file descriptor 2 to a file until
// the test ends, and returns a function reading it so far.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := unix.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Dup3(saved, 2, 0)
		unix.Close(saved)
		f.Close()
	})
	return func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
}

// On most users' hosts ip_vs is a module that is not loaded. Opening IPVS
// there must not load it: not with modprobe (moby/ipvs runs it from its
// first ipvs.New), and not by asking netlink for the IPVS family (since
// Linux 5.16 the kernel then loads ip_vs itself).
func TestOpenKernelWithoutIPVSLoadsNoModuleAndSaysWhichIsMissing(t *testing.T) {
	if _, err := os.Stat(procIPVS); err == nil {
		t.Skip("this kernel has IPVS loaded: nothing to load")
	}
	ran := fakeModprobe(t)
	for _, opts := range []KernelOptions{{}, {OneByOne: true}} {
		k, err := OpenKernelWith(opts)
		if err == nil {
			k.Close()
			t.Fatalf("one-by-one=%v: opened IPVS on a kernel without it", opts.OneByOne)
		}
		if !strings.Contains(err.Error(), "kernel module ip_vs not loaded") {
			t.Errorf("error %q does not name the module", err)
		}
	}
	if ran() {
		t.Fatal("opening IPVS ran modprobe")
	}
	if _, err := os.Stat(procIPVS); err == nil {
		t.Fatal("opening IPVS loaded ip_vs")
	}
}

// The daemon asks for keepalived's behaviour (LoadModule): modprobe ip_vs
// runs once, and when it cannot load the module the error says how to.
func TestOpenKernelLoadModuleRunsModprobeForIPVS(t *testing.T) {
	if _, err := os.Stat(procIPVS); err == nil {
		t.Skip("this kernel has IPVS loaded: nothing to load")
	}
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	for _, tc := range []struct {
		name, exit, want string
	}{
		{"modprobe fails", "exit 1", "modules-load.d"},
		{"modprobe succeeds, still no IPVS", "exit 0", "kernel module ip_vs not loaded after"},
	} {
		modprobe := filepath.Join(dir, "modprobe")
		script := "#!/bin/sh\necho \"$@\" > " + args + "\n" + tc.exit + "\n"
		if err := os.WriteFile(modprobe, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		k, err := OpenKernelWith(KernelOptions{LoadModule: true, Modprobe: modprobe})
		if err == nil {
			k.Close()
			t.Fatalf("%s: opened IPVS on a kernel without it", tc.name)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
		}
		if b, _ := os.ReadFile(args); string(b) != "-q ip_vs\n" {
			t.Errorf("%s: modprobe ran with %q, want \"-q ip_vs\"", tc.name, b)
		}
		os.Remove(args)
	}
}

func TestMobyIPVSLogsGoToTheKernelsLoggerNotToStderr(t *testing.T) {
	fakeModprobe(t)
	stderr := captureStderr(t)
	t.Cleanup(func() { routeMobyLogs(nil) })
	var logged bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	if k, err := OpenKernelWith(KernelOptions{Logger: log}); err == nil {
		k.Close()
	}
	// What moby/ipvs's setup logs when modprobe fails, the way it logs
	// it: through logrus's standard logger.
	logrus.Warnf("Running modprobe ip_vs failed with message: `%s`, error: %v", "modprobe: FATAL", "exit status 1")
	if out := stderr(); strings.Contains(out, "level=warning") || strings.Contains(out, "modprobe ip_vs failed") {
		t.Fatalf("moby/ipvs's log line reached stderr in logrus's format:\n%s", out)
	}
	if !strings.Contains(logged.String(), `"level":"WARN","msg":"Running modprobe ip_vs failed`) ||
		!strings.Contains(logged.String(), `"from":"github.com/moby/ipvs"`) {
		t.Fatalf("moby/ipvs's log line is not in the kernel's logger:\n%s", logged.String())
	}
}
