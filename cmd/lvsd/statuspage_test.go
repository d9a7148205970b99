package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// syncBuffer is a log destination the server goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStatusPageSharesTheMetricsListener: with status_page on, "/" on the
// metrics listener is the status page and /metrics stays Prometheus'; off,
// "/" is not found.
func TestStatusPageSharesTheMetricsListener(t *testing.T) {
	cfg := hcltest.Load(t, `
global {
  lvs_program = "always"
  status_page = true
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
}
`)
	if cfg.Global.MetricsListen != "127.0.0.1:9650" {
		t.Fatalf("metrics_listen = %q, want hcl's loopback default", cfg.Global.MetricsListen)
	}
	d, err := director.New(cfg, director.Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []bool{true, false} {
		var logs syncBuffer
		srv, err := serveMetrics("127.0.0.1:0", page, d, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`listen=(\S+)`).FindStringSubmatch(logs.String())
		if m == nil {
			t.Fatalf("no listen address logged: %s", logs.String())
		}
		fetch := func(path string) (int, string) {
			res, err := http.Get("http://" + m[1] + path)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		code, body := fetch("/")
		switch {
		case page && (code != 200 || !strings.Contains(body, "TCP:192.0.2.10:80")):
			t.Errorf("status page on: GET / = %d, lacking the service", code)
		case !page && code != 404:
			t.Errorf("status page off: GET / = %d, want 404", code)
		}
		if code, body := fetch("/metrics"); code != 200 || !strings.Contains(body, "lvsd_ipvs_service_programmed") {
			t.Errorf("status page %v: GET /metrics = %d", page, code)
		}
		srv.Close()
	}
}
