package checks

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsAnswer is a DNS server's answer, written with the library DNS_CHECK
// reads it with: SOA of the root and A of www.example.com. with NOERROR,
// NXDOMAIN for anything else. Before the answer it sends a datagram that
// is not DNS and an answer with another ID, which the check must skip.
func dnsAnswer(query []byte) [][]byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	rcode := dnsmessage.RCodeNameError
	known := (q.Name.String() == "." && q.Type == dnsmessage.TypeSOA) || (q.Name.String() == "www.example.com." && q.Type == dnsmessage.TypeA)
	if known {
		rcode = dnsmessage.RCodeSuccess
	}
	build := func(id uint16) []byte {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode})
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		switch {
		case known && q.Type == dnsmessage.TypeSOA:
			b.SOAResource(rh, dnsmessage.SOAResource{NS: dnsmessage.MustNewName("ns.example."), MBox: dnsmessage.MustNewName("hostmaster.example."), Serial: 1, Refresh: 60, Retry: 60, Expire: 60, MinTTL: 60})
		case known:
			b.AResource(rh, dnsmessage.AResource{A: [4]byte{192, 0, 2, 7}})
		}
		msg, _ := b.Finish()
		return msg
	}
	return [][]byte{[]byte("not DNS"), build(h.ID + 1), build(h.ID)}
}

// dnsServer runs dnsAnswer on a loopback UDP port.
func dnsServer(t *testing.T, network, addr string) netip.AddrPort {
	t.Helper()
	srv := &udpServer{reply: func([]byte) []byte { return nil }}
	at := srv.start(t, network, addr)
	return at
}

func TestDNSCheckVerdicts(t *testing.T) {
	answering := func(t *testing.T) netip.AddrPort { return multiReplyServer(t, "udp4", "127.0.0.1:0", dnsAnswer) }
	answering6 := func(t *testing.T) netip.AddrPort { return multiReplyServer(t, "udp6", "[::1]:0", dnsAnswer) }
	silent := func(t *testing.T) netip.AddrPort { return dnsServer(t, "udp4", "127.0.0.1:0") }
	closed := func(t *testing.T) netip.AddrPort { return closedUDPPort(t, "udp4", "127.0.0.1:0") }
	for _, tc := range []struct {
		name   string
		server func(t *testing.T) netip.AddrPort
		body   string
		ok     bool
		reason string
	}{
		{"SOA of the root by default", answering, ``, true, "rcode NOERROR"},
		{"over IPv6", answering6, ``, true, "rcode NOERROR"},
		{"an A record", answering, "type = \"A\"\nname = \"www.example.com\"", true, "rcode NOERROR"},
		{"a name the server does not know", answering, "type = \"A\"\nname = \"missing.example\"", false, "rcode NXDOMAIN"},
		{"a silent server", silent, ``, false, "no answer"},
		{"no server", closed, ``, false, "port unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timeout, bound := replyTimeout(tc.reason == "no answer")
			start := time.Now()
			r := probeOnce(t, tc.server(t), fmt.Sprintf("DNS_CHECK {\n connect_timeout = %q\n%s\n}", timeout, tc.body))
			if r.OK != tc.ok || r.Reason != tc.reason {
				t.Errorf("got ok=%t %q, want ok=%t %q", r.OK, r.Reason, tc.ok, tc.reason)
			}
			if took := time.Since(start); took > bound {
				t.Errorf("took %v with connect_timeout %v, want %v at most", took, timeout, bound)
			}
		})
	}
}

// multiReplyServer answers each datagram with every datagram of reply.
func multiReplyServer(t *testing.T, network, addr string, reply func([]byte) [][]byte) netip.AddrPort {
	t.Helper()
	return (&udpServer{}).startMulti(t, network, addr, reply)
}
