package lvs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"syscall"
)

// SyncState is the role of one of the kernel's IPVS connection sync
// daemons (IP_VS_STATE_MASTER, IP_VS_STATE_BACKUP in
// include/uapi/linux/ip_vs.h). A master daemon multicasts the connections
// of this director's table; a backup daemon receives them into its own
// table, so the director that takes over already knows every connection
// established through the other one. The two may run at once.
type SyncState uint32

const (
	SyncMaster SyncState = 1 // IP_VS_STATE_MASTER
	SyncBackup SyncState = 2 // IP_VS_STATE_BACKUP
)

func (s SyncState) String() string {
	switch s {
	case SyncMaster:
		return "master"
	case SyncBackup:
		return "backup"
	}
	return fmt.Sprintf("state %d", uint32(s))
}

// SyncDaemon is one sync daemon: what IPVS_CMD_NEW_DAEMON starts and
// IPVS_CMD_GET_DAEMON reports. A zero MaxLen, Port or TTL and an invalid
// Group mean the kernel's defaults (a payload that fits the interface's
// MTU, port 8848, TTL 1, group 224.0.0.81 or ff02::81).
type SyncDaemon struct {
	State     SyncState
	Interface string // multicast interface (at most 15 bytes, IFNAMSIZ-1)
	SyncID    uint8  // ip_vs_sync.c carries the sync id in 8 bits
	MaxLen    uint16 // UDP payload size
	Group     netip.Addr
	Port      uint16
	TTL       uint8
}

func (d SyncDaemon) String() string {
	s := fmt.Sprintf("%s daemon on %s, sync id %d", d.State, d.Interface, d.SyncID)
	if d.Group.IsValid() {
		s += ", group " + d.Group.String()
	}
	if d.Port != 0 {
		s += fmt.Sprintf(", port %d", d.Port)
	}
	if d.TTL != 0 {
		s += fmt.Sprintf(", ttl %d", d.TTL)
	}
	if d.MaxLen != 0 {
		s += fmt.Sprintf(", maxlen %d", d.MaxLen)
	}
	return s
}

// satisfies reports whether a running daemon (as the kernel reports it,
// with its defaults filled in) is the one want asks for: the settings want
// leaves to the kernel are not compared.
func (d SyncDaemon) satisfies(want SyncDaemon) bool {
	return d.State == want.State && d.Interface == want.Interface && d.SyncID == want.SyncID &&
		(want.MaxLen == 0 || d.MaxLen == want.MaxLen) &&
		(!want.Group.IsValid() || d.Group == want.Group) &&
		(want.Port == 0 || d.Port == want.Port) &&
		(want.TTL == 0 || d.TTL == want.TTL)
}

// SyncKernel is the sync-daemon side of a Kernel: the IPVS generic-netlink
// commands NEW_DAEMON, DEL_DAEMON and GET_DAEMON, and the count of the
// connection table's entries by origin. Errors are the kernel's errno:
// EEXIST from StartSyncDaemon when a daemon of that state runs, ESRCH from
// StopSyncDaemon when none does.
type SyncKernel interface {
	SyncDaemons() ([]SyncDaemon, error)
	StartSyncDaemon(SyncDaemon) error
	StopSyncDaemon(SyncState) error
	// Connections counts the connection table's entries (what `ipvsadm
	// -Lnc` lists) and those among them a backup daemon received.
	Connections() (ConnectionCount, error)
}

// ConnectionCount counts the kernel's IPVS connection entries.
type ConnectionCount struct {
	Total  int
	Synced int // received from the other director's master daemon
}

// planSyncDaemons returns the daemons to stop (running ones no longer
// wanted or running with other settings) and to start, stops first: the
// kernel runs one daemon per state, so a changed one is stopped and
// started again. A daemon that already runs as wanted is left alone, so
// a reload that does not change the settings does not restart it.
func planSyncDaemons(running, want []SyncDaemon) (stop []SyncState, start []SyncDaemon) {
	for _, st := range []SyncState{SyncMaster, SyncBackup} {
		ri := slices.IndexFunc(running, func(d SyncDaemon) bool { return d.State == st })
		wi := slices.IndexFunc(want, func(d SyncDaemon) bool { return d.State == st })
		switch {
		case ri >= 0 && wi >= 0 && running[ri].satisfies(want[wi]):
		case ri >= 0 && wi >= 0:
			stop = append(stop, st)
			start = append(start, want[wi])
		case ri >= 0:
			stop = append(stop, st)
		case wi >= 0:
			start = append(start, want[wi])
		}
	}
	return stop, start
}

// SetSyncDaemons makes the kernel's sync daemons the wanted ones (at most
// one per state; nil stops them all) and returns what it changed, in
// order, for the log. Like keepalived (ipvswrapper.c ipvs_syncd_master and
// ipvs_syncd_backup), it stops before it starts, and takes the kernel's
// ESRCH on a stop as "already stopped". An EEXIST on a start means a
// daemon of that state appeared since the read (ipvsadm, a previous lvsd):
// it is kept if it is the wanted one, else stopped and started again.
func (m *Manager) SetSyncDaemons(want []SyncDaemon) ([]string, error) {
	sk, ok := m.kernel.(SyncKernel)
	if !ok {
		return nil, errors.New("this IPVS kernel has no sync daemons")
	}
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	running, err := sk.SyncDaemons()
	if err != nil {
		return nil, fmt.Errorf("reading IPVS sync daemons: %w", err)
	}
	stop, start := planSyncDaemons(running, want)
	var changed []string
	var errs []error
	for _, st := range stop {
		if err := sk.StopSyncDaemon(st); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("stopping the IPVS %s sync daemon: %w", st, err))
			continue
		}
		changed = append(changed, "stopped "+st.String()+" daemon")
	}
	for _, d := range start {
		err := sk.StartSyncDaemon(d)
		if errors.Is(err, syscall.EEXIST) {
			err = m.replaceSyncDaemon(sk, d)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("starting the IPVS %s: %w", d, err))
			continue
		}
		changed = append(changed, "started "+d.String())
	}
	return changed, errors.Join(errs...)
}

// replaceSyncDaemon handles EEXIST from a start: keep the running daemon
// if it is d, else stop it and start d.
func (m *Manager) replaceSyncDaemon(sk SyncKernel, d SyncDaemon) error {
	running, err := sk.SyncDaemons()
	if err != nil {
		return err
	}
	for _, r := range running {
		if r.State == d.State && r.satisfies(d) {
			return nil
		}
	}
	if err := sk.StopSyncDaemon(d.State); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return sk.StartSyncDaemon(d)
}

// SyncStatus is what `lvsd status` and /metrics show of connection sync.
type SyncStatus struct {
	Daemons     []SyncDaemon // running, as the kernel reports them
	Connections ConnectionCount
	ReadError   string
}

// SyncStatus reads the running daemons and counts the connection table.
func (m *Manager) SyncStatus() SyncStatus {
	sk, ok := m.kernel.(SyncKernel)
	if !ok {
		return SyncStatus{}
	}
	var st SyncStatus
	var errs []error
	d, err := sk.SyncDaemons()
	if err != nil {
		errs = append(errs, fmt.Errorf("reading IPVS sync daemons: %w", err))
	}
	st.Daemons = d
	c, err := sk.Connections()
	if err != nil {
		errs = append(errs, fmt.Errorf("reading IPVS connections: %w", err))
	}
	st.Connections = c
	if err := errors.Join(errs...); err != nil {
		st.ReadError = err.Error()
	}
	return st
}

// countConnections counts the entries of /proc/net/ip_vs_conn_sync: a
// header line, then one line per connection whose last-but-one field is
// its origin, SYNC for an entry a backup daemon received (ip_vs_conn.c).
func countConnections(r io.Reader) (ConnectionCount, error) {
	var c ConnectionCount
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		f := bytes.Fields(sc.Bytes())
		if len(f) < 3 {
			continue
		}
		c.Total++
		if bytes.EqualFold(f[len(f)-2], []byte("SYNC")) { // ip_vs_origin_name: "SYNC" or "LOCAL"
			c.Synced++
		}
	}
	return c, sc.Err()
}
