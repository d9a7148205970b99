// Command lvsd runs an LVS director: a VRRP speaker (v2 and v3) that moves virtual IPs
// between two directors, and an IPVS programmer fed by health checks. It
// replaces keepalived for that job.
//
//	lvsd run     [-f FILE]          run the daemon (default /etc/lvsd/lvsd.hcl)
//	lvsd check   [-f FILE] [--json] validate a configuration
//	lvsd plan    [-f FILE]          show what the IPVS table would change
//	lvsd convert FILE               print a keepalived.conf, ldirectord.cf or ipvsadm rules file as HCL
//	lvsd status  [--json]           show the running daemon's state
//	lvsd drain   [--undo]           withdraw the routes and keep serving for drain_delay
//	lvsd version
//
// Invoked with keepalived's flags (or as "keepalived") it behaves like
// keepalived: see docs/keepalived.md.
package main

import (
	"fmt"
	"io"
	"os"

	// For its initialiser alone: transparent huge pages and the
	// runtime's asynchronous preemption off from the process's first
	// page (docs/lvsd.md, ENVIRONMENT).
	_ "github.com/lvsd/lvsd/internal/execenv"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const defaultConfig = "/etc/lvsd/lvsd.hcl"

func main() {
	os.Exit(runMain(os.Args, os.Stdout, os.Stderr))
}

// runMain dispatches a command line and returns the exit status.
func runMain(args []string, stdout, stderr io.Writer) int {
	if isKeepalivedCommandLine(args) {
		return runKeepalived(args, stdout, stderr)
	}
	if len(args) < 2 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "run":
		return cmdRun(rest, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "plan":
		return cmdPlan(rest, stdout, stderr)
	case "convert":
		return cmdConvert(rest, stdout, stderr)
	case "status":
		return cmdStatus(rest, stdout, stderr)
	case "drain":
		return cmdDrain(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "lvsd %s\n", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "lvsd: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: lvsd COMMAND [flags]

commands:
  run      [-f FILE] [--log-format text|json]   run the director daemon
  check    [-f FILE] [--json]                    validate a configuration
  plan     [-f FILE]                             show the IPVS operations a run would apply
  convert  FILE                                  print a keepalived.conf, ldirectord.cf or ipvsadm rules as lvsd HCL
  status   [--socket PATH] [--json]              show the running daemon's state
  drain    [--socket PATH] [--undo]              withdraw the BGP routes, serve on for drain_delay
  version                                        print the version

FILE defaults to `+defaultConfig+`; *.hcl is HCL, *.hcl.json / *.json HCL-JSON,
ldirectord* an ldirectord.cf, ipvsadm* ipvsadm rules, anything else
keepalived.conf unless its content is ldirectord.cf or ipvsadm rules (lvsd(8)).
`)
}
