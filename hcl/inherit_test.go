package hcl_test

import (
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// settings is what a test compares of a final checker.
type settings struct {
	Timeout, DelayLoop, Warmup, RetryDelay time.Duration
	Retry                                  int
	Alpha                                  bool
	Virtualhost                            string
}

func settingsOf(c hcl.Checker) settings {
	var vhost string
	if h := c.HTTP(); h != nil {
		vhost = h.Virtualhost
	}
	return settings{c.Timeout, c.DelayLoop, c.Warmup, c.RetryDelay, int(c.Retry), c.Alpha, vhost}
}

// Each checker setting comes from the nearest block that sets it (checker,
// then real server, then virtual server), in both languages, and the model
// holds the result.
func TestCheckerSettingsComeFromTheNearestBlock(t *testing.T) {
	// Both files below say the same; each checker gets, in order:
	want := []settings{
		// 10.0.0.1 HTTP_GET: retry its own, alpha, connect_timeout and
		// virtualhost its real server's, the rest the service's.
		{6 * time.Second, 20 * time.Second, 9 * time.Second, 2 * time.Second, 2, false, "rs.example"},
		// 10.0.0.1 TCP_CHECK: alpha and delay_loop its own; a TCP check
		// has no virtualhost.
		{6 * time.Second, 5 * time.Second, 9 * time.Second, 2 * time.Second, 4, true, ""},
		// 10.0.0.2 TCP_CHECK: everything the service's.
		{7 * time.Second, 20 * time.Second, 9 * time.Second, 2 * time.Second, 4, true, ""},
		// 10.0.0.3: nothing set above the checkers, so the defaults but
		// the TCP_CHECK's own alpha.
		{5 * time.Second, 60 * time.Second, 60 * time.Second, time.Second, 1, true, ""},
		{5 * time.Second, 60 * time.Second, 60 * time.Second, 3 * time.Second, 1, false, ""},
	}
	tests := []struct {
		name, file, src string
	}{
		{"HCL", "lvsd.hcl", `
global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  alpha              = true
  delay_loop         = 20
  connect_timeout    = 7
  retry              = 4
  delay_before_retry = 2
  warmup             = 9
  virtualhost        = "vs.example"
  real_server "10.0.0.1" {
    alpha           = false
    connect_timeout = 6
    virtualhost     = "rs.example"
    HTTP_GET {
      retry = 2
      url { path = "/" }
    }
    TCP_CHECK {
      alpha      = true
      delay_loop = 5
    }
  }
  real_server "10.0.0.2" {
    TCP_CHECK {}
  }
}
virtual_server "192.0.2.2:80" {
  real_server "10.0.0.3" {
    TCP_CHECK { alpha = true }
    HTTP_GET {
      url { path = "/" }
    }
  }
}`},
		{"keepalived.conf", "keepalived.conf", `
virtual_server 192.0.2.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  alpha
  delay_loop 20
  connect_timeout 7
  retry 4
  delay_before_retry 2
  warmup 9
  virtualhost vs.example
  real_server 10.0.0.1 80 {
    alpha no
    connect_timeout 6
    virtualhost rs.example
    HTTP_GET {
      retry 2
      url {
        path /
      }
    }
    TCP_CHECK {
      alpha
      delay_loop 5
    }
  }
  real_server 10.0.0.2 80 {
    TCP_CHECK {
    }
  }
}
virtual_server 192.0.2.2 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.3 80 {
    TCP_CHECK {
      alpha
    }
    HTTP_GET {
      url {
        path /
      }
    }
  }
}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := hcltest.Loader(map[string]string{tt.file: tt.src}).Load(tt.file)
			if diags.HasErrors() {
				t.Fatal(diags.Errors())
			}
			var got []settings
			for _, vs := range cfg.VirtualServers {
				for _, rs := range vs.RealServers {
					for _, c := range rs.Checkers {
						got = append(got, settingsOf(c))
						if h := c.HTTP(); h != nil {
							for _, u := range h.URLs {
								if u.Virtualhost != h.Virtualhost {
									t.Errorf("url %s of %s: virtualhost %q, want its checker's %q", u.Path, rs.Addr, u.Virtualhost, h.Virtualhost)
								}
							}
						}
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d checkers, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("checker %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
		})
	}
}
