// Package lvs owns the kernel's IPVS virtual-server table.
//
// It turns (configuration, VRRP mastership, health verdicts) into a desired
// table and keeps the kernel equal to it:
//
//   - table.go: Table, Service and Destination, the kernel's objects.
//   - desired.go: Desire, the desired table of a (config, mastership,
//     verdicts) state, with quorum and the sorry server; verdicts.go: the
//     Manager's store of the verdicts, by service and real server address.
//   - diff.go: Plan, the fewest operations from one table to
//     another, and WritePlan for `lvsd plan`; for the schedulers whose
//     table depends on the order of the destination list (mh, sh, dh),
//     the operations leave that list in one canonical order, so that two
//     directors with the same healthy set build the same table.
//   - kernel.go: the Kernel interface (read the table, some services or
//     /proc/net/ip_vs, apply operations, refusals returned as values);
//     kernel_linux.go opens it: writes with
//     the batched generic-netlink writer of genetlink.go (encoding) and
//     genetlink_linux.go (socket), which packs many IPVS commands into one
//     sendmsg; reads with the table reader of genetlink_dump.go (dump
//     requests and answers, every nest decoded through one walk that files
//     its attributes by type) and genetlink_dump_linux.go (its own
//     socket, a sendto and a recvmmsg per service, for some services a
//     GET_SERVICE and a GET_DEST dump in one sendto); proctable.go decodes
//     /proc/net/ip_vs (ip_vs_info_seq_show's text) and proctable_linux.go
//     reads it in the namespace; readcost.go says what reads cost.
//     github.com/moby/ipvs remains for the one-by-one writes and
//     reads kept for comparison; mobylog_linux.go sends its logrus lines
//     to slog. kernel_other.go fails. openahead.go opens the table and
//     reads it on a goroutine while the caller does something else (lvsd
//     reads its configuration): the Manager's first write starts from that
//     read (ManagerOptions.Table).
//   - sync.go: the kernel's connection sync daemons (SyncDaemon, the
//     SyncKernel side of a Kernel: IPVS_CMD_NEW_DAEMON, DEL_DAEMON and
//     GET_DAEMON, framed in genetlink.go); Manager.SetSyncDaemons makes
//     the running daemons the wanted ones with keepalived's EEXIST and
//     ESRCH handling; SyncStatus counts the connection table, synced
//     entries apart. sync_linux.go is the Linux edge. A NEW_DAEMON holds
//     the kernel's rtnl_lock while it creates the daemon's socket and
//     thread (start_sync_thread, ip_vs_sync.c; 0.1–0.8 s in the test VM),
//     so a caller starts one when no address change is urgent; the daemons
//     belong to the network namespace and outlive a killed lvsd.
//   - synchandover.go: the connection handover of a director leaving
//     MASTER (Manager.HandOverConnections): its own recent entries of the
//     connection table, opening or established, sent in the kernel's sync protocol
//     to the new master's backup daemon, for the connections the kernel's
//     sync has not sent (too young, or never ESTABLISHED here).
//     synchandover_linux.go reads /proc/net/ip_vs_conn_sync and sends.
//   - manager.go: Manager keeps the kernel equal to the desired state on
//     start (adopting what is there), on reload, on health and mastership
//     events, and periodically to undo outside edits (diffing only the
//     services whose read differs from its view, view.go's
//     sameKernelState); a takeover never waits for a read of the table
//     nor for a whole-table computation. view.go: lvsd's view of the
//     kernel as the Manager keeps it, the real servers without their
//     counters. repairpass.go: what a periodic
//     pass reads: /proc/net/ip_vs as a change detector, through netlink
//     the services it shows changed and a rotation's share of the others
//     (RereadPasses), the whole table after a start, a reload or a failed
//     write. status.go: what `lvsd status` and /metrics show;
//     statusread.go: their kernel read, shared (a second old at most) and
//     stepping aside for lvsd's writes between chunks of services.
//   - tunnel.go: TUN destinations' encapsulation (gue, gre, checksum
//     flags) and the services' persistence engine, as the writer sends
//     and the table read decodes them; timeouts.go, timeouts_linux.go:
//     lvs_timeouts (IPVS_CMD_SET_CONFIG); flush.go: what lvs_flush and
//     lvs_flush_on_stop take away.
//
// The fixtures for tests that drive a Kernel (a fake kernel, the synthetic
// benchmark table, ipvsadm's rules format) are in lvs/lvstest.
//
// The package reconciles and never flushes: it changes only services that
// the configuration names ("owned", even while withdrawn) and leaves every
// other service ("foreign") alone, reporting it, unless lvs_flush or
// lvs_flush_on_stop asks otherwise (flush.go). It never decides health
// (package checks does) or mastership (package vrrp does), never touches
// addresses, routes or ARP, and never loads a kernel module.
package lvs
