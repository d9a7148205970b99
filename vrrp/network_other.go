//go:build !linux

package vrrp

import (
	"context"
	"errors"
	"net/netip"

	"github.com/lvsd/lvsd/hcl"
)

var errNotLinux = errors.New("vrrp: the VRRP speaker needs Linux (raw sockets, netlink)")

// NewLinuxNetwork returns a Network whose every call fails off Linux.
func NewLinuxNetwork() Network {
	return Network{Adverts: notLinux{}, Addresses: notLinux{}, Announcer: notLinux{}, Links: notLinux{}, Routing: notLinux{}}
}

func (notLinux) AddRoute(hcl.Route) error             { return errNotLinux }
func (notLinux) RemoveRoute(hcl.Route) error          { return errNotLinux }
func (notLinux) AddRule(hcl.Rule) error               { return errNotLinux }
func (notLinux) RemoveRule(hcl.Rule) error            { return errNotLinux }
func (notLinux) AddVMAC(string, hcl.VMAC, bool) error { return errNotLinux }
func (notLinux) RemoveVMAC(string, hcl.VMAC) error    { return errNotLinux }

type notLinux struct{}

func (notLinux) Listen(string, bool, bool) (AdvertConn, error) { return nil, errNotLinux }
func (notLinux) PrimaryAddr(string, bool, []netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, errNotLinux
}
func (notLinux) HasVIP(hcl.VIP) (bool, error)                         { return false, errNotLinux }
func (notLinux) AddVIP(hcl.VIP) error                                 { return errNotLinux }
func (notLinux) RemoveVIP(hcl.VIP) error                              { return errNotLinux }
func (notLinux) SendGARP(string, netip.Addr, int) error               { return errNotLinux }
func (notLinux) Close() error                                         { return nil }
func (notLinux) LinkUp(string) (bool, error)                          { return false, errNotLinux }
func (notLinux) WatchLinks(context.Context, func(string, bool)) error { return errNotLinux }
