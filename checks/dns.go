package checks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsProber is DNS_CHECK (keepalived's check_dns.c): one query of qtype
// for qname, recursion desired, over a connected UDP socket. The check
// passes on the answer to it (same ID, a response, the same question)
// with rcode NOERROR; a datagram that is not that answer is skipped, as
// keepalived skips it, until the deadline.
type dnsProber struct {
	dialer   PacketDialer
	endpoint Endpoint
	timeout  time.Duration
	qname    dnsmessage.Name
	qtype    dnsmessage.Type
}

// dnsTypes maps DNS_CHECK's type names to their RR type numbers
// (RFC 1035 §3.2.2, RFC 3596, RFC 4034), keepalived's check_dns.h list.
var dnsTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT,
	"AAAA": dnsmessage.TypeAAAA, "RRSIG": 46, "DNSKEY": 48,
}

func newDNSProber(dialer PacketDialer, ep Endpoint, timeout time.Duration, typ, name string) (*dnsProber, error) {
	qtype, ok := dnsTypes[typ]
	if !ok {
		return nil, fmt.Errorf("DNS type %q", typ)
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	qname, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, fmt.Errorf("DNS name %q: %v", name, err)
	}
	return &dnsProber{dialer: dialer, endpoint: ep, timeout: timeout, qname: qname, qtype: qtype}, nil
}

func (p *dnsProber) probe(ctx context.Context) Result {
	id := uint16(rand.N(1 << 16))
	query, err := dnsQuery(id, p.qname, p.qtype)
	if err != nil {
		return Result{Weight: -1, Reason: "query: " + err.Error()}
	}
	conn, err := p.dialer.DialUDP(ctx, p.endpoint)
	if err != nil {
		return failure(ctx, p.timeout, "connect", err)
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	if _, err := conn.Write(query); err != nil {
		return udpFailure(ctx, p.timeout, "send", err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if timedOut(ctx, err) {
				return Result{Weight: -1, Reason: "no answer"}
			}
			return udpFailure(ctx, p.timeout, "receive", err)
		}
		if r, answered := dnsVerdict(buf[:n], id, p.qname, p.qtype); answered {
			return r
		}
	}
}

// dnsQuery builds the query: one question, class IN, RD set (RFC 1035
// §4.1.1), as check_dns.c dns_make_query() sends it.
func dnsQuery(id uint16, qname dnsmessage.Name, qtype dnsmessage.Type) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(dnsmessage.Question{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// dnsVerdict reads a datagram: answered is false when it is not the answer
// to the query (unparsable, another ID, a query, another question), which
// is then ignored; else the Result is the answer's rcode.
func dnsVerdict(msg []byte, id uint16, qname dnsmessage.Name, qtype dnsmessage.Type) (r Result, answered bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.ID != id || !h.Response {
		return Result{}, false
	}
	// A server that answers copies the question (RFC 1035 §4.1.2); one
	// that cannot parse the query (FORMERR) may leave it out.
	q, err := p.Question()
	switch {
	case err == dnsmessage.ErrSectionDone:
	case err != nil:
		return Result{}, false
	case !strings.EqualFold(q.Name.String(), qname.String()) || q.Type != qtype:
		return Result{}, false
	}
	if h.RCode != dnsmessage.RCodeSuccess {
		return Result{Weight: -1, Reason: "rcode " + rcodeName(h.RCode)}, true
	}
	return Result{OK: true, Weight: -1, Reason: "rcode NOERROR"}, true
}

// rcodeName is an rcode's mnemonic (RFC 1035 §4.1.1, RFC 2136 §2.2).
func rcodeName(c dnsmessage.RCode) string {
	switch c {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("%d", c)
}
