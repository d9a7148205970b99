package alert

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/alert/alerttest"
	"github.com/lvsd/lvsd/internal/hcltest"
)

func alertConf(server, extra string) string {
	return fmt.Sprintf(`global_defs {
    router_id lb1
    notification_email {
        ops@example.com
        noc@example.com
    }
    notification_email_from lvsd@example.com
    smtp_server %s
    smtp_connect_timeout 2
    smtp_helo_name lb1.example.com
    smtp_alert
%s}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance VI_2 {
    interface lo
    virtual_router_id 2
    priority 100
    smtp_alert off
    virtual_ipaddress {
        192.0.2.2
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 1
    real_server 10.0.0.1 8080 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`, server, extra)
}

func receive(t *testing.T, s *alerttest.Server, n int) []alerttest.Mail {
	t.Helper()
	var got []alerttest.Mail
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case m := <-s.Mails:
			got = append(got, m)
		case <-timeout:
			t.Fatalf("received %d of %d e-mails: %+v", len(got), n, got)
		}
	}
	return got
}

func TestAlerterMailsWithKeepalivedsWording(t *testing.T) {
	srv := alerttest.Start(t)
	cfg := hcltest.LoadKeepalived(t, alertConf("127.0.0.1 "+srv.Port(), "    no_email_faults\n"))
	a := New(cfg, nil, nil)
	a.Start(context.Background())
	defer a.Close()
	vs := cfg.VirtualServers[0]
	a.VRRP(false, "VI_1", "MASTER", `INSTANCE "VI_1" MASTER 100`)
	a.VRRP(false, "VI_1", "MASTER", `INSTANCE "VI_1" MASTER 100`) // a repeat: no e-mail
	a.VRRP(false, "VI_2", "MASTER", `INSTANCE "VI_2" MASTER 100`) // smtp_alert off
	a.VRRP(false, "VI_1", "FAULT", `INSTANCE "VI_1" FAULT 100`)   // no_email_faults
	a.VRRP(true, "G", "MASTER", `GROUP "G" MASTER 0`)
	a.RealServer(vs.Key(), netip.MustParseAddrPort("10.0.0.1:8080"), false)
	a.VirtualServer(vs, false, 0)
	a.VRRP(false, "VI_1", "STOP", `INSTANCE "VI_1" STOP 100`)
	got := receive(t, srv, 5)
	var subjects []string
	for _, m := range got {
		subjects = append(subjects, m.Subject)
		if m.From != "lvsd@example.com" || !slices.Equal(m.To, []string{"ops@example.com", "noc@example.com"}) || m.Helo != "lb1.example.com" {
			t.Errorf("envelope: HELO %q FROM %q TO %q", m.Helo, m.From, m.To)
		}
		if m.Header.Get("To") != "ops@example.com, noc@example.com" || m.Header.Get("From") != "lvsd@example.com" || m.Header.Get("Date") == "" {
			t.Errorf("headers: %v", m.Header)
		}
	}
	want := []string{
		"[lb1] VRRP Instance VI_1 - Entering MASTER state",
		"[lb1] VRRP Group G - Entering MASTER state",
		"[lb1] Realserver [10.0.0.1]:tcp:8080 of virtual server [192.0.2.1]:tcp:80 - DOWN",
		"[lb1] Virtualserver [192.0.2.1]:tcp:80 - DOWN",
		"[lb1] VRRP Instance VI_1 - Stopping",
	}
	if !slices.Equal(subjects, want) {
		t.Errorf("subjects\n got %q\nwant %q", subjects, want)
	}
	if got[0].Body != "=> VRRP Instance is now owning VRRP VIPs <=" || got[2].Body != "=> TCP CHECK failed on service <=" {
		t.Errorf("bodies %q, %q", got[0].Body, got[2].Body)
	}
	select {
	case m := <-srv.Mails:
		t.Errorf("one e-mail too many: %q", m.Subject)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestAlerterNeverWaitsForAMailServer(t *testing.T) {
	// A server that accepts and never speaks: every send hangs until its
	// deadline, and the queue fills.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg := hcltest.LoadKeepalived(t, alertConf("127.0.0.1 "+port, ""))
	a := New(cfg, nil, nil)
	a.Start(context.Background())
	states := []string{"MASTER", "BACKUP"}
	start := time.Now()
	for i := range 2 * mailQueue * 2 {
		s := states[i%2]
		a.VRRP(false, "VI_1", s, `INSTANCE "VI_1" `+s+" 100")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d notices took %s with a mail server that never answers", 4*mailQueue, d)
	}
	if st := a.Stats(); st.MailDropped == 0 {
		t.Errorf("stats %+v: a full queue must drop and count", st)
	}
	done := make(chan struct{})
	go func() { a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the mail server")
	}
}

// TestAlerterRunsTheFIFOScriptAndStopsIt: notify_fifo_script gets the
// FIFO's path as its last argument and reads the lines; it is killed and
// the FIFO lvsd created removed at Close.
func TestAlerterRunsTheFIFOScriptAndStopsIt(t *testing.T) {
	dir := t.TempDir()
	fifo, out, reader := dir+"/notify.fifo", dir+"/read.out", dir+"/reader.sh"
	if err := os.WriteFile(reader, []byte("#!/bin/sh\nwhile read line; do echo \"$line\" >> "+out+"; done < \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := hcltest.LoadKeepalived(t, fmt.Sprintf("global_defs {\n    notify_fifo %s\n    notify_fifo_script %s\n}\n", fifo, reader)+`vrrp_instance VI_1 {
    interface lo
    virtual_router_id 1
    virtual_ipaddress {
        192.0.2.1
    }
}
`)
	a := New(cfg, nil, nil)
	a.Start(context.Background())
	a.VRRP(false, "VI_1", "MASTER", `INSTANCE "VI_1" MASTER 100`)
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(out)
		if got = string(b); got != "" {
			break
		}
	}
	if got != "INSTANCE \"VI_1\" MASTER 100\n" {
		t.Errorf("the FIFO script read %q", got)
	}
	done := make(chan struct{})
	go func() { a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the FIFO script")
	}
	if _, err := os.Lstat(fifo); !os.IsNotExist(err) {
		t.Errorf("the FIFO is still there: %v", err)
	}
}
