package hcl

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const kaLVSVocabulary = `
global_defs {
  lvs_timeouts tcp 900 tcpfin 120 udp 300
  lvs_flush
  lvs_flush_on_stop VS
}
SSL {
  password secret
  ca /etc/lvsd/ca.pem
  certificate /etc/lvsd/client.pem
  key /etc/lvsd/client.key
}
virtual_server 192.0.2.1 5060 {
  protocol UDP
  lb_algo rr
  lb_kind TUN type gue port 6080 csum
  persistence_timeout 60
  persistence_engine sip
  flag-3
  sorry_server 10.0.9.9 5060
  sorry_server_inhibit
  real_server 10.0.0.1 5060 {
    HTTP_GET {
      http_protocol 1.0C
      fast_recovery
      bind_if eth1
      url {
        path /health
        regex "^ok"
        regex_options caseless multiline
        regex_min_offset 2
        regex_max_offset 40
      }
    }
    SSL_GET {
      url {
        path /
      }
    }
  }
}
virtual_server 192.0.2.2 80 {
  protocol TCP
  lb_algo rr
  lb_kind TUN type gre
  sorry_server 10.0.9.8 80
  real_server 10.0.0.2 80 {
  }
}
`

const hclLVSVocabulary = `
global {
  lvs_program       = "always"
  lvs_flush         = true
  lvs_flush_on_stop = "VS"
  lvs_timeouts {
    tcp    = "15m"
    tcpfin = 120
    udp    = "5m"
  }
}
SSL {
  password    = "secret"
  ca          = "/etc/lvsd/ca.pem"
  certificate = "/etc/lvsd/client.pem"
  key         = "/etc/lvsd/client.key"
}
virtual_server "192.0.2.1:5060" {
  protocol             = "UDP"
  lb_algo              = "rr"
  lb_kind              = "TUN type gue port 6080 csum"
  persistence_timeout  = 60
  persistence_engine   = "sip"
  scheduler_flags      = ["flag-3"]
  sorry_server         = "10.0.9.9:5060"
  sorry_server_inhibit = true
  real_server "10.0.0.1:5060" {
    HTTP_GET {
      http_protocol = "1.0C"
      fast_recovery = true
      bind_if       = "eth1"
      url {
        path             = "/health"
        regex            = "^ok"
        regex_options    = ["caseless", "multiline"]
        regex_min_offset = 2
        regex_max_offset = 40
      }
    }
    SSL_GET {
      url { path = "/" }
    }
  }
}
virtual_server "192.0.2.2:80" {
  lb_algo      = "rr"
  lb_kind      = "TUN type gre"
  sorry_server = "10.0.9.8:80"
  real_server "10.0.0.2:80" {}
}
`

// TestLVSVocabularyReadsTheSameInHCLAndKeepalivedConf: lvs_timeouts,
// lvs_flush, lvs_flush_on_stop, the SSL block, TUN's tunnel settings,
// persistence_engine, flag-3, sorry_server_inhibit, http_protocol 1.0C,
// fast_recovery, bind_if and the regex options and offsets mean the same
// in either language, and lvsd convert writes them back.
func TestLVSVocabularyReadsTheSameInHCLAndKeepalivedConf(t *testing.T) {
	for _, tc := range []struct{ name, src string }{{"keepalived.conf", kaLVSVocabulary}, {"lvs.hcl", hclLVSVocabulary}} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			cfg, diags := l.LoadSource(tc.name, []byte(tc.src))
			if cfg == nil || diags.HasErrors() {
				t.Fatalf("refused: %v", diags)
			}
			g := cfg.Global
			if want := (LVSTimeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}); g.LVSTimeouts != want {
				t.Errorf("lvs_timeouts %+v, want %+v", g.LVSTimeouts, want)
			}
			if !g.LVSFlush || g.LVSFlushOnStop != FlushOnStopServices {
				t.Errorf("lvs_flush %t, lvs_flush_on_stop %q", g.LVSFlush, g.LVSFlushOnStop)
			}
			vs := cfg.VirtualServers[0]
			if want := (Tunnel{Type: TunnelGUE, Port: 6080, Checksum: TunnelCsum}); vs.LBKind != KindTUN || vs.Tunnel != want {
				t.Errorf("lb_kind %s %+v, want TUN %+v", vs.LBKind, vs.Tunnel, want)
			}
			if vs.PersistenceEngine != "sip" || !reflect.DeepEqual(vs.SchedulerFlags, []string{"flag-3"}) {
				t.Errorf("persistence_engine %q, flags %v", vs.PersistenceEngine, vs.SchedulerFlags)
			}
			// The sorry server takes the service's method, tunnel included.
			if ss := vs.SorryServer; ss == nil || !ss.Inhibit || ss.LBKind != KindTUN || ss.Tunnel != vs.Tunnel {
				t.Errorf("sorry server %+v", ss)
			}
			if gre := cfg.VirtualServers[1]; gre.Tunnel != (Tunnel{Type: TunnelGRE}) || gre.SorryServer.Tunnel != gre.Tunnel || gre.SorryServer.Inhibit {
				t.Errorf("gre service: %+v, sorry %+v", gre.Tunnel, gre.SorryServer)
			}
			http, ssl := vs.RealServers[0].Checkers[0], vs.RealServers[0].Checkers[1]
			if h := http.HTTP(); h.HTTPVersion != "1.0C" || !h.FastRecovery || http.BindIf != "eth1" {
				t.Errorf("HTTP_GET: http_protocol %q fast_recovery %t bind_if %q", h.HTTPVersion, h.FastRecovery, http.BindIf)
			}
			u := http.HTTP().URLs[0]
			if !reflect.DeepEqual(u.RegexOptions, []string{"caseless", "multiline"}) || u.RegexMinOffset != 2 || u.RegexMaxOffset != 40 {
				t.Errorf("url: options %v offsets %d..%d", u.RegexOptions, u.RegexMinOffset, u.RegexMaxOffset)
			}
			// The SSL block reaches every SSL_GET; its CA turns verification on.
			if s := ssl.HTTP(); s.CertFile != "/etc/lvsd/client.pem" || s.KeyFile != "/etc/lvsd/client.key" || s.KeyPassword != "secret" ||
				s.CAFile != "/etc/lvsd/ca.pem" || !s.VerifyTLS {
				t.Errorf("SSL_GET: cert %q key %q password %q ca %q verify %t", s.CertFile, s.KeyFile, s.KeyPassword, s.CAFile, s.VerifyTLS)
			}
			assertConvertsBack(t, &l, cfg)
		})
	}
}

// TestLVSVocabularyRefusesWhatTheKernelCannotDo names the place of each
// setting the kernel (or Go's regexp) cannot honour, in both languages.
func TestLVSVocabularyRefusesWhatTheKernelCannotDo(t *testing.T) {
	vs := func(kind, extra string) string {
		return "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_kind " + kind + "\n" + extra +
			" real_server 10.0.0.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    regex ok\n   }\n  }\n }\n}\n"
	}
	for _, tc := range []struct{ name, src, want string }{
		{"gre has no remote checksum", vs("TUN type gre remcsum", ""), "remcsum applies to type gue only"},
		{"gue needs a port", vs("TUN type gue", ""), "type gue needs port N"},
		{"ipip has no checksum", vs("TUN type ipip csum", ""), "csum applies to type gue or gre only"},
		{"unknown tunnel type", vs("TUN type vxlan", ""), "unknown tunnel type"},
		{"DR has no options", vs("DR type gue port 1", ""), "options are not supported"},
		{"the kernel has only the sip engine", vs("NAT", " persistence_engine rtsp\n"), "only persistence engine is sip"},
		{"lvs_timeouts needs pairs", "global_defs {\n lvs_timeouts tcp\n}\n" + vs("NAT", ""), "invalid lvs_timeouts"},
		{"lvs_timeouts names", "global_defs {\n lvs_timeouts sctp 10\n}\n" + vs("NAT", ""), "unknown lvs_timeouts timeout"},
		{"lvs_flush_on_stop takes VS only", "global_defs {\n lvs_flush_on_stop RS\n}\n" + vs("NAT", ""), "invalid lvs_flush_on_stop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			_, diags := l.LoadSource("keepalived.conf", []byte(tc.src))
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Errorf("want an error with %q, got %v", tc.want, diags)
			}
		})
	}
	hcl := func(body string) string {
		return "global { lvs_program = \"always\" }\nvirtual_server \"192.0.2.1:80\" {\n" + body +
			"\n real_server \"10.0.0.1:80\" {\n  HTTP_GET {\n   url {\n    path = \"/\"\n    regex = \"ok\"\n" +
			"    regex_options = [\"extended\"]\n   }\n  }\n }\n}\n"
	}
	for _, tc := range []struct{ name, src, want string }{
		{"regex option Go lacks", hcl(""), "extended has no equivalent in Go's regexp"},
		{"tunnel without TUN", hcl("lb_kind = \"NAT type gue port 1\""), "invalid lb_kind"},
		{"inhibit without sorry server", hcl("sorry_server_inhibit = true"), "sorry_server_inhibit without sorry_server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			_, diags := l.LoadSource("lvs.hcl", []byte(tc.src))
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) || !strings.Contains(diags.Error(), "lvs.hcl:") {
				t.Errorf("want an error at lvs.hcl with %q, got %v", tc.want, diags)
			}
		})
	}
}

// TestRealServerLvsMethodIsItsOwn: keepalived's per real server
// lvs_method (a TUN real server in a DR service, with its own tunnel
// settings) reaches the model in both languages, ports follow the real
// server's method, and convert writes it back.
func TestRealServerLvsMethodIsItsOwn(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"keepalived.conf", `
virtual_server 192.0.2.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.0.1 80 {
  }
  real_server 10.0.0.2 80 {
    lvs_method TUN type gue port 6080
  }
}
virtual_server 192.0.2.2 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.0.3 8080 {
    lvs_method NAT
  }
}
`},
		{"lvs.hcl", `
global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  lb_algo = "rr"
  lb_kind = "DR"
  real_server "10.0.0.1:80" {}
  real_server "10.0.0.2:80" { lvs_method = "TUN type gue port 6080" }
}
virtual_server "192.0.2.2:80" {
  lb_algo = "rr"
  lb_kind = "DR"
  real_server "10.0.0.3:8080" { lvs_method = "NAT" }
}
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			cfg, diags := l.LoadSource(tc.name, []byte(tc.src))
			if cfg == nil || diags.HasErrors() {
				t.Fatalf("refused: %v", diags)
			}
			rss := cfg.VirtualServers[0].RealServers
			if rss[0].LBKind != KindDR || rss[1].LBKind != KindTUN || rss[1].Tunnel != (Tunnel{Type: TunnelGUE, Port: 6080}) {
				t.Errorf("methods: %s, %s %+v", rss[0].LBKind, rss[1].LBKind, rss[1].Tunnel)
			}
			// A NAT real server keeps its own port in a DR service.
			if nat := cfg.VirtualServers[1].RealServers[0]; nat.LBKind != KindNAT || nat.Addr.Port() != 8080 {
				t.Errorf("NAT real server: %s %s", nat.LBKind, nat.Addr)
			}
			assertConvertsBack(t, &l, cfg)
		})
	}
}
