package hcl

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestInterfaceDelaysReadAsKeepalivedReadsThem: interface_up_down_delays
// entries `IF DOWN [UP]` with keepalived 2.2.7's rules (what it only logs
// is a plain warning, -t 0), capped below the Master_Down_Interval of the
// instances on the interface; HCL spells them as a global list; lvsd
// convert writes the same model back.
func TestInterfaceDelaysReadAsKeepalivedReadsThem(t *testing.T) {
	tests := []struct {
		name, entries string
		want          []InterfaceDelay
		warning       string
	}{
		{"down and up", "eth1 2 0.5", []InterfaceDelay{{"eth1", 2 * time.Second, 500 * time.Millisecond}}, ""},
		{"down only", "eth1 1.25", []InterfaceDelay{{"eth1", 1250 * time.Millisecond, 0}}, ""},
		{"no timeouts", "eth1", nil, "No timeouts specified for eth1 up/down delays"},
		{"invalid down delay", "eth1 x 1", nil, "Invalid down delay x for eth1"},
		{"above 255", "eth1 1 256", nil, "Invalid up delay 256 for eth1"},
		{"too many parameters", "eth1 1 1 9", []InterfaceDelay{{"eth1", time.Second, time.Second}}, "Too many parameters for eth1 up/down delays"},
		{"capped below the instance's Master_Down_Interval", "eth0 5 0",
			[]InterfaceDelay{{"eth0", 2*time.Second - time.Second/256, 0}}, "eth0: up/down delay reduced to 1.99609375s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := kaLoadText(t, "interface_up_down_delays {\n "+tt.entries+"\n}\n"+kaInstance(""), false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if got := cfg.Global.InterfaceDelays; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("delays %+v, want %+v", got, tt.want)
			}
			if len(diags.Lenient()) != 0 {
				t.Errorf("keepalived counts none of these as a configuration error: %v", diags)
			}
			if tt.warning != "" && !slices.ContainsFunc(diags.Warnings(), func(d Diagnostic) bool { return d.Summary == tt.warning }) ||
				tt.warning == "" && len(diags) != 0 {
				t.Errorf("want the warning %q, got %v", tt.warning, diags)
			}
			if tt.warning == "" {
				l := kaTestLoader()
				assertConvertsBack(t, &l, cfg)
			}
			hl := kaTestLoader()
			hcfg, hdiags := hl.LoadSource("t.hcl", []byte(fmt.Sprintf("global {\n  interface_up_down_delays = [%q]\n}\n", tt.entries)))
			refuse := tt.want == nil || strings.HasPrefix(tt.warning, "Too many")
			switch {
			case refuse && hcfg != nil:
				t.Errorf("HCL: want refused, got %+v", hcfg.Global.InterfaceDelays)
			case !refuse && (hcfg == nil || len(hcfg.Global.InterfaceDelays) != 1):
				t.Errorf("HCL: %v", hdiags)
			}
		})
	}
}
