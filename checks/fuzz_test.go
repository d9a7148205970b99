package checks

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

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
