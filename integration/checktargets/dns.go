package checktargets

import "golang.org/x/net/dns/dnsmessage"

// DNSAnswer returns a DNS server's answer function for the functional
// tests' DNS_CHECK targets: any question gets NOERROR and one A record of a,
// written with the library DNS_CHECK parses answers with. A datagram that is
// not a DNS question gets no answer (nil).
func DNSAnswer(a [4]byte) func(query []byte) []byte {
	return func(query []byte) []byte {
		var p dnsmessage.Parser
		h, err := p.Start(query)
		if err != nil {
			return nil
		}
		q, err := p.Question()
		if err != nil {
			return nil
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired})
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: a})
		msg, _ := b.Finish()
		return msg
	}
}
