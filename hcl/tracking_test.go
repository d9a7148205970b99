package hcl

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// kaTracking is a keepalived.conf with every keyword of tracking.go and
// alert.go.
const kaTrackingConf = `global_defs {
    router_id lb1
    notification_email {
        ops@example.com
    }
    notification_email_from lvsd@example.com
    smtp_server 192.0.2.25 2525
    smtp_connect_timeout 7
    smtp_helo_name lb1.example.com
    smtp_alert_vrrp
    no_email_faults
    notify_fifo /run/lvsd.fifo
    notify_fifo_script "/usr/local/bin/fifo-reader"
    vrrp_notify_fifo /run/vrrp.fifo nobody
    lvs_notify_fifo /run/lvs.fifo
    vrrp_startup_delay 2.5
    vrrp_down_timer_adverts 4
}
vrrp_track_file tf {
    file /run/prio
    weight 3 reverse
}
vrrp_track_process hap {
    process haproxy -f /etc/haproxy.cfg
    param_match initial
    quorum 2
    quorum_max 4
    delay 1.5
    fork_delay 0.5
    weight -10 reverse
}
vrrp_script chk {
    script /bin/true
    weight 5 reverse
    init_fail
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    dont_track_primary
    down_timer_adverts 6
    notify_deleted
    notify_master_rx_lower_pri "/usr/local/bin/lower prio"
    smtp_alert off
    track_interface {
        eth1 weight 10 reverse
    }
    track_script {
        chk
    }
    track_file {
        tf weight -2
    }
    track_process {
        hap
    }
    virtual_ipaddress {
        192.0.2.1
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority 255
    virtual_ipaddress {
        192.0.2.2
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    sync_group_tracking_weight
    track_interface {
        eth2
    }
    track_file {
        tf
    }
}
virtual_server 192.0.2.1 80 {
    protocol TCP
    lb_algo rr
    lb_kind NAT
    smtp_alert
    real_server 10.0.0.1 80 {
        smtp_alert no
    }
    real_server 10.0.0.2 80 {
    }
}
`

func TestKeepalivedReadsTrackingAndAlerts(t *testing.T) {
	cfg, diags := kaLoadText(t, kaTrackingConf, false)
	if cfg == nil || len(diags.Lenient()) != 0 {
		t.Fatalf("refused or lenient: %v", diags)
	}
	g := cfg.Global
	e := g.Alerts.Email
	if !slices.Equal(e.To, []string{"ops@example.com"}) || e.From != "lvsd@example.com" || e.Server != "192.0.2.25:2525" ||
		e.ConnectTimeout != 7*time.Second || e.HeloName != "lb1.example.com" || !e.NoFaults || !e.Enabled() {
		t.Errorf("email %+v", e)
	}
	a := g.Alerts
	if a.NotifyFIFO.Path != "/run/lvsd.fifo" || a.NotifyFIFO.Script != "/usr/local/bin/fifo-reader" ||
		a.VRRPNotifyFIFO.Path != "/run/vrrp.fifo" || a.VRRPNotifyFIFO.User != "nobody" || a.LVSNotifyFIFO.Path != "/run/lvs.fifo" {
		t.Errorf("fifos %+v", a)
	}
	if g.VRRPStartupDelay != 2500*time.Millisecond || g.VRRPDownTimerAdverts != 4 {
		t.Errorf("startup delay %s, down timer adverts %d", g.VRRPStartupDelay, g.VRRPDownTimerAdverts)
	}
	p := cfg.TrackProcesses[0]
	if p.Process != "haproxy" || !slices.Equal(p.Params, []string{"-f", "/etc/haproxy.cfg"}) || p.ParamMatch != ParamMatchInitial ||
		!p.FullCommand || p.Quorum != 2 || p.QuorumMax != 4 || p.ForkDelay != 500*time.Millisecond ||
		p.TerminateDelay != 1500*time.Millisecond || p.Weight != -10 || !p.Reverse {
		t.Errorf("track process %+v", p)
	}
	if s := cfg.Scripts[0]; s.Weight != 5 || !s.Reverse || !s.InitFail {
		t.Errorf("script %+v", s)
	}
	in := cfg.Instances[0]
	if !in.DontTrackPrimary || in.DownTimerAdverts != 6 || !in.NotifyDeleted || in.Notify.MasterRxLowerPri != "/usr/local/bin/lower prio" || in.SMTPAlert {
		t.Errorf("instance %+v", in)
	}
	if !slices.Equal(in.TrackInterfaces, []TrackInterface{{Name: "eth1", Weight: 10, Reverse: true}}) ||
		!slices.Equal(in.TrackScripts, []TrackScript{{Name: "chk", Weight: 5, Reverse: true}}) ||
		!slices.Equal(in.TrackFiles, []TrackedFile{{Name: "tf", File: "/run/prio", Weight: -2, WeightSet: true, Reverse: true}}) ||
		!slices.Equal(in.TrackProcesses, []TrackedProcess{{Name: "hap", Weight: -10, Reverse: true}}) {
		t.Errorf("tracking %+v %+v %+v %+v", in.TrackInterfaces, in.TrackScripts, in.TrackFiles, in.TrackProcesses)
	}
	if in2 := cfg.Instances[1]; !in2.StartBackup || in2.DownTimerAdverts != 4 || !in2.SMTPAlert {
		t.Errorf("VI_2: start backup %v, down timer adverts %d, smtp_alert %v (smtp_alert_vrrp)", in2.StartBackup, in2.DownTimerAdverts, in2.SMTPAlert)
	}
	sg := cfg.SyncGroups[0]
	if !sg.TrackingWeight || !sg.SMTPAlert || !slices.Equal(sg.TrackInterfaces, []TrackInterface{{Name: "eth2"}}) ||
		!slices.Equal(sg.TrackFiles, []TrackedFile{{Name: "tf", File: "/run/prio", Weight: 3, Reverse: true}}) {
		t.Errorf("sync group %+v", sg)
	}
	vs := cfg.VirtualServers[0]
	if !vs.SMTPAlert || vs.RealServers[0].SMTPAlert || !vs.RealServers[1].SMTPAlert {
		t.Errorf("smtp_alert: vs %v, rs %v %v (a real server's default is on)", vs.SMTPAlert, vs.RealServers[0].SMTPAlert, vs.RealServers[1].SMTPAlert)
	}
	var l Loader
	assertConvertsBack(t, &l, cfg)
}

// TestKeepalivedSyncGroupIgnoresWeightsWithoutTrackingWeight: vrrp.c's
// rule for the members of a sync group without
// sync_group_tracking_weight, and for the address owner.
func TestKeepalivedSyncGroupIgnoresWeightsWithoutTrackingWeight(t *testing.T) {
	src := strings.Replace(kaTrackingConf, "    sync_group_tracking_weight\n", "", 1)
	cfg, diags := kaLoadText(t, src, false)
	if cfg == nil {
		t.Fatal(diags)
	}
	in := cfg.Instances[0]
	if !slices.Equal(in.TrackInterfaces, []TrackInterface{{Name: "eth1", Weight: 10, Reverse: true}}) || len(in.TrackScripts) != 0 ||
		len(in.TrackFiles) != 0 || !slices.Equal(in.TrackProcesses, []TrackedProcess{{Name: "hap", Weight: -10, Reverse: true}}) {
		t.Errorf("weights kept in a sync group: %+v %+v %+v %+v", in.TrackInterfaces, in.TrackScripts, in.TrackFiles, in.TrackProcesses)
	}
	var said []string
	for _, d := range diags.Lenient() {
		said = append(said, d.Summary)
	}
	for _, want := range []string{"(VI_1) ignoring eth1 tracked interface weight due to SYNC group", "(VI_1) ignoring tracked script chk with weights due to SYNC group",
		"(VI_1) ignoring tracked file tf with weight -2 due to SYNC group", "(VI_1) ignoring tracked process hap with weights due to SYNC group"} {
		if !slices.Contains(said, want) {
			t.Errorf("no warning %q; got %q", want, said)
		}
	}
}

func TestTrackingReadsTheSameInHCL(t *testing.T) {
	src := `global {
  router_id = "lb1"
  notification_email = ["ops@example.com"]
  notification_email_from = "lvsd@example.com"
  smtp_server = "192.0.2.25 2525"
  smtp_connect_timeout = 7
  smtp_helo_name = "lb1.example.com"
  smtp_alert_vrrp = true
  no_email_faults = true
  notify_fifo = "/run/lvsd.fifo"
  vrrp_startup_delay = 2.5
  vrrp_down_timer_adverts = 4
}
track_file "tf" {
  file = "/run/prio"
  weight = 3
  reverse = true
}
vrrp_track_process "hap" {
  process = "haproxy -f /etc/haproxy.cfg"
  param_match = "initial"
  quorum = 2
  weight = -10
  reverse = true
}
vrrp_script "chk" {
  script = "/bin/true"
  weight = 5
  reverse = true
  init_fail = true
}
vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  dont_track_primary = true
  track_interface = ["eth1 weight 10 reverse"]
  track_script = ["chk"]
  track_file = ["tf weight -2"]
  track_process = ["hap"]
  virtual_ipaddress = ["192.0.2.1"]
}
`
	cfg, diags := (&Loader{}).LoadSource("t.hcl", []byte(src))
	if cfg == nil {
		t.Fatal(diags)
	}
	in := cfg.Instances[0]
	if !in.DontTrackPrimary || in.DownTimerAdverts != 4 || !in.SMTPAlert ||
		!slices.Equal(in.TrackInterfaces, []TrackInterface{{Name: "eth1", Weight: 10, Reverse: true}}) ||
		!slices.Equal(in.TrackScripts, []TrackScript{{Name: "chk", Weight: 5, Reverse: true}}) ||
		!slices.Equal(in.TrackFiles, []TrackedFile{{Name: "tf", File: "/run/prio", Weight: -2, WeightSet: true, Reverse: true}}) ||
		!slices.Equal(in.TrackProcesses, []TrackedProcess{{Name: "hap", Weight: -10, Reverse: true}}) {
		t.Errorf("instance %+v", in)
	}
	if e := cfg.Global.Alerts.Email; e.Server != "192.0.2.25:2525" || !e.NoFaults || cfg.Global.Alerts.NotifyFIFO.Path != "/run/lvsd.fifo" {
		t.Errorf("alerts %+v", cfg.Global.Alerts)
	}
	if p := cfg.TrackProcesses[0]; p.Process != "haproxy" || !p.FullCommand || p.ParamMatch != ParamMatchInitial {
		t.Errorf("process %+v", p)
	}
}

func TestTrackingRefusesUnknownReferencesInHCL(t *testing.T) {
	src := `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  track_file = ["nofile"]
  track_process = ["noproc"]
  virtual_ipaddress = ["192.0.2.1"]
}
`
	cfg, diags := (&Loader{}).LoadSource("t.hcl", []byte(src))
	if cfg != nil {
		t.Fatal("loaded")
	}
	for _, want := range []string{"unknown track_file", "unknown vrrp_track_process"} {
		if !slices.ContainsFunc(diags, func(d Diagnostic) bool { return d.Summary == want && d.Pos.Line >= 4 }) {
			t.Errorf("no %q in %v", want, diags)
		}
	}
}

// An instance's or sync group's track_file and track_process entries are
// resolved alike: a name no block defines is refused with the nearest
// name, a repeat is warned about and the first kept, and an entry that
// writes no weight or direction takes its block's.
func TestTrackedFilesAndProcessesResolveByName(t *testing.T) {
	const blocks = `track_file "prio" {
  file = "/run/prio"
  weight = 3
  reverse = true
}
vrrp_track_process "haproxy" {
  process = "haproxy"
  weight = -10
  reverse = true
}
`
	instance := func(lines ...string) string {
		return `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  ` + strings.Join(lines, "\n  ") + `
  virtual_ipaddress = ["192.0.2.1"]
}
`
	}
	group := func(lines ...string) string {
		return instance() + `vrrp_sync_group "G" {
  group = ["VI_1"]
  ` + strings.Join(lines, "\n  ") + `
}
`
	}
	type tracked struct {
		files []TrackedFile
		procs []TrackedProcess
	}
	for _, tc := range []struct {
		name string
		src  string
		want []string // "severity summary detail", in any order
		got  func(*Config) tracked
		res  tracked
	}{
		{
			name: "an unknown name is refused with the nearest defined one",
			src:  blocks + instance(`track_file = ["prion"]`, `track_process = ["haproxx"]`),
			want: []string{
				`error unknown track_file vrrp_instance "VI_1" tracks file "prion", which is not defined. Did you mean "prio"?`,
				`error unknown vrrp_track_process vrrp_instance "VI_1" tracks process "haproxx", which is not defined. Did you mean "haproxy"?`,
			},
		},
		{
			name: "an unknown name in a sync group is refused",
			src:  blocks + group(`track_file = ["other"]`, `track_process = ["other"]`),
			want: []string{
				`error unknown track_file vrrp_sync_group "G" tracks file "other", which is not defined.`,
				`error unknown vrrp_track_process vrrp_sync_group "G" tracks process "other", which is not defined.`,
			},
		},
		{
			name: "a repeat is warned about and the first entry kept",
			src:  blocks + instance(`track_file = ["prio weight 7", "prio"]`, `track_process = ["haproxy weight 2 noreverse", "haproxy"]`),
			want: []string{
				`warning duplicate track_file vrrp_instance "VI_1" tracks file "prio" twice; the first is used (keepalived: duplicate track_file - ignoring)`,
				`warning duplicate track_process vrrp_instance "VI_1" tracks process "haproxy" twice; the first is used`,
			},
			got: func(c *Config) tracked { return tracked{c.Instances[0].TrackFiles, c.Instances[0].TrackProcesses} },
			res: tracked{
				files: []TrackedFile{{Name: "prio", File: "/run/prio", Weight: 7, WeightSet: true, Reverse: true}},
				procs: []TrackedProcess{{Name: "haproxy", Weight: 2, WeightSet: true, ReverseSet: true}},
			},
		},
		{
			name: "an entry without weight or direction takes its block's",
			src:  blocks + instance(`track_file = ["prio"]`, `track_process = ["haproxy"]`),
			got:  func(c *Config) tracked { return tracked{c.Instances[0].TrackFiles, c.Instances[0].TrackProcesses} },
			res: tracked{
				files: []TrackedFile{{Name: "prio", File: "/run/prio", Weight: 3, Reverse: true}},
				procs: []TrackedProcess{{Name: "haproxy", Weight: -10, Reverse: true}},
			},
		},
		{
			name: "a sync group's entries take their block's weight and direction too",
			src:  blocks + group(`track_file = ["prio weight -4"]`, `track_process = ["haproxy"]`),
			got:  func(c *Config) tracked { return tracked{c.SyncGroups[0].TrackFiles, c.SyncGroups[0].TrackProcesses} },
			res: tracked{
				files: []TrackedFile{{Name: "prio", File: "/run/prio", Weight: -4, WeightSet: true, Reverse: true}},
				procs: []TrackedProcess{{Name: "haproxy", Weight: -10, Reverse: true}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := (&Loader{}).LoadSource("t.hcl", []byte(tc.src))
			var got []string
			for _, d := range diags {
				got = append(got, d.Severity.String()+" "+d.Summary+" "+d.Detail)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("diagnostics\n got %q\nwant %q", got, want)
			}
			if tc.got == nil {
				if cfg != nil {
					t.Error("loaded")
				}
				return
			}
			if cfg == nil {
				t.Fatal("not loaded")
			}
			if g := tc.got(cfg); !slices.Equal(g.files, tc.res.files) || !slices.Equal(g.procs, tc.res.procs) {
				t.Errorf("resolved %+v, want %+v", g, tc.res)
			}
		})
	}
}

// A vrrp_track_process without quorum or quorum_max has quorum 1 and no
// upper bound (keepalived's vrrp_data.c), in both readers.
func TestTrackProcessQuorumDefaultsInBothReaders(t *testing.T) {
	for _, tc := range []struct{ file, src string }{
		{"t.hcl", `vrrp_track_process "hap" {
  process = "haproxy"
}
`},
		{"keepalived.conf", `vrrp_track_process hap {
    process haproxy
}
`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg, diags := (&Loader{}).LoadSource(tc.file, []byte(tc.src))
			if cfg == nil {
				t.Fatal(diags)
			}
			if p := cfg.TrackProcesses[0]; p.Quorum != 1 || p.QuorumMax != 65535 {
				t.Errorf("quorum %d, quorum_max %d; want 1 and 65535", p.Quorum, p.QuorumMax)
			}
		})
	}
}
