package hcl

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// loadChecks loads src (HCL when name ends in .hcl, else keepalived.conf)
// and returns the checkers of its first real server.
func loadChecks(t *testing.T, name, src string) ([]Checker, Diagnostics) {
	t.Helper()
	l := kaTestLoader()
	cfg, diags := l.LoadSource(name, []byte(src))
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	return cfg.VirtualServers[0].RealServers[0].Checkers, diags
}

const hclNewCheckers = `
global { lvs_program = "always" }
virtual_server "192.0.2.1:53" {
  protocol   = "UDP"
  delay_loop = 10
  real_server "10.0.0.1:53" {
    UDP_CHECK {
      payload       = "Ab12f 3"
      require_reply = "0x 12"
      max_reply_length = 512
    }
    UDP_CHECK {}
    DNS_CHECK {
      type = "a"
      name = "www.example.com"
    }
    DNS_CHECK {}
    PING_CHECK {}
    SMTP_CHECK {
      connect_port = 25
      helo_name = "lvsd.example"
    }
    SMTP_CHECK {
      host { connect_ip = "10.0.0.2" }
      host {
        connect_port    = 2525
        connect_timeout = 2
      }
    }
  }
}`

const kaNewCheckers = `
virtual_server 192.0.2.1 53 {
  protocol UDP
  delay_loop 10
  real_server 10.0.0.1 53 {
    UDP_CHECK {
      payload Ab12f 3
      require_reply 0x 12
      max_reply_length 512
    }
    UDP_CHECK {
    }
    DNS_CHECK {
      type a
      name www.example.com
    }
    DNS_CHECK {
    }
    PING_CHECK {
    }
    SMTP_CHECK {
      connect_port 25
      helo_name lvsd.example
    }
    SMTP_CHECK {
      host {
        connect_ip 10.0.0.2
      }
      host {
        connect_port 2525
        connect_timeout 2
      }
    }
  }
}`

// TestNewCheckersReadTheSameInHCLAndKeepalivedConf: UDP_CHECK, DNS_CHECK,
// PING_CHECK and SMTP_CHECK get keepalived's settings and defaults from
// either language, an SMTP_CHECK host block is a checker of its own.
func TestNewCheckersReadTheSameInHCLAndKeepalivedConf(t *testing.T) {
	for _, tc := range []struct{ name, src string }{{"new.hcl", hclNewCheckers}, {"keepalived.conf", kaNewCheckers}} {
		t.Run(tc.name, func(t *testing.T) {
			cs, _ := loadChecks(t, tc.name, tc.src)
			kinds := make([]string, len(cs))
			for i, c := range cs {
				kinds[i] = c.Kind
			}
			want := []string{CheckUDP, CheckUDP, CheckDNS, CheckDNS, CheckPing, CheckSMTP, CheckSMTP, CheckSMTP}
			if !reflect.DeepEqual(kinds, want) {
				t.Fatalf("kinds %v, want %v", kinds, want)
			}
			udp := cs[0].UDP()
			if !bytes.Equal(udp.Payload, []byte{0xab, 0x12, 0x0f, 0x03}) || !udp.RequireReply ||
				!bytes.Equal(udp.Reply, []byte{0x00, 0x12}) || !bytes.Equal(udp.ReplyMask, []byte{0x0f, 0}) ||
				udp.MinReplyLength != 0 || udp.MaxReplyLength != 512 {
				t.Errorf("UDP_CHECK: %+v", udp)
			}
			if c, d := cs[1], cs[1].UDP(); d.Payload != nil || d.RequireReply || d.MaxReplyLength != 255 || c.Retry != 1 || c.RetryDelay != time.Second {
				t.Errorf("UDP_CHECK defaults: payload %x require %t max %d retry %d delay %v", d.Payload, d.RequireReply, d.MaxReplyLength, c.Retry, c.RetryDelay)
			}
			if d := cs[2].DNS(); d.Type != "A" || d.Name != "www.example.com" {
				t.Errorf("DNS_CHECK: %q %q", d.Type, d.Name)
			}
			// check_dns.c: SOA of the root, 3 retries, delay_before_retry
			// the delay_loop.
			if c, d := cs[3], cs[3].DNS(); d.Type != "SOA" || d.Name != "." || c.Retry != 3 || c.RetryDelay != 10*time.Second {
				t.Errorf("DNS_CHECK defaults: %q %q retry %d delay %v", d.Type, d.Name, c.Retry, c.RetryDelay)
			}
			if p := cs[4]; p.Connect.String() != "10.0.0.1:53" || p.Timeout != 5*time.Second {
				t.Errorf("PING_CHECK: %s %v", p.Connect, p.Timeout)
			}
			if s := cs[5]; s.Connect.String() != "10.0.0.1:25" || s.SMTP().HeloName != "lvsd.example" {
				t.Errorf("SMTP_CHECK: %s %q", s.Connect, s.SMTP().HeloName)
			}
			h1, h2 := cs[6], cs[7]
			if h1.Connect.String() != "10.0.0.2:53" || h1.SMTP().HeloName != "smtpchecker.keepalived.org" || h1.Timeout != 5*time.Second {
				t.Errorf("first host: %s %q %v", h1.Connect, h1.SMTP().HeloName, h1.Timeout)
			}
			if h2.Connect.String() != "10.0.0.1:2525" || h2.Timeout != 2*time.Second {
				t.Errorf("second host: %s %v", h2.Connect, h2.Timeout)
			}
		})
	}
}

// TestNewCheckersConvertToHCLAndBack: lvsd convert writes them so that
// the HCL reads back to the same model.
func TestNewCheckersConvertToHCLAndBack(t *testing.T) {
	l := kaTestLoader()
	cfg, diags := l.LoadSource("keepalived.conf", []byte(kaNewCheckers))
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	assertConvertsBack(t, &l, cfg)
}

// TestNewCheckersRefuseWhatCannotRun names the place of each bad setting
// in HCL; keepalived.conf warns and runs past it as keepalived does.
func TestNewCheckersRefuseWhatCannotRun(t *testing.T) {
	for _, tc := range []struct{ name, checker, want string }{
		{"bad payload", `UDP_CHECK { payload = "zz" }`, "invalid payload"},
		{"bad reply", `UDP_CHECK { require_reply = "1g" }`, "invalid require_reply"},
		{"reply of a number", `UDP_CHECK { require_reply = 3 }`, "invalid require_reply"},
		{"bad DNS type", `DNS_CHECK { type = "SRVX" }`, "invalid DNS type"},
		{"empty label", `DNS_CHECK { name = "a..b" }`, "invalid DNS name"},
		{"two-line helo", `SMTP_CHECK { helo_name = "a\nb" }`, "invalid helo_name"},
		{"reply length", `UDP_CHECK { max_reply_length = 70000 }`, "invalid reply length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			src := `global { lvs_program = "always" }
virtual_server "192.0.2.1:53" {
  real_server "10.0.0.1:53" {
    ` + tc.checker + `
  }
}`
			cfg, diags := l.LoadSource("bad.hcl", []byte(src))
			if cfg != nil || !strings.Contains(diags.Error(), tc.want) || !strings.Contains(diags.Error(), "bad.hcl:4:") {
				t.Errorf("got %v, want an error %q on line 4", diags, tc.want)
			}
		})
	}
	cs, diags := loadChecks(t, "keepalived.conf", `
virtual_server 192.0.2.1 53 {
  protocol UDP
  real_server 10.0.0.1 53 {
    DNS_CHECK {
      type SRVX
      name a..b
    }
    UDP_CHECK {
      payload zz
      min_reply_length 9
      max_reply_length 3
    }
  }
}`)
	if cs[0].DNS().Type != "SOA" || cs[0].DNS().Name != "." || cs[1].UDP().Payload != nil {
		t.Errorf("keepalived.conf kept bad values: %+v", cs)
	}
	for _, want := range []string{"Unknown DNS check type SRVX - ignoring", "has empty label", "Invalid hex string for UDP_CHECK payload", "will always fail"} {
		if !strings.Contains(diags.Error(), want) {
			t.Errorf("no %q in %v", want, diags)
		}
	}
}

// TestKeepalivedMiscCheckWithoutItsScriptIsRemoved: keepalived removes a
// MISC_CHECK whose script is not there (logged, not a configuration
// error), and its real server runs without it.
func TestKeepalivedMiscCheckWithoutItsScriptIsRemoved(t *testing.T) {
	cs, diags := loadChecks(t, "keepalived.conf", `
virtual_server 192.0.2.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.1 80 {
    MISC_CHECK {
      misc_path "/usr/local/bin/missing.sh arg"
    }
    TCP_CHECK {
    }
  }
}`)
	if len(cs) != 1 || cs[0].Kind != CheckTCP {
		t.Errorf("checkers %+v, want the TCP_CHECK only", cs)
	}
	if !strings.Contains(diags.Error(), "keepalived.conf:8: warning: Disabling misc script /usr/local/bin/missing.sh arg since not found/accessible") {
		t.Errorf("diagnostics: %v", diags)
	}
	for _, d := range diags {
		if d.Lenient {
			t.Errorf("%s is counted as a configuration error; keepalived only logs it", d)
		}
	}
}

// TestFileCheckReadsItsTrackFile: FILE_CHECK names a track_file; without
// its own weight it takes the track_file's, in HCL and keepalived.conf
// alike; lvsd convert writes both back.
func TestFileCheckReadsItsTrackFile(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"file.hcl", `global { lvs_program = "always" }
track_file "maint" {
  file   = "/run/maint"
  weight = -10
}
virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" {
    FILE_CHECK { track_file = "maint" }
    FILE_CHECK {
      track_file = "maint"
      weight     = 0
      reverse    = true
    }
  }
}`},
		{"keepalived.conf", `track_file maint {
  file /run/maint
  weight -10
}
virtual_server 192.0.2.1 80 {
  protocol TCP
  real_server 10.0.0.1 80 {
    FILE_CHECK {
      track_file maint
    }
    FILE_CHECK {
      track_file maint
      weight 0 reverse
    }
  }
}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			cfg, diags := l.LoadSource(tc.name, []byte(tc.src))
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			cs := cfg.VirtualServers[0].RealServers[0].Checkers
			if len(cs) != 2 || cs[0].File().Path != "/run/maint" || cs[0].File().Weight != -10 || cs[0].File().Reverse ||
				cs[1].File().Weight != 0 || !cs[1].File().Reverse || cs[0].DelayLoop != time.Second || cs[0].Retry != 0 {
				t.Errorf("checkers %+v", cs)
			}
			back, out := convertBack(t, &l, cfg)
			cfg.Global.LVSProgram, back.Global.LVSProgram = "", ""
			if !reflect.DeepEqual(cfg.VirtualServers, back.VirtualServers) || !reflect.DeepEqual(cfg.TrackFiles, back.TrackFiles) {
				t.Errorf("model differs after conversion:\n%s\n%s", modelDiff(cfg, back), out)
			}
		})
	}
	l := kaTestLoader()
	_, diags := l.LoadSource("bad.hcl", []byte(`global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" {
    FILE_CHECK { track_file = "nope" }
  }
}`))
	if !strings.Contains(diags.Error(), `bad.hcl:4:31: error: unknown track_file`) {
		t.Errorf("diagnostics: %v", diags)
	}
}

// TestAnHCLFilesCheckersAreOneArray: the checkers of an lvsd.hcl's real
// servers are cut from one array made once the file is decoded
// (ownCheckers), in the file's order, each real server's slice capped at
// its own length: an append to one leaves the next alone, and a real
// server without checkers has none.
func TestAnHCLFilesCheckersAreOneArray(t *testing.T) {
	src := `
global { lvs_program = "always" }
virtual_server "192.0.2.1:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {
    TCP_CHECK {}
    HTTP_GET {
      url { path = "/health" }
    }
  }
  real_server "10.0.0.2:80" {}
}
virtual_server "192.0.2.2:25" {
  protocol = "TCP"
  real_server "10.0.0.3:25" {
    SMTP_CHECK {
      host { connect_ip = "10.0.0.4" }
      host { connect_port = 2525 }
    }
  }
  real_server "10.0.0.5:25" {
    TCP_CHECK { connect_port = 26 }
  }
}`
	l := kaTestLoader()
	cfg, diags := l.LoadSource("/etc/lvsd/lvsd.hcl", []byte(src))
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	var rss []*RealServer
	for i := range cfg.VirtualServers {
		for j := range cfg.VirtualServers[i].RealServers {
			rss = append(rss, &cfg.VirtualServers[i].RealServers[j])
		}
	}
	var counts []int
	for _, rs := range rss {
		counts = append(counts, len(rs.Checkers))
	}
	if want := []int{2, 0, 2, 1}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("checkers per real server %v, want %v", counts, want)
	}
	if rss[1].Checkers != nil {
		t.Errorf("a real server without checkers has %v", rss[1].Checkers)
	}
	var last *Checker
	for i, rs := range rss {
		if len(rs.Checkers) == 0 {
			continue
		}
		if cap(rs.Checkers) != len(rs.Checkers) {
			t.Errorf("real server %s: %d checkers in room for %d", rs.Addr, len(rs.Checkers), cap(rs.Checkers))
		}
		if first := &rs.Checkers[0]; last != nil && unsafe.Pointer(first) != unsafe.Add(unsafe.Pointer(last), unsafe.Sizeof(Checker{})) {
			t.Errorf("real server %d's checkers do not follow the previous one's in one array", i)
		}
		last = &rs.Checkers[len(rs.Checkers)-1]
	}
	next := rss[2].Checkers[0]
	_ = append(rss[0].Checkers, Checker{Kind: CheckPing})
	if rss[2].Checkers[0].Kind != next.Kind || rss[2].Checkers[0].Connect != next.Connect {
		t.Errorf("an append to one real server's checkers wrote the next one's: %+v", rss[2].Checkers[0])
	}
}
