package acceptmode

import (
	"log/slog"
	"net/netip"
	"slices"
	"sync"
)

// TableName is lvsd's nftables table (family inet): `nft list table inet
// lvsd_accept_mode` shows it.
const TableName = "lvsd_accept_mode"

// Table is the accept-mode table of the network namespace lvsd runs in.
type Table struct {
	mu   sync.Mutex
	held map[string][]netip.Addr // instance: the addresses dropped for it
	impl tableImpl
	log  *slog.Logger
}

// tableImpl is the system side: the kernel's sets.
type tableImpl interface {
	// reconcile makes the sets hold exactly want.
	reconcile(want []netip.Addr) error
	// addrs reads the sets back.
	addrs() ([]netip.Addr, error)
	// remove deletes the table.
	remove() error
	close()
}

// Open creates the table (or adopts the one an earlier lvsd left, whose
// sets the first Hold or Release reconciles). Without nf_tables in the
// kernel the error says what is missing.
func Open(log *slog.Logger) (*Table, error) {
	impl, err := open()
	if err != nil {
		return nil, err
	}
	return &Table{held: map[string][]netip.Addr{}, impl: impl, log: log}, nil
}

// Hold drops the traffic to and from addrs for instance (a MASTER with
// no_accept), replacing what it held before.
func (t *Table) Hold(instance string, addrs []netip.Addr) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var uniq []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.IsValid() && !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	t.held[instance] = uniq
	return t.reconcile()
}

// Release stops dropping instance's addresses (it left MASTER, or no
// longer has no_accept); an address another instance holds stays.
func (t *Table) Release(instance string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.held, instance)
	return t.reconcile()
}

// Instances are the instances whose addresses are held.
func (t *Table) Instances() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for in := range t.held {
		out = append(out, in)
	}
	slices.Sort(out)
	return out
}

// Addrs reads the addresses the kernel's sets hold.
func (t *Table) Addrs() ([]netip.Addr, error) { return t.impl.addrs() }

// Remove deletes the table (lvsd's own: nothing else is touched) and
// closes it.
func (t *Table) Remove() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.impl.remove()
	t.impl.close()
	return err
}

// want is the union of the held addresses, sorted. t.mu is held.
func (t *Table) want() []netip.Addr {
	var out []netip.Addr
	for _, addrs := range t.held {
		for _, a := range addrs {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// reconcile makes the kernel's sets equal the held addresses. t.mu is
// held.
func (t *Table) reconcile() error {
	want := t.want()
	if err := t.impl.reconcile(want); err != nil {
		return err
	}
	t.log.Debug("accept mode: dropping traffic to the addresses of MASTER instances with no_accept", "table", "inet "+TableName, "addresses", len(want))
	return nil
}
