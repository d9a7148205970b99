//go:build !linux

package resetguard

import "net/netip"

type noGuard struct{}

func (noGuard) hold([]netip.Addr) error  { return nil }
func (noGuard) release() (uint64, error) { return 0, nil }
func (noGuard) close() error             { return nil }
func open() (guardImpl, error)           { return noGuard{}, nil }
func clear() error                       { return nil }
