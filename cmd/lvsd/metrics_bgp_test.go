package main

import (
	"testing"

	"github.com/lvsd/lvsd/internal/director"
)

// TestMetricsCarryBGPSessionsAndAnnouncements: the BGP part of a snapshot
// is exported per session and per VIP.
func TestMetricsCarryBGPSessionsAndAnnouncements(t *testing.T) {
	report := director.Report{BGP: &director.BGPReport{
		Sessions: []director.BGPSessionReport{{Neighbor: "10.9.1.1", RemoteAS: 65000, State: "established", Received: 2, Advertised: 1}},
		Routes: []director.BGPRouteReport{
			{Prefix: "192.0.2.100/32", Announced: true, Reason: "1 service(s) programmed with quorum"},
			{Prefix: "192.0.2.200/32", Announced: false, Reason: "below quorum"},
		},
		Changes: 3,
	}}
	got := scrapeValues(t, func() director.Report { return report })
	for name, want := range map[string]float64{
		"lvsd_bgp_session_established,neighbor=10.9.1.1,remote_as=65000,state=established": 1,
		"lvsd_bgp_routes_received,neighbor=10.9.1.1,remote_as=65000":                       2,
		"lvsd_bgp_routes_advertised,neighbor=10.9.1.1,remote_as=65000":                     1,
		"lvsd_bgp_vip_announced,prefix=192.0.2.100/32":                                     1,
		"lvsd_bgp_vip_announced,prefix=192.0.2.200/32":                                     0,
		"lvsd_bgp_route_changes_total":                                                     3,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}
