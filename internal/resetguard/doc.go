// Package resetguard owns lvsd's nftables table "lvsd_reset_guard": for a
// few seconds after a director becomes MASTER it drops the TCP resets its
// own stack would send from the virtual addresses, and never does
// anything else.
//
// Why: a connection the old master opened in its last moments (its SYN
// scheduled there, its next segment sent to the new master after the
// gratuitous ARP) is unknown to the new master until the old master's
// handover reaches its backup daemon (lvs.Manager.HandOverConnections).
// The virtual address is local on the new master, so IPVS, which
// schedules TCP only on a SYN, hands such a segment to the local stack,
// which answers it with a RST and the client's request fails. With the
// RST dropped, the client retransmits (200 ms, then doubling), and the
// retransmission meets the handed-over entry: the request is delayed, not
// failed.
//
// Shape: the table holds one output-hook chain with two rules (meta
// l4proto tcp, the source address looked up in the set "v4" or "v6", the
// RST bit, a counter, drop) and their two sets. Open installs it, the
// sets empty, when the director starts (replacing one an lvsd killed
// earlier left); Hold, on a takeover, fills the sets with the virtual
// addresses in one batch, however many there are, and a packet costs one
// set lookup; Release reads the counters and empties the sets; Close
// deletes the table when the director stops, so a stopped lvsd leaves
// none. All of it goes over one netlink socket kept open from Open to
// Close: a takeover neither creates the table and its hook nor opens or
// closes a socket (the kernel's nft_rcv_nl_event makes every close of an
// nftables socket wait for the destruction of the transactions committed
// before it, one RCU grace period, which delayed the gratuitous ARP on
// the test VM). An lvsd
// killed while it holds the guard leaves its addresses in the sets until
// the next start.
//
// Files: guard.go (the Guard: Open, Hold, Release, Close), guard_linux.go
// (the table, chain, rules and sets over nftables netlink), guard_other.go
// (other systems: nothing to hold).
package resetguard
