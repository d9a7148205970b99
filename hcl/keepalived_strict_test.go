package hcl

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestKeepalivedStrictModeAsKeepalived: vrrp_strict and strict_mode reset
// what keepalived 2.2.7's vrrp_complete_instance() resets, each with its
// configuration error (counted, so -t exits 5), and leave a loose
// instance alone.
func TestKeepalivedStrictModeAsKeepalived(t *testing.T) {
	strict := "global_defs {\n vrrp_strict\n}\n"
	tests := []struct {
		name     string
		src      string
		warnings []string // Lenient summaries, in order
		check    func(*Config) error
	}{
		{"the address owner written BACKUP starts MASTER", strict + kaInstance(" state BACKUP\n priority 255\n"),
			[]string{"(VI_1) State MASTER must match being address owner"}, func(c *Config) error {
				if s := c.Instances[0].State; s != StateMaster {
					return fmt.Errorf("state %s, want MASTER", s)
				}
				return nil
			}},
		{"preempt_delay and down_timer_adverts are reset", strict + kaInstance(" preempt_delay 5\n down_timer_adverts 5\n"),
			[]string{"(VI_1) preempt_delay is incompatible with strict mode - resetting", "(VI_1) down_timer_adverts is incompatible with strict mode - resetting"},
			func(c *Config) error {
				if in := c.Instances[0]; in.PreemptDelay != 0 || in.DownTimerAdverts != 3 {
					return fmt.Errorf("preempt_delay %v, down_timer_adverts %d; want 0, 3", in.PreemptDelay, in.DownTimerAdverts)
				}
				return nil
			}},
		{"the global vrrp_down_timer_adverts is reset too", "global_defs {\n vrrp_strict\n vrrp_down_timer_adverts 7\n}\n" + kaInstance(""),
			[]string{"(VI_1) down_timer_adverts is incompatible with strict mode - resetting"}, func(c *Config) error {
				if n := c.Instances[0].DownTimerAdverts; n != 3 {
					return fmt.Errorf("down_timer_adverts %d, want 3", n)
				}
				return nil
			}},
		{"lower- and higher-priority settings are reset", strict + kaInstance(" garp_lower_prio_repeat 2\n garp_lower_prio_delay 1\n lower_prio_no_advert false\n higher_prio_send_advert\n"),
			[]string{"(VI_1) Strict mode requires no repeat garps. resetting", "(VI_1) Strict mode requires no repeat garp delay. resetting",
				"(VI_1) Strict mode requires no lower priority advert. resetting", "(VI_1) strict mode requires higher_prio_send_advert to be clear. resetting"}, nil},
		{"strict values of those settings are no error", strict + kaInstance(" garp_lower_prio_repeat 0\n lower_prio_no_advert\n higher_prio_send_advert off\n"), nil, nil},
		{"a use_vmac MAC is cleared and vmac_xmit_base reset", kaInstance(" strict_mode\n use_vmac vrrp.51 02:11:22:33:44:55\n vmac_xmit_base\n"),
			[]string{"(VI_1): cannot specify MAC address with strict mode - clearing", "(VI_1) xmit_base is incompatible with strict mode - resetting"},
			func(c *Config) error {
				m := c.Instances[0].Net.VMAC
				if m == nil || m.MAC.String() != "00:00:5e:00:01:33" || m.XmitBase || m.Name != "vrrp.51" {
					return fmt.Errorf("VMAC %+v, want vrrp.51 with RFC 3768's MAC for VRID 51, adverts on it", m)
				}
				return nil
			}},
		{"a multicast IPv6 instance's first address must be link-local", strict +
			"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  fd00::1/64\n  fe80::1/64\n }\n}\n",
			[]string{"(VI_1) the first IPv6 VIP address must be link local"}, nil},
		{"strict_mode off in a vrrp_strict file keeps the instance loose", strict + kaInstance(" strict_mode off\n state MASTER\n priority 150\n preempt_delay 5\n"), nil,
			func(c *Config) error {
				if in := c.Instances[0]; in.State != StateMaster || in.PreemptDelay != 5*time.Second || in.Net.NoAccept {
					return fmt.Errorf("state %s, preempt_delay %v, no_accept %v; want MASTER, 5s, false", in.State, in.PreemptDelay, in.Net.NoAccept)
				}
				return nil
			}},
		{"unicast peers run, as keepalived 2.2.7's strict check never fires", strict + kaInstance(" unicast_peer {\n  192.0.2.9\n }\n"), nil,
			func(c *Config) error {
				if p := c.Instances[0].UnicastPeers; len(p) != 1 {
					return fmt.Errorf("unicast peers %v", p)
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := kaLoadText(t, tt.src, false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags.Errors())
			}
			var got []string
			for _, d := range diags {
				if d.Lenient {
					got = append(got, d.Summary)
				}
			}
			if !slices.Equal(got, tt.warnings) {
				t.Errorf("counted warnings\n got %q\nwant %q", got, tt.warnings)
			}
			if tt.check != nil {
				if err := tt.check(cfg); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestKeepalivedStrictRefusesAnInstanceWithoutVIP: keepalived 2.2.7's VRRP
// process stops on a strict instance without virtual_ipaddress; lvsd
// refuses the file, where without strict mode it runs it.
func TestKeepalivedStrictRefusesAnInstanceWithoutVIP(t *testing.T) {
	body := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n}\n"
	if cfg, diags := kaLoadText(t, body, false); cfg == nil {
		t.Fatalf("without strict mode: refused: %v", diags.Errors())
	}
	cfg, diags := kaLoadText(t, "global_defs {\n vrrp_strict\n}\n"+body, false)
	if cfg != nil || !slices.ContainsFunc(diags.Errors(), func(d Diagnostic) bool {
		return strings.Contains(d.Summary, "No VIP specified; at least one is required")
	}) {
		t.Errorf("strict: loaded %v, errors %v", cfg != nil, diags.Errors())
	}
}
