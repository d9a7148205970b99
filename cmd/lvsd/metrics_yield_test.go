package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
)

// A scrape of a big table yields to VRRP transitions as it goes: the
// collector every metricsPerYield metrics, the response at every write.
func TestScrapeYieldsToTransitionsAsItCollectsAndWrites(t *testing.T) {
	var r director.Report
	const services, reals = 100, 16
	for i := range services {
		s := lvs.ServiceStatus{Key: fmt.Sprintf("FWM:%d:inet", i+1), State: lvs.StateProgrammed, InKernel: true}
		for j := range reals {
			a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i), byte(j + 1)}), 0)
			s.Destinations = append(s.Destinations, lvs.DestinationStatus{Addr: a, InKernel: true, Weight: 1, Up: true})
		}
		r.Services = append(r.Services, s)
	}
	yields := 0
	c := newMetricsCollector(func() director.Report { return r })
	c.yield = func() { yields++ }
	ch := make(chan prometheus.Metric, 1<<16)
	c.Collect(ch)
	sent := len(ch)
	if want := sent / metricsPerYield; yields != want || want == 0 {
		t.Fatalf("%d metrics collected with %d yields, want %d (one every %d)", sent, yields, want, metricsPerYield)
	}

	writes := 0
	w := yieldingWriter{httptest.NewRecorder(), func() { writes++ }}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for range 3 {
			w.Write([]byte("lvsd_x 1\n"))
		}
	})
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if writes != 3 {
		t.Fatalf("%d yields for 3 writes of the response", writes)
	}
}

// /metrics answers gzip (at its fastest level) to a client that accepts
// it, plain text otherwise, and yields at the answer's writes either way.
func TestMetricsAnswerGzipWhenAccepted(t *testing.T) {
	r := director.Report{Services: []lvs.ServiceStatus{{Key: "TCP:192.0.2.10:80", State: lvs.StateProgrammed, InKernel: true}}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newMetricsCollector(func() director.Report { return r }))
	for _, accept := range []string{"gzip", ""} {
		yields := 0
		h := metricsHandler(reg, func() { yields++ })
		req := httptest.NewRequest("GET", "/metrics", nil)
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.Bytes()
		if enc := w.Header().Get("Content-Encoding"); (enc == "gzip") != (accept != "") {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", accept, enc)
		}
		if accept != "" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(string(body), `lvsd_ipvs_service_programmed{service="TCP:192.0.2.10:80"} 1`) || yields == 0 {
			t.Fatalf("Accept-Encoding %q: %d yields, body:\n%s", accept, yields, body)
		}
	}
}

func TestAcceptsGzipReadsAcceptEncoding(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"gzip", true},
		{"GZIP", true},
		{"gzip, deflate", true}, // Go's and Prometheus' clients
		{"deflate, gzip;q=0.5", true},
		{"gzip; q=1.0", true},
		{"gzip;q=0", false},
		{"gzip;q=0.000", false},
		{"gzip;q=0.001", true},
		{"br, zstd", false},
		{"x-gzip", false},
		{"", false},
	} {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
