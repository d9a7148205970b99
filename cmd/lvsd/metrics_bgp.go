package main

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvsd/lvsd/internal/director"
)

// collectBGP exports the announcer's part of the snapshot
// (docs/cluster.md): each session, each VIP's announcement, and the
// announcements and withdrawals sent.
func collectBGP(ch chan<- prometheus.Metric, r *director.BGPReport) {
	if r == nil {
		return
	}
	peer := []string{"neighbor", "remote_as"}
	var (
		sessionUp  = prometheus.NewDesc("lvsd_bgp_session_established", "1 while the BGP session to a neighbor is established.", append(peer, "state"), nil)
		received   = prometheus.NewDesc("lvsd_bgp_routes_received", "Routes a neighbor sent (all rejected: lvsd announces only).", peer, nil)
		advertised = prometheus.NewDesc("lvsd_bgp_routes_advertised", "Routes advertised to a neighbor.", peer, nil)
		announced  = prometheus.NewDesc("lvsd_bgp_vip_announced", "1 while a VIP is announced (its services programmed with quorum), 0 while withdrawn.", []string{"prefix"}, nil)
		changes    = prometheus.NewDesc("lvsd_bgp_route_changes_total", "Announcements and withdrawals sent.", nil, nil)
	)
	for _, s := range r.Sessions {
		l := []string{s.Neighbor, strconv.FormatUint(uint64(s.RemoteAS), 10)}
		ch <- prometheus.MustNewConstMetric(sessionUp, prometheus.GaugeValue, b2f(s.State == "established"), append(l, s.State)...)
		ch <- prometheus.MustNewConstMetric(received, prometheus.GaugeValue, float64(s.Received), l...)
		ch <- prometheus.MustNewConstMetric(advertised, prometheus.GaugeValue, float64(s.Advertised), l...)
	}
	for _, rt := range r.Routes {
		ch <- prometheus.MustNewConstMetric(announced, prometheus.GaugeValue, b2f(rt.Announced), rt.Prefix)
	}
	ch <- prometheus.MustNewConstMetric(changes, prometheus.CounterValue, float64(r.Changes))
}
