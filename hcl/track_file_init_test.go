package hcl

import (
	"fmt"
	"strings"
	"testing"
)

// TestTrackFileInitReadAsKeepalivedReadsIt: init_file [VALUE] [overwrite]
// with keepalived 2.2.7's rules (track_file_init_handler); what keepalived
// reports is a lenient warning in keepalived.conf and an error in HCL,
// and `lvsd convert` writes the same model back.
func TestTrackFileInitReadAsKeepalivedReadsIt(t *testing.T) {
	tests := []struct {
		name, args string
		want       TrackFileInit
		warning    string
	}{
		{"bare", "", TrackFileInit{Set: true}, ""},
		{"value", "7", TrackFileInit{Set: true, Value: 7}, ""},
		{"negative value and overwrite", "-12 overwrite", TrackFileInit{Set: true, Value: -12, Overwrite: true}, ""},
		{"overwrite first", "overwrite 4", TrackFileInit{Set: true, Value: 4, Overwrite: true}, ""},
		{"not a number reads 0", "5x", TrackFileInit{Set: true}, "Track file tf init value 5x is invalid"},
		{"outside -254..254 kept", "300", TrackFileInit{Set: true, Value: 300}, "Track file tf init value 300 is outside sensible range [-254, 254]"},
		{"unknown option", "7 always", TrackFileInit{Set: true, Value: 7}, "Unknown track file init option always"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "track_file tf {\n file /run/tf\n weight 2\n init_file " + tt.args + "\n}\n" + kaInstance(" track_file {\n  tf\n }\n")
			cfg, diags := kaLoadText(t, src, false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if got := cfg.TrackFiles[0].Init; got != tt.want {
				t.Errorf("init = %+v, want %+v", got, tt.want)
			}
			lenient := diags.Lenient()
			switch {
			case tt.warning == "" && len(diags) != 0:
				t.Errorf("want no diagnostic, got %v", diags)
			case tt.warning != "" && (len(lenient) != 1 || lenient[0].Summary != tt.warning || lenient[0].Pos.Line != 4):
				t.Errorf("want the lenient warning %q at line 4, got %v", tt.warning, diags)
			}

			hclSrc := fmt.Sprintf("track_file \"tf\" {\n  file = \"/run/tf\"\n  init_file = %q\n}\n", tt.args)
			hl := kaTestLoader()
			hcfg, hdiags := hl.LoadSource("t.hcl", []byte(hclSrc))
			if tt.warning != "" {
				if hcfg != nil || !strings.Contains(fmt.Sprint(hdiags), tt.warning) {
					t.Errorf("HCL: want refused naming %q, got %v", tt.warning, hdiags)
				}
				return
			}
			if hcfg == nil || hcfg.TrackFiles[0].Init != tt.want {
				t.Fatalf("HCL: %v %v", hcfg, hdiags)
			}
			l := kaTestLoader()
			assertConvertsBack(t, &l, cfg)
		})
	}
}
