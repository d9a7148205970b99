package main

import (
	"io"
	"net/netip"
	"strconv"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
)

// The table's metric families: a series per virtual service, per real
// server of each in the kernel, and per checked real server. On the load
// benchmark's table (2,000 services x 16 real servers) they are some
// 120,000 series, 12 MB of text a scrape; as Prometheus metrics (a
// protobuf message of a few allocations per series, all gathered and
// sorted before the first byte is written) they cost a scrape 82 MB in 1.7
// million allocations, and kept a director scraped back to back at 79–186
// MB of RSS in the test VM (docs/benchmarks.md). So they are written
// here as text (the exposition format, version 0.0.4), family by family,
// straight from the report into the answer through one reused buffer.

// tableFamily is one of the table's metric families.
type tableFamily struct {
	name, help, kind string
}

// The families, in the order written.
const (
	familyRealUp        = "lvsd_real_server_up"
	familyCheckLatency  = "lvsd_check_latency_seconds"
	familyCheckAttempts = "lvsd_check_attempts_total"
	familyCheckFailures = "lvsd_check_failures_total"
)

// tableFlushAt is how much text the buffer holds before it goes to the
// answer, after a yield to transitions' hooks: some 500 series, a few
// milliseconds of work under the test VM's emulation.
const tableFlushAt = 32 << 10

// tableText writes the table's families into a buffer that it hands to w
// each tableFlushAt bytes, after a yield.
type tableText struct {
	w     io.Writer
	yield func()
	buf   []byte
	err   error        // the first write error; nothing is written after it
	head  *tableFamily // the family whose HELP and TYPE are still to come
	name  string       // the current family's
}

// family starts f: its HELP and TYPE lines come before its first series,
// and not at all without one (as Prometheus' registry does).
func (t *tableText) family(f *tableFamily) { t.head = f }

// series writes one series of the current family with labels in
// name-value pairs, names in lexical order.
func (t *tableText) series(v float64, labels ...string) {
	t.start()
	for i := 0; i+1 < len(labels); i += 2 {
		t.label(i == 0, labels[i], labels[i+1])
	}
	if len(labels) > 0 {
		t.buf = append(t.buf, '}')
	}
	t.end(v)
}

// realSeries writes one series of the current family labelled with a
// real server's address and its service's key.
func (t *tableText) realSeries(v float64, real netip.AddrPort, service string) {
	t.start()
	if real.Addr().Zone() != "" { // no zone in IPVS; escaped if ever
		t.label(true, "real", real.String())
	} else {
		t.buf = append(t.buf, `{real="`...)
		t.buf = real.AppendTo(t.buf)
		t.buf = append(t.buf, '"')
	}
	t.label(false, "service", service)
	t.buf = append(t.buf, '}')
	t.end(v)
}

// label writes one label of a series, the first one with the brace.
func (t *tableText) label(first bool, name, value string) {
	if first {
		t.buf = append(t.buf, '{')
	} else {
		t.buf = append(t.buf, ',')
	}
	t.buf = append(t.buf, name...)
	t.buf = append(t.buf, `="`...)
	t.buf = appendEscaped(t.buf, value, true)
	t.buf = append(t.buf, '"')
}

// start begins a series: the family's HELP and TYPE before its first.
func (t *tableText) start() {
	if f := t.head; f != nil {
		t.head = nil
		t.buf = append(t.buf, "# HELP "...)
		t.buf = append(t.buf, f.name...)
		t.buf = append(t.buf, ' ')
		t.buf = appendEscaped(t.buf, f.help, false)
		t.buf = append(t.buf, "\n# TYPE "...)
		t.buf = append(t.buf, f.name...)
		t.buf = append(t.buf, ' ')
		t.buf = append(t.buf, f.kind...)
		t.buf = append(t.buf, '\n')
		t.name = f.name
	}
	t.buf = append(t.buf, t.name...)
}

// end ends a series with its value, and hands the buffer to the answer
// once it holds tableFlushAt.
func (t *tableText) end(v float64) {
	t.buf = append(t.buf, ' ')
	// As the exposition format's encoder writes a float.
	t.buf = strconv.AppendFloat(t.buf, v, 'g', -1, 64)
	t.buf = append(t.buf, '\n')
	if len(t.buf) >= tableFlushAt {
		t.flush()
	}
}

// flush hands the buffer to the answer, after a yield.
func (t *tableText) flush() {
	if len(t.buf) == 0 || t.err != nil {
		t.buf = t.buf[:0]
		return
	}
	t.yield()
	_, t.err = t.w.Write(t.buf)
	t.buf = t.buf[:0]
}

// appendEscaped appends s as the text format escapes a HELP text
// (backslash, line feed) or a label value (and the double quote).
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// writeTableMetrics writes the table's families of r to w, family by
// family, through buf (reused: returned for the next scrape), yielding
// before each write.
func writeTableMetrics(w io.Writer, r *director.Report, yield func(), buf []byte) []byte {
	t := &tableText{w: w, yield: yield, buf: buf}
	health := func(f tableFamily, each func(h *director.HealthReport)) {
		t.family(&f)
		for i := range r.Health {
			each(&r.Health[i])
		}
	}
	health(tableFamily{familyRealUp, "Health verdict of a real server (1 up, 0 down).", "gauge"}, func(h *director.HealthReport) {
		t.series(b2f(h.Up), "real", h.Real, "service", h.Service)
	})
	health(tableFamily{familyCheckLatency, "Duration of the last check attempt.", "gauge"}, func(h *director.HealthReport) {
		t.series(h.LatencyMS/1000, "real", h.Real, "service", h.Service)
	})
	health(tableFamily{familyCheckAttempts, "Check attempts against a real server (all its checkers).", "counter"}, func(h *director.HealthReport) {
		t.series(float64(h.Attempts), "real", h.Real, "service", h.Service)
	})
	health(tableFamily{familyCheckFailures, "Failed check attempts, by reason.", "counter"}, func(h *director.HealthReport) {
		for reason, n := range h.Failures {
			t.series(float64(n), "real", h.Real, "reason", reason, "service", h.Service)
		}
	})
	service := func(f tableFamily, value func(s *lvs.ServiceStatus) float64) {
		t.family(&f)
		for i := range r.Services {
			if s := &r.Services[i]; s.State != lvs.StateForeign {
				t.series(value(s), "service", s.Key)
			}
		}
	}
	service(tableFamily{"lvsd_ipvs_connections_total", "Connections scheduled by a virtual service (kernel counter).", "counter"},
		func(s *lvs.ServiceStatus) float64 { return float64(s.Stats.Conns) })
	service(tableFamily{"lvsd_ipvs_packets_in_total", "Incoming packets of a virtual service.", "counter"},
		func(s *lvs.ServiceStatus) float64 { return float64(s.Stats.PacketsIn) })
	service(tableFamily{"lvsd_ipvs_packets_out_total", "Outgoing packets of a virtual service.", "counter"},
		func(s *lvs.ServiceStatus) float64 { return float64(s.Stats.PacketsOut) })
	service(tableFamily{"lvsd_ipvs_bytes_in_total", "Incoming bytes of a virtual service.", "counter"},
		func(s *lvs.ServiceStatus) float64 { return float64(s.Stats.BytesIn) })
	service(tableFamily{"lvsd_ipvs_bytes_out_total", "Outgoing bytes of a virtual service.", "counter"},
		func(s *lvs.ServiceStatus) float64 { return float64(s.Stats.BytesOut) })
	service(tableFamily{"lvsd_ipvs_live_weight", "Sum of the weights of healthy real servers (compared with quorum).", "gauge"},
		func(s *lvs.ServiceStatus) float64 { return float64(s.LiveWeight) })
	service(tableFamily{"lvsd_ipvs_sorry_server_active", "1 while the sorry server replaces the real servers.", "gauge"},
		func(s *lvs.ServiceStatus) float64 { return b2f(s.SorryActive) })
	service(tableFamily{"lvsd_ipvs_quorum_up", "1 while the healthy real servers' weights reach quorum (keepalived's quorum_up/quorum_down).", "gauge"},
		func(s *lvs.ServiceStatus) float64 { return b2f(s.QuorumUp) })
	service(tableFamily{"lvsd_ipvs_service_programmed", "1 while the virtual service is in the kernel table.", "gauge"},
		func(s *lvs.ServiceStatus) float64 { return b2f(s.InKernel) })
	destination := func(f tableFamily, value func(d *lvs.DestinationStatus) float64) {
		t.family(&f)
		for i := range r.Services {
			s := &r.Services[i]
			if s.State == lvs.StateForeign {
				continue
			}
			for j := range s.Destinations {
				if d := &s.Destinations[j]; d.InKernel {
					t.realSeries(value(d), d.Addr, s.Key)
				}
			}
		}
	}
	destination(tableFamily{"lvsd_real_server_weight", "Weight of a real server in the kernel.", "gauge"},
		func(d *lvs.DestinationStatus) float64 { return float64(d.Weight) })
	destination(tableFamily{"lvsd_ipvs_active_connections", "Active connections of a real server.", "gauge"},
		func(d *lvs.DestinationStatus) float64 { return float64(d.ActiveConns) })
	destination(tableFamily{"lvsd_ipvs_inactive_connections", "Inactive connections of a real server.", "gauge"},
		func(d *lvs.DestinationStatus) float64 { return float64(d.InactiveConns) })
	t.flush()
	return t.buf
}
