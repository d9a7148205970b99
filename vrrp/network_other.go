//go:build !linux

package vrrp

import (
	"context"
	"errors"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
)

var errNotLinux = errors.New("vrrp: the VRRP speaker needs Linux (raw sockets, netlink)")

// LinuxNetwork is unavailable on this system; every call fails.
type LinuxNetwork struct{}

// NewLinuxNetwork returns a Network whose every call fails off Linux.
func NewLinuxNetwork() *LinuxNetwork { return &LinuxNetwork{} }

func (*LinuxNetwork) Listen(string, bool) (AdvertConn, error) { return nil, errNotLinux }
func (*LinuxNetwork) PrimaryAddr(string, []netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, errNotLinux
}
func (*LinuxNetwork) HasVIP(hcl.VIP) (bool, error)                         { return false, errNotLinux }
func (*LinuxNetwork) AddVIP(hcl.VIP) error                                 { return errNotLinux }
func (*LinuxNetwork) RemoveVIP(hcl.VIP) error                              { return errNotLinux }
func (*LinuxNetwork) SendGARP(string, netip.Addr, int) error               { return errNotLinux }
func (*LinuxNetwork) LinkUp(string) (bool, error)                          { return false, errNotLinux }
func (*LinuxNetwork) WatchLinks(context.Context, func(string, bool)) error { return errNotLinux }
func (*LinuxNetwork) Close() error                                         { return nil }
