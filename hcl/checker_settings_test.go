package hcl

import (
	"testing"
	"unsafe"
)

// A big table's checkers are TCP_CHECKs, and the daemon keeps its model
// for as long as it runs: a Checker holds only what every kind has, the
// rest of a kind's settings behind KindSettings (nil for a TCP_CHECK), so
// that it fits the heap's 192-byte size class (it was 584 bytes, a
// 640-byte class, with every kind's settings inline; docs/benchmarks.md,
// "Session 11, the model's checkers").
func TestACheckerFitsA192ByteSizeClass(t *testing.T) {
	if size := unsafe.Sizeof(Checker{}); size > 192 {
		t.Errorf("a Checker is %d bytes, want at most 192", size)
	}
}

// kindSettingsConf is a keepalived.conf whose checkers validation
// completes in place (the SSL block's files on an SSL_GET, a url's
// status codes and virtualhost, a FILE_CHECK's file) in every member of a
// virtual_server_group, all read from one block's checkers, beside an
// SMTP_CHECK whose host blocks are checkers copied from it.
const kindSettingsConf = `SSL {
  certificate /etc/lvsd/client.pem
  key /etc/lvsd/client.key
}
track_file maint {
  file /run/maint
  weight -10
}
virtual_server_group web {
  192.0.2.1 443
  192.0.2.2 443
  192.0.2.3 443
}
virtual_server group web {
  protocol TCP
  virtualhost www.example.com
  real_server 10.0.0.1 443 {
    SSL_GET {
      url {
        path /health
      }
    }
    FILE_CHECK {
      track_file maint
    }
    UDP_CHECK {
      payload 0a0b
    }
    SMTP_CHECK {
      helo_name lvsd.example
      host {
        connect_ip 10.0.0.2
      }
      host {
        connect_port 2525
      }
    }
  }
}
`

// A Checker copied by value shares its KindSettings. The readers copy
// checkers where keepalived does (a group's members from one block, an
// SMTP_CHECK's host blocks from their checker) and validation then
// writes each copy's settings, on several goroutines for a big table:
// every checker of the model owns its settings, so a change to one never
// shows in another.
func TestEveryCheckerOwnsItsKindSettings(t *testing.T) {
	l := kaTestLoader()
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", []byte(kindSettingsConf))
	if cfg == nil || diags.HasErrors() {
		t.Fatalf("loading: %v", diags)
	}
	back, _ := l.LoadSource("converted.hcl", ConvertToHCL(cfg))
	if back == nil {
		t.Fatal("the converted HCL does not load")
	}
	for _, tc := range []struct {
		name string
		cfg  *Config
	}{{"keepalived.conf", cfg}, {"HCL", back}} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.cfg.VirtualServers) != 3 {
				t.Fatalf("%d services, want the group's 3", len(tc.cfg.VirtualServers))
			}
			owner := map[KindSettings]string{}
			positionsOwner := map[*positionList]string{}
			for _, vs := range tc.cfg.VirtualServers {
				cs := vs.RealServers[0].Checkers
				if len(cs) != 5 {
					t.Fatalf("%s: %d checkers, want SSL_GET, FILE_CHECK, UDP_CHECK and two SMTP hosts", vs.Name, len(cs))
				}
				for i := range cs {
					c := &cs[i]
					where := vs.Name + " " + c.Kind + " " + c.Connect.String()
					if c.KindSettings == nil {
						t.Fatalf("%s has no settings", where)
					}
					if prev, ok := owner[c.KindSettings]; ok {
						t.Errorf("%s shares its settings with %s", where, prev)
					}
					owner[c.KindSettings] = where
					// The Positions too: one member's are not another's.
					if prev, ok := positionsOwner[c.Positions.l]; ok && c.Positions.l != nil {
						t.Errorf("%s shares its Positions with %s", where, prev)
					}
					positionsOwner[c.Positions.l] = where
				}
				ssl, file := cs[0].HTTP(), cs[1].File()
				if ssl.CertFile != "/etc/lvsd/client.pem" || ssl.URLs[0].Virtualhost != "www.example.com" || len(ssl.URLs[0].StatusCodes) != 1 || file.Path != "/run/maint" {
					t.Fatalf("%s: not completed: SSL_GET %+v, FILE_CHECK %+v", vs.Name, *ssl, *file)
				}
			}
			// What one member's checkers are changed in stays there.
			first := tc.cfg.VirtualServers[0].RealServers[0].Checkers
			first[0].HTTP().CertFile, first[0].HTTP().URLs[0].Path = "/changed.pem", "/changed"
			first[1].File().Path, first[2].UDP().Payload[0] = "/run/changed", 0xff
			first[3].SMTP().HeloName = "changed.example"
			for _, vs := range tc.cfg.VirtualServers[1:] {
				cs := vs.RealServers[0].Checkers
				if ssl := cs[0].HTTP(); ssl.CertFile != "/etc/lvsd/client.pem" || ssl.URLs[0].Path != "/health" {
					t.Errorf("%s: SSL_GET changed with the first member's: %+v", vs.Name, *ssl)
				}
				if cs[1].File().Path != "/run/maint" || cs[2].UDP().Payload[0] != 0x0a {
					t.Errorf("%s: FILE_CHECK %+v, UDP_CHECK %+v changed with the first member's", vs.Name, *cs[1].File(), *cs[2].UDP())
				}
			}
			if h := first[4].SMTP().HeloName; h != "lvsd.example" {
				t.Errorf("the second SMTP host's helo_name is %q, changed with the first's", h)
			}
		})
	}
}

// OwnSettings copies every part of a kind's settings that a change could
// reach: a url's slices, a UDP_CHECK's octets.
func TestOwnSettingsSharesNothing(t *testing.T) {
	c := Checker{Kind: CheckHTTP, KindSettings: &HTTPCheck{URLs: []URL{{Path: "/", StatusCodes: []StatusRange{{200, 299}}, RegexOptions: []string{"caseless"}}}}}
	copied := c
	copied.OwnSettings()
	h := copied.HTTP()
	h.URLs[0].Path, h.URLs[0].StatusCodes[0].Low, h.URLs[0].RegexOptions[0] = "/x", 500, "dotall"
	if u := c.HTTP().URLs[0]; u.Path != "/" || u.StatusCodes[0].Low != 200 || u.RegexOptions[0] != "caseless" {
		t.Errorf("the original's url changed with its copy's: %+v", u)
	}
	u := Checker{Kind: CheckUDP, KindSettings: &UDPCheck{Payload: []byte{1}, Reply: []byte{2}, ReplyMask: []byte{3}}}
	v := u
	v.OwnSettings()
	v.UDP().Payload[0], v.UDP().Reply[0], v.UDP().ReplyMask[0] = 9, 9, 9
	if s := u.UDP(); s.Payload[0] != 1 || s.Reply[0] != 2 || s.ReplyMask[0] != 3 {
		t.Errorf("the original's octets changed with its copy's: %+v", *s)
	}
	var tcp Checker
	tcp.OwnSettings()
	if tcp.KindSettings != nil {
		t.Errorf("a TCP_CHECK got settings: %+v", tcp.KindSettings)
	}
}
