package director

import (
	"errors"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// closeCounter is a fake kernel that counts its Close calls.
type closeCounter struct {
	*lvstest.FakeKernel
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

const openingHCL = `
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
  real_server "10.0.0.2:80" {}
}
`

// `lvsd run` opens IPVS and reads its table while it reads the
// configuration (lvs.OpenAhead): New takes that kernel and that table for
// the first write, so it neither opens another nor reads the table again;
// when the Opening failed it opens as without one; and a configuration
// without virtual servers, or a director without checks, closes it.
func TestNewTakesTheIPVSTableOpenedWhileTheConfigurationWasRead(t *testing.T) {
	withServices := hcltest.Load(t, openingHCL)
	noServices := hcltest.Load(t, "global {\n  lvs_program = \"always\"\n}\n")
	for _, tc := range []struct {
		name          string
		cfg           *hcl.Config
		checks        bool
		openingFails  bool
		wantOpened    bool // OpenKernel called
		wantTaken     bool // the Opening's kernel programs the table
		wantClosedAhd int  // Close calls on the Opening's kernel by New
	}{
		{name: "taken", cfg: withServices, checks: true, wantTaken: true},
		{name: "failed: opened as before", cfg: withServices, checks: true, openingFails: true, wantOpened: true},
		{name: "no virtual server: closed", cfg: noServices, checks: true, wantClosedAhd: 1},
		{name: "no checks (keepalived -P): closed", cfg: withServices, wantClosedAhd: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ahead := &closeCounter{FakeKernel: lvstest.NewFakeKernel(nil)}
			opening := lvs.OpenAheadWith(func() (lvs.Kernel, error) {
				if tc.openingFails {
					return nil, errors.New("no IPVS yet")
				}
				return ahead, nil
			})
			other := lvstest.NewFakeKernel(nil)
			opened := false
			_, err := New(tc.cfg, Options{Checks: tc.checks, Opening: opening, OpenKernel: func() (lvs.Kernel, error) {
				opened = true
				return other, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if opened != tc.wantOpened {
				t.Errorf("OpenKernel called: %v, want %v", opened, tc.wantOpened)
			}
			if taken := len(ahead.Applied) > 0; taken != tc.wantTaken {
				t.Errorf("the Opening's kernel written: %v, want %v", taken, tc.wantTaken)
			}
			if tc.wantTaken && ahead.ReadsSoFar().Tables != 1 {
				t.Errorf("the Opening's kernel's table read %d times, want once (ahead, none for the first write)", ahead.ReadsSoFar().Tables)
			}
			if tc.wantOpened && len(other.Applied) == 0 {
				t.Error("the kernel OpenKernel opened was not written")
			}
			if ahead.closed != tc.wantClosedAhd {
				t.Errorf("the Opening's kernel closed %d times by New, want %d", ahead.closed, tc.wantClosedAhd)
			}
		})
	}
}

// Options.AfterFirstWrite sees the start's configuration once, when the
// first IPVS table is in the kernel (or, without virtual servers or
// checks, where it would have been), before the checkers are built from
// it; a reload does not call it.
func TestAfterFirstWriteRunsOnceTheFirstTableIsWritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hcl    string
		checks bool
		want   int // services in the kernel when it runs
	}{
		{"with virtual servers", openingHCL, true, 1},
		{"without virtual servers", "global {\n  lvs_program = \"always\"\n}\n", true, 0},
		{"without checks", openingHCL, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hcltest.Load(t, tc.hcl)
			kernel := lvstest.NewFakeKernel(nil)
			var calls []int
			d, err := New(cfg, Options{Checks: tc.checks,
				OpenKernel: func() (lvs.Kernel, error) { return kernel, nil },
				Load:       func(string) (*hcl.Config, hcl.Diagnostics) { return hcltest.Load(t, openingHCL), nil },
				AfterFirstWrite: func(got *hcl.Config) {
					if got != cfg {
						t.Error("called with another configuration than the start's")
					}
					held, _ := kernel.Table()
					calls = append(calls, len(held))
				}})
			if err != nil {
				t.Fatal(err)
			}
			if len(calls) != 1 || calls[0] != tc.want {
				t.Fatalf("called %d times, the kernel holding %v services, want once with %d", len(calls), calls, tc.want)
			}
			if d.checker == nil != !tc.checks {
				t.Fatalf("checkers built: %v, want %v", d.checker != nil, tc.checks)
			}
			d.Reload()
			if len(calls) != 1 {
				t.Fatalf("a reload called it again (%d calls)", len(calls))
			}
		})
	}
}
