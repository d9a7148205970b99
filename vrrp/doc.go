// Package vrrp owns lvsd's VRRPv2 speaker (RFC 3768).
//
// The pure cores: the advertisement codec and its drop reasons (packet.go)
// and the per-instance state machine (machine.go), which takes the time
// with every event and returns actions.
//
// Node runs every vrrp_instance and vrrp_sync_group of a configuration:
// the event loop and the Clock every timer comes from (node.go, clock.go),
// instances (instance.go), receiving and drop counting per instance and
// per socket (receive.go), tracked interfaces and scripts (track.go),
// carrying out a machine's actions (apply.go), sync groups (syncgroup.go),
// reload (reload.go), and notify and tracked script runs (script.go)
// through lvsd's one script runner, internal/script (Options.Scripts).
//
// The operating system is reached through four small interfaces
// (network.go): advert sockets, addresses, a gratuitous-ARP announcer and
// links. network_linux.go implements them with a raw IP-112 socket
// (NewAdvertConn takes an injected net.PacketConn), netlink, and
// mdlayher/arp's arp.New on an AF_PACKET socket; tests inject fakes.
//
// The package decides mastership and moves VIPs; it never programs IPVS
// (the caller does that in Options.OnTransition), never parses, defaults
// or validates configuration (it consumes a final hcl.Config, so NewNode
// cannot fail) and keeps no package-level mutable state.
package vrrp
