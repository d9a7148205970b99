package hcl

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
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
	mark := func() { c.Positions.Set(e.name, e.pos) }
	udp, dns, smtp, file := c.UDP(), c.DNS(), c.SMTP(), c.File()
	switch {
	case udp != nil && e.name == "payload":
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
		udp.Payload = data
		mark()
	case udp != nil && e.name == "require_reply":
		if !r.noBlock(e) {
			return true
		}
		udp.RequireReply = true
		mark()
		if len(e.args) == 0 {
			return true
		}
		data, mask, err := ParseHexString(argsText(e), true)
		if err != nil {
			r.warnf(e.pos, "Invalid hex string for UDP_CHECK reply", "%v; any reply passes, as keepalived does", err)
			return true
		}
		udp.Reply, udp.ReplyMask = data, mask
	case udp != nil && (e.name == "min_reply_length" || e.name == "max_reply_length"):
		if v, ok := r.integer(e, 0, math.MaxUint16); ok {
			if e.name == "min_reply_length" {
				udp.MinReplyLength = int(v)
			} else {
				udp.MaxReplyLength = int(v)
			}
			mark()
		}
	case dns != nil && e.name == "type":
		if v, ok := r.one(e); ok {
			t := strings.ToUpper(v)
			if !slices.Contains(DNSTypes(), t) {
				r.warnf(e.pos, fmt.Sprintf("Unknown DNS check type %s - ignoring", v), "want one of %s", strings.Join(DNSTypes(), " "))
				return true
			}
			dns.Type = t
			mark()
		}
	case dns != nil && e.name == "name":
		v, ok := r.one(e)
		if !ok {
			return true
		}
		if set := c.Positions.Has("name"); set {
			r.warnf(e.pos, "DNS_CHECK name already specified - ignoring", "the first name is used, as keepalived does")
			return true
		}
		if err := validDNSName(v); err != nil {
			r.warnf(e.pos, fmt.Sprintf("DNS_CHECK name '%s' has empty label - ignoring", v), "%v", err)
			return true
		}
		dns.Name = v
		mark()
	case smtp != nil && e.name == "helo_name":
		if v, ok := r.one(e); ok {
			smtp.HeloName = v
			mark()
		}
	case file != nil && e.name == "track_file":
		if v, ok := r.one(e); ok {
			file.TrackFile = v
			mark()
		}
	case file != nil && e.name == "weight":
		if w, rev, ok := r.fileWeight(e); ok {
			file.Weight, file.Reverse = w, rev
			mark()
		}
	case smtp != nil && e.name == "host":
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
	if f := ck.c.File(); f != nil {
		if f.TrackFile == "" {
			r.warnf(ck.c.Pos, "FILE_CHECK has no track_file specified - ignoring", "as keepalived does")
			return nil
		}
		if set := ck.c.Positions.Has("weight"); !set {
			f.Weight = fileWeightUnset // its track_file's (validation)
		}
	}
	if m := ck.c.Misc(); m != nil && !r.scriptRunnable(m.Path) {
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
		if set := ck.c.Positions.Has(name); set {
			out = append(out, ck)
			break
		}
	}
	for _, h := range hosts {
		hc := *ck
		hc.c.OwnSettings()
		hc.c.Pos, hc.c.Positions = h.pos, r.positions.new()
		hc.connectIP, hc.connectPort = h.connectIP, h.connectPort
		hc.c.BindTo, hc.c.BindPort, hc.c.FWMark = h.bindTo, h.bindPort, h.fwmark
		hc.inh.timeout = h.timeout
		out = append(out, &hc)
	}
	return out
}

// trackFile reads a track_file (or vrrp_track_file) block: file PATH,
// weight N [reverse|noreverse], init_file (track_file.c).
func (r *kaReader) trackFile(n *kaNode) {
	name, ok := r.name(n)
	if !ok {
		return
	}
	f := TrackFile{Name: name, Weight: defaultTrackFileWeight, Pos: n.pos, Positions: r.positions.new()}
	for _, e := range n.block {
		switch e.name {
		case "file":
			if v, ok := r.one(e); ok {
				f.File = v
				f.Positions.Set("file", e.pos)
			}
		case "weight":
			if w, rev, ok := r.fileWeight(e); ok {
				f.Weight, f.Reverse = w, rev
				f.Positions.Set("weight", e.pos)
			}
		case "init_file":
			r.trackFileInit(e, &f) // keepalived_track_file_init.go
		default:
			r.unknown(e, "track_file "+name)
		}
	}
	if f.File == "" {
		r.warnf(n.pos, fmt.Sprintf("No file set for track_file %s - ignoring", name), "as keepalived does")
		return
	}
	r.cfg.TrackFiles = append(r.cfg.TrackFiles, f)
}

// fileWeight reads "weight N [reverse|noreverse]" of a track_file or a
// FILE_CHECK.
func (r *kaReader) fileWeight(e *kaNode) (int, bool, bool) {
	if !r.noBlock(e) {
		return 0, false, false
	}
	if len(e.args) == 0 {
		r.warnf(e.pos, "track file weight missing", "as keepalived reports it")
		return 0, false, false
	}
	w, err := strconv.Atoi(e.args[0].text)
	if err != nil || w < -(1<<31-1) || w > 1<<31-1 {
		r.warnf(e.pos, fmt.Sprintf("weight for track file must be in [%d..%d] inclusive. Ignoring...", -(1<<31-1), 1<<31-1), "got %q", e.args[0].text)
		return 0, false, false
	}
	reverse := false
	if len(e.args) > 1 {
		switch e.args[1].text {
		case "reverse":
			reverse = true
		case "noreverse":
		default:
			r.warnf(e.pos, fmt.Sprintf("unknown track file weight option %s - ignoring", e.args[1].text), "want reverse or noreverse")
			return 0, false, false
		}
	}
	return w, reverse, true
}
