// Package statuspage serves lvsd's read-only status page: the snapshot
// `lvsd status` shows (internal/director.Report) as one HTML page an
// operator keeps open in a browser, the way HAProxy users live in its stats
// page.
//
//   - page.go: the http.Handler: the page at "/" and its stylesheet, the
//     view built from a Report, and the headers that keep the page inert
//     (no script runs, nothing is fetched from elsewhere, nothing cached).
//   - rates.go: connection, packet and traffic rates, computed from the
//     kernel counters of successive snapshots kept in a small ring.
//   - assets/: the template and stylesheet, embedded in the binary.
//
// The page refreshes itself with <meta http-equiv="refresh"> and uses no
// JavaScript; html/template escapes every name taken from the
// configuration. The package never listens: cmd/lvsd mounts the handler on
// the metrics listener when status_page is on (loopback only, as hcl
// validates).
package statuspage
