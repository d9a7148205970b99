package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// omegaStopConf has a virtual server with omega whose real servers and
// quorum run scripts (10.0.0.11 answers, 10.0.0.12's check port 81
// refuses), and one without omega; every script appends its argument to
// the record file.
const omegaStopConf = `global_defs {
    router_id lb-vm
}
virtual_server 10.0.0.104 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    omega
    quorum_up "%[1]s quorum_up"
    quorum_down "%[1]s quorum_down"
    real_server 10.0.0.11 80 {
        notify_up "%[1]s up-11"
        notify_down "%[1]s down-11"
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.12 80 {
        notify_up "%[1]s up-12"
        notify_down "%[1]s down-12"
        TCP_CHECK {
            connect_port 81
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 10.0.0.105 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum_down "%[1]s plain-quorum_down"
    real_server 10.0.0.11 80 {
        notify_down "%[1]s plain-down-11"
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// omegaStopRun runs bin on omegaStopConf in the director namespace until
// the checks settled, stops it, and returns the scripts run before the
// stop and those run by it.
func omegaStopRun(l *lab, bin, name string) (settled, atStop []string) {
	t := l.t
	t.Helper()
	l.ipvsadm("-C")
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+record+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(omegaStopConf, script)), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func() []string {
		b, _ := os.ReadFile(record)
		return strings.Fields(string(b))
	}
	d := startGroupDaemon(t, bin, conf, name)
	time.Sleep(6 * time.Second) // warmup ≤ 1 s, a refused connect, its notify_down
	settled = read()
	d.stop(t)
	time.Sleep(1500 * time.Millisecond) // scripts keepalived forked at its stop
	atStop = read()[len(settled):]
	l.ipvsadm("-C")
	t.Logf("▶ %s ran before the stop %q, at the stop %q", name, settled, atStop)
	return settled, atStop
}

// TestLvsdKeepalivedOmegaStopScripts: at stop, keepalived 2.2.7 runs the
// notify_down script of every live real server of a virtual server with
// omega, and the virtual server's quorum_down script (ipwrapper.c
// clear_service_rs, update_vs_notifies); without omega it runs none. lvsd
// runs the same scripts at its stop (checks/manager.go runOmega,
// internal/director omegaAtStop), and the same before it: quorum_up for
// the service starting with its quorum, notify_down of the real server
// that refuses.
func TestLvsdKeepalivedOmegaStopScripts(t *testing.T) {
	ka, lvsd := os.Getenv("KEEPALIVED_BIN"), os.Getenv("LVSD_BIN")
	l := newLab(t)
	if ka == "" || lvsd == "" {
		t.Skip("needs KEEPALIVED_BIN and LVSD_BIN in the guest")
	}
	kaSettled, kaStop := omegaStopRun(l, ka, "keepalived")
	lvSettled, lvStop := omegaStopRun(l, lvsd, "lvsd")
	for _, s := range [][]string{kaSettled, lvSettled, kaStop, lvStop} {
		slices.Sort(s)
	}
	if !slices.Equal(lvStop, kaStop) {
		t.Errorf("scripts run at stop\n keepalived %q\n lvsd       %q", kaStop, lvStop)
	}
	if want := []string{"down-11", "quorum_down"}; !slices.Equal(lvStop, want) {
		t.Errorf("lvsd ran %q at stop, want %q (omega: the live real server's notify_down and the quorum_down; nothing of the service without omega)", lvStop, want)
	}
	// At start keepalived runs quorum_up for a service starting with its
	// quorum (update_quorum_state with init set), then the refusing real
	// server's notify_down.
	if !slices.Equal(lvSettled, kaSettled) {
		t.Errorf("scripts run before the stop\n keepalived %q\n lvsd       %q", kaSettled, lvSettled)
	}
}
