package director

import (
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/alert"
	"github.com/lvsd/lvsd/internal/script"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/vrrp"
)

// The notify FIFOs and e-mail alerts (internal/alert): the director hands
// the alerter every VRRP notice, every real server verdict change and
// every quorum crossing; the alerter decides nothing but the wording.

// newAlerter returns the alerter of cfg, running scripts with the
// director's runner.
func (d *Director) newAlerter(cfg *hcl.Config) *alert.Alerter {
	var runner func(hcl.Global) script.Runner
	if d.opts.Scripts != nil {
		runner = func(hcl.Global) script.Runner { return d.opts.Scripts }
	}
	return alert.New(cfg, runner, d.log.With("part", "alert"))
}

// onNotice is vrrp.Options.OnNotice: it runs on the VRRP node's goroutine
// and never waits (the alerter only queues).
func (d *Director) onNotice(n vrrp.Notice) {
	d.alerts.VRRP(n.Group, n.Name, n.State, n.Line())
}

// alertQuorumAtStart tells every configured virtual server's quorum once
// the IPVS manager has adopted the table, as keepalived tells it when it
// starts ("Starting with quorum up"; VS line and e-mail).
func (d *Director) alertQuorumAtStart(ipvs *lvs.Manager) {
	cfg := d.Config()
	up := map[string]bool{}
	for _, s := range ipvs.Status() {
		up[s.Key] = s.QuorumUp
	}
	for _, vs := range cfg.VirtualServers {
		if q, ok := up[vs.Key()]; ok {
			d.alerts.VirtualServerAtStart(vs, q)
		}
	}
}

// AlertStats returns the counters of the notify FIFOs and e-mail alerts
// (lines written and dropped, e-mails sent, failed and dropped).
func (d *Director) AlertStats() alert.Stats {
	return d.alerts.Stats()
}

// alertReport is the status snapshot's part: nil without a FIFO or e-mail.
func (d *Director) alertReport() *alert.Stats {
	s := d.alerts.Stats()
	if s.FIFOs == 0 && !s.MailEnabled {
		return nil
	}
	return &s
}
