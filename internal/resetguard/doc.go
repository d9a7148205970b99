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
// failed. The table holds one output-hook chain with a rule per address
// (meta l4proto tcp, the source address, the RST bit, a counter, drop);
// Hold replaces the table, Release deletes it and reports how many resets
// it held back.
//
// Files: guard.go (the Guard and its rules), guard_linux.go (nftables
// over netlink), guard_other.go (other systems: nothing to hold).
package resetguard
