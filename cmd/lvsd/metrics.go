package main

import (
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/priority"
	"github.com/lvsd/lvsd/internal/statuspage"
)

// metricsCollector turns a status snapshot into Prometheus metrics at scrape
// time, so no part of lvsd keeps metric state of its own. It exports the
// families of few series (VRRP, its sockets, IPVS totals, connection sync,
// BGP, alerts); the table's families, a series per virtual service, per
// real server and per real server's health, are written as text by
// writeTableMetrics (metrics_table.go).
type metricsCollector struct {
	report func() director.Report
	// yield, when set, waits while a VRRP transition's hook runs
	// (director.YieldToTransitions): Collect calls it every
	// metricsPerYield metrics.
	yield func()

	vrrpState, vrrpPriority, vrrpSent, vrrpReceived, vrrpDrops       *prometheus.Desc
	vrrpTransitions, vrrpTransitionsTotal, vrrpSocketDrops, vrrpInfo *prometheus.Desc
	ipvsOps, ipvsErrors, ipvsReconcile, ipvsLastReconcile            *prometheus.Desc
	syncDaemon, syncConns, syncSynced                                *prometheus.Desc
}

func newMetricsCollector(report func() director.Report) *metricsCollector {
	inst := []string{"instance", "interface", "vrid"}
	return &metricsCollector{
		report:               report,
		vrrpState:            prometheus.NewDesc("lvsd_vrrp_state", "VRRP state of an instance: 1 for the current state.", append(inst, "state"), nil),
		vrrpPriority:         prometheus.NewDesc("lvsd_vrrp_priority", "Effective VRRP priority.", inst, nil),
		vrrpInfo:             prometheus.NewDesc("lvsd_vrrp_instance_info", "1 for every VRRP instance, with its version (2 or 3) and address family (inet, inet6).", append(inst, "version", "family"), nil),
		vrrpSent:             prometheus.NewDesc("lvsd_vrrp_adverts_sent_total", "VRRP advertisements sent.", inst, nil),
		vrrpReceived:         prometheus.NewDesc("lvsd_vrrp_adverts_received_total", "VRRP advertisements accepted.", inst, nil),
		vrrpDrops:            prometheus.NewDesc("lvsd_vrrp_drops_total", "VRRP packets dropped, by reason.", append(inst, "reason"), nil),
		vrrpSocketDrops:      prometheus.NewDesc("lvsd_vrrp_socket_drops_total", "VRRP packets an advert socket dropped before any instance saw them (unknown VRID, bad packet), by reason.", []string{"interface", "reason"}, nil),
		vrrpTransitions:      prometheus.NewDesc("lvsd_vrrp_state_since_seconds", "Unix time of the instance's last transition.", inst, nil),
		vrrpTransitionsTotal: prometheus.NewDesc("lvsd_vrrp_transitions_total", "VRRP state changes of an instance.", inst, nil),
		syncDaemon:           prometheus.NewDesc("lvsd_ipvs_sync_daemon", "1 for each IPVS connection sync daemon running in the kernel.", []string{"state", "interface", "sync_id"}, nil),
		syncConns:            prometheus.NewDesc("lvsd_ipvs_connection_entries", "Entries of the kernel's IPVS connection table (ipvsadm -Lnc).", nil, nil),
		syncSynced:           prometheus.NewDesc("lvsd_ipvs_synced_connection_entries", "Entries of the IPVS connection table received from the other director's sync daemon.", nil, nil),
		ipvsOps:              prometheus.NewDesc("lvsd_ipvs_operations_total", "IPVS operations applied to the kernel, by kind.", []string{"op"}, nil),
		ipvsErrors:           prometheus.NewDesc("lvsd_ipvs_errors_total", "IPVS writes refused and table reads failed.", nil, nil),
		ipvsReconcile:        prometheus.NewDesc("lvsd_ipvs_reconcile_duration_seconds", "Duration of reconcile passes (start, reload, mastership, health events, periodic repair).", nil, nil),
		ipvsLastReconcile:    prometheus.NewDesc("lvsd_ipvs_last_reconcile_duration_seconds", "Duration of the newest reconcile pass.", nil, nil),
	}
}

// Describe describes nothing: the collector is made unchecked, so that
// registering it (once per scrape, with that scrape's report) does not
// collect.
func (c *metricsCollector) Describe(chan<- *prometheus.Desc) {}

// metricsPerYield is how many metrics Collect sends between two yields to
// a transition's hook: a few milliseconds of work under the test VM's
// emulation.
const metricsPerYield = 512

func (c *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.report()
	collectBGP(ch, r.BGP)       // metrics_bgp.go
	collectAlerts(ch, r.Alerts) // metrics_alerts.go
	sent := 0
	send := func(m prometheus.Metric) {
		ch <- m
		if sent++; sent%metricsPerYield == 0 && c.yield != nil {
			c.yield()
		}
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		send(prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...))
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		send(prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...))
	}
	for _, in := range r.Instances {
		l := []string{in.Name, in.Interface, itoa(in.VRID)}
		for _, st := range []string{"INIT", "BACKUP", "MASTER", "FAULT"} {
			v := 0.0
			if in.State == st {
				v = 1
			}
			gauge(c.vrrpState, v, append(l, st)...)
		}
		gauge(c.vrrpPriority, float64(in.Priority), l...)
		gauge(c.vrrpInfo, 1, append(l, itoa(in.VRRPVersion), in.Family)...)
		counter(c.vrrpSent, in.Sent, l...)
		counter(c.vrrpReceived, in.Received, l...)
		for reason, n := range in.Drops {
			counter(c.vrrpDrops, n, append(l, reason)...)
		}
		if !in.Since.IsZero() {
			gauge(c.vrrpTransitions, float64(in.Since.UnixNano())/1e9, l...)
		}
		counter(c.vrrpTransitionsTotal, in.Transitions, l...)
	}
	// A multicast and a unicast socket may share an interface: one series
	// per interface and reason.
	socketDrops := map[[2]string]uint64{}
	for _, so := range r.Sockets {
		for reason, n := range so.Drops {
			socketDrops[[2]string{so.Interface, reason}] += n
		}
	}
	for k, n := range socketDrops {
		counter(c.vrrpSocketDrops, n, k[0], k[1])
	}
	if r.IPVS != nil {
		for op, n := range r.IPVS.Operations {
			counter(c.ipvsOps, n, strings.ReplaceAll(op, " ", "_"))
		}
		counter(c.ipvsErrors, r.IPVS.Errors)
		send(prometheus.MustNewConstSummary(c.ipvsReconcile, r.IPVS.Reconciles, r.IPVS.ReconcileTotalS, nil))
		gauge(c.ipvsLastReconcile, r.IPVS.LastReconcileS)
	}
	if r.Sync != nil {
		for _, d := range r.Sync.Daemons {
			gauge(c.syncDaemon, 1, d.State, d.Interface, strconv.Itoa(d.SyncID))
		}
		if r.Sync.ReadError == "" {
			gauge(c.syncConns, float64(r.Sync.Connections))
			gauge(c.syncSynced, float64(r.Sync.Synced))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }

// metricsServer serves /metrics until Close.
type metricsServer struct {
	srv  *http.Server
	done chan struct{}
}

// yieldingWriter is a /metrics response whose every write (of the
// encoder, after compression) first waits while a VRRP transition's hook
// runs: the encoding of a big table's metrics takes seconds of a
// processor, which a takeover must not wait for.
type yieldingWriter struct {
	http.ResponseWriter
	yield func()
}

func (w yieldingWriter) Write(b []byte) (int, error) {
	w.yield()
	return w.ResponseWriter.Write(b)
}

// scrapeYieldBudget is how long one scrape's collection and answer wait
// for transitions' hooks in all (at most transitionYieldMax each time):
// while hooks keep running (many instances flapping), the waits at each
// step and each write of a big table's answer would otherwise add up past
// the scraper's timeout (Prometheus' default is 10 s). Once spent, the
// scrape goes on without waiting. director.Report's own waits (three
// at most) and lvs's status (statusYieldBudget) are bounded apart.
const scrapeYieldBudget = 2 * time.Second

// metricsHandler serves /metrics: static's metrics (the Go runtime's and
// the process's), then those of one report taken for the scrape, the
// table's as text (writeTableMetrics). The answer is the text format
// (the table's families are text, whatever the client would prefer),
// compressed with gzip at its fastest level when the client accepts it
// (Prometheus does). The collection and each write of the answer yield
// to transitions' hooks (yield), scrapeYieldBudget in all. promhttp's own
// gzip uses the default level: on a table of 34,000 real servers (12 MB
// of text) that was 373 ms of a processor per scrape on the host against
// 29 ms at the fastest level, for an answer of 554 KB against 728 KB.
func metricsHandler(static prometheus.Gatherer, report func() director.Report, yield func()) http.Handler {
	collector := newMetricsCollector(nil)
	var zippers, buffers sync.Pool // gzip writers and the table's text buffers, reused
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		budget := priority.NewBudget(scrapeYieldBudget)
		yieldOnce := func() { budget.Spend(yield) }
		body := &metricsBody{ResponseWriter: w, body: yieldingWriter{w, yieldOnce}}
		var zw *gzip.Writer
		if acceptsGzip(req.Header.Get("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Add("Vary", "Accept-Encoding")
			if z, ok := zippers.Get().(*gzip.Writer); ok {
				zw = z
				zw.Reset(body.body)
			} else {
				zw, _ = gzip.NewWriterLevel(body.body, gzip.BestSpeed) // a valid level: no error
			}
			body.body = zw
		}
		r := report()
		c := *collector
		c.report = func() director.Report { return r }
		c.yield = yieldOnce
		reg := prometheus.NewRegistry()
		reg.MustRegister(&c)
		// The text format, whatever the request's Accept (the table's
		// families follow as text).
		text := req.Clone(req.Context())
		text.Header.Del("Accept")
		promhttp.HandlerFor(prometheus.Gatherers{static, reg}, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(body, text)
		if body.status == 0 || body.status == http.StatusOK {
			buf, _ := buffers.Get().(*[]byte)
			if buf == nil {
				buf = new([]byte)
			}
			*buf = writeTableMetrics(body.body, &r, yieldOnce, (*buf)[:0])
			buffers.Put(buf)
		}
		if zw != nil {
			zw.Close()
			zippers.Put(zw)
		}
	})
}

// metricsBody is a /metrics response whose body goes through body (gzip,
// or the response itself) and which notes the status promhttp answered
// (an error's 500 is not followed by the table).
type metricsBody struct {
	http.ResponseWriter
	body   io.Writer
	status int
}

func (b *metricsBody) WriteHeader(code int) {
	b.status = code
	b.ResponseWriter.WriteHeader(code)
}

func (b *metricsBody) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// acceptsGzip reports whether an Accept-Encoding header value offers gzip
// (RFC 9110 §12.5.3), not refused with q=0.
func acceptsGzip(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		return !(q == "q=0" || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") == "")
	}
	return false
}

// serveMetrics serves /metrics on addr (metrics_listen), and with
// statusPage (status_page, which hcl allows on loopback only) the status
// page at "/". A scrape yields to VRRP transitions as it collects and as
// it writes (director.YieldToTransitions).
func serveMetrics(addr string, statusPage bool, d *director.Director, log *slog.Logger) (io.Closer, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(reg, d.Report, d.YieldToTransitions))
	if statusPage {
		mux.Handle("/", statuspage.New(d.Report))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server", "err", err)
		}
	}()
	log.Info("metrics", "listen", ln.Addr().String(), "status_page", statusPage)
	return s, nil
}

// Close stops the server and waits for its goroutine.
func (s *metricsServer) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}
