package hcl_test

import (
	"testing"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestStatusPageListensOnLoopbackOnly: the status page is off by default;
// on, it shares metrics_listen, which defaults to 127.0.0.1:9650 and must be
// a loopback address, since the page has no authentication.
func TestStatusPageListensOnLoopbackOnly(t *testing.T) {
	for _, tt := range []struct {
		name, global string
		page         bool
		listen       string
	}{
		{"off by default", ``, false, ""},
		{"metrics alone may listen anywhere", `metrics_listen = "0.0.0.0:9650"`, false, "0.0.0.0:9650"},
		{"on without metrics_listen listens on loopback", `status_page = true`, true, "127.0.0.1:9650"},
		{"on with an IPv6 loopback", "status_page = true\nmetrics_listen = \"[::1]:9100\"", true, "[::1]:9100"},
		{"on with localhost", "status_page = true\nmetrics_listen = \"localhost:9100\"", true, "localhost:9100"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := hcltest.Load(t, "global {\n"+tt.global+"\n}\n")
			if cfg.Global.StatusPage != tt.page || cfg.Global.MetricsListen != tt.listen {
				t.Errorf("status_page %v, metrics_listen %q; want %v, %q", cfg.Global.StatusPage, cfg.Global.MetricsListen, tt.page, tt.listen)
			}
		})
	}
	testRefusals(t, []refusal{
		{"on a routable address", "global {\n  status_page = true\n  metrics_listen = \"0.0.0.0:9650\"\n}\n",
			"t.hcl:3:20: error: status page on a non-loopback address"},
		{"on a host name", "global {\n  status_page = true\n  metrics_listen = \"lb1:9650\"\n}\n",
			"must be a loopback address"},
	})
}
