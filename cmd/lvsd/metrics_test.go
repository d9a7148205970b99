package main

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// TestMetricsCarryIPVSOperationsAndReconcileDuration scrapes the collector
// of a director whose IPVS manager drives lvs's fake kernel: the operations
// it applied appear by kind, with the reconcile passes as a summary.
func TestMetricsCarryIPVSOperationsAndReconcileDuration(t *testing.T) {
	cfg, diags := (&hcl.Loader{}).LoadSource("m.hcl", []byte(`
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
  real_server "10.0.0.2:80" {}
}
`))
	if cfg == nil {
		t.Fatal(diags)
	}
	d, err := director.New(cfg, director.Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := scrapeValues(t, d.Report)
	for name, want := range map[string]float64{
		"lvsd_ipvs_operations_total,op=add_service":     1,
		"lvsd_ipvs_operations_total,op=add_destination": 2,
		"lvsd_ipvs_errors_total":                        0,
		"lvsd_ipvs_reconcile_duration_seconds,count":    1, // SetConfig in director.New
	} {
		if v, ok := got[name]; !ok || v != want {
			var names []string
			for n := range got {
				names = append(names, n)
			}
			t.Errorf("%s = %v (present %v), want %v; have:\n%s", name, v, ok, want, strings.Join(names, "\n"))
		}
	}
}

// scrapeValues scrapes the collector over report and returns each series'
// value by its name and labels ("name,label=value,..."); a summary gives its
// sample count as "name,...,count".
func scrapeValues(t *testing.T, report func() director.Report) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(newMetricsCollector(report))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				got[name] = m.GetCounter().GetValue()
			case m.GetSummary() != nil:
				got[name+",count"] = float64(m.GetSummary().GetSampleCount())
			case m.GetGauge() != nil:
				got[name] = m.GetGauge().GetValue()
			}
		}
	}
	return got
}
