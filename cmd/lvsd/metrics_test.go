package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
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

// scrapeValues scrapes /metrics over report (as plain text) and returns
// each series' value by its name and labels ("name,label=value,..."); a
// summary gives its sample count as "name,...,count".
func scrapeValues(t *testing.T, report func() director.Report) map[string]float64 {
	t.Helper()
	values, _ := parseScrape(t, scrapeText(t, report))
	return values
}

// scrapeText is the plain-text answer of /metrics over report, with no
// other gatherer and no yield.
func scrapeText(t *testing.T, report func() director.Report) string {
	t.Helper()
	w := httptest.NewRecorder()
	metricsHandler(prometheus.NewRegistry(), report, func() {}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// parseScrape reads the text format: each series' value as scrapeValues
// keys it, and each family's type by name. A family declared twice, a
// series written twice or a line it cannot read fails the test.
func parseScrape(t *testing.T, text string) (values map[string]float64, kinds map[string]string) {
	t.Helper()
	values, kinds = map[string]float64{}, map[string]string{}
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if kind, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, kind, _ := strings.Cut(kind, " ")
			if kinds[name] != "" {
				t.Fatalf("line %d: family %s declared twice", n+1, name)
			}
			kinds[name] = kind
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			t.Fatalf("line %d: %q", n+1, line)
		}
		key, rest := line[:end], line[end:]
		if base, ok := strings.CutSuffix(key, "_count"); ok && kinds[base] == "summary" {
			key = base + ",count" // labels, if any, follow
		}
		var labels []string
		if rest[0] == '{' {
			rest = rest[1:]
			for rest != "" && rest[0] != '}' {
				name, after, ok := strings.Cut(rest, `="`)
				if !ok {
					t.Fatalf("line %d: %q", n+1, line)
				}
				var value strings.Builder
				i := 0
				for ; i < len(after) && after[i] != '"'; i++ {
					if after[i] == '\\' && i+1 < len(after) {
						i++
						value.WriteByte(map[byte]byte{'n': '\n', '\\': '\\', '"': '"'}[after[i]])
						continue
					}
					value.WriteByte(after[i])
				}
				if i == len(after) {
					t.Fatalf("line %d: %q", n+1, line)
				}
				labels = append(labels, name+"="+value.String())
				rest = strings.TrimPrefix(after[i+1:], ",")
			}
			if rest == "" {
				t.Fatalf("line %d: %q", n+1, line)
			}
			rest = rest[1:]
		}
		if strings.HasSuffix(key, ",count") {
			key = strings.TrimSuffix(key, ",count")
			labels = append(labels, "count")
		}
		for _, l := range labels {
			key += "," + l
		}
		v, err := strconv.ParseFloat(strings.TrimPrefix(rest, " "), 64)
		if err != nil {
			t.Fatalf("line %d: %q: %v", n+1, line, err)
		}
		if _, twice := values[key]; twice {
			t.Fatalf("line %d: series %s written twice", n+1, key)
		}
		values[key] = v
	}
	return values, kinds
}
