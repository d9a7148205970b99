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
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
)

// bigReport is a report of services x reals, every real server in the
// kernel and checked, and of instances VRRP instances.
func bigReport(services, reals, instances int) director.Report {
	var r director.Report
	for i := range services {
		s := lvs.ServiceStatus{Key: fmt.Sprintf("FWM:%d:inet", i+1), State: lvs.StateProgrammed, InKernel: true}
		for j := range reals {
			a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i), byte(j + 1)}), 0)
			s.Destinations = append(s.Destinations, lvs.DestinationStatus{Addr: a, InKernel: true, Weight: 1, Up: true})
			r.Health = append(r.Health, director.HealthReport{Service: s.Key, Real: a.String(), Up: true, Attempts: 3})
		}
		r.Services = append(r.Services, s)
	}
	for i := range instances {
		r.Instances = append(r.Instances, director.InstanceReport{Name: fmt.Sprintf("VI_%d", i), Interface: "eth0", VRID: i%255 + 1, State: "BACKUP"})
	}
	return r
}

// writeLog is an answer that notes, at each write, how many yields came
// before it.
type writeLog struct {
	http.ResponseWriter
	yields *int
	writes []write
}

type write struct{ size, yieldsBefore int }

func (w *writeLog) Write(b []byte) (int, error) {
	w.writes = append(w.writes, write{len(b), *w.yields})
	return w.ResponseWriter.Write(b)
}

// A scrape of a big table yields to VRRP transitions as it goes: the
// collector every metricsPerYield metrics, the table's text before each
// tableFlushAt of it goes out, the answer at every write.
func TestScrapeYieldsToTransitionsAsItCollectsAndWrites(t *testing.T) {
	r := bigReport(100, 16, 100)
	yields := 0
	c := newMetricsCollector(func() director.Report { return r })
	c.yield = func() { yields++ }
	ch := make(chan prometheus.Metric, 1<<16)
	c.Collect(ch)
	sent := len(ch)
	if want := sent / metricsPerYield; yields != want || want == 0 {
		t.Fatalf("%d metrics collected with %d yields, want %d (one every %d)", sent, yields, want, metricsPerYield)
	}

	yields = 0
	w := &writeLog{ResponseWriter: httptest.NewRecorder(), yields: &yields}
	metricsHandler(prometheus.NewRegistry(), func() director.Report { return r }, func() { yields++ }).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if len(w.writes) < 10 {
		t.Fatalf("the answer went out in %d writes; want the table's text in pieces of %d bytes", len(w.writes), tableFlushAt)
	}
	before := 0
	for i, wr := range w.writes {
		if wr.yieldsBefore <= before {
			t.Fatalf("write %d of the answer (%d bytes) came without a yield before it", i+1, wr.size)
		}
		if wr.size > tableFlushAt+4096 {
			t.Fatalf("write %d of the answer is %d bytes, more than a flush's %d", i+1, wr.size, tableFlushAt)
		}
		before = wr.yieldsBefore
	}
}

// A scrape's waits for transitions' hooks add up to scrapeYieldBudget at
// most: beside hooks that keep running (each yield waits its full limit),
// a scrape of a big table that would wait at each of its many steps
// takes the budget, and is whole.
func TestScrapeWaitsForTransitionsAtMostItsBudgetInAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := bigReport(200, 16, 0)
		const transitionYieldMax = 500 * time.Millisecond // internal/director's
		yields := 0
		h := metricsHandler(prometheus.NewRegistry(), func() director.Report { return r }, func() {
			yields++
			time.Sleep(transitionYieldMax)
		})
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if took := time.Since(start); took != scrapeYieldBudget || yields != int(scrapeYieldBudget/transitionYieldMax) {
			t.Fatalf("the scrape took %v in %d yields, want its budget %v", took, yields, scrapeYieldBudget)
		}
		values, _ := parseScrape(t, w.Body.String())
		// Per real server: up, latency, attempts, weight, active and
		// inactive connections; per service 9.
		if _, last := values[`lvsd_ipvs_inactive_connections,real=172.16.199.16:0,service=FWM:200:inet`]; len(values) != 200*16*6+200*9 || !last {
			t.Fatalf("the scrape beside the hooks has %d series, want %d", len(values), 200*16*6+200*9)
		}
	})
}

// /metrics answers gzip (at its fastest level) to a client that accepts
// it, plain text otherwise, and yields at the answer's writes either way.
func TestMetricsAnswerGzipWhenAccepted(t *testing.T) {
	r := director.Report{Services: []lvs.ServiceStatus{{Key: "TCP:192.0.2.10:80", State: lvs.StateProgrammed, InKernel: true}}}
	for _, accept := range []string{"gzip", ""} {
		yields := 0
		h := metricsHandler(prometheus.NewRegistry(), func() director.Report { return r }, func() { yields++ })
		for range 2 { // the second with the writers the first left
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
}

// The answer is the text format even to a client that prefers protobuf
// (Prometheus with native histograms asks for it first): the table's
// families are written as text.
func TestMetricsAnswerTextWhateverTheClientPrefers(t *testing.T) {
	r := director.Report{Services: []lvs.ServiceStatus{{Key: "TCP:192.0.2.10:80", State: lvs.StateProgrammed, InKernel: true}}}
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3")
	w := httptest.NewRecorder()
	metricsHandler(prometheus.NewRegistry(), func() director.Report { return r }, func() {}).ServeHTTP(w, req)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	if values, _ := parseScrape(t, w.Body.String()); values["lvsd_ipvs_service_programmed,service=TCP:192.0.2.10:80"] != 1 {
		t.Fatalf("body:\n%s", w.Body)
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
