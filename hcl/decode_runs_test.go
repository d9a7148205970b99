package hcl

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// runsHCL is an lvsd.hcl of services virtual servers with what the
// decoder reports (an unknown attribute, a bad value, a bad address, a
// one-label block) in most of them, and between them blocks of other
// kinds with their own errors, a group and a service of the group: each
// diagnostic has its place in the file, services' and others' interleaved.
func runsHCL(services int) []byte {
	var b strings.Builder
	b.WriteString("global {\n  router_id = \"runs\"\n  lvs_program = \"always\"\n}\n\n")
	b.WriteString("virtual_server_group \"G\" {\n  members = [\"192.0.2.10 80\", \"192.0.2.11 80\"]\n}\n\n")
	for s := range services {
		fmt.Fprintf(&b, "virtual_server \"198.18.%d.%d:80\" {\n  lb_algo = \"wrr\"\n", s/250, s%250+1)
		switch s % 7 {
		case 1:
			b.WriteString("  wieght = 1\n") // hcl's "Unsupported argument"
		case 2:
			b.WriteString("  quorum = \"many\"\n")
		case 3:
			b.WriteString("  sorry_server = \"nowhere\"\n  persistence_timeout = 99999999999\n")
		case 4:
			b.WriteString("  lb_kind = \"SIDEWAYS\"\n  delay_loop = \"soon\"\n")
		}
		for r := range 2 {
			fmt.Fprintf(&b, "  real_server \"10.%d.%d.%d:8080\" {\n    weight = %d\n", s/250, s%250, r+1, s%5)
			if s%11 == 5 {
				b.WriteString("    TCP_CHECK {\n      connect_port = 70000\n    }\n")
			}
			if s%13 == 6 {
				b.WriteString("    HTTP_GET {\n      url {\n        path = 1\n        status_code = [\"2xx\"]\n      }\n    }\n")
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n\n")
		switch s % 40 {
		case 10:
			fmt.Fprintf(&b, "vrrp_instance \"VI_%d\" {\n  state = \"MASTER\"\n  priority = \"high\"\n  virtual_router_id = %d\n  interface = \"eth0\"\n  virtual_ipaddress = [\"198.18.%d.%d/16\"]\n}\n\n", s, s%255+1, s/250, s%250+1)
		case 20:
			b.WriteString("virtual_server \"192.0.2.300:80\" {\n}\n\n") // a bad address
		case 30:
			b.WriteString("virtual_server \"group G\" {\n  lb_algo = \"rr\"\n  real_server \"10.9.9.9:80\" {\n    weight = 2\n  }\n}\n\n")
		}
	}
	return []byte(b.String())
}

// requireRunsDecodeAsOne loads src as path decoding its services on 1, 2,
// 3 and 4 goroutines and fails unless each load gives the same model and
// the same diagnostics in the same order; it returns them.
func requireRunsDecodeAsOne(t *testing.T, path string, src []byte) (*Config, Diagnostics) {
	t.Helper()
	wantCfg, wantDiags := partsLoader(1).LoadSource(path, src)
	for _, parts := range []int{2, 3, 4} {
		cfg, diags := partsLoader(parts).LoadSource(path, src)
		if !reflect.DeepEqual(diags, wantDiags) {
			t.Fatalf("services decoded on %d goroutines: the diagnostics are\n%v\nwant (on one)\n%v", parts, diags, wantDiags)
		}
		if !reflect.DeepEqual(cfg, wantCfg) {
			t.Fatalf("services decoded on %d goroutines: the model differs from the one on one goroutine", parts)
		}
	}
	return wantCfg, wantDiags
}

// An HCL file's virtual servers decoded on 1, 2, 3 or 4 goroutines give
// the same model and the same diagnostics in the same order, the
// decoder's errors in services interleaved with other blocks' errors.
func TestHCLServicesDecodedInRunsAsInOne(t *testing.T) {
	for _, tc := range []struct {
		name     string
		services int
		errors   bool
	}{
		{"errors in most services and between them", 300, true},
		{"a table without an error", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := runsHCL(tc.services)
			if !tc.errors {
				src = []byte(piecesHCL(300, 2, noDefect))
			}
			cfg, diags := requireRunsDecodeAsOne(t, "/etc/lvsd/lvsd.hcl", src)
			if !tc.errors {
				if cfg == nil || len(cfg.VirtualServers) != 300 {
					t.Fatalf("no model of 300 virtual servers: %v", diags)
				}
				return
			}
			// The decoder's own errors, and those of the blocks between
			// the services, are among what is compared.
			for _, want := range []string{"Unsupported argument", "invalid quorum", "invalid sorry_server", "invalid lb_kind", "invalid virtual_server address", "invalid priority", "invalid connect_port"} {
				if !strings.Contains(fmt.Sprint(diags), want) {
					t.Fatalf("no %q among the diagnostics: %v", want, diags)
				}
			}
		})
	}
}

// FuzzHCLServicesDecodedInRunsAsInOne: whatever the text, services
// decoded on several goroutines give what one goroutine gives.
func FuzzHCLServicesDecodedInRunsAsInOne(f *testing.F) {
	f.Add(runsHCL(12))
	f.Add([]byte("virtual_server \"192.0.2.1:80\" {\n}\nvirtual_server \"group X\" {\n}\nvirtual_server_group \"X\" {\n  members = [\"192.0.2.2 80\"]\n}\n"))
	f.Add([]byte("virtual_server \"a\" {\n  b = 1\n}\nvrrp_instance \"I\" {\n  c = 2\n}\nvirtual_server \"192.0.2.1:80\" {\n  quorum = -1\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		requireRunsDecodeAsOne(t, "fuzz.hcl", src)
	})
}
