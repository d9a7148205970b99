package vm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Suite is one Go test binary run inside the VM.
type Suite struct {
	// Name names the host subtest the inner tests are reported under.
	Name string
	// Binary is the host path of a static test binary (BuildTestBinary).
	Binary string
	// Run is passed as -test.run (empty: all tests).
	Run string
	// Env is added to the binary's environment.
	Env map[string]string
	// Args are extra arguments after the -test.* flags.
	Args []string
}

// Suite markers around each binary's output on the console.
const (
	markerSuiteBegin = "LVSD-VM-SUITE-BEGIN"
	markerSuiteEnd   = "LVSD-VM-SUITE-END"
)

// RunGoTests boots one VM, runs every suite's binary in it one after the
// other with -test.v, and reports each inner test as a host subtest
// t/<suite>/<test>/<subtest> with its own output: an inner FAIL fails the
// host subtest, an inner SKIP skips it. LVSD_VM_RUN, when set, replaces
// every suite's Run (to iterate on one scenario). spec.Script, when set, runs before
// the suites (shared setup).
func RunGoTests(t *testing.T, spec Spec, suites ...Suite) Result {
	t.Helper()
	if spec.Files == nil {
		spec.Files = map[string]string{}
	}
	if spec.Timeout == 0 {
		spec.Timeout = defaultTimeout
	}
	// Each binary panics with its goroutines' stacks before the VM's
	// deadline, so a hung inner test is reported as itself.
	innerTimeout := spec.Timeout - 30*time.Second
	if innerTimeout < spec.Timeout/2 {
		innerTimeout = spec.Timeout / 2
	}
	var script strings.Builder
	script.WriteString(spec.Script)
	script.WriteString("\nexport LVSD_VM_GUEST=1\nrc=0\n")
	for _, s := range suites {
		guest := "/opt/lvsd-vm/" + s.Name + ".test"
		spec.Files[guest] = s.Binary
		args := []string{guest, "-test.v", "-test.timeout", innerTimeout.String()}
		run := s.Run
		if env := os.Getenv("LVSD_VM_RUN"); env != "" {
			// While iterating on one scenario: LVSD_VM_RUN=^TestPairNAT
			// narrows every suite of this boot to the matching tests.
			run = env
		}
		if run != "" {
			args = append(args, "-test.run", run)
		}
		if testing.Short() {
			args = append(args, "-test.short")
		}
		args = append(args, s.Args...)
		var env []string
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+shellQuote(s.Env[k]))
		}
		fmt.Fprintf(&script, "echo %s %s\n", markerSuiteBegin, s.Name)
		fmt.Fprintf(&script, "(cd /tmp && env %s", strings.Join(env, " "))
		for _, a := range args {
			script.WriteString(" " + shellQuote(a))
		}
		script.WriteString(" 2>&1)\nsrc=$?\n")
		fmt.Fprintf(&script, "echo %s %s $src\n[ $src -eq 0 ] || rc=$src\n", markerSuiteEnd, s.Name)
	}
	script.WriteString("exit $rc\n")
	spec.Script = script.String()
	res := Run(t, spec)

	for _, s := range suites {
		out, code, ok := suiteOutput(res.Output, s.Name)
		t.Run(s.Name, func(t *testing.T) {
			if !ok {
				t.Fatalf("suite %s did not finish inside the VM; console:\n%s", s.Name, res.Output)
			}
			tests := parseTestOutput(out)
			report(t, tests)
			if code != 0 && !anyFailed(tests) {
				t.Errorf("%s exited %d with no failing test:\n%s", s.Name, code, out)
			}
		})
	}
	return res
}

// suiteOutput cuts one suite's output out of the console.
func suiteOutput(console, name string) (out string, code int, ok bool) {
	begin := markerSuiteBegin + " " + name + "\n"
	i := strings.Index(console, begin)
	if i < 0 {
		return "", 0, false
	}
	rest := console[i+len(begin):]
	end := "\n" + markerSuiteEnd + " " + name + " "
	j := strings.Index("\n"+rest, end)
	if j < 0 {
		return rest, 0, false
	}
	tail := ("\n" + rest)[j+len(end):]
	if k := strings.IndexByte(tail, '\n'); k >= 0 {
		tail = tail[:k]
	}
	code, err := strconv.Atoi(strings.TrimSpace(tail))
	if err != nil {
		return rest[:max(j-1, 0)], 0, false
	}
	return rest[:max(j-1, 0)], code, true
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// testResult is one inner test as read from -test.v output.
type testResult struct {
	Name    string // full name, "TestX/sub"
	Outcome string // "PASS", "FAIL", "SKIP", or "" when it never finished
	Elapsed time.Duration
	Output  []string
}

var (
	reRun    = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)`)
	reResult = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(([0-9.]+)s\)`)
)

// parseTestOutput reads `go test -test.v` output: every "=== RUN" starts a
// test, output lines belong to the test named last by RUN/CONT/NAME, and
// "--- PASS/FAIL/SKIP" ends it. Tests are returned in the order they
// started; one without a result line (the binary crashed or hung) has an
// empty Outcome.
func parseTestOutput(out string) []*testResult {
	var order []*testResult
	byName := map[string]*testResult{}
	var cur *testResult
	get := func(name string) *testResult {
		if r, ok := byName[name]; ok {
			return r
		}
		r := &testResult{Name: name}
		byName[name] = r
		order = append(order, r)
		return r
	}
	for _, line := range strings.Split(out, "\n") {
		if m := reRun.FindStringSubmatch(line); m != nil {
			cur = get(m[2])
			continue
		}
		if m := reResult.FindStringSubmatch(line); m != nil {
			r := get(m[2])
			r.Outcome = m[1]
			secs, _ := strconv.ParseFloat(m[3], 64)
			r.Elapsed = time.Duration(secs * float64(time.Second))
			// Reasons printed indented under the result belong to it;
			// keep cur on r until the next RUN.
			cur = r
			continue
		}
		if line == "PASS" || line == "FAIL" || strings.HasPrefix(line, "ok ") || line == "" {
			continue
		}
		if cur != nil {
			cur.Output = append(cur.Output, line)
		}
	}
	return order
}

func anyFailed(tests []*testResult) bool {
	for _, r := range tests {
		if r.Outcome == "FAIL" || r.Outcome == "" {
			return true
		}
	}
	return false
}

// report turns inner results into host subtests, nesting on "/".
func report(t *testing.T, tests []*testResult) {
	children := map[string][]*testResult{}
	var roots []*testResult
	for _, r := range tests {
		if i := strings.LastIndexByte(r.Name, '/'); i >= 0 {
			children[r.Name[:i]] = append(children[r.Name[:i]], r)
		} else {
			roots = append(roots, r)
		}
	}
	if len(roots) == 0 {
		t.Skip("no tests ran inside the VM")
	}
	var run func(t *testing.T, r *testResult)
	run = func(t *testing.T, r *testResult) {
		name := r.Name[strings.LastIndexByte(r.Name, '/')+1:]
		t.Run(name, func(t *testing.T) {
			for _, l := range r.Output {
				t.Log(l)
			}
			for _, c := range children[r.Name] {
				run(t, c)
			}
			switch r.Outcome {
			case "FAIL":
				t.Errorf("failed inside the VM (%v)", r.Elapsed.Round(time.Millisecond))
			case "SKIP":
				t.Skip("skipped inside the VM")
			case "":
				t.Error("no result inside the VM: the binary crashed, hung or was killed")
			}
		})
	}
	for _, r := range roots {
		run(t, r)
	}
}

// BuildTestBinary compiles the tests of package pkg (a path relative to the
// module root, "./lvs") into a static binary that runs in the guest as-is,
// failing t if it does not build. It returns "" when the package has no
// test files.
func BuildTestBinary(t testing.TB, pkg string) string {
	t.Helper()
	bin, err := CompileTests(t.TempDir(), pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// CompileTests is BuildTestBinary writing into dir and returning the
// build failure instead of failing a test.
func CompileTests(dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg)+".test")
	if err := goBuild("test", "-c", "-o", out, pkg); err != nil {
		return "", err
	}
	if _, err := os.Stat(out); err != nil {
		return "", nil
	}
	return out, nil
}

// BuildBinary compiles command package pkg ("./cmd/lvsd") statically.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if err := goBuild("build", "-o", out, pkg); err != nil {
		t.Fatal(err)
	}
	return out
}

// goBuild runs the go command at the module root with CGO_ENABLED=0.
func goBuild(args ...string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	// go test puts its own GOROOT/bin first on the test's PATH.
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}
