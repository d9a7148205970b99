package lvs

import "github.com/lvsd/lvsd/hcl"

// What lvs_flush and lvs_flush_on_stop take away (keepalived.conf(5)).
// lvsd owns only the services its configuration names; these two widen
// that on purpose, at start and at stop:
//
//   - lvs_flush (Global.LVSFlush): when lvsd first programs IPVS, every
//     service the configuration does not name is deleted. keepalived
//     flushes the whole table there (IPVS_CMD_FLUSH) and adds its own
//     services back; lvsd keeps its own and reconciles them, so the table
//     is the same and their connections survive a restart.
//   - lvs_flush_on_stop VS (hcl.FlushOnStopServices): at stop, every
//     service the configuration names is deleted, their real servers with
//     them, as keepalived's `lvs_flush_on_stop VS` does; foreign services
//     stay.
//   - lvs_flush_on_stop (hcl.FlushOnStopAll): at stop, every service in
//     the table is deleted, foreign ones too (keepalived's IPVS_CMD_FLUSH).
//   - neither (lvsd's default): at stop only services with omega go, so a
//     restart or an upgrade drops no connection.

// flushForeignAtStart (lvs_flush) marks every service of the kernel's
// table that cfg does not name as retired before the first write, which
// then deletes it. It runs once, for the first configuration.
func (m *Manager) flushForeignAtStart(cfg *hcl.Config) {
	m.mu.Lock()
	first := m.cfg == nil
	m.mu.Unlock()
	if !first || !cfg.Global.LVSFlush {
		return
	}
	t, err := m.kernel.Table()
	if err != nil {
		m.log.Error("lvs_flush: reading IPVS table", "err", err)
		return
	}
	named := make(map[string]bool, len(cfg.VirtualServers))
	for i := range cfg.VirtualServers {
		named[cfg.VirtualServers[i].Key()] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range t {
		if k := t[i].Key(); !named[k] {
			m.retired[k] = true
			m.log.Info("lvs_flush: deleting a service the configuration does not name", "service", k)
		}
	}
}

// stopWithdrawals (mu held) says which services shutdown deletes: the
// ones with omega, every configured one with lvs_flush_on_stop VS, every
// one in the table with lvs_flush_on_stop; nil when none.
func (m *Manager) stopWithdrawals() func(key string) bool {
	flush := hcl.FlushOnStopNone
	if m.cfg != nil {
		flush = m.cfg.Global.LVSFlushOnStop
	}
	switch flush {
	case hcl.FlushOnStopAll:
		return func(string) bool { return true }
	case hcl.FlushOnStopServices:
		return func(k string) bool { return m.byKey[k] != nil }
	}
	omega := map[string]bool{}
	for _, vs := range m.byKey {
		if vs.Omega {
			omega[vs.Key()] = true
		}
	}
	if len(omega) == 0 {
		return nil
	}
	return func(k string) bool { return omega[k] }
}
