// Package script is lvsd's one script runner: MISC_CHECK and a real
// server's notify_up/notify_down (checks), the VRRP notify scripts and
// vrrp_script tracking (vrrp), and quorum_up/quorum_down (director) all run
// through it, so a command line means the same thing everywhere.
//
//   - runner.go: Script, Result, the Runner interface and Exec, the real
//     runner: keepalived's word splitting (no shell), script_user and its
//     group, enable_script_security, a fixed minimal environment, a
//     timeout and a kill of the script's whole process group.
//   - split.go: keepalived's splitting of a command line into words, with
//     '…' and "…" quoting and backslash escapes.
//   - security.go: keepalived's enable_script_security rule (a script run
//     as root must not be writable, nor lie in a directory writable, by
//     anyone but root).
//   - process_linux.go, process_other.go: the process group and its kill.
//
// The package never decides what a script's exit status means (its callers
// do: MISC_CHECK's misc_dynamic, vrrp_script's rise and fall) and never
// reads configuration beyond the global block's script settings.
package script
