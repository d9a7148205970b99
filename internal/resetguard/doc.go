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
// Shape: the table holds two sets, "v4" and "v6", and, only while the
// guard holds, an output-hook chain with two rules (meta l4proto tcp, the
// source address looked up in its family's set, the RST bit, a counter,
// drop). Open installs the table with its sets empty when the director
// starts (replacing one an lvsd killed earlier left); Hold, on a
// takeover, adds the chain and its rules and fills the sets with the
// virtual addresses in one batch, however many there are (a packet costs
// one set lookup); Release reads the counters, deletes the chain and
// empties the sets, so a guard at rest puts no hook on the path of the
// packets the host sends, IPVS's forwarded ones included; Close deletes
// the table when the director stops, so a stopped lvsd leaves none. All
// of it goes over one netlink socket kept open from Open to Close: a
// takeover creates neither the table nor its sets, and opens or closes
// no socket (the kernel's nft_rcv_nl_event makes every close of an
// nftables socket wait for the destruction of the transactions committed
// before it, one RCU grace period, which delayed the gratuitous ARP on
// the test VM). An lvsd killed while it holds the guard leaves its chain
// and addresses until the next start.
//
// Files: guard.go (the Guard: Open, Hold, Release, Close), guard_linux.go
// (the table, chain, rules and sets over nftables netlink), guard_other.go
// (other systems: nothing to hold).
package resetguard
