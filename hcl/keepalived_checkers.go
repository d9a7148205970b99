package hcl

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// This file reads the keywords of keepalived 2.2.7's UDP_CHECK
// (check_udp.c), DNS_CHECK (check_dns.c) and SMTP_CHECK (check_smtp.c)
// that other checkers do not have; PING_CHECK has none. The connection
// and retry keywords every checker shares are read by keepalived_lvs.go.

// kaSMTPHost is one host block of an SMTP_CHECK: where it connects from
// and to; everything else is its checker's.
type kaSMTPHost struct {
	pos         Pos
	connectIP   opt[netip.Addr]
	connectPort opt[uint16]
	bindTo      netip.Addr
	bindPort    uint16
	fwmark      uint32
	timeout     opt[time.Duration]
}

// checkerKeyword reads e if it is a keyword of ck's kind that
// keepalived_lvs.go does not read, and says whether it was.
func (r *kaReader) checkerKeyword(ck *kaCheck, e *kaNode, in string, hosts *[]*kaSMTPHost) bool {
	c := &ck.c
	mark := func() { c.Positions[e.name] = e.pos }
	switch {
	case c.Kind == CheckUDP && e.name == "payload":
		if !r.noBlock(e) {
			return true
		}
		data, _, err := ParseHexString(argsText(e), false)
		if err != nil {
			// check_udp.c: "UDP_CHECK payload requires a payload",
			// "Invalid hex string for UDP_CHECK payload"; a random
			// payload is sent then.
			r.warnf(e.pos, "Invalid hex string for UDP_CHECK payload", "%v; a random payload is sent, as keepalived does", err)
			return true
		}
		c.Payload = data
		mark()
	case c.Kind == CheckUDP && e.name == "require_reply":
		if !r.noBlock(e) {
			return true
		}
		c.RequireReply = true
		mark()
		if len(e.args) == 0 {
			return true
		}
		data, mask, err := ParseHexString(argsText(e), true)
		if err != nil {
			r.warnf(e.pos, "Invalid hex string for UDP_CHECK reply", "%v; any reply passes, as keepalived does", err)
			return true
		}
		c.Reply, c.ReplyMask = data, mask
	case c.Kind == CheckUDP && (e.name == "min_reply_length" || e.name == "max_reply_length"):
		if v, ok := r.integer(e, 0, math.MaxUint16); ok {
			if e.name == "min_reply_length" {
				c.MinReplyLength = int(v)
			} else {
				c.MaxReplyLength = int(v)
			}
			mark()
		}
	case c.Kind == CheckDNS && e.name == "type":
		if v, ok := r.one(e); ok {
			t := strings.ToUpper(v)
			if !slices.Contains(DNSTypes(), t) {
				r.warnf(e.pos, fmt.Sprintf("Unknown DNS check type %s - ignoring", v), "want one of %s", strings.Join(DNSTypes(), " "))
				return true
			}
			c.DNSType = t
			mark()
		}
	case c.Kind == CheckDNS && e.name == "name":
		v, ok := r.one(e)
		if !ok {
			return true
		}
		if _, set := c.Positions["name"]; set {
			r.warnf(e.pos, "DNS_CHECK name already specified - ignoring", "the first name is used, as keepalived does")
			return true
		}
		if err := validDNSName(v); err != nil {
			r.warnf(e.pos, fmt.Sprintf("DNS_CHECK name '%s' has empty label - ignoring", v), "%v", err)
			return true
		}
		c.DNSName = v
		mark()
	case c.Kind == CheckSMTP && e.name == "helo_name":
		if v, ok := r.one(e); ok {
			c.HeloName = v
			mark()
		}
	case c.Kind == CheckSMTP && e.name == "host":
		if h := r.smtpHost(e, in); h != nil {
			*hosts = append(*hosts, h)
		}
	default:
		return false
	}
	return true
}

// argsText joins a keyword's arguments as keepalived's make_strvec_str().
func argsText(e *kaNode) string {
	words := make([]string, len(e.args))
	for i, a := range e.args {
		words[i] = a.text
	}
	return strings.Join(words, " ")
}

// smtpHost reads SMTP_CHECK's deprecated host block.
func (r *kaReader) smtpHost(n *kaNode, in string) *kaSMTPHost {
	if !r.block(n) {
		return nil
	}
	r.notef(n.pos, "The SMTP_CHECK host block is deprecated. Please define additional checkers.", "read as a checker of its own, as keepalived does")
	h := &kaSMTPHost{pos: n.pos}
	for _, e := range n.block {
		switch e.name {
		case "connect_ip":
			if v, ok := r.addr(e); ok {
				h.connectIP.put(v)
			}
		case "connect_port":
			if v, ok := r.integer(e, 1, 65535); ok {
				h.connectPort.put(uint16(v))
			}
		case "bindto":
			if v, ok := r.addr(e); ok {
				h.bindTo = v
			}
		case "bind_port":
			if v, ok := r.integer(e, 1, 65535); ok {
				h.bindPort = uint16(v)
			}
		case "fwmark":
			if v, ok := r.integer(e, 1, math.MaxUint32); ok {
				h.fwmark = uint32(v)
			}
		case "connect_timeout":
			if v, ok := r.seconds(e, true); ok && v > 0 {
				h.timeout.put(v)
			}
		default:
			if !r.outOfScope(e, kaCheckScope) {
				r.unknown(e, "host of "+in)
			}
		}
	}
	return h
}

// checkerEnd completes a checker block: a MISC_CHECK whose script is not
// there is removed, with keepalived's log line (check_misc.c
// check_misc_script_security(): the real server then runs without that
// checker); an SMTP_CHECK becomes one checker per host block.
func (r *kaReader) checkerEnd(ck *kaCheck, hosts []*kaSMTPHost) []*kaCheck {
	if ck.c.Kind == CheckMisc && !r.scriptRunnable(ck.c.MiscPath) {
		// Removed by lenientFinish, once script_user is known: keepalived
		// checks the user first (keepalived_lenient.go).
		r.missingMisc = append(r.missingMisc, ck.c.Pos)
	}
	return r.smtpHosts(ck, hosts)
}

// smtpHosts makes one checker per host block (check_smtp.c
// smtp_check_end_handler()): a host connects to the real server unless it
// says otherwise, takes its connect_timeout from itself, else the real or
// virtual server, and everything else from its checker. The checker
// itself checks too only when it sets a connection option.
func (r *kaReader) smtpHosts(ck *kaCheck, hosts []*kaSMTPHost) []*kaCheck {
	if len(hosts) == 0 {
		return []*kaCheck{ck}
	}
	var out []*kaCheck
	for _, name := range []string{"connect_ip", "connect_port", "bindto", "bind_port", "fwmark", "connect_timeout"} {
		if _, set := ck.c.Positions[name]; set {
			out = append(out, ck)
			break
		}
	}
	for _, h := range hosts {
		hc := *ck
		hc.c.Pos, hc.c.Positions = h.pos, Positions{}
		hc.connectIP, hc.connectPort = h.connectIP, h.connectPort
		hc.c.BindTo, hc.c.BindPort, hc.c.FWMark = h.bindTo, h.bindPort, h.fwmark
		hc.inh.timeout = h.timeout
		out = append(out, &hc)
	}
	return out
}
