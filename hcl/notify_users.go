package hcl

import (
	"fmt"
	"os/user"
	"strings"
)

// ScriptUser is who runs a notify script: User and Group as for
// internal/script's Script; empty means script_user's.
type ScriptUser struct{ User, Group string }

// ScriptUsers maps a notify keyword (notify_master, notify_backup,
// notify_fault, notify_stop, notify, notify_master_rx_lower_pri,
// quorum_up, quorum_down, notify_up, notify_down) to who runs its script;
// a keyword not in it runs as script_user. keepalived.conf spells it after
// the command (`notify_master CMD [USER [GROUP]]`), HCL as
// KEYWORD_user = "USER [GROUP]", as startup_script_user.
type ScriptUsers map[string]ScriptUser

// Of is who runs the script of keyword (the zero ScriptUser: script_user).
func (m ScriptUsers) Of(keyword string) ScriptUser { return m[keyword] }

// set records u for keyword; the zero u removes it.
func (m *ScriptUsers) set(keyword string, u ScriptUser) {
	if u == (ScriptUser{}) {
		delete(*m, keyword)
		return
	}
	if *m == nil {
		*m = ScriptUsers{}
	}
	(*m)[keyword] = u
}

// notifyUserKeywords are the keywords of ScriptUsers, by where they are.
var (
	notifyUserKeywords = []string{"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify", "notify_master_rx_lower_pri"}
	vsUserKeywords     = []string{"quorum_up", "quorum_down"}
	rsUserKeywords     = []string{"notify_up", "notify_down"}
)

// userAttrs are the HCL attributes KEYWORD_user of keywords.
func userAttrs(keywords []string) []string {
	out := make([]string, len(keywords))
	for i, k := range keywords {
		out[i] = k + "_user"
	}
	return out
}

// notifyScript reads a notify-type keyword (notify_*, quorum_up/down,
// notify_up/down, the notify_fifo_scripts) as keepalived 2.2.7's notify_script_init (lib/notify.c)
// does: the first word after the keyword is the command line (quoted to
// carry arguments: `notify_master "/bin/x a b" root`), the second the user
// and the third the group it runs as (set_script_uid_gid at slot 2); later
// words are not read. An unquoted `notify_master /bin/echo hi` is thus the
// command /bin/echo run as user hi. A user or group that does not exist
// drops the script ("Invalid user/group for notify script ... -
// ignoring"), as keepalived does.
func (r *kaReader) notifyScript(c *kaNode) (string, ScriptUser, bool) {
	if !r.noBlock(c) {
		return "", ScriptUser{}, false
	}
	if len(c.args) == 0 {
		r.errf(c.pos, fmt.Sprintf("keyword %s needs a command", c.name), "")
		return "", ScriptUser{}, false
	}
	cmd := c.args[0].text
	var u ScriptUser
	if len(c.args) > 1 {
		u.User = c.args[1].text
	}
	if len(c.args) > 2 {
		u.Group = c.args[2].text
	}
	if len(c.args) > 3 {
		r.warnf(c.pos, c.name+": words after USER GROUP ignored", "as keepalived does; quote the command to pass it arguments")
	}
	if u.User != "" && (!r.loader.userExists(u.User) || u.Group != "" && !groupExists(u.Group)) {
		kind := "notify"
		switch {
		case strings.HasPrefix(c.name, "quorum"):
			kind = "quorum"
		case strings.HasSuffix(c.name, "notify_fifo_script"):
			kind = strings.TrimSuffix(c.name, "_script")
		}
		first, _, _ := strings.Cut(cmd, " ")
		who := "no user " + u.User
		if r.loader.userExists(u.User) {
			who = "no group " + u.Group
		}
		r.warnf(c.pos, fmt.Sprintf("Invalid user/group for %s script %s - ignoring", kind, first),
			"%s: the script does not run, as keepalived's does not (an unquoted command's second word is the user)", who)
		return "", ScriptUser{}, false
	}
	return cmd, u, true
}

// firstWordCommand reads vrrp_script's script and MISC_CHECK's misc_path
// as keepalived 2.2.7 does (set_script_params_array on slot 1 alone): the
// first word after the keyword is the command line, quoted to carry
// arguments; the words after it are not read (their user is the block's
// user keyword), which lvsd says in a warning.
func (r *kaReader) firstWordCommand(c *kaNode) (string, bool) {
	if !r.noBlock(c) {
		return "", false
	}
	if len(c.args) == 0 {
		r.errf(c.pos, fmt.Sprintf("keyword %s needs a command", c.name), "")
		return "", false
	}
	if len(c.args) > 1 {
		r.warnf(c.pos, c.name+": words after the command ignored",
			"%s runs without %q, as keepalived's does; quote the command line to pass it arguments", c.args[0].text, strings.Join(c.argText()[1:], " "))
	}
	return c.args[0].text, true
}

// groupExists says whether the group name exists.
func groupExists(name string) bool {
	_, err := user.LookupGroup(name)
	return err == nil
}

// scriptUsers reads the HCL attributes KEYWORD_user of keywords into m.
func (d *decoder) scriptUsers(bl *block, keywords []string, m *ScriptUsers) {
	for _, k := range keywords {
		var s string
		if bl.has(k+"_user") && bl.str(k+"_user", &s) { // has: no name made for an absent one
			u, g := userAndGroup(s)
			m.set(k, ScriptUser{User: u, Group: g})
		}
	}
}

// convertScriptUsers writes KEYWORD_user for the keywords m has.
func convertScriptUsers(b *hclBody, keywords []string, m ScriptUsers) {
	for _, k := range keywords {
		u := m.Of(k)
		setStr(b, k+"_user", strings.TrimSpace(u.User+" "+u.Group))
	}
}
