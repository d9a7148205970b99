package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// benchmarkTableReport returns a report function over an IPVS manager of
// the load benchmark's table (2,000 services x 16 real servers, lvs's fake
// kernel): each call describes the table again, as a scrape does.
func benchmarkTableReport(tb testing.TB) func() director.Report {
	tb.Helper()
	const services, reals = 2000, 16
	m := lvs.NewManager(lvstest.NewFakeKernel(lvstest.SyntheticTable(services, reals)), lvs.ManagerOptions{})
	m.SetConfig(lvstest.SyntheticConfig(services, reals))
	return func() director.Report {
		c := m.Counters()
		return director.Report{Services: m.Status(), IPVS: &director.IPVSReport{Operations: c.Applied, Reconciles: c.Reconciles}}
	}
}

// benchScrapeHandler is /metrics as serveMetrics wires it, over report.
func benchScrapeHandler(report func() director.Report) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return metricsHandler(reg, report, func() {})
}

// discardResponse is a ResponseWriter that counts what it is sent.
type discardResponse struct {
	header http.Header
	n      int
}

func (w *discardResponse) Header() http.Header         { return w.header }
func (w *discardResponse) WriteHeader(int)             {}
func (w *discardResponse) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// BenchmarkScrapeOfTheBenchmarkTable is one /metrics scrape (gzip, as
// Prometheus asks) of the 2,000 x 16 table: its allocations, the
// process's peak RSS (VmHWM) after back-to-back scrapes, and how far
// above the RSS before them (the table and the test's own) that peak is.
func BenchmarkScrapeOfTheBenchmarkTable(b *testing.B) {
	h := benchScrapeHandler(benchmarkTableReport(b))
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(&discardResponse{header: http.Header{}}, req) // the status's first read
	runtime.GC()
	before := procStatusKB("VmRSS:")
	b.ReportAllocs()
	var sent int
	for b.Loop() {
		w := &discardResponse{header: http.Header{}}
		h.ServeHTTP(w, req)
		sent = w.n
	}
	b.ReportMetric(float64(sent), "gzip-bytes/op")
	if hwm := procStatusKB("VmHWM:"); hwm > 0 {
		b.ReportMetric(float64(hwm)/1024, "peak-RSS-MB")
		b.ReportMetric(float64(hwm-before)/1024, "peak-over-start-MB")
	}
}

// procStatusKB is a field of /proc/self/status in kB (VmRSS:, the
// resident set; VmHWM:, its peak; proc(5)), or 0.
func procStatusKB(field string) int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
