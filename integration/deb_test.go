package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianPackageInstallsDisabledAndRemovesCleanly builds the package the
// way `make deb` does, runs lintian on it, reads its contents, then
// installs it on this machine with apt-get install ./FILE (upgrades with
// dpkg -i): lvsd runs from /usr/sbin, the unit
// passes systemd-analyze verify, the man pages are found, nothing is
// enabled by the install, an operator's enablement survives an upgrade,
// and dpkg -r keeps the conffiles while dpkg -P leaves nothing behind. The
// package is purged again whatever happens.
func TestDebianPackageInstallsDisabledAndRemovesCleanly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to install a package")
	}
	for _, tool := range []string{"dpkg-deb", "dpkg", "apt-get", "lintian", "fakeroot", "systemd-analyze", "man", "deb-systemd-helper"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (.ci/run installs it)", tool)
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Status}", "lvsd").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skip("an lvsd package is installed on this machine already: not touching it")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	build := exec.Command(filepath.Join(root, "packaging/deb/build.sh"), out)
	build.Env = append(os.Environ(), "VERSION=0~integration1")
	b, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("packaging/deb/build.sh: %v\n%s", err, b)
	}
	deb := strings.TrimSpace(string(b))
	if filepath.Base(deb) != "lvsd_0~integration1_amd64.deb" {
		t.Fatalf("built %q, want lvsd_0~integration1_amd64.deb", deb)
	}

	t.Run("lintian reports no errors", func(t *testing.T) {
		cmd := exec.Command("lintian", "--fail-on", "error", deb)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("lintian: %v\n%s", err, b)
		}
		t.Logf("lintian:\n%s", b)
	})

	t.Run("contents", func(t *testing.T) {
		list := run(t, "dpkg-deb", "-c", deb)
		for _, want := range []string{
			"./usr/sbin/lvsd", "./lib/systemd/system/lvsd.service", "./etc/lvsd/lvsd.hcl", "./etc/default/lvsd",
			"./usr/share/man/man8/lvsd.8.gz", "./usr/share/man/man5/lvsd.hcl.5.gz",
			"./usr/share/bash-completion/completions/lvsd", "./usr/share/doc/lvsd/copyright",
		} {
			if !strings.Contains(list, want+"\n") {
				t.Errorf("the package lacks %s:\n%s", want, list)
			}
		}
		if conffiles := run(t, "dpkg-deb", "-I", deb, "conffiles"); conffiles != "/etc/default/lvsd\n/etc/lvsd/lvsd.hcl\n" {
			t.Errorf("conffiles = %q", conffiles)
		}
		copyright := run(t, "sh", "-c", "dpkg-deb --fsys-tarfile "+deb+" | tar -xOf - ./usr/share/doc/lvsd/copyright")
		for _, want := range []string{"Files: github.com/hashicorp/hcl/v2/*", "License: MPL-2.0", "Files: github.com/mdlayher/arp/*", "License: Expat", "Files: go/*"} {
			if !strings.Contains(copyright, want) {
				t.Errorf("copyright lacks %q", want)
			}
		}
		// The maintainer scripts never touch IPVS nor start the daemon.
		for _, script := range []string{"postinst", "prerm", "postrm"} {
			var code []string // the script without its comments
			for _, l := range strings.Split(run(t, "dpkg-deb", "-I", deb, script), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "#") {
					code = append(code, l)
				}
			}
			text := strings.Join(code, "\n")
			for _, banned := range []string{"ipvsadm", "--clear", "flush", "systemctl start", "systemctl enable", "deb-systemd-invoke start"} {
				if strings.Contains(text, banned) {
					t.Errorf("%s contains %q", script, banned)
				}
			}
		}
	})

	t.Cleanup(func() { exec.Command("dpkg", "--purge", "lvsd").Run() })
	wants := "/etc/systemd/system/multi-user.target.wants/lvsd.service"
	t.Run("install", func(t *testing.T) {
		// As the README says: apt installs the file and what it depends on.
		cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", deb)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("apt-get install %s: %v\n%s", deb, err, b)
		}
		if got := run(t, "/usr/sbin/lvsd", "version"); got != "lvsd 0~integration1\n" {
			t.Errorf("lvsd version = %q", got)
		}
		if b, err := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/lvsd.service").CombinedOutput(); err != nil {
			t.Errorf("systemd-analyze verify: %v\n%s", err, b)
		}
		if where := run(t, "man", "-w", "lvsd", "lvsd.hcl"); !strings.Contains(where, "man8/lvsd.8.gz") || !strings.Contains(where, "man5/lvsd.hcl.5.gz") {
			t.Errorf("man -w: %s", where)
		}
		if _, err := os.Lstat(wants); err == nil {
			t.Errorf("the install enabled lvsd.service (%s exists)", wants)
		}
		if b, err := exec.Command("/usr/sbin/lvsd", "check", "-f", "/etc/lvsd/lvsd.hcl").CombinedOutput(); err != nil {
			t.Errorf("the shipped /etc/lvsd/lvsd.hcl does not check: %v\n%s", err, b)
		}
	})
	t.Run("an upgrade keeps the operator's enablement", func(t *testing.T) {
		run(t, "systemctl", "enable", "lvsd.service")
		run(t, "dpkg", "-i", deb)
		if _, err := os.Lstat(wants); err != nil {
			t.Errorf("lvsd.service was enabled before the upgrade and is not after it: %v", err)
		}
	})
	t.Run("remove keeps conffiles, purge removes everything", func(t *testing.T) {
		run(t, "dpkg", "-r", "lvsd")
		for _, gone := range []string{"/usr/sbin/lvsd", "/lib/systemd/system/lvsd.service"} {
			if _, err := os.Lstat(gone); err == nil {
				t.Errorf("%s is left after dpkg -r", gone)
			}
		}
		if _, err := os.Stat("/etc/lvsd/lvsd.hcl"); err != nil {
			t.Errorf("dpkg -r removed the conffile: %v", err)
		}
		run(t, "dpkg", "-P", "lvsd")
		for _, gone := range []string{"/etc/lvsd", "/etc/default/lvsd", wants} {
			if _, err := os.Lstat(gone); err == nil {
				t.Errorf("%s is left after dpkg -P", gone)
			}
		}
	})
}
