package integration

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/alert/alerttest"
	"golang.org/x/sys/unix"
)

// The notification differential: keepalived 2.2.7 and lvsd run the same
// keepalived.conf, each alone in a namespace with an SMTP listener of the
// test's on the namespace's 127.0.0.1 and a notify FIFO, through the same
// story: start (BACKUP, then MASTER after Master_Down_Interval), a tracked
// file that puts the instance in FAULT and back, and SIGTERM. The
// e-mail subjects and the FIFO lines each daemon produced are compared.

const kaAlertConf = `global_defs {
    router_id lb-alert
    notification_email {
        ops@example.com
    }
    notification_email_from keepalived@example.com
    smtp_server 127.0.0.1 %s
    smtp_connect_timeout 3
    smtp_alert
    notify_fifo %s
    script_user root
}
vrrp_track_file down {
    file %s
    weight 0
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 71
    priority 100
    advert_int 1
    track_file {
        down
    }
    virtual_ipaddress {
        10.99.0.71
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth1
    virtual_router_id 72
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.99.1.72
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    smtp_alert
}
`

// kaAlertRun is what one daemon produced.
type kaAlertRun struct {
	subjects []string
	fifo     []string
	log      string
}

// kaAlertStory runs args (keepalived or lvsd, with -f added) in namespace
// ns through the story and returns the e-mail subjects and FIFO lines.
func kaAlertStory(t *testing.T, ns string, args ...string) kaAlertRun {
	t.Helper()
	kaDiffNamespace(t, ns)
	var srv *alerttest.Server
	if err := inNetns(ns, func() error { srv = alerttest.Start(t); return nil }); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo, down := filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "down")
	os.WriteFile(down, []byte("0\n"), 0o644)
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(kaAlertConf, srv.Port(), fifo, down)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The reader: created first, so both daemons open an existing FIFO
	// (a reader of our own keeps it open for the whole story).
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var run kaAlertRun
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			mu.Lock()
			run.fifo = append(run.fifo, sc.Text())
			mu.Unlock()
		}
	}()
	full := append(args, "-f", conf, "-n", "-l", "-P", "-p", filepath.Join(dir, "main.pid"), "-r", filepath.Join(dir, "vrrp.pid"), "-c", filepath.Join(dir, "check.pid"))
	p := startProc(t, ns, filepath.Join(dir, "daemon.log"), nil, full...)
	time.Sleep(6 * time.Second) // BACKUP, then MASTER at 3 × 1 s + skew
	os.WriteFile(down, []byte("1\n"), 0o644)
	time.Sleep(3 * time.Second) // FAULT (lvsd reads the file every second)
	os.WriteFile(down, []byte("0\n"), 0o644)
	time.Sleep(6 * time.Second) // BACKUP, MASTER again
	p.signalGroup(syscall.SIGTERM)
	p.waitExit(8 * time.Second)
	time.Sleep(500 * time.Millisecond)
	r.Close()
	<-readDone
	for {
		select {
		case m := <-srv.Mails:
			run.subjects = append(run.subjects, m.Subject)
			continue
		default:
		}
		break
	}
	run.log = p.logText()
	return run
}

// TestKeepalivedAndLvsdSendTheSameAlerts compares the e-mail subjects and
// the notify FIFO lines of keepalived 2.2.7 and lvsd.
func TestKeepalivedAndLvsdSendTheSameAlerts(t *testing.T) {
	bin := requireDiffTools(t)
	var ka, lv kaAlertRun
	var wg sync.WaitGroup
	wg.Go(func() { ka = kaAlertStory(t, fmt.Sprintf("kak%d", os.Getpid()%100000), "keepalived") })
	wg.Go(func() { lv = kaAlertStory(t, fmt.Sprintf("kal%d", os.Getpid()%100000), bin) })
	wg.Wait()
	t.Logf("keepalived e-mails:\n  %s\nlvsd e-mails:\n  %s", strings.Join(ka.subjects, "\n  "), strings.Join(lv.subjects, "\n  "))
	t.Logf("keepalived FIFO:\n  %s\nlvsd FIFO:\n  %s", strings.Join(ka.fifo, "\n  "), strings.Join(lv.fifo, "\n  "))
	if len(ka.subjects) == 0 {
		t.Fatalf("keepalived sent no e-mail; its log:\n%s", tail(ka.log, 30))
	}
	// Per instance and per group, the sequence must be the same; the
	// order between objects is the daemons' own.
	per := func(lines []string, key func(string) string) map[string][]string {
		m := map[string][]string{}
		for _, l := range lines {
			m[key(l)] = append(m[key(l)], l)
		}
		return m
	}
	subjectKey := func(s string) string {
		f := strings.Fields(s)
		if len(f) > 4 {
			return strings.Join(f[1:4], " ")
		}
		return s
	}
	fifoKey := func(s string) string {
		f := strings.Fields(s)
		if len(f) > 2 {
			return f[0] + " " + f[1]
		}
		return s
	}
	// keepalived queues its "Stopping" e-mails as it exits and exits
	// before they leave; lvsd gives them a grace (internal/alert). Those
	// are compared to lvsd's own FIFO STOP lines instead.
	stopping := func(s string) bool { return strings.HasSuffix(s, " - Stopping") }
	lvStops := slices.DeleteFunc(slices.Clone(lv.subjects), func(s string) bool { return !stopping(s) })
	if len(lvStops) != 3 {
		t.Errorf("lvsd's Stopping e-mails: %q, want one per instance and one for the group", lvStops)
	}
	kaS := per(slices.DeleteFunc(slices.Clone(ka.subjects), stopping), subjectKey)
	lvS := per(slices.DeleteFunc(slices.Clone(lv.subjects), stopping), subjectKey)
	for k, want := range kaS {
		if !slices.Equal(lvS[k], want) {
			t.Errorf("e-mails of %s:\n keepalived %q\n lvsd       %q", k, want, lvS[k])
		}
	}
	for k := range lvS {
		if _, ok := kaS[k]; !ok {
			t.Errorf("lvsd e-mailed about %s, keepalived did not: %q", k, lvS[k])
		}
	}
	kaF, lvF := per(ka.fifo, fifoKey), per(lv.fifo, fifoKey)
	for k, want := range kaF {
		if !slices.Equal(lvF[k], want) {
			t.Errorf("FIFO lines of %s:\n keepalived %q\n lvsd       %q", k, want, lvF[k])
		}
	}
	if t.Failed() {
		t.Logf("keepalived log:\n%s\nlvsd log:\n%s", tail(ka.log, 40), tail(lv.log, 40))
	}
}
