// Package announce owns what a director announces to its upstream routers
// by BGP when several directors run active behind the router's ECMP
// (docs/cluster.md): each virtual server's address, as a /32 or /128,
// while every service on that address is programmed and meets its quorum
// (keepalived's quorum_up/quorum_down, with hysteresis, as lvs computes
// it), withdrawn when one does not and on shutdown.
//
// policy.go is the pure core: Decide turns the configuration and the IPVS
// manager's per-service state into one decision per VIP, with its reason.
// speaker.go is the edge, a small Speaker interface; gobgp.go is its
// implementation, an embedded github.com/osrg/gobgp/v4 server that
// announces only (the global import policy rejects every route) and
// connects out to its neighbors (it does not listen on port 179).
// gobgp_test.go drives it against a second gobgp as the router, on
// loopback. announcer.go runs the two: it re-decides when kicked (a quorum crossing,
// a VRRP transition) and every interval, announces and withdraws the
// difference, and withdraws everything before it stops. drain.go lets the
// director withdraw everything while it keeps running (`lvsd drain`, the
// drain period of a SIGTERM) and announce again.
//
// The package never touches IPVS, VIPs or the routing table of the host.
package announce
