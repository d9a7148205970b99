package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// loadAs loads an example as the named director would (hostname() answers
// host), the way `lvsd check` does on that director.
func loadAs(t *testing.T, path, host string) *hcl.Config {
	t.Helper()
	l := hcl.Loader{Hostname: func() (string, error) { return host, nil }}
	cfg, diags := l.Load(path)
	if diags.HasErrors() {
		t.Fatalf("%s as %s:\n%v", path, host, diags)
	}
	for _, d := range diags {
		t.Errorf("%s as %s: unexpected warning %v", path, host, d)
	}
	return cfg
}

func TestEveryExampleIsValidOnBothDirectors(t *testing.T) {
	files, _ := filepath.Glob("*.hcl")
	json, _ := filepath.Glob("*.hcl.json")
	files = append(files, json...)
	if len(files) < 4 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			lb1, lb2 := loadAs(t, f, "lb1"), loadAs(t, f, "lb2")
			for i := range lb1.Instances {
				if f != "generated.hcl.json" && lb1.Instances[i].Priority <= lb2.Instances[i].Priority {
					t.Errorf("instance %s: lb1 priority %d should beat lb2's %d", lb1.Instances[i].Name, lb1.Instances[i].Priority, lb2.Instances[i].Priority)
				}
			}
		})
	}
}

// TestAnsibleTemplateRendersAValidConfig renders the Jinja2 template with
// its example variables, as Ansible's template module would, and checks it.
func TestAnsibleTemplateRendersAValidConfig(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import jinja2, yaml").Run(); err != nil {
		t.Skip("needs Debian's python3-jinja2 and python3-yaml")
	}
	script := `import sys, yaml, jinja2
env = jinja2.Environment(loader=jinja2.FileSystemLoader("ansible"), trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
print(env.get_template("lvsd.hcl.j2").render(**yaml.safe_load(open("ansible/vars.yml"))))`
	out, err := exec.Command(py, "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("render: %v\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "lvsd.hcl")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := loadAs(t, path, "lb1")
	if len(cfg.VirtualServers) != 2 || cfg.Instances[0].Priority != 150 || !strings.HasPrefix(cfg.Instances[0].Name, "VI_51") {
		t.Errorf("rendered config = %+v\n%s", cfg, out)
	}
}
