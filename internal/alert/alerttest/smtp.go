// Package alerttest is an SMTP listener for tests (internal/alert's and
// the keepalived differential's): it speaks just enough RFC 5321 (HELO or
// EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on 127.0.0.1 to take the
// e-mails of lvsd and keepalived and hand them over. Tests only.
package alerttest

import (
	"bufio"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// Mail is one e-mail received.
type Mail struct {
	Helo    string
	From    string
	To      []string
	Subject string
	Header  textproto.MIMEHeader
	Body    string
}

// Server is a running SMTP listener.
type Server struct {
	Addr  string // 127.0.0.1:PORT
	Mails chan Mail
	ln    net.Listener
	wg    sync.WaitGroup
}

// Start listens on 127.0.0.1 (a free port) until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Mails: make(chan Mail, 256), ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Port is the listener's port.
func (s *Server) Port() string {
	_, p, _ := net.SplitHostPort(s.Addr)
	return p
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	reply := func(code int, msg string) { tp.PrintfLine("%d %s", code, msg) }
	reply(220, "alerttest ESMTP")
	var m Mail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "HELO", "EHLO":
			m.Helo = arg
			reply(250, "alerttest")
		case "MAIL":
			m.From = addr(arg)
			reply(250, "OK")
		case "RCPT":
			m.To = append(m.To, addr(arg))
			reply(250, "OK")
		case "DATA":
			reply(354, "go ahead")
			r := textproto.NewReader(bufio.NewReader(tp.DotReader()))
			h, _ := r.ReadMIMEHeader()
			var body strings.Builder
			for {
				l, err := r.ReadLine()
				if err != nil {
					break
				}
				body.WriteString(l + "\n")
			}
			m.Header, m.Subject, m.Body = h, h.Get("Subject"), strings.TrimRight(body.String(), "\n")
			select {
			case s.Mails <- m:
			default:
			}
			m = Mail{Helo: m.Helo}
			reply(250, "OK queued")
		case "RSET", "NOOP":
			reply(250, "OK")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "not implemented")
		}
	}
}

// addr takes the address out of "FROM:<a@b>" or "TO:<a@b>".
func addr(arg string) string {
	if i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>'); i >= 0 && j > i {
		return arg[i+1 : j]
	}
	_, a, _ := strings.Cut(arg, ":")
	return strings.TrimSpace(a)
}
