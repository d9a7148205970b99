package hcl

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// StartStopScript is global_defs' startup_script or shutdown_script with
// its timeout, as keepalived 2.2.7 runs them (main.c): the startup script
// before anything starts, which waits for it; the shutdown script once
// everything has stopped (VIPs removed, priority-0 adverts sent), before
// lvsd exits. A script that fails, is missing or outlives Timeout (then
// killed with its process group) is logged, and lvsd goes on. A reload
// does not run the startup script; the shutdown script is the one in force
// at the stop. Command is empty when none is set.
type StartStopScript struct {
	Command string
	// User and Group run it (keepalived.conf: the words after the
	// command; HCL: startup_script_user = "USER [GROUP]"); empty means
	// script_user's, as for every script.
	User, Group string
	Timeout     time.Duration // 1 s to 1000 s; default 10 s
}

// maxStartStopTimeout is the longest startup/shutdown_script_timeout
// (global_parser.c: [1, 1000] seconds).
const maxStartStopTimeout = 1000 * time.Second

// globalScriptAttrs are the HCL attributes of global_scripts.go, spelled
// as keepalived's keywords.
var globalScriptAttrs = []string{"startup_script", "startup_script_timeout", "shutdown_script", "shutdown_script_timeout",
	"startup_script_user", "shutdown_script_user"}

// startStopScript returns the setting a keyword of globalScriptAttrs
// writes, and which part of it: "", "timeout" or "user".
func (g *Global) startStopScript(keyword string) (*StartStopScript, string) {
	kind, part, _ := strings.Cut(strings.Replace(keyword, "_script", "", 1), "_")
	switch {
	case kind == "startup" && strings.HasPrefix(keyword, "startup_script"):
		return &g.StartupScript, part
	case kind == "shutdown" && strings.HasPrefix(keyword, "shutdown_script"):
		return &g.ShutdownScript, part
	}
	return nil, ""
}

// globalScript reads a keepalived.conf global_defs startup_script,
// shutdown_script or their _timeout with keepalived 2.2.7's rules
// (global_parser.c startup_shutdown_script and its timeout handler;
// lib/notify.c notify_script_init): `startup_script CMD [USER [GROUP]]`,
// CMD one word or quoted; a second script is reported and ignored, a
// script keyword without a command is reported, a script whose user does
// not exist, or that has no user to run as (enable_script_security
// without script_user and no user keepalived_script), is reported and not
// run; a timeout that is not a whole number of seconds from 1 to 1000 is
// reported and ignored. It says whether c was one of them.
func (r *kaReader) globalScript(c *kaNode) bool {
	g := &r.cfg.Global
	s, part := g.startStopScript(c.name)
	if s == nil || part == "user" {
		return false
	}
	kind, _, _ := strings.Cut(c.name, "_")
	timeout := part == "timeout"
	switch {
	case !r.noBlock(c):
	case timeout && len(c.args) == 0:
		r.warnf(c.pos, fmt.Sprintf("%s_script_timeout requires value", kind), "ignored, as keepalived does")
	case timeout:
		v, err := strconv.ParseUint(c.args[0].text, 10, 32)
		if err != nil || v < 1 || v > uint64(maxStartStopTimeout/time.Second) {
			r.warnf(c.pos, fmt.Sprintf("%s_script_timeout '%s' must be in [1, 1000] - ignoring", kind, c.args[0].text), "as keepalived does")
			break
		}
		s.Timeout = time.Duration(v) * time.Second
		g.Positions.Set(c.name, c.pos)
	case s.Command != "":
		r.warnf(c.pos, fmt.Sprintf("%s script already specified", kind), "the first one runs, as keepalived's does")
	case len(c.args) == 0:
		r.warnf(c.pos, fmt.Sprintf("%s script missing", kind), "ignored, as keepalived does")
	case len(c.args) > 1 && !r.loader.userExists(c.args[1].text):
		r.warnf(c.pos, fmt.Sprintf("Invalid %s script", kind), "no user %s: the script does not run, as keepalived's does not", c.args[1].text)
	case len(c.args) == 1 && g.EnableScriptSecurity && g.ScriptUser == "" && !r.loader.userExists(kaDefaultScriptUser):
		r.warnf(c.pos, fmt.Sprintf("Unable to set default user %s for script", kaDefaultScriptUser),
			"Invalid %s script: enable_script_security without script_user; the script does not run, as keepalived's does not", kind)
	default:
		s.Command = c.args[0].text
		if len(c.args) > 1 {
			s.User = c.args[1].text
		}
		if len(c.args) > 2 {
			s.Group = c.args[2].text
		}
		g.Positions.Set(c.name, c.pos)
	}
	return true
}

// globalScripts reads the HCL attributes globalScriptAttrs.
func (d *decoder) globalScripts(bl *block, g *Global) {
	for _, name := range globalScriptAttrs {
		s, part := g.startStopScript(name)
		switch part {
		case "timeout":
			bl.duration(name, &s.Timeout)
		case "user":
			var u string
			if bl.str(name, &u) {
				s.User, s.Group = userAndGroup(u)
			}
		default:
			bl.str(name, &s.Command)
		}
	}
}

// validateGlobalScripts checks the timeouts (1 s to 1000 s) and that a
// script set is not empty.
func (v *validator) validateGlobalScripts() {
	g := &v.cfg.Global
	for _, name := range globalScriptAttrs {
		s, part := g.startStopScript(name)
		timeout := part == "timeout"
		where := at(g.Positions, name, g.Pos)
		if set := g.Positions.Has(name); !set {
			continue
		}
		switch {
		case timeout && (s.Timeout < time.Second || s.Timeout > maxStartStopTimeout || s.Timeout%time.Second != 0):
			v.diags.errorf(where, "invalid "+name, "%v: want whole seconds from 1s to 1000s", s.Timeout)
		case part == "" && s.Command == "":
			v.diags.errorf(where, "invalid "+name, "an empty command")
		}
	}
}

// convertGlobalScripts writes the scripts and the timeouts that are not
// the default.
func convertGlobalScripts(b *hclBody, g Global) {
	for _, s := range []struct {
		name string
		s    StartStopScript
	}{{"startup_script", g.StartupScript}, {"shutdown_script", g.ShutdownScript}} {
		setStr(b, s.name, s.s.Command)
		setStr(b, s.name+"_user", strings.TrimSpace(s.s.User+" "+s.s.Group))
		if s.s.Timeout != defaultStartStopTimeout {
			setDur(b, s.name+"_timeout", s.s.Timeout)
		}
	}
}
