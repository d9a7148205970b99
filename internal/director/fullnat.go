package director

import (
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/fullnat"
)

// applyFullNAT keeps lvsd's FULLNAT nftables table (internal/fullnat)
// equal to the configuration's lb_kind FNAT services: opened with the
// first such service, reconciled at start and on every reload, removed by
// Run on the way out. A kernel without nf_tables is an error that names
// what is missing.
func (d *Director) applyFullNAT(cfg *hcl.Config) error {
	rules := fullnat.Desired(cfg)
	d.mu.Lock()
	t := d.fullnat
	d.mu.Unlock()
	if t == nil {
		if len(rules) == 0 {
			return nil
		}
		var err error
		if t, err = fullnat.Open("", "", d.log.With("part", "fullnat")); err != nil {
			return err
		}
		d.mu.Lock()
		d.fullnat = t
		d.mu.Unlock()
	}
	_, err := t.Apply(rules)
	return err
}

// removeFullNAT deletes lvsd's FULLNAT table, if it made one.
func (d *Director) removeFullNAT() {
	d.mu.Lock()
	t := d.fullnat
	d.fullnat = nil
	d.mu.Unlock()
	if t == nil {
		return
	}
	if err := t.Remove(); err != nil {
		d.log.Error("FULLNAT table", "err", err)
	}
	t.Close()
}
