package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

//go:embed init.sh
var initScript []byte

// The guest's fixed tools: busybox for the shell and applets, iproute2's ip
// (busybox's applet lacks netns and most of what tests need) and ipvsadm,
// the independent reader of the IPVS table.
const (
	hostBusybox = "/bin/busybox"
	hostIP      = "/sbin/ip"
	hostIPVSAdm = "/usr/sbin/ipvsadm"
)

// appletsShadowed are busybox applets not linked into the guest because a
// real tool takes their name: PATH lookups must find the real one.
func appletsShadowed() map[string]bool {
	return map[string]bool{"ip": true, "ipvsadm": true, "keepalived": true}
}

// baseArchive builds the part of the initramfs that depends only on the
// host: busybox and its applet links, ip and ipvsadm with their shared
// libraries, the modules in load order, /init. programs are extra
// dynamically linked host programs (copied with their libraries too).
func baseArchive(k Kernel, programs []string) (*archive, error) {
	a := newArchive()
	for _, d := range []string{"proc", "sys", "dev", "tmp", "run", "root", "etc", "usr/bin", "usr/sbin", "sbin", "bin"} {
		a.mkdirAll(d)
	}
	a.symlink("/var/run", "/run") // iproute2 keeps named netns in /var/run/netns
	a.charDev("/dev/console", 5, 1)
	a.charDev("/dev/null", 1, 3)
	a.file("/init", 0o755, initScript)
	a.file("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	a.file("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	a.file("/etc/hosts", 0o644, []byte("127.0.0.1 localhost\n::1 localhost\n"))

	bb, err := os.ReadFile(hostBusybox)
	if err != nil {
		return nil, fmt.Errorf("busybox: %w (apt-get install busybox-static)", err)
	}
	a.file("/bin/busybox", 0o755, bb)
	applets, err := exec.Command(hostBusybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	shadowed := appletsShadowed()
	for _, app := range strings.Fields(string(applets)) {
		if shadowed[app] || app == "busybox" {
			continue
		}
		a.symlink("/bin/"+app, "busybox")
	}

	for _, p := range append([]string{hostIP, hostIPVSAdm}, programs...) {
		if err := addProgram(a, p); err != nil {
			return nil, err
		}
	}
	// BIRD 2, the router of the cluster scenario (scenarios/cluster_test.go),
	// when the host has it (Debian bird2); the scenario skips without it.
	for _, p := range []string{"/usr/sbin/bird", "/usr/sbin/birdc"} {
		if _, err := os.Stat(p); err == nil {
			if err := addProgram(a, p); err != nil {
				return nil, err
			}
		}
	}

	// Debian has ipvsadm in /usr/sbin; tests call /sbin/ipvsadm.
	a.symlink("/sbin/ipvsadm", "/usr/sbin/ipvsadm")

	deps, err := readModulesDep(k.Modules)
	if err != nil {
		return nil, err
	}
	order, _ := deps.loadOrder(guestModules())
	var list strings.Builder
	for _, rel := range order {
		data, err := readModule(filepath.Join(k.Modules, rel))
		if err != nil {
			return nil, err
		}
		gp := guestModulePath(k, rel)
		a.file(gp, 0o644, data)
		list.WriteString(gp + "\n")
	}
	a.file("/etc/lvsd-vm/modules", 0o644, []byte(list.String()))
	return a, nil
}

// addProgram copies a host program to the same guest path together with
// the shared libraries ldd names (dynamic loader included).
func addProgram(a *archive, p string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	a.file(p, 0o755, data)
	libs, err := sharedLibraries(p)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		if a.has(lib) {
			continue
		}
		data, err := os.ReadFile(lib)
		if err != nil {
			return fmt.Errorf("%s needs %s: %w", p, lib, err)
		}
		a.file(lib, 0o755, data)
	}
	return nil
}

// sharedLibraries runs ldd and returns the absolute paths it prints; a
// static program has none.
func sharedLibraries(p string) ([]string, error) {
	out, err := exec.Command("ldd", p).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", p, err, out)
	}
	return parseLdd(out), nil
}

// parseLdd extracts library paths from ldd output:
//
//	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
//	/lib64/ld-linux-x86-64.so.2 (0x...)
func parseLdd(out []byte) []string {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i, w := range f {
			if strings.HasPrefix(w, "/") && (i == 0 || f[i-1] == "=>") {
				libs = append(libs, w)
				break
			}
		}
	}
	return libs
}

// archiveKey is a content hash of an archive: same files, same key.
func archiveKey(a *archive) string {
	h := sha256.New()
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := a.entries[n]
		fmt.Fprintf(h, "%s\x00%o\x00%d:%d\x00%d\x00", n, e.mode, e.rdevMajor, e.rdevMinor, len(e.data))
		h.Write(e.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// cachedBase returns the path of the gzip-compressed base archive under
// cacheDir, building it when no file with its content key exists.
func cachedBase(cacheDir string, a *archive) (string, bool, error) {
	path := filepath.Join(cacheDir, "initramfs-base-"+archiveKey(a)+".cpio.gz")
	if _, err := os.Stat(path); err == nil {
		now := time.Now()
		os.Chtimes(path, now, now) // in use: keep it from pruning
		return path, true, nil
	}
	pruneCache(cacheDir, 14*24*time.Hour)
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return "", false, err
	}
	if err := a.writeTo(zw); err != nil {
		return "", false, err
	}
	if err := zw.Close(); err != nil {
		return "", false, err
	}
	// Write then rename: concurrent test processes never see half a file.
	tmp, err := os.CreateTemp(cacheDir, "initramfs-*.tmp")
	if err != nil {
		return "", false, err
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", false, err
	}
	if err := tmp.Close(); err != nil {
		return "", false, err
	}
	return path, false, os.Rename(tmp.Name(), path)
}

// pruneCache removes base archives unused for longer than age (each
// kernel, busybox or ipvsadm upgrade leaves one behind).
func pruneCache(cacheDir string, age time.Duration) {
	old, _ := filepath.Glob(filepath.Join(cacheDir, "initramfs-base-*.cpio.gz"))
	for _, p := range old {
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > age {
			os.Remove(p)
		}
	}
}

// writeInitrd writes the initrd qemu loads: the cached compressed base,
// zero padding to a 4-byte boundary, then the uncompressed per-run archive
// (test binaries change every run; decompressing them under TCG would cost
// seconds). The kernel unpacks concatenated archives in order.
func writeInitrd(dst, base string, extra *archive) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	b, err := os.ReadFile(base)
	if err != nil {
		f.Close()
		return err
	}
	w.Write(b)
	w.Write(make([]byte, (4-len(b)%4)%4))
	if err := extra.writeTo(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
