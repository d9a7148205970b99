package checks

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// pipeDialer answers every dial with a conn whose peer reads the request,
// writes response and closes.
type pipeDialer struct{ response []byte }

func (d pipeDialer) DialTCP(context.Context, Endpoint) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		buf := make([]byte, 4096)
		server.SetReadDeadline(time.Now().Add(time.Second))
		server.Read(buf) // the request
		server.SetWriteDeadline(time.Now().Add(time.Second))
		server.Write(d.response)
	}()
	return client, nil
}

// FuzzHTTPResponse: whatever a server answers, HTTP_GET returns a verdict
// with a reason before its deadline and never passes a response whose
// status is outside the accepted codes.
func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 503 Busy\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\nshort",
		"garbage\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	cfg := hcltest.Load(f, `
global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  real_server "192.0.2.2:80" {
    HTTP_GET {
      connect_timeout = "200ms"
      url {
        path        = "/"
        regex       = "ok"
        status_code = ["200"]
      }
    }
  }
}`)
	c := cfg.VirtualServers[0].RealServers[0].Checkers[0]
	f.Fuzz(func(t *testing.T, response []byte) {
		p, err := newHTTPProber(c, pipeDialer{response: response}, 64)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
		defer cancel()
		start := time.Now()
		r := p.probe(ctx)
		if took := time.Since(start); took > c.Timeout+time.Second {
			t.Fatalf("check took %v past its %v deadline", took, c.Timeout)
		}
		if r.Reason == "" {
			t.Fatal("verdict without a reason")
		}
		if r.OK && !strings.HasPrefix(string(response), "HTTP/") {
			t.Fatalf("passed a response that is not HTTP: %q", response)
		}
	})
}

// FuzzUDPReply: a reply passes only with a length in range and every
// unmasked bit of its compared octets equal to the expected reply's.
func FuzzUDPReply(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{1, 2}, []byte{0, 0x0f}, 0, 255)
	f.Add([]byte{}, []byte{9}, []byte(nil), 1, 2)
	f.Fuzz(func(t *testing.T, got, want, mask []byte, minLen, maxLen int) {
		if mask != nil && len(mask) != len(want) {
			mask = nil
		}
		if udpReplyFault(got, want, mask, minLen, maxLen) != "" {
			return
		}
		if len(got) < minLen || len(got) > maxLen {
			t.Fatalf("passed a reply of %d octets outside %d..%d", len(got), minLen, maxLen)
		}
		for i := 0; i < len(got) && i < len(want); i++ {
			m := byte(0)
			if mask != nil {
				m = mask[i]
			}
			if got[i]&^m != want[i]&^m {
				t.Fatalf("passed octet %d: %x against %x mask %x", i, got[i], want[i], m)
			}
		}
	})
}

// FuzzDNSAnswer: whatever datagram comes back, DNS_CHECK passes only on a
// response with the query's ID and rcode NOERROR.
func FuzzDNSAnswer(f *testing.F) {
	qname := dnsmessage.MustNewName("www.example.com.")
	query, _ := dnsQuery(0x1234, qname, dnsmessage.TypeA)
	f.Add(query)
	for _, a := range dnsAnswer(query) {
		f.Add(a)
	}
	f.Add([]byte{0x12, 0x34, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, answered := dnsVerdict(msg, 0x1234, qname, dnsmessage.TypeA)
		if !answered {
			return
		}
		if r.Reason == "" {
			t.Fatal("verdict without a reason")
		}
		if !r.OK {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(msg)
		if err != nil || h.ID != 0x1234 || !h.Response || h.RCode != dnsmessage.RCodeSuccess {
			t.Fatalf("passed %x (header %+v, %v)", msg, h, err)
		}
	})
}

// FuzzPingVerdict: an ICMP message ends the attempt with success only
// when it is an echo reply with the attempt's sequence.
func FuzzPingVerdict(f *testing.F) {
	reply, _ := (&icmp.Message{Type: ipv4.ICMPTypeEchoReply, Body: &icmp.Echo{ID: 5, Seq: 7}}).Marshal(nil)
	f.Add(reply, false, true)
	f.Add([]byte{3, 3, 0, 0, 0, 0, 0, 0, 0x45, 0}, true, false)
	f.Fuzz(func(t *testing.T, msg []byte, raw, v6 bool) {
		dst := netip.MustParseAddr("10.0.0.1")
		if v6 {
			dst = netip.MustParseAddr("2001:db8::1")
		}
		r, done := pingVerdict(msg, dst, dst, raw, 5, 7)
		if !done || !r.OK {
			return
		}
		proto := 1
		if v6 {
			proto = 58
		}
		m, err := icmp.ParseMessage(proto, msg)
		if err != nil {
			t.Fatalf("passed an unparsable message %x", msg)
		}
		if echo, ok := m.Body.(*icmp.Echo); !ok || echo.Seq != 7 {
			t.Fatalf("passed %+v", m)
		}
	})
}

// scriptedDialer answers every dial with a conn whose peer writes script
// and then reads whatever comes until the client closes.
type scriptedDialer struct{ script []byte }

func (d scriptedDialer) DialTCP(context.Context, Endpoint) (net.Conn, error) {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		server.SetDeadline(time.Now().Add(time.Second))
		go io.Copy(io.Discard, server)
		server.Write(d.script)
	}()
	return client, nil
}

// FuzzSMTPServer: whatever an SMTP server says, SMTP_CHECK returns a
// verdict with a reason by its deadline and passes only a server that
// greeted with 220.
func FuzzSMTPServer(f *testing.F) {
	for _, s := range []string{
		"220 mx\r\n250 ok\r\n221 bye\r\n",
		"220-a\r\n220 b\r\n250-c\r\n250 d\r\n221 e\r\n",
		"554 no\r\n",
		"220 mx\r\n250 ok\r\n",
		"220",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		p := &smtpProber{dialer: scriptedDialer{script: script}, timeout: 200 * time.Millisecond, helo: "lvsd.test"}
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		defer cancel()
		start := time.Now()
		r := p.probe(ctx)
		if took := time.Since(start); took > p.timeout+time.Second {
			t.Fatalf("check took %v past its %v deadline", took, p.timeout)
		}
		if r.Reason == "" {
			t.Fatal("verdict without a reason")
		}
		if r.OK && !strings.HasPrefix(string(script), "220") {
			t.Fatalf("passed a server that did not greet with 220: %q", script)
		}
	})
}
