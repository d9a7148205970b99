package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lvsd/lvsd/hcl"
)

// keepalived's exit statuses for --config-test, as keepalived 2.2.7 returns
// them (keepalived(8) "Exit status"; measured against the Debian package).
const (
	exitOK             = 0
	exitConfigTest     = 5 // the configuration has errors
	exitConfigSecurity = 6 // scripts are configured but enable_script_security is off
)

// keepalivedSignals answers --signum=NAME like keepalived, so units and
// scripts that do `kill -s $(keepalived --signum=RELOAD)` keep working.
var keepalivedSignals = map[string]syscall.Signal{
	"RELOAD": syscall.SIGHUP,
	"DATA":   syscall.SIGUSR1,
	"STATS":  syscall.SIGUSR2,
	"STOP":   syscall.SIGTERM,
}

// isKeepalivedCommandLine tells whether lvsd was invoked the way keepalived
// is: under the name keepalived, or with an option where a command goes.
func isKeepalivedCommandLine(args []string) bool {
	if filepath.Base(args[0]) == "keepalived" {
		return true
	}
	return len(args) > 1 && strings.HasPrefix(args[1], "-") && args[1] != "-h" && args[1] != "--help" && args[1] != "--version"
}

// kaOption describes one keepalived option: its long name and whether it
// takes a value (required, optional "=VALUE", or none).
type kaOption struct {
	long     string
	value    int // 0 none, 1 required, 2 optional (only as --long=VALUE or -xVALUE)
	ignored  bool
	unneeded string // why lvsd does not need it, for a debug line
}

var keepalivedOptions = map[byte]kaOption{
	'f': {long: "use-file", value: 1},
	'P': {long: "vrrp"},
	'C': {long: "check"},
	'B': {long: "no_bfd", ignored: true, unneeded: "lvsd has no BFD"},
	'l': {long: "log-console"},
	'D': {long: "log-detail"},
	'S': {long: "log-facility", value: 1, ignored: true, unneeded: "lvsd logs to stderr or -g FILE"},
	'g': {long: "log-file", value: 2},
	'G': {long: "no-syslog", ignored: true, unneeded: "lvsd does not use syslog"},
	'u': {long: "umask", value: 1, ignored: true},
	'X': {long: "release-vips", ignored: true, unneeded: "lvsd always releases VIPs when it leaves MASTER"},
	'V': {long: "dont-release-vrrp", ignored: true, unneeded: "lvsd releases VIPs on stop so the peer can take them"},
	'I': {long: "dont-release-ipvs", ignored: true, unneeded: "lvsd never flushes IPVS on stop"},
	'R': {long: "dont-respawn", ignored: true, unneeded: "lvsd is one process"},
	'n': {long: "dont-fork"},
	'd': {long: "dump-conf"},
	'p': {long: "pid", value: 1},
	'r': {long: "vrrp_pid", value: 1},
	'c': {long: "checkers_pid", value: 1},
	'b': {long: "bfd_pid", value: 1, ignored: true},
	'a': {long: "address-monitoring", ignored: true},
	'x': {long: "snmp", ignored: true, unneeded: "lvsd serves Prometheus metrics instead of SNMP"},
	'A': {long: "snmp-agent-socket", value: 1, ignored: true},
	's': {long: "namespace", value: 1},
	'm': {long: "core-dump", ignored: true},
	'M': {long: "core-dump-pattern", value: 2, ignored: true},
	'e': {long: "all-config", ignored: true},
	'i': {long: "config-id", value: 1, ignored: true},
	't': {long: "config-test", value: 2},
	'v': {long: "version"},
	'h': {long: "help"},
}

// parseKeepalivedArgs reads keepalived's command line (getopt_long rules:
// "-nlD", "-fFILE", "-f FILE", "--use-file=FILE", "--use-file FILE").
func parseKeepalivedArgs(args []string) (map[byte]string, []string, error) {
	set := map[byte]string{}
	var extra []string
	long := map[string]byte{"all": 0, "signum": 1}
	for short, o := range keepalivedOptions {
		long[o.long] = short
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			short, ok := long[name]
			if !ok {
				return nil, nil, fmt.Errorf("unrecognized option '--%s'", name)
			}
			switch short {
			case 0:
				continue // --all
			case 1:
				if !hasVal {
					return nil, nil, fmt.Errorf("option '--signum' requires an argument")
				}
				set['#'] = val
				continue
			}
			o := keepalivedOptions[short]
			if o.value == 1 && !hasVal {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("option '--%s' requires an argument", name)
				}
				i++
				val = args[i]
			}
			set[short] = val
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				o, ok := keepalivedOptions[a[j]]
				if !ok {
					return nil, nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				if o.value == 0 {
					set[a[j]] = ""
					continue
				}
				val := a[j+1:]
				if val == "" && o.value == 1 {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("option requires an argument -- '%c'", a[j])
					}
					i++
					val = args[i]
				}
				set[a[j]] = val
				break
			}
		default:
			extra = append(extra, a)
		}
	}
	return set, extra, nil
}

// runKeepalived runs lvsd with keepalived's command line.
func runKeepalived(args []string, stdout, stderr io.Writer) int {
	set, extra, err := parseKeepalivedArgs(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\nTry '--help' for more information.\n", filepath.Base(args[0]), err)
		return 1
	}
	if len(extra) > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", filepath.Base(args[0]), extra[0])
		return 1
	}
	if name, ok := set['#']; ok {
		sig, known := keepalivedSignals[strings.ToUpper(name)]
		if !known {
			fmt.Fprintf(stderr, "Unknown sigfunc %s\n", name)
			return 1
		}
		fmt.Fprintf(stdout, "%d\n", int(sig))
		return 0
	}
	if _, ok := set['h']; ok {
		fmt.Fprintf(stdout, "Usage: %s [OPTION...]   (lvsd %s, keepalived-compatible command line)\n"+
			"  -f, --use-file=FILE   -P, --vrrp   -C, --check   -n, --dont-fork   -l, --log-console\n"+
			"  -D, --log-detail   -g, --log-file=FILE   -p/-r/-c PIDFILE   -d, --dump-conf\n"+
			"  -t, --config-test[=LOG_FILE]   -v, --version   --signum=RELOAD|DATA|STATS|STOP\n"+
			"See docs/keepalived.md for every option.\n", filepath.Base(args[0]), version)
		return 0
	}
	if _, ok := set['v']; ok {
		fmt.Fprintf(stderr, "Keepalived v2.2.7 compatible: lvsd %s\n", version)
		return 0
	}
	file := "/etc/keepalived/keepalived.conf"
	if f, ok := set['f']; ok {
		file = f
	}
	if logFile, ok := set['t']; ok {
		return configTest(file, logFile, stderr)
	}
	if ns, ok := set['s']; ok {
		fmt.Fprintf(stderr, "--namespace=%s is not supported by lvsd: run it under `ip netns exec %s`\n", ns, ns)
		return 1
	}
	opts := runOptions{file: file, vrrp: true, checks: true, logOut: stderr, logFormat: "text"}
	if _, ok := set['P']; ok {
		opts.checks = false
	}
	if _, ok := set['C']; ok {
		opts.vrrp = false
	}
	if _, ok := set['D']; ok {
		opts.logLevel = slog.LevelDebug
	}
	if path, ok := set['g']; ok {
		if path == "" {
			path = "/tmp/keepalived.log"
		}
		// O_NOFOLLOW: the default lies in /tmp, where anyone may plant a
		// link to a file root should not append to (keepalived
		// CVE-2018-19044's pattern).
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0o640)
		if err != nil {
			fmt.Fprintf(stderr, "log file: %v\n", err)
			return 1
		}
		defer f.Close()
		opts.logOut = f
	}
	opts.pidFiles = []string{"/run/keepalived.pid"}
	if p, ok := set['p']; ok {
		opts.pidFiles = []string{p}
	}
	for _, k := range []byte{'r', 'c'} {
		if p, ok := set[k]; ok {
			opts.pidFiles = append(opts.pidFiles, p)
		}
	}
	if _, ok := set['d']; ok {
		if cfg, _ := hcl.Load(file); cfg != nil {
			stderr.Write(hcl.ConvertToHCL(cfg))
		}
	}
	if _, ok := set['n']; !ok {
		return daemonize(args, stderr)
	}
	log := newLogger(opts)
	for short, val := range set {
		if o := keepalivedOptions[short]; o.ignored {
			log.Debug("keepalived option accepted and not needed", "option", "--"+o.long, "value", val, "why", o.unneeded)
		}
	}
	return runDaemon(opts)
}

// configTest is keepalived's -t: report every diagnostic and exit with
// keepalived's status.
func configTest(file, logFile string, stderr io.Writer) int {
	out := stderr
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			fmt.Fprintf(stderr, "config-test log: %v\n", err)
			return exitConfigTest
		}
		defer f.Close()
		out = f
	}
	cfg, diags := hcl.Load(file)
	for _, d := range diags {
		fmt.Fprintln(out, d.String())
	}
	if cfg == nil {
		return exitConfigTest
	}
	if !cfg.Global.EnableScriptSecurity && hasScripts(cfg) {
		fmt.Fprintln(out, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
		return exitConfigSecurity
	}
	return exitOK
}

func hasScripts(cfg *hcl.Config) bool {
	if len(cfg.Scripts) > 0 {
		return true
	}
	notify := func(n hcl.Notify) bool { return n.Master+n.Backup+n.Fault+n.Stop+n.Any != "" }
	for _, in := range cfg.Instances {
		if notify(in.Notify) {
			return true
		}
	}
	for _, g := range cfg.SyncGroups {
		if notify(g.Notify) {
			return true
		}
	}
	for _, vs := range cfg.VirtualServers {
		if vs.QuorumUp+vs.QuorumDown != "" {
			return true
		}
		for _, rs := range vs.RealServers {
			if rs.NotifyUp+rs.NotifyDown != "" {
				return true
			}
			for _, c := range rs.Checkers {
				if c.Kind == hcl.CheckMisc {
					return true
				}
			}
		}
	}
	return false
}

// daemonize is keepalived without -n: the daemon runs detached in its own
// session and the command returns at once.
func daemonize(args []string, stderr io.Writer) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "cannot find own executable: %v\n", err)
		return 1
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	defer devnull.Close()
	cmd := exec.Command(self, append(append([]string{}, args[1:]...), "--dont-fork")...)
	cmd.Args[0] = args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "cannot start daemon: %v\n", err)
		return 1
	}
	return 0
}
