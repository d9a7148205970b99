//go:build !linux

package fullnat

import (
	"errors"
	"log/slog"
)

// Table is the FULLNAT nftables table; only Linux has one.
type Table struct{}

// Open refuses: FULLNAT needs Linux's nf_tables.
func Open(string, string, *slog.Logger) (*Table, error) {
	return nil, errors.New("lb_kind FNAT needs Linux (nf_tables)")
}

// Apply implements nothing off Linux.
func (*Table) Apply([]Rule) (int, error) { return 0, errors.New("no nf_tables") }

// Rules implements nothing off Linux.
func (*Table) Rules() ([]Rule, error) { return nil, errors.New("no nf_tables") }

// Close implements nothing off Linux.
func (*Table) Close() error { return nil }

// Remove implements nothing off Linux.
func (*Table) Remove() error { return nil }
