package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/script"
)

// keepalived's exit statuses for --config-test, as keepalived 2.2.7 returns
// them (keepalived(8) "Exit status"; measured against the Debian package by
// integration/keepalived_diff_test.go).
const (
	exitOK             = 0
	exitConfigStop     = 2 // keepalived stopped reading the file: a keyword without its value
	exitConfigTest     = 5 // configuration errors were reported; the daemon would still run
	exitConfigSecurity = 6 // a script would run as root without enable_script_security (wins over 5)
)

// strictOption is the byte parseKeepalivedArgs records --strict under
// (lvsd's own option: keepalived has none).
const strictOption = 2

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
	'i': {long: "config-id", value: 1},
	't': {long: "config-test", value: 2},
	'v': {long: "version"},
	'h': {long: "help"},
}

// parseKeepalivedArgs reads keepalived's command line (getopt_long rules:
// "-nlD", "-fFILE", "-f FILE", "--use-file=FILE", "--use-file FILE").
func parseKeepalivedArgs(args []string) (map[byte]string, []string, error) {
	set := map[byte]string{}
	var extra []string
	long := map[string]byte{"all": 0, "signum": 1, "strict": strictOption}
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
			case strictOption:
				set[strictOption] = ""
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
	var loader hcl.Loader
	loader.ConfigID = set['i']
	_, loader.Strict = set[strictOption]
	if logFile, ok := set['t']; ok {
		return configTest(&loader, file, logFile, stderr)
	}
	if ns, ok := set['s']; ok {
		fmt.Fprintf(stderr, "--namespace=%s is not supported by lvsd: run it under `ip netns exec %s`\n", ns, ns)
		return 1
	}
	opts := runOptions{file: file, vrrp: true, checks: true, logOut: stderr, logFormat: "text", loader: loader}
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
		if cfg, _ := loader.Load(file); cfg != nil {
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
// keepalived's status: 6 when a script that exists would run as root
// without enable_script_security, else 5 when keepalived would have
// reported configuration errors (lvsd's Lenient warnings, an interface
// that does not exist, or a file lvsd refuses), else 0.
func configTest(loader *hcl.Loader, file, logFile string, stderr io.Writer) int {
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
	cfg, diags := loader.Load(file)
	for _, d := range diags {
		fmt.Fprintln(out, d.String())
	}
	if cfg == nil {
		if slices.ContainsFunc(diags, hcl.KeepalivedStops) {
			return exitConfigStop
		}
		return exitConfigTest
	}
	status := exitOK
	if len(diags.Lenient()) > 0 {
		status = exitConfigTest
	}
	// vrrp.c: an instance's interface and the interfaces it tracks must
	// exist ("Non-existent interface specified in configuration"; the VRRP
	// process then stops) unless dynamic_interfaces is set.
	missing := false
	for _, in := range cfg.Instances {
		if _, err := net.InterfaceByName(in.Interface); err != nil {
			fmt.Fprintf(out, "%s: WARNING - interface %s for vrrp_instance %s doesn't exist\n", in.Positions.Where("interface", in.Pos), in.Interface, in.Name)
			missing = true
		}
		for _, ti := range in.TrackInterfaces {
			if _, err := net.InterfaceByName(ti.Name); err != nil {
				fmt.Fprintf(out, "%s: (%s) tracked interface %s doesn't exist\n", in.Positions.Where("track_interface", in.Pos), in.Name, ti.Name)
				missing = true
			}
		}
	}
	if missing {
		fmt.Fprintln(out, "Non-existent interface specified in configuration")
		status = exitConfigTest
	}
	// keepalived checks every script that runs as root when
	// enable_script_security is on, and disables those it refuses; lvsd's
	// runner refuses them on their first run (internal/script), with the
	// same consequence for the instances tracking them.
	if cfg.Global.EnableScriptSecurity {
		for _, sc := range cfg.Scripts {
			userName := sc.User
			if userName == "" {
				userName = cfg.Global.ScriptUser
			}
			path, ok := scriptPath(sc.Script)
			if !ok || userName != "" && userName != "root" && userName != "0" {
				continue
			}
			if err := script.CheckSecurity(path); err != nil {
				fmt.Fprintf(out, "%s: Disabling track script %s due to insecure (%v)\n", sc.Positions.Where("script", sc.Pos), sc.Name, err)
				status = exitConfigTest
			}
		}
	}
	if !cfg.Global.EnableScriptSecurity && foundScripts(cfg) {
		fmt.Fprintln(out, "SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
		return exitConfigSecurity
	}
	return status
}

// foundScripts says whether a script exists that keepalived would run:
// keepalived checks the scripts it finds at start and leaves out the
// others (a notify script that is not there never runs). The user a script
// runs as does not matter: check_script_secure (lib/notify.c) marks every
// script it finds SC_ISSCRIPT, which is what the SECURITY VIOLATION counts,
// for script_user nobody as for root (keepalived 2.2.7's VRRP process logs
// it for both; its -t kills itself before, see docs/keepalived.md).
func foundScripts(cfg *hcl.Config) bool {
	found := func(command string) bool {
		// A redirection script ("</dev/tcp/HOST/PORT"), which hcl hands
		// to /bin/sh, is not one keepalived's security check looks at.
		if strings.HasPrefix(command, "/bin/sh -c '<") {
			return false
		}
		return scriptExists(command)
	}
	notify := func(n hcl.Notify) bool {
		return slices.ContainsFunc([]string{n.Master, n.Backup, n.Fault, n.Stop, n.Any, n.MasterRxLowerPri}, func(c string) bool { return c != "" && found(c) })
	}
	a := cfg.Global.Alerts
	if notify(hcl.Notify{Any: a.NotifyFIFO.Script, Master: a.VRRPNotifyFIFO.Script, Backup: a.LVSNotifyFIFO.Script}) {
		return true // the notify FIFO scripts (internal/alert)
	}
	if found(cfg.Global.StartupScript.Command) || found(cfg.Global.ShutdownScript.Command) {
		return true // keepalived's parent checks these (main.c: start/shutdown scripts)
	}
	for _, s := range cfg.Scripts {
		if found(s.Script) {
			return true
		}
	}
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
		if vs.QuorumUp != "" && found(vs.QuorumUp) || vs.QuorumDown != "" && found(vs.QuorumDown) {
			return true
		}
		for _, rs := range vs.RealServers {
			if rs.NotifyUp != "" && found(rs.NotifyUp) || rs.NotifyDown != "" && found(rs.NotifyDown) {
				return true
			}
			for _, c := range rs.Checkers {
				if m := c.Misc(); m != nil && found(m.Path) {
					return true
				}
			}
		}
	}
	return false
}

// scriptExists says whether the first word of a command names a file
// (a bare name is looked for in the scripts' PATH).
func scriptExists(command string) bool {
	_, ok := scriptPath(command)
	return ok
}

// scriptPath is the file the first word of a command names, if it exists.
func scriptPath(command string) (string, bool) {
	words := strings.Fields(command)
	if len(words) == 0 {
		return "", false
	}
	name := strings.Trim(words[0], `"'`)
	if strings.Contains(name, "/") {
		_, err := os.Stat(name)
		return name, err == nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p, true
		}
	}
	return "", false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
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
