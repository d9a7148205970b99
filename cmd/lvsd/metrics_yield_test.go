package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
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
