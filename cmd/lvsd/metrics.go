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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/statuspage"
)

// metricsCollector turns a status snapshot into Prometheus metrics at scrape
// time, so no part of lvsd keeps metric state of its own.
type metricsCollector struct {
	report func() director.Report
	// yield, when set, waits while a VRRP transition's hook runs
	// (director.YieldToTransitions): Collect calls it every
	// metricsPerYield metrics.
	yield func()

	vrrpState, vrrpPriority, vrrpSent, vrrpReceived, vrrpDrops       *prometheus.Desc
	vrrpTransitions, vrrpTransitionsTotal, vrrpSocketDrops, vrrpInfo *prometheus.Desc
	realUp, realWeight, checkLatency, checkAttempts, checkFailures   *prometheus.Desc
	ipvsOps, ipvsErrors, ipvsReconcile, ipvsLastReconcile            *prometheus.Desc
	svcConns, svcPacketsIn, svcPacketsOut, svcBytesIn, svcBytesOut   *prometheus.Desc
	svcLiveWeight, svcSorry, svcProgrammed, destActive, destInactive *prometheus.Desc
	svcQuorumUp                                                      *prometheus.Desc
	syncDaemon, syncConns, syncSynced                                *prometheus.Desc
}

func newMetricsCollector(report func() director.Report) *metricsCollector {
	inst := []string{"instance", "interface", "vrid"}
	svc := []string{"service"}
	dst := []string{"service", "real"}
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
		checkAttempts:        prometheus.NewDesc("lvsd_check_attempts_total", "Check attempts against a real server (all its checkers).", dst, nil),
		checkFailures:        prometheus.NewDesc("lvsd_check_failures_total", "Failed check attempts, by reason.", append(dst, "reason"), nil),
		syncDaemon:           prometheus.NewDesc("lvsd_ipvs_sync_daemon", "1 for each IPVS connection sync daemon running in the kernel.", []string{"state", "interface", "sync_id"}, nil),
		syncConns:            prometheus.NewDesc("lvsd_ipvs_connection_entries", "Entries of the kernel's IPVS connection table (ipvsadm -Lnc).", nil, nil),
		syncSynced:           prometheus.NewDesc("lvsd_ipvs_synced_connection_entries", "Entries of the IPVS connection table received from the other director's sync daemon.", nil, nil),
		ipvsOps:              prometheus.NewDesc("lvsd_ipvs_operations_total", "IPVS operations applied to the kernel, by kind.", []string{"op"}, nil),
		ipvsErrors:           prometheus.NewDesc("lvsd_ipvs_errors_total", "IPVS writes refused and table reads failed.", nil, nil),
		ipvsReconcile:        prometheus.NewDesc("lvsd_ipvs_reconcile_duration_seconds", "Duration of reconcile passes (start, reload, mastership, health events, periodic repair).", nil, nil),
		ipvsLastReconcile:    prometheus.NewDesc("lvsd_ipvs_last_reconcile_duration_seconds", "Duration of the newest reconcile pass.", nil, nil),
		realUp:               prometheus.NewDesc("lvsd_real_server_up", "Health verdict of a real server (1 up, 0 down).", dst, nil),
		realWeight:           prometheus.NewDesc("lvsd_real_server_weight", "Weight of a real server in the kernel.", dst, nil),
		checkLatency:         prometheus.NewDesc("lvsd_check_latency_seconds", "Duration of the last check attempt.", dst, nil),
		svcConns:             prometheus.NewDesc("lvsd_ipvs_connections_total", "Connections scheduled by a virtual service (kernel counter).", svc, nil),
		svcPacketsIn:         prometheus.NewDesc("lvsd_ipvs_packets_in_total", "Incoming packets of a virtual service.", svc, nil),
		svcPacketsOut:        prometheus.NewDesc("lvsd_ipvs_packets_out_total", "Outgoing packets of a virtual service.", svc, nil),
		svcBytesIn:           prometheus.NewDesc("lvsd_ipvs_bytes_in_total", "Incoming bytes of a virtual service.", svc, nil),
		svcBytesOut:          prometheus.NewDesc("lvsd_ipvs_bytes_out_total", "Outgoing bytes of a virtual service.", svc, nil),
		svcLiveWeight:        prometheus.NewDesc("lvsd_ipvs_live_weight", "Sum of the weights of healthy real servers (compared with quorum).", svc, nil),
		svcQuorumUp:          prometheus.NewDesc("lvsd_ipvs_quorum_up", "1 while the healthy real servers' weights reach quorum (keepalived's quorum_up/quorum_down).", svc, nil),
		svcSorry:             prometheus.NewDesc("lvsd_ipvs_sorry_server_active", "1 while the sorry server replaces the real servers.", svc, nil),
		svcProgrammed:        prometheus.NewDesc("lvsd_ipvs_service_programmed", "1 while the virtual service is in the kernel table.", svc, nil),
		destActive:           prometheus.NewDesc("lvsd_ipvs_active_connections", "Active connections of a real server.", dst, nil),
		destInactive:         prometheus.NewDesc("lvsd_ipvs_inactive_connections", "Inactive connections of a real server.", dst, nil),
	}
}

func (c *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

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
	for _, h := range r.Health {
		gauge(c.realUp, b2f(h.Up), h.Service, h.Real)
		gauge(c.checkLatency, h.LatencyMS/1000, h.Service, h.Real)
		counter(c.checkAttempts, h.Attempts, h.Service, h.Real)
		for reason, n := range h.Failures {
			counter(c.checkFailures, n, h.Service, h.Real, reason)
		}
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
	for _, s := range r.Services {
		if s.State == "foreign" {
			continue
		}
		counter(c.svcConns, s.Stats.Conns, s.Key)
		counter(c.svcPacketsIn, s.Stats.PacketsIn, s.Key)
		counter(c.svcPacketsOut, s.Stats.PacketsOut, s.Key)
		counter(c.svcBytesIn, s.Stats.BytesIn, s.Key)
		counter(c.svcBytesOut, s.Stats.BytesOut, s.Key)
		gauge(c.svcLiveWeight, float64(s.LiveWeight), s.Key)
		gauge(c.svcSorry, b2f(s.SorryActive), s.Key)
		gauge(c.svcQuorumUp, b2f(s.QuorumUp), s.Key)
		gauge(c.svcProgrammed, b2f(s.InKernel), s.Key)
		for _, dst := range s.Destinations {
			if !dst.InKernel {
				continue
			}
			gauge(c.realWeight, float64(dst.Weight), s.Key, dst.Addr.String())
			gauge(c.destActive, float64(dst.ActiveConns), s.Key, dst.Addr.String())
			gauge(c.destInactive, float64(dst.InactiveConns), s.Key, dst.Addr.String())
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

// metricsHandler serves reg's metrics, compressed with gzip at its
// fastest level when the client accepts it (Prometheus does), each write
// of the answer after yield. promhttp's own gzip uses the default level:
// on a table of 34,000 real servers (12 MB of text) that was 373 ms of a
// processor per scrape on the host against 29 ms at the fastest level, for
// an answer of 554 KB against 728 KB.
func metricsHandler(reg prometheus.Gatherer, yield func()) http.Handler {
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{DisableCompression: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := yieldingWriter{w, yield}
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			metrics.ServeHTTP(out, r)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed) // a valid level: no error
		metrics.ServeHTTP(gzipResponse{w, zw}, r)
		zw.Close()
	})
}

// gzipResponse is a response whose body goes through a gzip writer.
type gzipResponse struct {
	http.ResponseWriter
	zw *gzip.Writer
}

func (g gzipResponse) Write(b []byte) (int, error) { return g.zw.Write(b) }

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
	collector := newMetricsCollector(d.Report)
	collector.yield = d.YieldToTransitions
	reg.MustRegister(collector, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", metricsHandler(reg, d.YieldToTransitions))
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
