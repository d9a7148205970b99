package hcl

import (
	"fmt"
	"time"
)

// keepalived.conf's global_defs keywords for notify FIFOs, e-mail alerts
// and VRRP start timing (global_parser.c), read into Global.Alerts,
// Global.VRRPStartupDelay and Global.VRRPDownTimerAdverts.

// globalAlert reads the global_defs keywords of this file; it says whether
// c was one.
func (r *kaReader) globalAlert(c *kaNode) bool {
	g := &r.cfg.Global
	a := &g.Alerts
	e := &a.Email
	switch c.name {
	case "notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo":
		r.fifo(c, fifoOf(a, c.name[:len(c.name)-len("notify_fifo")]))
	case "notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo_script":
		f := fifoOf(a, c.name[:len(c.name)-len("notify_fifo_script")])
		if f.Script != "" {
			r.warnf(c.pos, c.name+" already specified - ignoring", "as keepalived does")
			return true
		}
		if v, u, ok := r.notifyScript(c); ok { // notify_users.go
			f.Script, f.ScriptUser = v, u
			if f.Pos.File == "" {
				f.Pos = c.pos
			}
		}
	case "notification_email":
		if !r.block(c) {
			return true
		}
		if len(c.block) == 0 {
			r.warnf(c.pos, "Warning - empty notification_email block", "as keepalived says")
		}
		for _, m := range c.block {
			e.To = append(e.To, m.name)
			e.To = append(e.To, m.argText()...)
		}
		g.Positions.Set(c.name, c.pos)
	case "notification_email_from":
		if v, ok := r.one(c); ok {
			e.From = v
			g.Positions.Set(c.name, c.pos)
		}
	case "smtp_server":
		if !r.noBlock(c) || len(c.args) == 0 {
			r.warnf(c.pos, "Invalid smtp server", "smtp_server needs an address; ignored, as keepalived does")
			return true
		}
		s, err := smtpServer(c.line()[len(c.name):])
		if err != nil {
			r.warnf(c.pos, fmt.Sprintf("Invalid smtp server %s", c.line()), "%v; ignored, as keepalived does", err)
			return true
		}
		e.Server = s
		g.Positions.Set(c.name, c.pos)
	case "smtp_helo_name":
		if v, ok := r.one(c); ok {
			e.HeloName = v
			g.Positions.Set(c.name, c.pos)
		}
	case "smtp_connect_timeout":
		v, ok := r.integer(c, 0, 1<<31)
		if !ok {
			return true
		}
		if v == 0 {
			r.warnf(c.pos, "smtp_conect_timeout must be greater than 0, setting to 1", "as keepalived does")
			v = 1
		}
		e.ConnectTimeout = time.Duration(v) * time.Second
		g.Positions.Set(c.name, c.pos)
	case "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker":
		v, ok := r.flag(c)
		if !ok {
			return true
		}
		switch c.name {
		case "smtp_alert":
			e.Alert = v
		case "smtp_alert_vrrp":
			e.AlertVRRP = v
		default:
			e.AlertChecker = v
		}
		g.Positions.Set(c.name, c.pos)
	case "no_email_faults":
		// keepalived 2.2.7 has no email_faults (later versions do): it
		// is an unknown keyword there and here, and faults are e-mailed
		// by default anyway.
		if r.none(c) {
			e.NoFaults = true
			g.Positions.Set(c.name, c.pos)
		}
	case "vrrp_startup_delay":
		if v, ok := r.seconds(c, true); ok {
			if v < time.Millisecond {
				r.warnf(c.pos, fmt.Sprintf("vrrp_startup_delay '%s' is invalid", c.args[0].text), "ignored, as keepalived does")
				return true
			}
			g.VRRPStartupDelay = v
			g.Positions.Set(c.name, c.pos)
		}
	case "vrrp_down_timer_adverts":
		if v, ok := r.integer(c, 1, maxDownTimerAdverts); ok {
			g.VRRPDownTimerAdverts = int(v)
			g.Positions.Set(c.name, c.pos)
		}
	default:
		return false
	}
	return true
}

// fifoOf is the FIFO a keyword prefix ("", "vrrp_", "lvs_") names.
func fifoOf(a *Alerts, prefix string) *NotifyFIFO {
	switch prefix {
	case "vrrp_":
		return &a.VRRPNotifyFIFO
	case "lvs_":
		return &a.LVSNotifyFIFO
	}
	return &a.NotifyFIFO
}

// fifo reads "notify_fifo PATH [USER [GROUP]]".
func (r *kaReader) fifo(c *kaNode, f *NotifyFIFO) {
	if !r.noBlock(c) {
		return
	}
	args := c.argText()
	if len(args) == 0 {
		r.warnf(c.pos, fmt.Sprintf("No %s name specified", c.name), "as keepalived says")
		return
	}
	if f.Path != "" {
		r.warnf(c.pos, fmt.Sprintf("%s already specified - ignoring %s", c.name, args[0]), "as keepalived does")
		return
	}
	f.Path, f.Pos = args[0], c.pos
	if len(args) > 1 {
		f.User = args[1]
	}
	if len(args) > 2 {
		f.Group = args[2]
	}
}

// smtpAlert reads a virtual_server's or real_server's smtp_alert.
func (r *kaReader) smtpAlert(c *kaNode, dst *bool, pos Positions) {
	if v, ok := r.flag(c); ok {
		*dst = v
		pos.Set(c.name, c.pos)
	}
}
