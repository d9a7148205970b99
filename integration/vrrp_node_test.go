package integration

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/vrrp"
)

// envNode makes TestVRRPNodeHelper act as an lvsd node: the test binary
// re-executes itself inside a namespace with this variable set to a config
// file. It is the fallback when no lvsd binary can be had: by default the
// namespace tests build ./cmd/lvsd once and run `lvsd run -f FILE`;
// LVSD_BIN=/path/to/lvsd names a binary to use instead, LVSD_BIN=helper
// forces the in-test node.
const envNode = "LVSD_VRRP_NODE_CONFIG"

// TestVRRPNodeHelper is not a test: it is the lvsd node the namespace
// tests start (see envNode).
func TestVRRPNodeHelper(t *testing.T) {
	path := os.Getenv(envNode)
	if path == "" {
		t.Skip("helper process for the namespace tests")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, diags := hcl.Load(path)
	if diags.HasErrors() {
		fmt.Fprintln(os.Stderr, diags.Error())
		os.Exit(2)
	}
	node := vrrp.NewNode(cfg, vrrp.Options{Logger: log})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := node.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log.Info("lvsd node stopped")
	os.Exit(0)
}

// speaker is one VRRP node of the lab: lvsd, keepalived or FRR's vrrpd
// (vrrp3_test.go). It speaks the lab's protocol (vrrpLab.proto).
type speaker struct {
	lab      *vrrpLab
	name     string // "A" or "B"
	kind     string // "lvsd", "keepalived" or "frr"
	priority int
	pass     string
	nopre    bool
	unicast  bool   // unicast_src_ip = own address, unicast_peer = the other director
	config   string // lvsd: the whole HCL config instead of the generated one
	p        *proc
	zebra    *proc // frr: zebra, started once, kept across vrrpd restarts
	starts   int
}

func (l *vrrpLab) speaker(name, kind string, priority int) *speaker {
	return &speaker{lab: l, name: name, kind: kind, priority: priority, pass: "secret"}
}

func (s *speaker) String() string {
	return fmt.Sprintf("%s %s (priority %d)", s.kind, s.name, s.priority)
}

// masterDownInterval is the Master_Down_Interval of this node: RFC 3768's
// with advert_int 1 s, or RFC 5798's with the lab's interval.
func (s *speaker) masterDownInterval() time.Duration {
	if s.lab.proto.version == 3 {
		return vrrp.MasterDownIntervalV3(s.lab.proto.interval(), s.priority)
	}
	return vrrp.MasterDownInterval(s.lab.proto.interval(), s.priority)
}

func (s *speaker) start() {
	// Processes belong to the lab's test, not to the subtest that
	// (re)starts them.
	t := s.lab.root
	s.starts++
	logFile := s.lab.path(fmt.Sprintf("%s-%s.log", s.name, s.kind))
	pr := s.lab.proto
	switch s.kind {
	case "frr":
		s.startFRR(logFile)
	case "lvsd":
		cfg := s.lab.path(s.name + ".hcl")
		var extra string
		if s.nopre {
			extra = "  nopreempt = true\n"
		}
		if s.unicast || pr.unicast {
			extra += fmt.Sprintf("  unicast_src_ip = %q\n  unicast_peer = [%q]\n", s.lab.addrOf(s.name), s.lab.addrOf(s.other()))
		}
		auth := fmt.Sprintf("  authentication {\n    auth_type = \"PASS\"\n    auth_pass = %q\n  }\n", s.pass)
		if pr.version == 3 || pr.noAuth {
			auth = fmt.Sprintf("  version           = %d\n", max(pr.version, 2))
		}
		text := fmt.Sprintf(`vrrp_instance "VI_1" {
  state             = "BACKUP"
  interface         = "eth0"
  virtual_router_id = 51
  priority          = %d
  advert_int        = %g
%s  virtual_ipaddress = ["%s dev eth0"]
%s}
`, s.priority, pr.interval().Seconds(), auth, pr.vipPrefix(), extra)
		if s.config != "" {
			text = s.config
		}
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if bin := lvsdBinary(t); bin != "" {
			s.p = startProc(t, s.lab.ns[s.name], logFile, nil, bin, "run", "--debug", "-f", cfg)
			return
		}
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		s.p = startProc(t, s.lab.ns[s.name], logFile, []string{envNode + "=" + cfg},
			self, "-test.run", "^TestVRRPNodeHelper$", "-test.v=false")
	case "keepalived":
		dir := s.lab.path("ka-" + s.name)
		os.MkdirAll(dir, 0o755)
		cfg := filepath.Join(dir, "keepalived.conf")
		var extra string
		if s.nopre {
			extra = "    nopreempt\n"
		}
		if s.unicast || pr.unicast {
			extra += fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", s.lab.addrOf(s.name), s.lab.addrOf(s.other()))
		}
		auth := fmt.Sprintf("    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", s.pass)
		if pr.version == 3 || pr.noAuth {
			auth = fmt.Sprintf("    version %d\n", max(pr.version, 2))
		}
		text := fmt.Sprintf(`global_defs {
    router_id ka_%s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int %g
%s    virtual_ipaddress {
        %s dev eth0
    }
%s}
`, s.name, s.priority, pr.interval().Seconds(), auth, pr.vipPrefix(), extra)
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"keepalived.pid", "vrrp.pid", "checkers.pid"} {
			os.Remove(filepath.Join(dir, f))
		}
		s.p = startProc(t, s.lab.ns[s.name], logFile, nil, "keepalived", "-n", "-l", "-D", "-f", cfg,
			"-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid"),
			"-c", filepath.Join(dir, "checkers.pid"))
	}
}

// kill9 kills every process of the node at once (no goodbye).
func (s *speaker) kill9() { s.p.signalGroup(syscall.SIGKILL); s.p.waitExit(5 * time.Second) }

// term asks the node to stop and waits for it.
func (s *speaker) term() (time.Duration, bool) {
	s.p.signal(syscall.SIGTERM)
	return s.p.waitExit(5 * time.Second)
}

func (s *speaker) stop() { s.p.signalGroup(syscall.SIGSTOP) }
func (s *speaker) cont() { s.p.signalGroup(syscall.SIGCONT) }

// holdsVIP tells whether the node serves the VIP: the address is on its
// eth0 (lvsd, keepalived), or FRR's macvlan carrying it is up (vrrp3_test.go).
func (s *speaker) holdsVIP() bool {
	switch {
	case s.kind == "frr":
		return s.frrServes()
	case s.lab.proto.ipv6:
		return s.lab.holdsVIP6(s.name)
	}
	return s.lab.holdsVIP(s.name)
}

func (s *speaker) logText() string {
	if s.p == nil {
		return ""
	}
	return s.p.logText()
}

// requireKeepalived skips without the keepalived binary.
func requireKeepalived(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("needs keepalived (Debian package keepalived)")
	}
}

// tail returns the last n lines of s, for failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func haveKeepalived() bool {
	_, err := exec.LookPath("keepalived")
	return err == nil
}

// other names the other director.
func (s *speaker) other() string {
	if s.name == "A" {
		return "B"
	}
	return "A"
}

var lvsdBuild struct {
	once sync.Once
	path string
	err  error
}

// lvsdBinary returns the lvsd binary the namespace tests run: $LVSD_BIN, or
// ./cmd/lvsd built once per test run; "" means use the in-test helper node.
func lvsdBinary(t *testing.T) string {
	switch bin := os.Getenv("LVSD_BIN"); bin {
	case "helper":
		return ""
	case "":
	default:
		return bin
	}
	lvsdBuild.once.Do(func() {
		// One fixed place, overwritten by each run, so runs leave no litter.
		dir := filepath.Join(os.TempDir(), "lvsd-integration-vrrp")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			lvsdBuild.err = err
			return
		}
		path := filepath.Join(dir, "lvsd")
		out, err := exec.Command("go", "build", "-o", path, "github.com/lvsd/lvsd/cmd/lvsd").CombinedOutput()
		if err != nil {
			lvsdBuild.err = fmt.Errorf("%v: %s", err, out)
			return
		}
		lvsdBuild.path = path
	})
	if lvsdBuild.err != nil {
		t.Logf("building lvsd failed, using the in-test node: %v", lvsdBuild.err)
	}
	return lvsdBuild.path
}
