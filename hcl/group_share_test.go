package hcl

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// groupWithURLConf is a virtual_server_group of n members whose one real
// server has an HTTP_GET url without status_code, which validation
// completes in place (default status codes, the checker's virtualhost).
func groupWithURLConf(n int) []byte {
	var b strings.Builder
	b.WriteString("virtual_server_group big {\n")
	for i := range n {
		fmt.Fprintf(&b, "    10.%d.%d.%d 80\n", i/65536, i/256%256, i%256+0)
	}
	b.WriteString("}\nvirtual_server group big {\n    protocol TCP\n    real_server 192.0.2.10 80 {\n")
	b.WriteString("        HTTP_GET {\n            url {\n                path /health\n            }\n            virtualhost example.org\n        }\n")
	b.WriteString("        UDP_CHECK {\n            payload 0a0b\n            require_reply 0c0d\n        }\n")
	b.WriteString("    }\n}\n")
	return []byte(b.String())
}

// Validation runs over runs of virtual servers on several goroutines and
// completes each member's checkers in place, so no two members of a group
// may share a checker's kind settings (a Checker copied by value shares
// them), a URL, a payload or positions; and a group of 600 members
// read and validated in 2 and 4 runs gives the model of one (under -race,
// a shared part is also a data race).
func TestGroupMembersShareNoCheckerParts(t *testing.T) {
	members := make([]string, 600)
	for i := range members {
		members[i] = fmt.Sprintf("%q", fmt.Sprintf("10.0.%d.%d 80", i/256, i%256))
	}
	hclSrc := []byte(`global {
  lvs_program = "always"
}
virtual_server_group "big" {
  members = [` + strings.Join(members, ", ") + `]
}
virtual_server "group big" {
  protocol = "TCP"
  lb_algo = "sh"
  scheduler_flags = ["sh-port"]
  real_server "192.0.2.10:80" {
    HTTP_GET {
      url { path = "/health" }
      virtualhost = "example.org"
    }
  }
}
`)
	for _, tc := range []struct {
		name, path string
		src        []byte
	}{
		{"keepalived.conf", "/etc/keepalived/keepalived.conf", groupWithURLConf(600)},
		{"HCL", "/etc/lvsd/lvsd.hcl", hclSrc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantDiags := partsLoader(1).LoadSource(tc.path, tc.src)
			if want == nil {
				t.Fatal(wantDiags)
			}
			if len(want.VirtualServers) != 600 {
				t.Fatalf("%d services, want the group's 600", len(want.VirtualServers))
			}
			owner := map[*URL]int{}
			flags := map[*string]int{}
			payload := map[*byte]int{}
			kinds := map[KindSettings]int{}
			for i, vs := range want.VirtualServers {
				if len(vs.SchedulerFlags) > 0 {
					if j, ok := flags[&vs.SchedulerFlags[0]]; ok {
						t.Fatalf("services %d and %d share scheduler flags", j, i)
					}
					flags[&vs.SchedulerFlags[0]] = i
				}
				for _, c := range vs.RealServers[0].Checkers {
					if s := c.KindSettings; s != nil {
						if j, ok := kinds[s]; ok {
							t.Fatalf("services %d and %d share a checker's %T", j, i, s)
						}
						kinds[s] = i
					}
					var urls []URL
					if h := c.HTTP(); h != nil {
						urls = h.URLs
					}
					for k := range urls {
						u := &urls[k]
						if j, ok := owner[u]; ok {
							t.Fatalf("services %d and %d share a url", j, i)
						}
						owner[u] = i
						if len(u.StatusCodes) == 0 || u.Virtualhost != "example.org" {
							t.Fatalf("service %d: url not completed: %+v", i, *u)
						}
					}
					if u := c.UDP(); u != nil && len(u.Payload) > 0 {
						if j, ok := payload[&u.Payload[0]]; ok {
							t.Fatalf("services %d and %d share a UDP payload", j, i)
						}
						payload[&u.Payload[0]] = i
					}
				}
			}
			if tc.name == "HCL" && len(flags) != 600 {
				t.Fatalf("%d services with their own scheduler flags, want 600", len(flags))
			}
			if len(owner) != 600 {
				t.Fatalf("%d urls, want one per member", len(owner))
			}
			for _, runs := range []int{2, 4} {
				cfg, diags := partsLoader(runs).LoadSource(tc.path, tc.src)
				if !reflect.DeepEqual(diags, wantDiags) || !reflect.DeepEqual(cfg, want) {
					t.Fatalf("in %d runs the model or diagnostics differ from one run's:\n%v\nwant\n%v", runs, diags, wantDiags)
				}
			}
		})
	}
}
