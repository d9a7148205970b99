package alert

import (
	"context"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
)

// Alerter tells the notify FIFOs and the mail server about VRRP notices,
// real server verdicts and virtual server quorum, as the configuration
// in force says. Its methods never wait for a reader or a server and are
// safe for concurrent use.
type Alerter struct {
	log    *slog.Logger
	runner func(hcl.Global) script.Runner

	mu        sync.Mutex
	cfg       *hcl.Config
	all       *FIFO // notify_fifo
	vrrp      *FIFO // vrrp_notify_fifo
	lvs       *FIFO // lvs_notify_fifo
	mailer    *Mailer
	lastEmail map[string]string // instance or group -> last state e-mailed
	stop      context.CancelFunc
	wg        sync.WaitGroup
}

// Stats count what the alerter wrote, sent and lost.
type Stats struct {
	FIFOLines, FIFODropped            uint64
	MailSent, MailFailed, MailDropped uint64
	FIFOs                             int
	MailEnabled                       bool
}

// New returns an alerter of cfg; Start opens its FIFOs. runner gives the
// script runner of a global block (nil: internal/script's).
func New(cfg *hcl.Config, runner func(hcl.Global) script.Runner, log *slog.Logger) *Alerter {
	if runner == nil {
		runner = func(g hcl.Global) script.Runner { return script.New(g) }
	}
	if log == nil {
		log = slog.Default()
	}
	return &Alerter{log: log, runner: runner, cfg: cfg, lastEmail: map[string]string{}}
}

// Start opens the configured FIFOs (creating them), starts their scripts
// and the mail sender. A FIFO that cannot be opened is logged and left
// out, as keepalived does.
func (a *Alerter) Start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.startLocked(ctx)
}

func (a *Alerter) startLocked(parent context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	a.stop = cancel
	al := a.cfg.Global.Alerts
	open := func(f hcl.NotifyFIFO) *FIFO {
		if f.Path == "" {
			return nil
		}
		fifo, err := OpenFIFO(f.Path, f.User, f.Group)
		if err != nil {
			a.log.Error("notify FIFO not opened", "err", err)
			return nil
		}
		if f.Script != "" {
			run := a.runner(a.cfg.Global)
			s := script.Script{Name: "notify FIFO script of " + f.Path, Command: f.Script, Args: []string{f.Path},
				User: f.ScriptUser.User, Group: f.ScriptUser.Group}
			a.wg.Go(func() {
				res, err := run.Run(ctx, s)
				if ctx.Err() == nil {
					a.log.Warn("notify FIFO script ended", "script", f.Script, "exit", res.ExitCode, "err", err)
				}
			})
		}
		return fifo
	}
	a.all, a.vrrp, a.lvs = open(al.NotifyFIFO), open(al.VRRPNotifyFIFO), open(al.LVSNotifyFIFO)
	a.mailer = nil
	if al.Email.Enabled() {
		m := NewMailer(al.Email, a.log)
		a.mailer = m
		a.wg.Go(func() { m.Run(ctx) })
	}
}

// Close closes the FIFOs (removing those it created), kills their
// scripts and stops the mail sender; it waits for its goroutines.
func (a *Alerter) Close() {
	a.mu.Lock()
	a.closeLocked()
	a.mu.Unlock()
	a.wg.Wait()
}

func (a *Alerter) closeLocked() {
	if a.stop != nil {
		a.stop()
	}
	for _, f := range []*FIFO{a.all, a.vrrp, a.lvs} {
		if f != nil {
			f.Close()
		}
	}
	a.all, a.vrrp, a.lvs, a.mailer = nil, nil, nil, nil
}

// Reload takes a new configuration; FIFOs and the mail sender are opened
// again only when their settings changed.
func (a *Alerter) Reload(ctx context.Context, cfg *hcl.Config) {
	a.mu.Lock()
	old := a.cfg.Global.Alerts
	a.cfg = cfg
	if reflect.DeepEqual(old, cfg.Global.Alerts) {
		a.mu.Unlock()
		return
	}
	a.closeLocked()
	a.mu.Unlock()
	a.wg.Wait()
	a.mu.Lock()
	a.startLocked(ctx)
	a.mu.Unlock()
}

// Stats returns the counters.
func (a *Alerter) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s Stats
	for _, f := range []*FIFO{a.all, a.vrrp, a.lvs} {
		if f != nil {
			s.FIFOs++
			s.FIFOLines += f.Written()
			s.FIFODropped += f.Dropped()
		}
	}
	if a.mailer != nil {
		s.MailEnabled = true
		s.MailSent, s.MailFailed, s.MailDropped = a.mailer.Sent(), a.mailer.Failed(), a.mailer.Dropped()
	}
	return s
}

// VRRP tells a VRRP notice (vrrp.Notice): its FIFO line (line), and an
// e-mail when the instance or group has smtp_alert (keepalived sends one
// per state, none for a repeat, none for FAULT with no_email_faults).
func (a *Alerter) VRRP(group bool, name, state, line string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range []*FIFO{a.all, a.vrrp} {
		if f != nil {
			f.Write(line)
		}
	}
	if a.mailer == nil || !a.vrrpAlert(group, name) {
		return
	}
	e := a.cfg.Global.Alerts.Email
	if state == "FAULT" && e.NoFaults {
		return
	}
	key := map[bool]string{false: "instance ", true: "group "}[group] + name
	if a.lastEmail[key] == state {
		return
	}
	subject, body, ok := vrrpMail(a.cfg.Global.RouterID, group, name, state)
	if !ok {
		return
	}
	a.lastEmail[key] = state
	a.mailer.Send(Mail{Subject: subject, Body: body, At: time.Now()})
}

func (a *Alerter) vrrpAlert(group bool, name string) bool {
	if group {
		i := slices.IndexFunc(a.cfg.SyncGroups, func(g hcl.SyncGroup) bool { return g.Name == name })
		return i >= 0 && a.cfg.SyncGroups[i].SMTPAlert
	}
	i := slices.IndexFunc(a.cfg.Instances, func(in hcl.VRRPInstance) bool { return in.Name == name })
	return i >= 0 && a.cfg.Instances[i].SMTPAlert
}

// RealServer tells a real server's verdict change: its RS line, and an
// e-mail with the real server's smtp_alert.
func (a *Alerter) RealServer(service string, real netip.AddrPort, up bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	vs, rs, ok := a.find(service, real)
	if !ok {
		return
	}
	for _, f := range []*FIFO{a.all, a.lvs} {
		if f != nil {
			f.Write(realServerLine(vs, rs.Addr, up))
		}
	}
	if a.mailer != nil && rs.SMTPAlert {
		kind := ""
		if len(rs.Checkers) > 0 {
			kind = rs.Checkers[0].Kind
		}
		subject, body := realServerMail(a.cfg.Global.RouterID, vs, rs.Addr, up, kind)
		a.mailer.Send(Mail{Subject: subject, Body: body, At: time.Now()})
	}
}

// VirtualServer tells a virtual server crossing quorum: its VS line, and
// an e-mail with the virtual server's smtp_alert; liveWeight is the sum
// of its live real servers' weights, which the e-mail body carries.
func (a *Alerter) VirtualServer(vs hcl.VirtualServer, up bool, liveWeight int) {
	a.virtualServer(vs, up, false, liveWeight)
}

// VirtualServerAtStart tells a virtual server's quorum when lvsd starts
// programming it, as keepalived does ("Starting with quorum up").
func (a *Alerter) VirtualServerAtStart(vs hcl.VirtualServer, up bool, liveWeight int) {
	a.virtualServer(vs, up, true, liveWeight)
}

// MailsQuorum says whether a quorum crossing of vs is e-mailed, so that
// the caller reads the live weight only then.
func (a *Alerter) MailsQuorum(vs hcl.VirtualServer) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mailer != nil && vs.SMTPAlert
}

func (a *Alerter) virtualServer(vs hcl.VirtualServer, up, start bool, liveWeight int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range []*FIFO{a.all, a.lvs} {
		if f != nil {
			f.Write(virtualServerLine(vs, up))
		}
	}
	if a.mailer != nil && vs.SMTPAlert {
		subject, body := virtualServerMail(a.cfg.Global.RouterID, vs, up, start, liveWeight)
		a.mailer.Send(Mail{Subject: subject, Body: body, At: time.Now()})
	}
}

// ShuttingDown tells what keepalived 2.2.7 tells at stop for a virtual
// server with omega (ipwrapper.c clear_service_vs; without omega it
// tells nothing): for each real server still up, its RS line "DOWN" and,
// with its smtp_alert, an e-mail "Realserver ... - DOWN" whose body is
// "=> Shutting down <="; then the virtual server's VS line "DOWN" and,
// with its smtp_alert, "Virtualserver ... - DOWN" with the same body.
func (a *Alerter) ShuttingDown(vs hcl.VirtualServer, up []netip.AddrPort) {
	if !vs.Omega {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	mail := func(subject string) {
		if a.mailer != nil {
			a.mailer.Send(Mail{Subject: subject, Body: shutdownBody, At: time.Now()})
		}
	}
	for _, rs := range vs.RealServers {
		if !slices.Contains(up, rs.Addr) {
			continue
		}
		for _, f := range []*FIFO{a.all, a.lvs} {
			if f != nil {
				f.Write(realServerLine(vs, rs.Addr, false))
			}
		}
		if rs.SMTPAlert {
			subject, _ := realServerMail(a.cfg.Global.RouterID, vs, rs.Addr, false, "")
			mail(subject)
		}
	}
	for _, f := range []*FIFO{a.all, a.lvs} {
		if f != nil {
			f.Write(virtualServerLine(vs, false))
		}
	}
	if vs.SMTPAlert {
		subject, _ := virtualServerMail(a.cfg.Global.RouterID, vs, false, false, 0)
		mail(subject)
	}
}

func (a *Alerter) find(service string, real netip.AddrPort) (hcl.VirtualServer, hcl.RealServer, bool) {
	for _, vs := range a.cfg.VirtualServers {
		if vs.Key() != service {
			continue
		}
		for _, rs := range vs.RealServers {
			if rs.Addr == real {
				return vs, rs, true
			}
		}
	}
	return hcl.VirtualServer{}, hcl.RealServer{}, false
}
