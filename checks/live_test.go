package checks

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestManagerFollowsUDPDNSAndSMTPServers runs UDP_CHECK, DNS_CHECK and
// SMTP_CHECK on the real clock against loopback servers that turn bad and
// good again, and bounds each transition by the settings, keepalived's
// retry semantics:
//
//	down within delay_loop + retry×(delay_before_retry + connect_timeout) + connect_timeout + slack
//	up   within delay_loop + connect_timeout + slack
//
// Every verdict here is the servers' answer, never a timeout, so
// connect_timeout is long (2s): at 300ms a loaded host that ran the
// test's own server late turned "reply mismatch" into a timeout (2 runs
// in 20 beside six CPU hogs). The answers come at once, so the test takes
// no longer for it.
func TestManagerFollowsUDPDNSAndSMTPServers(t *testing.T) {
	const (
		delayLoop  = 400 * time.Millisecond
		timeout    = 2 * time.Second
		retry      = 1
		retryDelay = 200 * time.Millisecond
		slack      = 700 * time.Millisecond
	)
	downBound := delayLoop + retry*(retryDelay+timeout) + timeout + slack
	upBound := delayLoop + timeout + slack

	var udpGood, dnsGood, smtpGood atomic.Bool
	udpGood.Store(true)
	dnsGood.Store(true)
	smtpGood.Store(true)
	udpAt := (&udpServer{reply: func(b []byte) []byte {
		if udpGood.Load() {
			return append([]byte("ok:"), b...)
		}
		return []byte("no")
	}}).start(t, "udp4", "127.0.0.1:0")
	dnsAt := (&udpServer{}).startMulti(t, "udp4", "127.0.0.1:0", func(q []byte) [][]byte {
		answers := dnsAnswer(q)
		if !dnsGood.Load() && len(answers) > 0 {
			// SERVFAIL: the same answer with rcode 2.
			last := answers[len(answers)-1]
			last[3] = last[3]&0xf0 | byte(dnsmessage.RCodeServerFailure)
		}
		return answers
	})
	smtpAt := serve(t, func(c net.Conn) {
		if smtpGood.Load() {
			(&smtpServer{greeting: "220 mx\r\n", helo: "250 ok\r\n", quit: "221 bye\r\n"}).handle(c)
		} else {
			(&smtpServer{greeting: "421 busy\r\n"}).handle(c)
		}
	})
	common := fmt.Sprintf("delay_loop = %q\nconnect_timeout = %q\nretry = %d\ndelay_before_retry = %q\nwarmup = 0", delayLoop, timeout, retry, retryDelay)
	cfg := load(t,
		service("192.0.2.1:53", `protocol = "UDP"`, real(udpAt.String(), "UDP_CHECK {\n"+common+"\nrequire_reply = \"6f 6b\"\n}")),
		service("192.0.2.2:53", `protocol = "UDP"`, real(dnsAt.String(), "DNS_CHECK {\n"+common+"\n}")),
		service("192.0.2.3:25", real(smtpAt.String(), "SMTP_CHECK {\n"+common+"\n}")),
	)
	m := NewManager(cfg, Options{})
	var mu sync.Mutex
	var events []Event
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	wg.Go(func() {
		for ev := range m.Events() {
			mu.Lock()
			events = append(events, ev)
			mu.Unlock()
		}
	})
	defer func() { cancel(); wg.Wait() }()

	await := func(real netip.AddrPort, up bool, since time.Time, bound time.Duration) Event {
		t.Helper()
		deadline := time.Now().Add(bound + time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, ev := range events {
				if ev.Real == real && !ev.Initial && ev.Up == up && !ev.At.Before(since) {
					mu.Unlock()
					if took := ev.At.Sub(since); took > bound {
						t.Errorf("%s %s after %v, bound %v", real, map[bool]string{true: "up", false: "down"}[up], took, bound)
					}
					return ev
				}
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: no %s event within %v", real, map[bool]string{true: "up", false: "down"}[up], bound)
		return Event{}
	}
	time.Sleep(2 * delayLoop) // good rounds first
	for _, st := range m.Status() {
		if !st.Up {
			t.Fatalf("%s down before any change: %s", st.Real, st.Reason)
		}
	}
	for _, s := range []struct {
		name   string
		good   *atomic.Bool
		at     netip.AddrPort
		reason string
	}{
		{"UDP reply changes", &udpGood, udpAt, "reply mismatch"},
		{"DNS answers SERVFAIL", &dnsGood, dnsAt, "rcode SERVFAIL"},
		{"SMTP greets 421", &smtpGood, smtpAt, "greeting: status 421"},
	} {
		since := time.Now()
		s.good.Store(false)
		ev := await(s.at, false, since, downBound)
		if !strings.HasSuffix(ev.Reason, s.reason) {
			t.Errorf("%s: reason %q, want %q", s.name, ev.Reason, s.reason)
		}
		since = time.Now()
		s.good.Store(true)
		await(s.at, true, since, upBound)
	}
	for _, st := range m.Status() {
		c := st.Checkers[0]
		if c.Attempts == 0 || len(c.Failures) == 0 {
			t.Errorf("%s %s: %d attempts, failures %v: the reasons are counted", c.Kind, st.Real, c.Attempts, c.Failures)
		}
	}
}
