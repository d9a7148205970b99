package checks

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer plays an SMTP server: greeting, then the answer to HELO and
// to QUIT; it records the lines it was sent.
type smtpServer struct {
	greeting, helo, quit string
	mu                   sync.Mutex
	lines                []string
}

func (s *smtpServer) handle(c net.Conn) {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if s.greeting == "" {
		return // closes at once
	}
	if s.greeting == "silent" {
		c.Read(make([]byte, 1))
		return
	}
	c.Write([]byte(s.greeting))
	br := bufio.NewReader(c)
	for _, answer := range []string{s.helo, s.quit} {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		s.mu.Lock()
		s.lines = append(s.lines, strings.TrimRight(line, "\r\n"))
		s.mu.Unlock()
		c.Write([]byte(answer))
	}
}

func TestSMTPCheckVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		srv    *smtpServer
		ok     bool
		reason string
	}{
		{"a mail server", &smtpServer{greeting: "220 mx ESMTP\r\n", helo: "250 hello\r\n", quit: "221 bye\r\n"}, true, "HELO accepted"},
		{"a multi-line greeting", &smtpServer{greeting: "220-mx ESMTP\r\n220 ready\r\n", helo: "250-hello\r\n250 SIZE 1\r\n", quit: "221 bye\r\n"}, true, "HELO accepted"},
		{"a busy server", &smtpServer{greeting: "554 go away\r\n"}, false, "greeting: status 554"},
		{"HELO refused", &smtpServer{greeting: "220 mx\r\n", helo: "501 no\r\n", quit: "221 bye\r\n"}, false, "HELO: status 501"},
		{"not SMTP", &smtpServer{greeting: "HTTP/1.1 400 Bad Request\r\n"}, false, "greeting: not an SMTP reply"},
		{"closed at once", &smtpServer{}, false, "greeting: connection closed"},
		{"silent", &smtpServer{greeting: "silent"}, false, "timeout after 300ms"},
		{"closed before QUIT is answered", &smtpServer{greeting: "220 mx\r\n", helo: "250 ok\r\n"}, false, "QUIT: connection closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := serve(t, tc.srv.handle)
			timeout, _ := replyTimeout(strings.HasPrefix(tc.reason, "timeout"))
			r := probeOnce(t, at, fmt.Sprintf("SMTP_CHECK {\n connect_timeout = %q\n helo_name = \"lvsd.test\"\n}", timeout))
			if r.OK != tc.ok || !strings.HasPrefix(r.Reason, tc.reason) {
				t.Errorf("got ok=%t %q, want ok=%t %q", r.OK, r.Reason, tc.ok, tc.reason)
			}
			tc.srv.mu.Lock()
			defer tc.srv.mu.Unlock()
			if tc.ok && (len(tc.srv.lines) != 2 || tc.srv.lines[0] != "HELO lvsd.test" || tc.srv.lines[1] != "QUIT") {
				t.Errorf("server read %q", tc.srv.lines)
			}
		})
	}
}
