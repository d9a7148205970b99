package hcl

import "strings"

// HCL spelling of the global alert settings (alert.go) and VRRP start
// timing, with keepalived's names: notify_fifo = "/run/lvsd.fifo",
// notification_email = ["ops@example.com"], smtp_server = "192.0.2.25 25".

var globalAlertAttrs = []string{"notify_fifo", "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script",
	"lvs_notify_fifo", "lvs_notify_fifo_script", "notification_email", "notification_email_from", "smtp_server",
	"smtp_connect_timeout", "smtp_helo_name", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "no_email_faults",
	"vrrp_startup_delay", "vrrp_down_timer_adverts", "notify_fifo_script_user", "vrrp_notify_fifo_script_user", "lvs_notify_fifo_script_user"}

// globalAlerts reads globalAlertAttrs.
func (d *decoder) globalAlerts(bl *block, g *Global) {
	a := &g.Alerts
	for _, f := range []struct {
		prefix string
		fifo   *NotifyFIFO
	}{{"", &a.NotifyFIFO}, {"vrrp_", &a.VRRPNotifyFIFO}, {"lvs_", &a.LVSNotifyFIFO}} {
		var path string
		if bl.str(f.prefix+"notify_fifo", &path) {
			f.fifo.Path, f.fifo.User, f.fifo.Group = path, "", ""
			if fields := strings.Fields(path); len(fields) > 1 {
				f.fifo.Path, f.fifo.User = fields[0], fields[1]
				if len(fields) > 2 {
					f.fifo.Group = fields[2]
				}
			}
			f.fifo.Pos = bl.pos.Where(f.prefix+"notify_fifo", Pos{})
		}
		bl.str(f.prefix+"notify_fifo_script", &f.fifo.Script)
		var u string
		if bl.str(f.prefix+"notify_fifo_script_user", &u) {
			f.fifo.ScriptUser.User, f.fifo.ScriptUser.Group = userAndGroup(u)
		}
	}
	e := &a.Email
	e.To, _ = bl.strList("notification_email")
	bl.str("notification_email_from", &e.From)
	var server string
	if bl.str("smtp_server", &server) {
		s, err := smtpServer(server)
		if err != nil {
			d.diags.errorf(bl.pos.Where("smtp_server", Pos{}), "invalid smtp_server", "%v", err)
		}
		e.Server = s
	}
	bl.duration("smtp_connect_timeout", &e.ConnectTimeout)
	bl.str("smtp_helo_name", &e.HeloName)
	bl.boolean("smtp_alert", &e.Alert)
	bl.boolean("smtp_alert_vrrp", &e.AlertVRRP)
	bl.boolean("smtp_alert_checker", &e.AlertChecker)
	bl.boolean("no_email_faults", &e.NoFaults)
	bl.duration("vrrp_startup_delay", &g.VRRPStartupDelay)
	bl.integer("vrrp_down_timer_adverts", &g.VRRPDownTimerAdverts)
}
