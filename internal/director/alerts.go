package director

import (
	"net/netip"

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
// starts ("Starting with quorum up"; VS line and e-mail), and runs the
// scripts keepalived 2.2.7 runs then (ipwrapper.c update_quorum_state
// with init set): quorum_up for a service starting with its quorum, and
// quorum_down for one starting without it that has a sorry server.
func (d *Director) alertQuorumAtStart(ipvs *lvs.Manager) {
	cfg := d.Config()
	quorums := ipvs.Quorums() // lvsd's own state: no read of the kernel's table
	for _, vs := range cfg.VirtualServers {
		if q, ok := quorums[vs.Key()]; ok {
			d.alerts.VirtualServerAtStart(vs, q.Up, q.LiveWeight)
			switch {
			case q.Up:
				d.runQuorumScript(vs, true) // wiring.go
			case vs.SorryServer != nil:
				d.runQuorumScript(vs, false)
			}
		}
	}
}

// liveWeight is the sum of vs's live real servers' weights, which a
// quorum e-mail carries as keepalived's does; read (a whole status
// pass) only when the crossing is e-mailed.
func (d *Director) liveWeight(vs hcl.VirtualServer) int {
	ipvs := d.ipvsManager()
	if ipvs == nil || !d.alerts.MailsQuorum(vs) {
		return 0
	}
	return ipvs.Quorums()[vs.Key()].LiveWeight
}

// omegaAtStop takes, before the stop withdraws anything, what
// keepalived 2.2.7 tells at stop for the virtual servers with omega;
// the returned func tells it, once the parts have stopped: each real
// server still up goes DOWN, then the virtual server ("=> Shutting down
// <=", internal/alert), and the virtual server's quorum_down script runs
// (ipwrapper.c update_vs_notifies: at stop with omega, whether the
// quorum was up or not). keepalived tells only what it programmed
// (rs->set): the services in the kernel and their real servers there
// and up. The snapshot comes first because leaving MASTER withdraws the
// services under the default lvs_program. The real servers' notify_down
// scripts are the checks manager's (checks/manager.go runOmega).
func (d *Director) omegaAtStop() func() {
	ipvs := d.ipvsManager()
	if ipvs == nil {
		return func() {}
	}
	cfg := d.Config()
	omega := false
	for _, vs := range cfg.VirtualServers {
		omega = omega || vs.Omega
	}
	if !omega {
		return func() {}
	}
	up := map[string][]netip.AddrPort{}
	for _, s := range ipvs.Status() {
		if s.State != lvs.StateProgrammed {
			continue
		}
		up[s.Key] = []netip.AddrPort{}
		for _, ds := range s.Destinations {
			if ds.Up && ds.InKernel && !ds.Sorry {
				up[s.Key] = append(up[s.Key], ds.Addr)
			}
		}
	}
	return func() {
		for _, vs := range cfg.VirtualServers {
			if rs, ok := up[vs.Key()]; ok {
				d.alerts.ShuttingDown(vs, rs)
				if vs.Omega {
					d.runQuorumScript(vs, false) // wiring.go
				}
			}
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
