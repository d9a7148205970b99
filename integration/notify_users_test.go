package integration

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

	"github.com/lvsd/lvsd/internal/script/scripttest"
)

// TestNotifyScriptUsersAsKeepalived runs keepalived 2.2.7 and lvsd on the
// same keepalived.conf, each in a namespace of its own, with notify
// scripts that record their uid, gid and argv: `CMD [USER [GROUP]]` as
// keepalived's notify_script_init reads it — a quoted command with its
// arguments run as nobody, an unquoted command whose second word is the
// user (nobody nogroup), and an unquoted command whose second word is no
// user, which neither daemon runs; and a vrrp_script whose unquoted
// `script CMD s1 nobody` keepalived runs as CMD alone, as root (only the
// first word is read there). Both must record the same lines.
func TestNotifyScriptUsersAsKeepalived(t *testing.T) {
	bin := requireDiffTools(t)
	traces := map[string][]string{}
	for _, daemon := range []string{"keepalived", "lvsd"} {
		path := map[string]string{"keepalived": "keepalived", "lvsd": bin}[daemon]
		ns := fmt.Sprintf("knu%d%s", os.Getpid()%10000, daemon[:2])
		kaDiffNamespace(t, ns)
		if out, err := exec.Command("sh", "-c", "ip -n "+ns+" link add eth9 type veth peer name eth9p && ip -n "+ns+" link set eth9p up && ip -n "+ns+
			" link set eth9 up && ip -n "+ns+" addr add 10.99.8.1/24 dev eth9").CombinedOutput(); err != nil {
			t.Fatalf("veth: %v %s", err, out)
		}
		dir, _ := scripttest.Write(t, "")
		trace := filepath.Join(dir, "trace")
		// The scripts run as nobody: the trace is theirs to append to.
		if err := os.WriteFile(trace, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		os.Chmod(trace, 0o666)
		// Each line in one write(2): the daemons run VI_1's notify_master
		// and notify at once, and printf's pieces interleaved.
		_, rec := scripttest.Write(t, `line="$(id -u):$(id -g)"; for a in "$@"; do line="$line [$a]"; done; printf '%s\n' "$line" >> `+trace)
		conf := filepath.Join(dir, "keepalived.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf(`vrrp_script chk {
    script %[1]s s1 nobody
    interval 600
}
vrrp_instance VI_1 {
    state MASTER
    interface eth9
    virtual_router_id 71
    priority 255
    advert_int 1
    virtual_ipaddress {
        10.99.8.100/24
    }
    notify_master "%[1]s m1 'b 1'" nobody
    notify %[1]s nobody nogroup
    track_script {
        chk
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth9
    virtual_router_id 72
    priority 255
    advert_int 1
    virtual_ipaddress {
        10.99.8.101/24
    }
    notify_master %[1]s m2
}
`, rec)), 0o644)
		p := startProc(t, ns, filepath.Join(dir, "daemon.log"), nil, path, "-f", conf, "-n", "-l", "-D", "-P",
			"-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
		lines := func() []string {
			b, _ := os.ReadFile(trace)
			return strings.Split(strings.TrimSpace(string(b)), "\n")
		}
		// chk's run, notify_master and notify for VI_1's MASTER.
		if !waitFor(15*time.Second, func() bool { return len(lines()) >= 3 }) {
			t.Fatalf("%s: the notify scripts did not run: %q\n%s", daemon, lines(), tail(p.logText(), 20))
		}
		time.Sleep(2 * time.Second) // a script that should not run would by now
		p.signal(syscall.SIGTERM)
		if _, ok := p.waitExit(20 * time.Second); !ok {
			t.Fatalf("%s did not stop within 20 s\n%s", daemon, tail(p.logText(), 20))
		}
		got := lines()
		slices.Sort(got)
		traces[daemon] = got
		t.Logf("%s: %q", daemon, got)
	}
	if !slices.Equal(traces["keepalived"], traces["lvsd"]) {
		t.Errorf("keepalived recorded %q\nlvsd recorded %q", traces["keepalived"], traces["lvsd"])
	}
	// What keepalived 2.2.7 does, so that a keepalived that ran nothing
	// cannot make the comparison pass.
	want := []string{"0:0", "65534:65534 [INSTANCE] [VI_1] [MASTER] [255]", "65534:65534 [INSTANCE] [VI_1] [STOP] [255]", "65534:65534 [m1] [b 1]"}
	if !slices.Equal(traces["keepalived"], want) {
		t.Errorf("keepalived recorded %q, want %q", traces["keepalived"], want)
	}
}
