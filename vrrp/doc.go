// Package vrrp owns lvsd's VRRPv2 speaker (RFC 3768): the advertisement
// codec (packet.go), a pure per-instance state machine driven by an injected
// clock (machine.go), and the thin Linux edges that carry its decisions out:
// a raw IP protocol-112 socket (socket_linux.go), virtual IP addresses via
// netlink (address_linux.go), gratuitous ARP (garp_linux.go), link tracking,
// tracked scripts and notify scripts. Node (node.go) wires one config's
// vrrp_instance and vrrp_sync_group blocks to those edges.
//
// The package decides mastership and moves VIPs; it never programs IPVS
// (the caller does that in Options.OnTransition), never parses configuration
// files (it consumes hcl.Config) and keeps no package-level mutable state.
package vrrp
