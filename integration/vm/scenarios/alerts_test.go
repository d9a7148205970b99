package scenarios

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/alert/alerttest"
	"golang.org/x/sys/unix"
)

// The checker side of the notification differential (the VRRP side runs
// in namespaces: integration/keepalived_alert_test.go): keepalived 2.2.7
// and then lvsd run the same keepalived.conf in the director namespace,
// each with an SMTP listener of the test's on the namespace's 127.0.0.1
// and a notify FIFO. One real server answers, two refuse their port: the
// e-mail subjects, the quorum e-mails' bodies (keepalived's numbers:
// "=> Lost quorum 1+0=1 <= 0 <=") and the RS and VS lines on the FIFO
// once the checks have settled must be the same; so must the FIFO lines
// written at stop for the virtual server with omega ("VS ... DOWN",
// keepalived's clear_service_vs). Its stop-time e-mail ("=> Shutting
// down <=") is checked for lvsd only: keepalived 2.2.7 exits before its
// own leaves.

const alertConf = `global_defs {
    router_id lb-vm
    notification_email {
        ops@example.com
    }
    notification_email_from ka@example.com
    smtp_server 127.0.0.1 %s
    smtp_connect_timeout 3
    smtp_alert
    notify_fifo %s
}
virtual_server %s 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 10.0.0.11 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 10.0.0.12 81 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
virtual_server 10.0.0.103 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    omega
    real_server 10.0.0.12 82 {
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`

// alertRun runs bin on the file in the director namespace until the
// checks settled and returns the subjects and FIFO lines seen by then.
func alertRun(l *lab, bin, name string) (subjects, lines, bodies, stopLines, stopMails []string) {
	t := l.t
	t.Helper()
	var srv *alerttest.Server
	if err := inNamespace("lvsd-dir", func() error { srv = alerttest.Start(t); return nil }); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "notify.fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
	}()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(alertConf, srv.Port(), fifo, vipDR)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startGroupDaemon(t, bin, conf, name)
	time.Sleep(8 * time.Second) // warmup ≤ 1 s, a refused connect, 3 s for the e-mails
	for {
		select {
		case m := <-srv.Mails:
			subjects = append(subjects, m.Subject)
			if strings.Contains(m.Subject, "Virtualserver") {
				bodies = append(bodies, m.Subject+" | "+strings.TrimSpace(m.Body))
			}
			continue
		default:
		}
		break
	}
	mu.Lock()
	lines = slices.Clone(lines)
	settled := len(lines)
	mu.Unlock()
	d.stop(t)
	time.Sleep(2500 * time.Millisecond) // lvsd gives stop-time e-mails 2 s
	for {
		select {
		case m := <-srv.Mails:
			stopMails = append(stopMails, m.Subject+" | "+strings.TrimSpace(m.Body))
			continue
		default:
		}
		break
	}
	mu.Lock()
	stopLines = slices.Clone(lines[settled:])
	lines = lines[:settled]
	mu.Unlock()
	l.ipvsadm("-C")
	t.Logf("▶ %s e-mailed:\n  %s\nand wrote:\n  %s\nat stop e-mailed:\n  %s\nand wrote:\n  %s", name, strings.Join(subjects, "\n  "),
		strings.Join(lines, "\n  "), strings.Join(stopMails, "\n  "), strings.Join(stopLines, "\n  "))
	return subjects, lines, bodies, stopLines, stopMails
}

// TestLvsdKeepalivedCheckerAlerts compares keepalived 2.2.7's and lvsd's
// real server and virtual server e-mails and FIFO lines.
func TestLvsdKeepalivedCheckerAlerts(t *testing.T) {
	ka, lvsd := os.Getenv("KEEPALIVED_BIN"), os.Getenv("LVSD_BIN")
	l := newLab(t)
	if ka == "" || lvsd == "" {
		t.Skip("needs KEEPALIVED_BIN and LVSD_BIN in the guest")
	}
	kaMail, kaFIFO, kaBodies, kaStop, kaStopMail := alertRun(l, ka, "keepalived")
	lvMail, lvFIFO, lvBodies, lvStop, lvStopMail := alertRun(l, lvsd, "lvsd")
	for _, l := range [][]string{kaBodies, lvBodies, kaStop, lvStop} {
		slices.Sort(l)
	}
	if !slices.Equal(lvBodies, kaBodies) {
		t.Errorf("quorum e-mails (subject | body)\n keepalived %q\n lvsd       %q", kaBodies, lvBodies)
	}
	if !slices.Equal(lvStop, kaStop) {
		t.Errorf("FIFO lines at stop (omega)\n keepalived %q\n lvsd       %q", kaStop, lvStop)
	}
	// keepalived 2.2.7 exits before its stop-time e-mails leave (none
	// arrives); lvsd sends what its clear_service_vs queues: the omega
	// service's, whose only real server is down by then.
	t.Logf("stop-time e-mails: keepalived %q, lvsd %q", kaStopMail, lvStopMail)
	if want := []string{"[lb-vm] Virtualserver [10.0.0.103]:tcp:80 - DOWN | => Shutting down <="}; !slices.Equal(lvStopMail, want) {
		t.Errorf("lvsd's stop-time e-mails %q, want %q", lvStopMail, want)
	}
	slices.Sort(kaMail)
	slices.Sort(lvMail)
	slices.Sort(kaFIFO)
	slices.Sort(lvFIFO)
	// DR real servers take the service's port (keepalived and lvsd
	// alike), so both refusing ones read :80 here; every service starts
	// with quorum up (no alpha), and the second loses it.
	want := []string{
		"[lb-vm] Realserver [10.0.0.12]:tcp:80 of virtual server [10.0.0.100]:tcp:80 - DOWN",
		"[lb-vm] Realserver [10.0.0.12]:tcp:80 of virtual server [10.0.0.103]:tcp:80 - DOWN",
		"[lb-vm] Virtualserver [10.0.0.100]:tcp:80 - UP",
		"[lb-vm] Virtualserver [10.0.0.103]:tcp:80 - DOWN",
		"[lb-vm] Virtualserver [10.0.0.103]:tcp:80 - UP",
	}
	if !slices.Equal(kaMail, want) {
		t.Logf("keepalived's e-mails are not the ones expected: %q", kaMail)
	}
	if !slices.Equal(lvMail, kaMail) {
		t.Errorf("e-mail subjects\n keepalived %q\n lvsd       %q", kaMail, lvMail)
	}
	if !slices.Equal(lvFIFO, kaFIFO) {
		t.Errorf("FIFO lines\n keepalived %q\n lvsd       %q", kaFIFO, lvFIFO)
	}
}
