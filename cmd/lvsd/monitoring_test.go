package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/internal/director"
)

// fullReport has every part a scrape can show: a VRRP instance with drops,
// a socket's drops, a checked real server with failures, IPVS totals, a
// virtual service with a destination in the kernel, and connection sync.
const fullReport = `{"vrrp_instances":[{"name":"VI_1","interface":"eth0","virtual_router_id":51,"state":"MASTER","priority":150,"since":"2026-01-01T00:00:00Z","transitions":2,"drops":{"auth mismatch":1}}],
"vrrp_sockets":[{"interface":"eth0","multicast":true,"drops":{"unknown vrid":3}}],
"real_servers":[{"service":"TCP:192.0.2.10:80","real":"10.0.0.1:80","up":true,"latency_ms":1,"attempts":5,"failures":{"connect":1}}],
"ipvs":{"operations":{"add service":1},"errors":0,"reconciles":1,"reconcile_seconds_total":0.001,"last_reconcile_seconds":0.001},
"ipvs_sync":{"daemons":[{"state":"master","interface":"eth0","sync_id":51}],"connections":10,"synced_connections":4},
"virtual_servers":[{"Key":"TCP:192.0.2.10:80","State":"programmed","InKernel":true,"QuorumUp":true,"LiveWeight":1,"Quorum":1,
  "Destinations":[{"Addr":"10.0.0.1:80","Up":true,"InKernel":true,"Weight":1,"ConfiguredWeight":1}]}]}`

// exportedMetrics scrapes the collector over fullReport and returns every
// metric name in the scrape, with the _sum and _count series of summaries.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	var r director.Report
	if err := json.Unmarshal([]byte(fullReport), &r); err != nil {
		t.Fatal(err)
	}
	_, kinds := parseScrape(t, scrapeText(t, func() director.Report { return r }))
	names := map[string]bool{}
	for name, kind := range kinds {
		names[name] = true
		if kind == "summary" {
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	for _, want := range []string{"lvsd_vrrp_drops_total", "lvsd_vrrp_socket_drops_total", "lvsd_check_failures_total",
		"lvsd_ipvs_reconcile_duration_seconds_sum", "lvsd_ipvs_quorum_up", "lvsd_ipvs_sync_daemon", "lvsd_real_server_weight"} {
		if !names[want] {
			t.Fatalf("the scrape of fullReport lacks %s: %v", want, names)
		}
	}
	return names
}

// exprs collects every "expr" string in a decoded JSON or YAML document.
func exprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			exprs(e, out)
		}
	case []any:
		for _, e := range x {
			exprs(e, out)
		}
	}
}

// TestMonitoringExamplesUseOnlyExportedMetrics: the Grafana dashboard and
// the Prometheus alert rules in examples/monitoring name only metrics lvsd
// exports, so a renamed metric cannot leave them silently empty.
func TestMonitoringExamplesUseOnlyExportedMetrics(t *testing.T) {
	names := exportedMetrics(t)
	metric := regexp.MustCompile(`\blvsd_[a-z0-9_]+`)
	check := func(file string, doc any, wantExprs int) []string {
		var all []string
		exprs(doc, &all)
		if len(all) < wantExprs {
			t.Errorf("%s: found %d expressions, want at least %d", file, len(all), wantExprs)
		}
		used := map[string]bool{}
		for _, e := range all {
			for _, name := range metric.FindAllString(e, -1) {
				used[name] = true
				if !names[name] {
					t.Errorf("%s: %q uses %s, which lvsd does not export", file, e, name)
				}
			}
		}
		var list []string
		for n := range used {
			list = append(list, n)
		}
		sort.Strings(list)
		t.Logf("%s uses %d metrics: %s", file, len(list), strings.Join(list, " "))
		return all
	}

	raw, err := os.ReadFile("../../examples/monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard any
	if err := json.Unmarshal(raw, &dashboard); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	dashboardExprs := check("grafana-dashboard.json", dashboard, 20)

	rules := "../../examples/monitoring/lvsd-alerts.yml"
	out, err := exec.Command("python3", "-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)", rules).Output()
	if err != nil {
		t.Skipf("python3 with yaml (Debian python3-yaml) reads the rules: %v", err)
	}
	var alerts any
	if err := json.Unmarshal(out, &alerts); err != nil {
		t.Fatal(err)
	}
	check("lvsd-alerts.yml", alerts, 6)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool (Debian prometheus) is not installed: the PromQL is not parsed")
	}
	if b, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", rules, err, b)
	}
	// The dashboard's queries parse as PromQL too: promtool checks them
	// as recording rules.
	var rec strings.Builder
	rec.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dashboardExprs {
		q, _ := json.Marshal(e) // a JSON string is a YAML string
		fmt.Fprintf(&rec, "      - record: dashboard:query%d\n        expr: %s\n", i, q)
	}
	recFile := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(recFile, []byte(rec.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(promtool, "check", "rules", recFile).CombinedOutput(); err != nil {
		t.Errorf("the dashboard's queries do not parse: %v\n%s", err, b)
	}
}
