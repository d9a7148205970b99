// Package fullnat owns lvsd's nftables table for FULLNAT (lb_kind FNAT).
//
// Mainline IPVS has no FULLNAT (Alibaba's kernel and DPVS do). lvsd gives
// the same effect with IPVS NAT plus a source NAT of the director-to-real-
// server leg: a connection IPVS sent to a real server leaves the director
// from an address of the service's local_address_group, so the real
// server answers the director whatever its routes say, and the director
// undoes both translations on the way back (IPVS's own conntrack entries,
// net.ipv4.vs.conntrack=1, carry the source NAT).
//
//   - rules.go: Rule, one FULLNAT service's source NAT; Desired, the rules
//     of a configuration; the nftables expressions of a rule and the tag
//     that names it in the table.
//   - table_linux.go: Table, the edge: the table "ip lvsd_fullnat" with
//     its one nat chain at postrouting, reconciled like the IPVS table
//     (rules read back by their tag, only the missing added and the stale
//     deleted, nothing else in the ruleset touched, never flushed) and
//     removed at stop; table_other.go refuses.
//
// The package never touches IPVS (package lvs does) and never decides
// which services are FULLNAT (package hcl does).
package fullnat
