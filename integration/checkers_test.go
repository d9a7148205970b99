package integration

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/checktargets"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// listenPacket opens a UDP socket inside the lab's namespace (see listen).
func (l *checksLab) listenPacket(port int) net.PacketConn {
	l.t.Helper()
	var pc net.PacketConn
	err := inNetns(l.ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(l.realAddr, uint16(port)).String())
		return err
	})
	if err != nil {
		l.t.Fatalf("listen udp in %s on %d: %v", l.ns, port, err)
	}
	return pc
}

// udpService answers datagrams in the namespace with answer(query) until
// stopped; a stopped port answers with ICMP port unreachable.
type udpService struct {
	lab    *checksLab
	port   int
	answer func([]byte) []byte
	mu     sync.Mutex
	pc     net.PacketConn
}

func (s *udpService) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pc = s.lab.listenPacket(s.port)
	pc := s.pc
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := s.answer(buf[:n]); a != nil {
				pc.WriteTo(a, from)
			}
		}
	}()
}

func (s *udpService) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc != nil {
		s.pc.Close()
		s.pc = nil
	}
}

// smtpService greets, accepts HELO and QUIT in the namespace.
func smtpHandle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	c.Write([]byte("220 real ESMTP\r\n"))
	for _, answer := range []string{"250 hello\r\n", "221 bye\r\n"} {
		if _, err := c.Read(buf); err != nil {
			return
		}
		c.Write([]byte(answer))
	}
}

// TestNewCheckersFollowRealServersInANamespace runs UDP_CHECK, DNS_CHECK,
// SMTP_CHECK and PING_CHECK against real servers in a network namespace,
// stops and restarts them, cuts the link, and asserts each verdict
// changes within the bound the settings give (as
// TestChecksFollowRealServersInANamespace does for the other checkers).
func TestNewCheckersFollowRealServersInANamespace(t *testing.T) {
	lab := newChecksLab(t)

	echo := &udpService{lab: lab, port: 5353, answer: func(b []byte) []byte { return append([]byte(nil), b...) }}
	dns := &udpService{lab: lab, port: 53, answer: checktargets.DNSAnswer([4]byte{192, 0, 2, 53})}
	echo.start()
	dns.start()
	defer echo.stop()
	defer dns.stop()
	var smtpLn net.Listener
	smtpUp := func() {
		smtpLn = lab.listen(25)
		ln := smtpLn
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go smtpHandle(c)
			}
		}()
	}
	smtpUp()
	defer func() { smtpLn.Close() }()

	at := func(port int) netip.AddrPort { return netip.AddrPortFrom(lab.realAddr, uint16(port)) }
	common := nsCheckSettings()
	cfg := hcltest.Load(t, fmt.Sprintf(`
global { lvs_program = "always" }
virtual_server "192.0.2.20:5353" {
  protocol = "UDP"
  real_server %[1]q {
    UDP_CHECK {
      %[5]s
      payload       = "6c 76 73 64"
      require_reply = "6c 76 xx 64"
    }
  }
}
virtual_server "192.0.2.21:53" {
  protocol = "UDP"
  real_server %[2]q {
    DNS_CHECK {
      %[5]s
      type = "A"
      name = "real.example"
    }
  }
}
virtual_server "192.0.2.22:25" {
  real_server %[3]q {
    SMTP_CHECK {
      %[5]s
      helo_name = "lvsd.test"
    }
  }
}
virtual_server "192.0.2.23:80" {
  real_server %[4]q {
    PING_CHECK {
      %[5]s
    }
  }
}`, at(5353), at(53), at(25), at(80), common))
	followSteps(t, lab, cfg, []int{5353, 53, 25, 80}, []checkStep{
		{"UDP service stopped", 5353, echo.stop, false, "port unreachable"},
		{"UDP service back", 5353, echo.start, true, "reply of 4 octets"},
		{"DNS server stopped", 53, dns.stop, false, "port unreachable"},
		{"DNS server back", 53, dns.start, true, "rcode NOERROR"},
		{"SMTP listener closed", 25, func() { smtpLn.Close() }, false, "connection refused"},
		{"SMTP listener back", 25, smtpUp, true, "HELO accepted"},
		{"link cut", 80, func() { lab.ip("-n", lab.ns, "link", "set", lab.nsIf, "down") }, false, "no echo reply"},
		{"link back", 80, func() { lab.ip("-n", lab.ns, "link", "set", lab.nsIf, "up") }, true, "echo reply"},
	})
}
