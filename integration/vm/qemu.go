package vm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Console markers printed by the guest's /init.
const (
	markerBooted = "LVSD-VM-BOOTED"
	markerReady  = "LVSD-VM-READY"
	markerExit   = "LVSD-VM-EXIT"
	markerInsmod = "LVSD-VM-INSMOD-FAILED"
)

// defaultTimeout bounds a VM run whose Spec sets no Timeout.
const defaultTimeout = 5 * time.Minute

// Spec describes one VM run.
type Spec struct {
	// Files are copied into the guest: guest path -> host path. Mode bits
	// follow the host file.
	Files map[string]string
	// Inline files: guest path -> content, mode 0755 (scripts, configs).
	Inline map[string]string
	// Programs are dynamically linked host programs (e.g.
	// /usr/sbin/keepalived) copied to the same guest path with their shared
	// libraries. They go into the cached base image.
	Programs []string
	// Script is run by busybox sh inside the guest after the modules are
	// loaded; its exit status is Result.ExitCode.
	Script string
	// Timeout bounds the whole run, boot included (default 5 minutes).
	// When it expires qemu is killed and the test fails.
	Timeout time.Duration
	// MemoryMB is the guest's memory (default 1024).
	MemoryMB int
	// Quiet keeps the console out of the test log while it streams; the
	// output is still returned.
	Quiet bool
}

// Result is what a VM run gave back.
type Result struct {
	// Output is the console from /init's ready marker to its exit marker:
	// the script's stdout and stderr, plus any kernel messages. Lines end
	// in "\n" (the serial console's "\r" is removed).
	Output   string
	ExitCode int
	// Boot is the time from starting qemu to the guest being ready (modules
	// loaded); GuestBoot is the guest's own uptime at that point.
	Boot      time.Duration
	GuestBoot time.Duration
	Elapsed   time.Duration
}

// Require returns the kernel to boot, or skips t with the reason the host
// cannot run the VM (no qemu, no kernel with IPVS modules, image
// unreadable).
func Require(t testing.TB) Kernel {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not found (apt-get install qemu-system-x86)")
	}
	for _, p := range []string{hostBusybox, hostIP, hostIPVSAdm} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing (apt-get install busybox-static iproute2 ipvsadm)", p)
		}
	}
	k, err := FindKernel("/boot", "/lib/modules")
	if err != nil {
		t.Skip(err.Error())
	}
	return k
}

// Run boots a VM, runs spec.Script in it and returns its output and exit
// status. Infrastructure failures (qemu cannot start, no exit marker before
// the timeout) fail t. The console streams to t's log as it arrives.
func Run(t testing.TB, spec Spec) Result {
	t.Helper()
	k := Require(t)
	if spec.Timeout == 0 {
		spec.Timeout = defaultTimeout
	}
	if spec.MemoryMB == 0 {
		spec.MemoryMB = 1024
	}

	start := time.Now()
	base, err := baseArchive(k, spec.Programs)
	if err != nil {
		t.Fatalf("vm: building initramfs: %v", err)
	}
	basePath, cached, err := cachedBase(cacheDir(), base)
	if err != nil {
		t.Fatalf("vm: caching initramfs: %v", err)
	}
	extra, err := extraArchive(spec)
	if err != nil {
		t.Fatalf("vm: %v", err)
	}
	initrd := filepath.Join(t.TempDir(), "initrd")
	if err := writeInitrd(initrd, basePath, extra); err != nil {
		t.Fatalf("vm: writing initrd: %v", err)
	}
	t.Logf("vm: kernel %s, initrd built in %v (base cached: %v)", k.Version, time.Since(start).Round(time.Millisecond), cached)

	ctx, cancel := context.WithTimeout(context.Background(), spec.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-accel", "tcg", "-cpu", "max",
		"-m", strconv.Itoa(spec.MemoryMB), "-smp", "2",
		"-nographic", "-nodefaults", "-no-user-config", "-serial", "stdio", "-monitor", "none",
		"-nic", "none",
		"-kernel", k.Image, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1 oops=panic",
		"-no-reboot",
	)
	// qemu in its own process group, killed whole on timeout or cleanup,
	// and by the kernel if the test process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("vm: %v", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	qemuStart := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("vm: starting qemu: %v", err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	}
	t.Cleanup(kill)

	res, sawExit := readConsole(stdout, qemuStart, func(line string) {
		if !spec.Quiet {
			t.Logf("vm| %s", line)
		}
	})
	waitErr := cmd.Wait()
	kill()
	res.Elapsed = time.Since(qemuStart)
	switch {
	case ctx.Err() != nil:
		t.Fatalf("vm: no %s marker within %v; qemu killed. stderr: %s\nconsole:\n%s", markerExit, spec.Timeout, stderr.String(), res.Output)
	case !sawExit:
		t.Fatalf("vm: qemu ended (%v) without %s marker. stderr: %s\nconsole:\n%s", waitErr, markerExit, stderr.String(), res.Output)
	}
	t.Logf("vm: boot %v (guest uptime at ready %v), run %v, exit %d",
		res.Boot.Round(time.Millisecond), res.GuestBoot, res.Elapsed.Round(time.Millisecond), res.ExitCode)
	return res
}

// readConsole reads the serial console until EOF, calling line for every
// line, and collects the output between the ready and exit markers.
func readConsole(r io.Reader, start time.Time, line func(string)) (res Result, sawExit bool) {
	var out strings.Builder
	ready := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		l := stripTerminalCodes(strings.TrimRight(sc.Text(), "\r"))
		line(l)
		switch {
		case strings.HasPrefix(l, markerReady):
			ready = true
			res.Boot = time.Since(start)
			res.GuestBoot = parseUptime(strings.TrimPrefix(l, markerReady))
			continue
		case ready && !sawExit && strings.Contains(l, markerExit+" "):
			// The script's last output may lack a newline: the marker
			// can follow it on the same line.
			i := strings.LastIndex(l, markerExit+" ")
			if code, err := strconv.Atoi(strings.TrimSpace(l[i+len(markerExit):])); err == nil {
				if i > 0 {
					out.WriteString(l[:i] + "\n")
				}
				res.ExitCode = code
				sawExit = true
				continue
			}
		}
		if ready && !sawExit || strings.HasPrefix(l, markerInsmod) {
			out.WriteString(l)
			out.WriteByte('\n')
		}
	}
	res.Output = out.String()
	return res, sawExit
}

// stripTerminalCodes removes the ANSI escape sequences SeaBIOS writes to
// the serial console (ESC [ params letter, and ESC c).
func stripTerminalCodes(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '[' {
			i += 2
			for i < len(s) && (s[i] < '@' || s[i] > '~') {
				i++
			}
			continue
		}
		i++ // two-byte sequence such as ESC c
	}
	return b.String()
}

func parseUptime(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0
	}
	return time.Duration(f * float64(time.Second)).Round(10 * time.Millisecond)
}

// extraArchive holds the per-run files: the caller's files and the script.
func extraArchive(spec Spec) (*archive, error) {
	a := newArchive()
	for guest, host := range spec.Files {
		data, err := os.ReadFile(host)
		if err != nil {
			return nil, fmt.Errorf("file for guest %s: %w", guest, err)
		}
		fi, err := os.Stat(host)
		if err != nil {
			return nil, err
		}
		a.file(guest, uint32(fi.Mode().Perm()), data)
	}
	for guest, content := range spec.Inline {
		a.file(guest, 0o755, []byte(content))
	}
	a.file("/etc/lvsd-vm/run.sh", 0o755, []byte(spec.Script))
	return a, nil
}

// cacheDir is integration/.cache of the module the test runs in.
func cacheDir() string {
	root, err := moduleRoot()
	if err != nil {
		return filepath.Join(os.TempDir(), "lvsd-vm-cache")
	}
	return filepath.Join(root, "integration", ".cache")
}

// moduleRoot walks up from the working directory to the go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
