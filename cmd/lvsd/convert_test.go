package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// TestConvertLdirectordAndIPVSADMRules: lvsd convert turns an ldirectord.cf
// and an ipvsadm rules file into HCL that says what the source lacked and
// loads back into the same table.
func TestConvertLdirectordAndIPVSADMRules(t *testing.T) {
	tests := []struct {
		name, src, header string
	}{
		{"ldirectord.cf", "checktimeout=3\nvirtual=192.0.2.1:80\n\treal=10.0.0.1:80 gate\n\treal=10.0.0.2:80 gate\n\tfallback=127.0.0.1:80 gate\n\trequest=\"index.html\"\n\treceive=\"Test Page\"\n",
			"add a\n# vrrp_instance"},
		{"ipvsadm.rules", "-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r 10.0.0.1:80 -g -w 1\n", "no real server has a health check"},
		{"saved-table", "-A -u 192.0.2.1:53 -s rr\n-a -u 192.0.2.1:53 -r 10.0.0.1:53 -m -w 2\n", "no real server has a health check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.name)
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			if code := cmdConvert([]string{path}, &out, &errs); code != 0 {
				t.Fatalf("exit %d: %s", code, errs.String())
			}
			if !strings.Contains(out.String(), tt.header) {
				t.Errorf("no header %q:\n%s", tt.header, out.String())
			}
			orig, _ := hcl.Load(path)
			var l hcl.Loader
			back, diags := l.LoadSource("converted.hcl", out.Bytes())
			if back == nil {
				t.Fatalf("converted HCL does not load: %v\n%s", diags, out.String())
			}
			if got, want := string(hcl.ConvertToHCL(back)), string(hcl.ConvertToHCL(orig)); got != want {
				t.Errorf("converted HCL loads into another model:\n%s\nwant\n%s", got, want)
			}
		})
	}
}
