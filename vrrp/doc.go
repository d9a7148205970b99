// Package vrrp owns lvsd's VRRP speaker: VRRPv2 (RFC 3768, IPv4) and
// VRRPv3 (RFC 5798, IPv4 or IPv6, one family per instance).
//
// The pure cores: the advertisement codec of both versions, the VRRPv3
// checksum over the IPv4/IPv6 pseudo-header and the drop reasons
// (packet.go; peer_ttl.go: a unicast peer's min_ttl/max_ttl), and the per-instance state machine with RFC 3768 and
// RFC 5798 timers (machine.go), which takes the time with every event and
// returns actions.
//
// Node runs every vrrp_instance and vrrp_sync_group of a configuration:
// the event loop and the Clock every timer comes from (node.go, clock.go),
// instances (instance.go), receiving and drop counting per instance and
// per socket (receive.go), tracking of interfaces, scripts, files and
// processes (track.go, process.go: /proc counting; linkdelay.go:
// interface_up_down_delays), state-change notices
// in keepalived's notify FIFO terms (notice.go, Options.OnNotice),
// carrying out a machine's actions (apply.go), sync groups (syncgroup.go),
// reload (reload.go), and notify and tracked script runs (script.go)
// through lvsd's one script runner, internal/script (Options.Scripts).
//
// The operating system is reached through five small interfaces
// (network.go): advert sockets, addresses, an announcer (gratuitous ARP
// for IPv4, unsolicited neighbour advertisements for IPv6), links, and
// routing (routing.go: routes and rules, virtual ones while MASTER and
// static ones from start to stop, and the VMAC macvlans of vmac.go,
// routing_linux.go over rtnetlink, or use_ipvlan's ipvlans,
// ipvlan_linux.go). An advert socket may join another
// group, send unicast with another TTL, or carry keepalived's IPsec AH
// (advert_options.go; ah.go: the AH codec, ICV and sequence numbers;
// ah_linux.go sends an advert inside its AH header).
// network_linux.go implements them with raw IP-112 sockets (NewAdvertConn
// and NewAdvertConn6 take an injected net.PacketConn), netlink (IPv6 VIPs
// with IFA_F_NODAD), mdlayher/arp's arp.New on an AF_PACKET socket and
// mdlayher/ndp on an ICMPv6 socket; network_other.go fails every call off
// Linux; tests inject fakes.
//
// The package decides mastership and moves VIPs; it never programs IPVS
// (the caller does that in Options.OnTransition), never parses, defaults
// or validates configuration (it consumes a final hcl.Config, so NewNode
// cannot fail) and keeps no package-level mutable state.
package vrrp
