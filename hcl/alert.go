package hcl

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Alerts are what lvsd tells the outside world besides running notify
// scripts: lines on notify FIFOs and e-mail (keepalived's notify_fifo and
// smtp_alert), configured in the global block.
type Alerts struct {
	// NotifyFIFO gets every line; VRRPNotifyFIFO the INSTANCE and GROUP
	// lines, LVSNotifyFIFO the VS and RS lines (keepalived's line format).
	NotifyFIFO     NotifyFIFO
	VRRPNotifyFIFO NotifyFIFO
	LVSNotifyFIFO  NotifyFIFO
	Email          Email
}

// NotifyFIFO is one notify FIFO: Path ("" when off) is created as a FIFO
// when missing, owned by User/Group when set; Script, when set, is started
// with Path as its last argument before lvsd opens the FIFO and runs until
// lvsd stops (notify_fifo_script).
type NotifyFIFO struct {
	Path   string
	User   string
	Group  string
	Script string
	// ScriptUser runs Script (notify_fifo_script CMD [USER [GROUP]];
	// HCL notify_fifo_script_user); empty: script_user.
	ScriptUser ScriptUser
	Pos        Pos
}

// Email configures the alert e-mails. They are sent when To is not empty
// and Server is set; which events send one is said by the SMTPAlert of
// each instance, sync group, virtual server and real server, resolved by
// validation from smtp_alert (global), smtp_alert_vrrp and
// smtp_alert_checker.
type Email struct {
	To   []string // notification_email
	From string   // notification_email_from (default: USER@hostname)
	// Server is HOST:PORT (smtp_server ADDRESS [PORT]; port 25).
	Server         string
	ConnectTimeout time.Duration // smtp_connect_timeout (default 30 s)
	HeloName       string        // smtp_helo_name (default: the hostname)
	// NoFaults sends no e-mail for a move to FAULT (no_email_faults).
	NoFaults bool
	// The global smtp_alert keywords, set when Global.Positions has
	// them: Alert is the default of every object, AlertVRRP of instances
	// and sync groups, AlertChecker of virtual and real servers.
	Alert, AlertVRRP, AlertChecker bool
}

// Enabled says whether e-mail can be sent at all.
func (e Email) Enabled() bool { return len(e.To) > 0 && e.Server != "" }

// smtpServer reads keepalived's "ADDRESS [PORT]" (HCL: "ADDRESS",
// "ADDRESS PORT" or "ADDRESS:PORT") into HOST:PORT.
func smtpServer(s string) (string, error) {
	f := strings.Fields(s)
	switch len(f) {
	case 1:
		if host, port, err := net.SplitHostPort(f[0]); err == nil {
			if _, err := strconv.ParseUint(port, 10, 16); err != nil {
				return "", fmt.Errorf("%q: invalid port", s)
			}
			return net.JoinHostPort(host, port), nil
		}
		return net.JoinHostPort(f[0], strconv.Itoa(defaultSMTPPort)), nil
	case 2:
		if _, err := strconv.ParseUint(f[1], 10, 16); err != nil {
			return "", fmt.Errorf("%q: invalid port %q", s, f[1])
		}
		return net.JoinHostPort(f[0], f[1]), nil
	}
	return "", fmt.Errorf("%q: want ADDRESS [PORT]", s)
}

// alertDefaults are the SMTPAlert of an instance or sync group, a virtual
// server and a real server that set none.
func alertDefaults(g Global) (vrrp, checker, rs bool) {
	e := g.Alerts.Email
	vrrp, checker, rs = false, false, true
	if ok := g.Positions.Has("smtp_alert"); ok {
		vrrp, checker, rs = e.Alert, e.Alert, e.Alert
	}
	if ok := g.Positions.Has("smtp_alert_vrrp"); ok {
		vrrp = e.AlertVRRP
	}
	if ok := g.Positions.Has("smtp_alert_checker"); ok {
		checker, rs = e.AlertChecker, e.AlertChecker
	}
	return vrrp, checker, rs
}

// alerts checks the FIFOs and e-mail settings and resolves every
// object's SMTPAlert (keepalived's vrrp.c and check_data.c rules): its own
// smtp_alert when written, else smtp_alert_vrrp (instances, sync groups)
// or smtp_alert_checker (virtual and real servers), else the global
// smtp_alert, else off (a real server: on).
func (v *validator) alerts() {
	g := &v.cfg.Global
	a := &g.Alerts
	for _, f := range []*NotifyFIFO{&a.NotifyFIFO, &a.VRRPNotifyFIFO, &a.LVSNotifyFIFO} {
		if f.Path != "" && !filepath.IsAbs(f.Path) {
			v.diags.errorf(f.Pos, "invalid notify FIFO", "%q: want an absolute path", f.Path)
		}
		if f.Script != "" && f.Path == "" {
			v.diags.warnf(f.Pos, "notify FIFO script without a FIFO", "%q is not run", f.Script)
			f.Script = ""
		}
	}
	if a.VRRPNotifyFIFO.Path != "" && a.VRRPNotifyFIFO.Path == a.NotifyFIFO.Path {
		v.diags.warnf(a.VRRPNotifyFIFO.Pos, "vrrp_notify_fifo is notify_fifo", "%q: lines would be written twice; vrrp_notify_fifo is ignored (keepalived does the same)", a.NotifyFIFO.Path)
		a.VRRPNotifyFIFO = NotifyFIFO{}
	}
	if a.LVSNotifyFIFO.Path != "" && a.LVSNotifyFIFO.Path == a.NotifyFIFO.Path {
		v.diags.warnf(a.LVSNotifyFIFO.Pos, "lvs_notify_fifo is notify_fifo", "%q: lines would be written twice; lvs_notify_fifo is ignored (keepalived does the same)", a.NotifyFIFO.Path)
		a.LVSNotifyFIFO = NotifyFIFO{}
	}
	e := &a.Email
	if e.Server != "" {
		if e.ConnectTimeout <= 0 {
			e.ConnectTimeout = defaultSMTPConnectTimeout
		}
		host, _ := os.Hostname()
		if e.HeloName == "" {
			e.HeloName = host
		}
		if e.From == "" {
			name := "root"
			if u, err := user.Current(); err == nil {
				name = u.Username
			}
			e.From = name + "@" + host
		}
	}
	if len(e.To) > 0 && e.Server == "" {
		v.diags.warnf(at(g.Positions, "notification_email", g.Pos), "notification_email without smtp_server", "no e-mail is sent")
	}
	set := func(p Positions, k string) bool { ok := p.Has(k); return ok }
	vrrpDefault, checkerDefault, rsDefault := alertDefaults(*g)
	for i := range v.cfg.Instances {
		if in := &v.cfg.Instances[i]; !set(in.Positions, "smtp_alert") {
			in.SMTPAlert = vrrpDefault
		}
	}
	for i := range v.cfg.SyncGroups {
		if sg := &v.cfg.SyncGroups[i]; !set(sg.Positions, "smtp_alert") {
			sg.SMTPAlert = vrrpDefault
		}
	}
	for i := range v.cfg.VirtualServers {
		vs := &v.cfg.VirtualServers[i]
		if !set(vs.Positions, "smtp_alert") {
			vs.SMTPAlert = checkerDefault
		}
		for j := range vs.RealServers {
			if rs := &vs.RealServers[j]; !set(rs.Positions, "smtp_alert") {
				rs.SMTPAlert = rsDefault
			}
		}
	}
}
