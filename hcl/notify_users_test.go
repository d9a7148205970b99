package hcl

import (
	"reflect"
	"strings"
	"testing"
)

// TestNotifyScriptWordsAsKeepalived: keepalived 2.2.7's notify_script_init
// reads `KEYWORD CMD [USER [GROUP]]` for every notify-type keyword: the
// first word (quoted to carry arguments) is the command, the second the
// user, the third the group; an unquoted command's second word is a user,
// and a user or group that does not exist drops the script; lvsd convert
// writes KEYWORD_user back.
func TestNotifyScriptWordsAsKeepalived(t *testing.T) {
	tests := []struct {
		name, line string
		cmd        string
		user       ScriptUser
		warning    string
	}{
		{"quoted command with user and group", `"/bin/echo hi there" root root`, "/bin/echo hi there", ScriptUser{"root", "root"}, ""},
		{"unquoted command with a user", `/bin/echo root`, "/bin/echo", ScriptUser{User: "root"}, ""},
		{"command alone", `/bin/echo`, "/bin/echo", ScriptUser{}, ""},
		{"quoted command alone", `"/bin/echo a 'b c'"`, "/bin/echo a 'b c'", ScriptUser{}, ""},
		{"unquoted arguments are a user", `/bin/echo hi`, "", ScriptUser{}, "Invalid user/group for notify script /bin/echo - ignoring"},
		{"unknown group", `/bin/echo root no-such-group-h2`, "", ScriptUser{}, "Invalid user/group for notify script /bin/echo - ignoring"},
		{"words after the group", `/bin/echo root root extra`, "/bin/echo", ScriptUser{"root", "root"}, "notify_master: words after USER GROUP ignored"},
	}
	places := []struct {
		keyword string
		conf    func(line string) string
		got     func(c *Config) (string, ScriptUser)
	}{
		{"notify_master", func(l string) string { return kaInstance(" notify_master " + l + "\n") },
			func(c *Config) (string, ScriptUser) {
				return c.Instances[0].Notify.Master, c.Instances[0].Notify.Users.Of("notify_master")
			}},
		{"notify", func(l string) string { return kaInstance(" notify " + l + "\n") },
			func(c *Config) (string, ScriptUser) {
				return c.Instances[0].Notify.Any, c.Instances[0].Notify.Users.Of("notify")
			}},
		{"notify_master_rx_lower_pri", func(l string) string { return kaInstance(" notify_master_rx_lower_pri " + l + "\n") },
			func(c *Config) (string, ScriptUser) {
				return c.Instances[0].Notify.MasterRxLowerPri, c.Instances[0].Notify.Users.Of("notify_master_rx_lower_pri")
			}},
		{"sync group notify_stop", func(l string) string {
			second := strings.NewReplacer("VI_1", "VI_2", "51", "52", "192.0.2.1", "192.0.2.9").Replace(kaInstance(""))
			return kaInstance("") + second + "vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n }\n notify_stop " + l + "\n}\n"
		}, func(c *Config) (string, ScriptUser) {
			return c.SyncGroups[0].Notify.Stop, c.SyncGroups[0].Notify.Users.Of("notify_stop")
		}},
		{"vrrp_notify_fifo_script", func(l string) string {
			return "global_defs {\n vrrp_notify_fifo /run/h2.fifo\n vrrp_notify_fifo_script " + l + "\n}\n" + kaInstance("")
		}, func(c *Config) (string, ScriptUser) {
			f := c.Global.Alerts.VRRPNotifyFIFO
			return f.Script, f.ScriptUser
		}},
		{"quorum_down", func(l string) string {
			return "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n quorum_down " + l + "\n real_server 192.0.2.2 80 {\n }\n}\n"
		}, func(c *Config) (string, ScriptUser) {
			return c.VirtualServers[0].QuorumDown, c.VirtualServers[0].QuorumUsers.Of("quorum_down")
		}},
		{"notify_up", func(l string) string {
			return "virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 192.0.2.2 80 {\n  notify_up " + l + "\n }\n}\n"
		}, func(c *Config) (string, ScriptUser) {
			rs := c.VirtualServers[0].RealServers[0]
			return rs.NotifyUp, rs.NotifyUsers.Of("notify_up")
		}},
	}
	for _, p := range places {
		for _, tt := range tests {
			t.Run(p.keyword+"/"+tt.name, func(t *testing.T) {
				l := kaTestLoader()
				l.UserExists = func(name string) bool { return name == "root" || name == "nobody" }
				cfg, diags := l.LoadSource("k.conf", []byte(p.conf(tt.line)))
				if cfg == nil {
					t.Fatalf("refused: %v", diags)
				}
				cmd, u := p.got(cfg)
				if cmd != tt.cmd || u != tt.user {
					t.Errorf("command %q as %+v; want %q as %+v", cmd, u, tt.cmd, tt.user)
				}
				warning := tt.warning
				switch {
				case strings.HasPrefix(p.keyword, "quorum"):
					warning = strings.Replace(warning, "notify script", "quorum script", 1)
				case strings.HasSuffix(p.keyword, "fifo_script"):
					warning = strings.Replace(warning, "notify script", "vrrp_notify_fifo script", 1)
				}
				warning = strings.Replace(warning, "notify_master:", strings.TrimPrefix(p.keyword, "sync group ")+":", 1)
				var summaries []string
				for _, d := range diags {
					summaries = append(summaries, d.Summary)
				}
				if warning == "" && len(diags) != 0 || warning != "" && !reflect.DeepEqual(summaries, []string{warning}) {
					t.Errorf("diagnostics %q; want %q", summaries, warning)
				}
				assertConvertsBack(t, &l, cfg)
			})
		}
	}
}

// TestNotifyScriptUsersInHCL: KEYWORD_user = "USER [GROUP]" beside each
// notify-type attribute.
func TestNotifyScriptUsersInHCL(t *testing.T) {
	src := `
vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.1"]
  notify_master = "/bin/echo m"
  notify_master_user = "nobody nogroup"
  notify = "/bin/echo any"
  notify_user = "root"
  notify_master_rx_lower_pri = "/bin/echo rx"
  notify_master_rx_lower_pri_user = "nobody"
}
global {
  lvs_notify_fifo = "/run/h2.fifo"
  lvs_notify_fifo_script = "/bin/echo fifo"
  lvs_notify_fifo_script_user = "nobody nogroup"
}
virtual_server "192.0.2.1:80" {
  protocol = "TCP"
  quorum_up = "/bin/echo up"
  quorum_up_user = "nobody"
  real_server "192.0.2.2:80" {
    notify_down = "/bin/echo down"
    notify_down_user = "nobody nogroup"
  }
}
`
	l := kaTestLoader()
	cfg, diags := l.LoadSource("t.hcl", []byte(src))
	if cfg == nil {
		t.Fatalf("load: %v", diags)
	}
	n := cfg.Instances[0].Notify
	vs := cfg.VirtualServers[0]
	for _, c := range []struct {
		what      string
		got, want ScriptUser
	}{
		{"notify_master", n.Users.Of("notify_master"), ScriptUser{"nobody", "nogroup"}},
		{"notify", n.Users.Of("notify"), ScriptUser{User: "root"}},
		{"notify_backup (unset)", n.Users.Of("notify_backup"), ScriptUser{}},
		{"notify_master_rx_lower_pri", n.Users.Of("notify_master_rx_lower_pri"), ScriptUser{User: "nobody"}},
		{"quorum_up", vs.QuorumUsers.Of("quorum_up"), ScriptUser{User: "nobody"}},
		{"notify_down", vs.RealServers[0].NotifyUsers.Of("notify_down"), ScriptUser{"nobody", "nogroup"}},
		{"lvs_notify_fifo_script", cfg.Global.Alerts.LVSNotifyFIFO.ScriptUser, ScriptUser{"nobody", "nogroup"}},
	} {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", c.what, c.got, c.want)
		}
	}
}

// TestScriptAndMiscPathFirstWordAsKeepalived: vrrp_script's script and
// MISC_CHECK's misc_path are the first word after the keyword, as
// keepalived 2.2.7's set_script_params_array reads them; later words are
// not read, with a warning.
func TestScriptAndMiscPathFirstWordAsKeepalived(t *testing.T) {
	tests := []struct {
		name, line, cmd, warning string
	}{
		{"quoted with arguments", `"/bin/check a 'b c'"`, "/bin/check a 'b c'", ""},
		{"one word", `/bin/check`, "/bin/check", ""},
		{"unquoted arguments not read", `/bin/check a nobody`, "/bin/check", "words after the command ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "vrrp_script chk {\n script " + tt.line + "\n}\n" + kaInstance(" track_script {\n  chk\n }\n") +
				"virtual_server 192.0.2.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 192.0.2.2 80 {\n  MISC_CHECK {\n   misc_path " + tt.line + "\n  }\n }\n}\n"
			l := kaTestLoader()
			cfg, diags := l.LoadSource("k.conf", []byte(src))
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if got := cfg.Scripts[0].Script; got != tt.cmd {
				t.Errorf("script %q, want %q", got, tt.cmd)
			}
			if got := cfg.VirtualServers[0].RealServers[0].Checkers[0].Misc().Path; got != tt.cmd {
				t.Errorf("misc_path %q, want %q", got, tt.cmd)
			}
			var summaries []string
			for _, d := range diags {
				summaries = append(summaries, d.Summary)
			}
			var want []string
			if tt.warning != "" {
				want = []string{"script: " + tt.warning, "misc_path: " + tt.warning}
			}
			if !reflect.DeepEqual(summaries, want) {
				t.Errorf("diagnostics %q, want %q", summaries, want)
			}
		})
	}
}
