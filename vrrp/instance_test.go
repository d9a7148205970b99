package vrrp

import (
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

func TestAdvertCarriesAnAddressAsOftenAsKeepalivedConfListsIt(t *testing.T) {
	a, b, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::1")
	vip := func(x netip.Addr) hcl.VIP { return hcl.VIP{Prefix: netip.PrefixFrom(x, x.BitLen())} }
	tests := []struct {
		name    string
		written []netip.Addr
		want    []netip.Addr
	}{
		{"listed once each (HCL: nothing written)", nil, []netip.Addr{a, b}},
		{"keepalived.conf, each once", []netip.Addr{a, b}, []netip.Addr{a, b}},
		{"one listed twice", []netip.Addr{a, b, a}, []netip.Addr{a, b, a}},
		{"one of another family, left out by validation", []netip.Addr{a, v6, b}, []netip.Addr{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic := hcl.VRRPInstance{Name: "VI_1", Interface: "eth0", VirtualRouterID: 51, Priority: 100, Version: 2,
				VirtualIPs: []hcl.VIP{vip(a), vip(b)}, AdvertAddresses: tt.written}
			in := newInstance(ic, slog.New(slog.DiscardHandler))
			if !slices.Equal(in.advert.Addresses, tt.want) || !slices.Equal(in.expect.Addresses, tt.want) {
				t.Errorf("advert %v, expected from peers %v; want %v", in.advert.Addresses, in.expect.Addresses, tt.want)
			}
		})
	}
}
