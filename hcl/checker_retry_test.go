package hcl

import (
	"math"
	"strings"
	"testing"
)

// A checker's retry and rise are 32 bits in the model, as keepalived
// reads retry (an int): an lvsd.hcl's value above math.MaxInt32, which
// HCL's integer reads (up to 1<<31), is refused with the setting's own
// diagnostic, not cut down to math.MaxInt32; math.MaxInt32 itself loads.
func TestAnHCLRetryOrRiseAboveInt32IsRefused(t *testing.T) {
	conf := func(retry, rise string) string {
		return `
global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  retry = ` + retry + `
  real_server "10.0.0.1:80" {
    TCP_CHECK { rise = ` + rise + ` }
    TCP_CHECK { nb_get_retry = ` + retry + ` }
  }
}`
	}
	l := kaTestLoader()
	cfg, diags := l.LoadSource("edge.hcl", []byte(conf("2147483647", "2147483647")))
	if diags.HasErrors() {
		t.Fatalf("2147483647 refused: %v", diags)
	}
	for i, c := range cfg.VirtualServers[0].RealServers[0].Checkers {
		if c.Retry != math.MaxInt32 || (i == 0 && c.Rise != math.MaxInt32) {
			t.Errorf("checker %d: retry %d rise %d, want 2147483647", i, c.Retry, c.Rise)
		}
	}
	_, diags = l.LoadSource("edge.hcl", []byte(conf("2147483648", "2147483648")))
	var got []string
	for _, d := range diags.Errors() {
		got = append(got, d.String())
	}
	want := []string{
		"edge.hcl:4:11: error: invalid retry; retry must be at most 2147483647, got 2147483648",
		"edge.hcl:6:24: error: invalid rise; rise must be at most 2147483647, got 2147483648",
		"edge.hcl:7:32: error: invalid nb_get_retry; nb_get_retry must be at most 2147483647, got 2147483648",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
