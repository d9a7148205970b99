// Package checks owns the health checks of real servers: TCP_CHECK,
// HTTP_GET, SSL_GET, MISC_CHECK, UDP_CHECK, DNS_CHECK, PING_CHECK,
// SMTP_CHECK and FILE_CHECK with keepalived's meaning of every setting,
// one schedule for all of them, and the verdicts they reach as a stream
// of up/down events per (virtual service, real server).
//
// The pieces:
//
//   - probe.go, tcp.go, http.go, misc.go, udp.go, dns.go, ping.go, smtp.go,
//     file.go:
//     one attempt of one check, bounded by its deadline (connect_timeout is
//     a deadline for the whole attempt, as keepalived #2351 asks), returning
//     a Result with a reason a human reads and the failure metric counts.
//     DNS_CHECK builds and parses its messages with
//     golang.org/x/net/dns/dnsmessage, PING_CHECK with golang.org/x/net/icmp,
//     SMTP_CHECK reads replies with net/textproto.
//   - dialer.go, sockopt_linux.go, bindif_linux.go, ping_linux.go: the
//     sockets (TCP, connected UDP, ICMP datagram or raw), bound to an
//     address or an interface (bind_if, SO_BINDTODEVICE) and marked as the
//     checker says (fwmark, SO_MARK). sockopt_other.go, bindif_other.go and
//     ping_other.go are their stubs elsewhere, which fail the attempt
//     saying Linux is needed. tls_client.go: SSL_GET's client certificate
//     (the SSL block's, its key decrypted with the block's password).
//   - connect.go, connect_linux.go, connect_raw_linux.go (connect_other.go
//     the stub elsewhere, which leaves TCP_CHECK to the Dialer): the connector,
//     which runs every TCP_CHECK attempt of the operating system's dialer
//     on one epoll loop (keepalived's syscalls: non-blocking connect,
//     SO_ERROR, close, made as raw system calls since none blocks; the
//     deadlines on that loop's one wait, and a socket found connected
//     when the loop looks is no timeout even if it looks late; one read
//     of the monotonic clock per batch; reused attempt records, so an
//     attempt allocates nothing; the room a burst of attempts took given
//     back once it has passed) instead of a goroutine and Go's dialer
//     per attempt. On the system clock its wait
//     is also the schedule's timer: the wakeup that finishes ready
//     attempts launches the due ones, first (keepalived's one thread
//     master). An injected Dialer bypasses it.
//   - verdict.go: the pure per-check state machine (retry, delay_before_retry,
//     rise, alpha) and the real-server aggregate (up when every checker is up).
//   - schedule.go: a single heap of deadlines computed from the plan
//     (next = planned + delay_loop), so the rhythm holds under load instead of
//     drifting like keepalived's "thread timer expired" (#2271), kept as
//     offsets from one epoch on the monotonic clock; and the
//     grid the connector's wakeups keep to (at most 100 ms, 1/100 of the
//     shortest delay_loop and 1/10 of the shortest delay_before_retry), so
//     checks due within one tick share a wakeup.
//   - clock.go: Clock, Timer and SystemClock, internal/clock's, under the
//     names the Options take.
//   - manager.go: the edge that runs the schedule with an injected Clock and
//     Dialer, shares one probe between every virtual service that checks the
//     same target with the same settings (keepalived #2358, #2111, #1495),
//     keeps a TCP_CHECK as one record that reads its settings in the
//     configuration's checker (what other kinds and failed checks need
//     beyond it is behind one pointer; the real servers, which read theirs
//     in the configuration too, and the lists that link them are arrays
//     made once per configuration),
//     emits Events (a baseline per real server, then transitions), logs one
//     line per transition with its reason, and runs notify_up/notify_down
//     (and omega's notify_down on shutdown) off the scheduler's goroutine.
//     Run returns only when every goroutine it started (attempts, notify
//     scripts) has ended.
//
// Tests: X_test.go tests X.go (TCP_CHECK's are in connect_test.go;
// http_options_test.go covers http.go, tls_client.go and bind_if);
// fake_test.go holds the fake clock, live_test.go runs UDP_CHECK, DNS_CHECK
// and SMTP_CHECK on the real clock against loopback servers, fuzz_test.go
// fuzzes what a server answers HTTP_GET, UDP_CHECK, DNS_CHECK, PING_CHECK
// and SMTP_CHECK (seeds in testdata/fuzz), shutdown_test.go checks what
// Run waits for, and heap_test.go bounds what the Manager keeps in the heap
// per TCP_CHECK.
//
// Scripts (MISC_CHECK, notify_up/notify_down) run through lvsd's one script
// runner, internal/script, injected as Options.Scripts.
//
// The package never touches IPVS, never decides what a verdict does to the
// kernel table (that is the consumer of Events), and never parses
// configuration: it reads the hcl.Config it is given.
package checks
