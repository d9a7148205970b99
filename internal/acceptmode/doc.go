// Package acceptmode owns lvsd's nftables table "lvsd_accept_mode"
// (family inet): RFC 5798 §6.1's Accept_Mode False for the VRRP instances
// configured with no_accept (keepalived's no_accept, and its default
// under vrrp_strict). While such an instance is MASTER and not the
// address owner, packets addressed to its addresses are dropped on input
// and none leaves from them; ARP (not IP) and IPv6 neighbour
// solicitations and advertisements still pass, so the addresses are
// announced and answered at layer 2 and can be routed through. It never
// touches another table.
//
// The table has the shape of keepalived 2.2.7's own (`nft list table ip
// keepalived` while it runs): sets of addresses (vips4, vips6), a chain
// "in" at the input hook and a chain "out" at the output hook, both at
// priority filter - 1, each with `icmpv6 type { nd-neighbor-solicit,
// nd-neighbor-advert } accept`, then `ip daddr @vips4 drop` (saddr on
// output) and the IPv6 twin. Differences: one inet table for both
// families where keepalived has one per family, and a link-local address
// is dropped on every interface (keepalived keys its link-local sets by
// interface).
//
// The sets are reconciled against the kernel on every change (Hold,
// Release): addresses missing are added, others removed; the table is
// never flushed while lvsd runs, and Remove deletes it at stop.
//
// Files: table.go (Table: who holds which addresses), table_linux.go
// (nftables over netlink), table_other.go (other systems: unsupported).
package acceptmode
