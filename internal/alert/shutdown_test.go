package alert

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/alert/alerttest"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestQuorumMailCarriesKeepalivedsNumbers: the quorum e-mail's body is
// keepalived 2.2.7's "=> WHAT QUORUM+HYSTERESIS=THRESHOLD <= WEIGHT <=":
// the threshold is quorum + hysteresis going up or at start, quorum -
// hysteresis going down (ipwrapper.c update_quorum_state).
func TestQuorumMailCarriesKeepalivedsNumbers(t *testing.T) {
	cfg := hcltest.LoadKeepalived(t, `virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 3
    hysteresis 1
    real_server 10.0.0.1 8080 {
        weight 2
    }
    real_server 10.0.0.2 8080 {
        weight 3
    }
}
`)
	vs := cfg.VirtualServers[0]
	tests := []struct {
		up, start bool
		weight    int
		subject   string
		body      string
	}{
		{true, false, 5, "[r] Virtualserver [192.0.2.1]:tcp:80 - UP", "=> Gained quorum 3+1=4 <= 5 <="},
		{false, false, 0, "[r] Virtualserver [192.0.2.1]:tcp:80 - DOWN", "=> Lost quorum 3+1=2 <= 0 <="},
		{true, true, 5, "[r] Virtualserver [192.0.2.1]:tcp:80 - UP", "=> Starting with quorum up 3+1=4 <= 5 <="},
		{false, true, 2, "[r] Virtualserver [192.0.2.1]:tcp:80 - DOWN", "=> Starting with quorum down 3+1=4 <= 2 <="},
	}
	for _, tt := range tests {
		subject, body := virtualServerMail("r", vs, tt.up, tt.start, tt.weight)
		if subject != tt.subject || body != tt.body {
			t.Errorf("up %v start %v weight %d: %q / %q, want %q / %q", tt.up, tt.start, tt.weight, subject, body, tt.subject, tt.body)
		}
	}
}

// TestShuttingDownTellsOmegaServicesOnly: at stop a virtual server with
// omega tells each real server still up DOWN and then itself DOWN, each
// e-mail with keepalived's "=> Shutting down <="; one without omega
// tells nothing, as keepalived 2.2.7's clear_service_rs.
func TestShuttingDownTellsOmegaServicesOnly(t *testing.T) {
	srv := alerttest.Start(t)
	cfg := hcltest.LoadKeepalived(t, `global_defs {
    router_id lb1
    notification_email {
        ops@example.com
    }
    notification_email_from lvsd@example.com
    smtp_server 127.0.0.1 `+srv.Port()+`
    smtp_alert
}
virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    omega
    real_server 10.0.0.1 8080 {
    }
    real_server 10.0.0.2 8080 {
    }
}
virtual_server 192.0.2.2 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.0.1 8080 {
    }
}
`)
	a := New(cfg, nil, nil)
	a.Start(context.Background())
	up := []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:8080")} // 10.0.0.2 is down
	a.ShuttingDown(cfg.VirtualServers[0], up)
	a.ShuttingDown(cfg.VirtualServers[1], up)
	got := receive(t, srv, 2)
	a.Close()
	var lines []string
	for _, m := range got {
		lines = append(lines, m.Subject+" | "+strings.TrimSpace(m.Body))
	}
	want := []string{
		"[lb1] Realserver [10.0.0.1]:tcp:8080 of virtual server [192.0.2.1]:tcp:80 - DOWN | => Shutting down <=",
		"[lb1] Virtualserver [192.0.2.1]:tcp:80 - DOWN | => Shutting down <=",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("e-mails\n got %q\nwant %q", lines, want)
	}
	select {
	case m := <-srv.Mails:
		t.Errorf("one e-mail too many: %q", m.Subject)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestMailQueuedAtCloseStillLeaves: an e-mail queued just before Close
// (the stop-time ones are) is delivered within the stop grace, even when
// the sender had already taken it from the queue as Close came.
func TestMailQueuedAtCloseStillLeaves(t *testing.T) {
	for i := range 5 {
		srv := alerttest.Start(t)
		cfg := hcltest.LoadKeepalived(t, `global_defs {
    router_id lb1
    notification_email {
        ops@example.com
    }
    notification_email_from lvsd@example.com
    smtp_server 127.0.0.1 `+srv.Port()+`
    smtp_alert
}
virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    omega
    real_server 10.0.0.1 8080 {
    }
}
`)
		a := New(cfg, nil, nil)
		a.Start(context.Background())
		a.ShuttingDown(cfg.VirtualServers[0], nil)
		time.Sleep(time.Duration(i) * time.Millisecond)
		a.Close()
		select {
		case m := <-srv.Mails:
			if !strings.Contains(m.Body, "Shutting down") {
				t.Errorf("got %q / %q", m.Subject, m.Body)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("try %d: the e-mail queued before Close never left", i)
		}
	}
}
