// Package director owns one LVS director's lifecycle and the wiring between
// lvsd's parts: the VRRP node decides whether this director serves
// (mastership), the health checkers decide which real servers serve
// (verdicts), and the IPVS manager turns both into the kernel's table.
//
//   - director.go: Options, New and Run: which parts run, the order they
//     start and stop in, and waiting for every goroutine they started; New
//     takes the IPVS table that cmd/lvsd opened and read while it read the
//     configuration (Options.Opening), if it did.
//   - wiring.go: mastership → lvs (services before VIPs), verdicts → lvs,
//     quorum → quorum_up/quorum_down scripts through the one script runner.
//   - sync.go: mastership → the kernel's IPVS connection sync daemons
//     (which daemons run is a pure function of the configuration and the
//     mastership of lvs_sync_daemon's instance; lvs starts and stops them),
//     and the switch-over: a director leaving MASTER hands its recent
//     connections over to the new master (lvs.Manager.HandOverConnections),
//     a new MASTER keeps its backup daemon a few seconds and holds the
//     reset guard (internal/resetguard) meanwhile, whose table Run opens
//     before VRRP starts and deletes as it ends; it switches its daemons
//     only after its VIPs and gratuitous ARPs (the kernel holds rtnl_lock
//     while it starts a daemon, and a VIP waits for it).
//   - announce.go: services' quorum and mastership → the BGP announcer
//     (internal/announce), started with the other parts and stopped
//     first, so routes are withdrawn while the VIPs and IPVS still serve.
//   - cluster.go: what a director behind ECMP needs when its VIPs are
//     announced: the IPVS settings (sloppy_tcp, expire_nodest_conn, …) and
//     the VIPs no VRRP instance owns, held on lo.
//   - drain.go: `lvsd drain` (every route withdrawn, the rest kept for the
//     announce block's drain_delay, until --undo) and the same drain before
//     a cluster director stops.
//   - fullnat.go: the configuration's FULLNAT services → lvsd's nftables
//     table (internal/fullnat), at start and on reload, removed at stop.
//   - acceptmode.go: mastership of the instances with no_accept → lvsd's
//     accept-mode nftables table (internal/acceptmode): their addresses
//     dropped before a new MASTER adds them, released after it removed
//     them, the table removed at stop.
//   - alerts.go: VRRP notices, verdict changes and quorum crossings →
//     the notify FIFOs and e-mail alerts (internal/alert), which never
//     make their caller wait.
//   - startstop.go: global startup_script, run and waited for before Run
//     starts anything, and shutdown_script, after everything stopped.
//   - trackfiles.go: the track_file blocks' init_file values written
//     (internal/trackfile) at start and on reload, before anything reads
//     the files, as keepalived writes them while it reads its configuration.
//   - reload.go: a reload applied in one order: lvs desired state first,
//     then the checkers, then VRRP.
//   - status.go: the status snapshot (`lvsd status`, SIGUSR1/SIGUSR2 dumps,
//     /metrics, the status page) and its text rendering.
//   - history.go: the last VRRP transitions and verdict changes with their
//     reasons, a bounded ring the snapshot carries.
//
// The package never parses flags, handles signals, listens on sockets or
// writes files itself (init_file's are internal/trackfile's): cmd/lvsd
// does, and calls Run, Reload and Report. The Linux edges (IPVS kernel, VRRP network, script runner) are injected through
// Options, so the wiring is unit-tested with lvs's fake kernel and fakes of
// vrrp's network.
package director
