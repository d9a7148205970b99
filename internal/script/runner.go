package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// Script is one run of a command line: a MISC_CHECK, a real server's
// notify_up/notify_down, a VRRP notify script, a vrrp_script or a
// quorum_up/quorum_down.
type Script struct {
	// Name says what the script is for in errors and logs, e.g.
	// `MISC_CHECK for 10.0.0.1:80` or `vrrp_script chk_haproxy`.
	Name string
	// Command is the command line as configured, split into words like
	// keepalived does (see split); no shell is involved.
	Command string
	// Args are appended to the split command line (keepalived appends
	// TYPE NAME STATE PRIORITY to `notify`, for example).
	Args []string
	// User and Group to run as (a name or a numeric id). An empty User
	// means the runner's default (global script_user and its group); an
	// empty Group means User's primary group.
	User, Group string
	// Timeout kills the script's whole process group when it expires;
	// zero means only ctx bounds the run.
	Timeout time.Duration
}

// Result is how a script ended.
type Result struct {
	ExitCode int  // exit status; -1 when killed by a signal
	TimedOut bool // killed because Timeout expired
	// Output is the start of what the script wrote on stdout and stderr
	// (at most 4 KiB), for logs.
	Output []byte
}

// Runner runs scripts. Exec is the real one; tests inject fakes.
//
// An error means the script did not run: refused by
// enable_script_security, not found, an unknown user, a command line that
// does not split, or ctx done. A script that ran and failed returns a
// Result with a non-zero ExitCode or TimedOut and a nil error.
type Runner interface {
	Run(ctx context.Context, s Script) (Result, error)
}

// Exec runs scripts as child processes, each in its own process group.
type Exec struct {
	// Security is keepalived's enable_script_security: a script that runs
	// with root's user or group (or is set-user-ID or set-group-ID root)
	// and is writable by anyone but root, or lies in a directory writable
	// by anyone but root, is refused.
	Security bool
	// User and Group are the defaults (script_user and its group); an
	// empty User runs scripts as lvsd's own user.
	User, Group string
}

// New returns the runner of a configuration's global block:
// enable_script_security and script_user.
func New(g hcl.Global) *Exec {
	return &Exec{Security: g.EnableScriptSecurity, User: g.ScriptUser, Group: g.ScriptGroup}
}

// searchPath is the PATH of every script, and PATH is the whole of its
// environment: lvsd's own (the service manager's) is not passed on, so a
// script sees the same thing whether lvsd was started from a terminal, a
// unit file or a container.
const searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// maxOutput bounds the output kept from one run.
const maxOutput = 4096

// Run starts s and waits for it to end, for s.Timeout to expire, or for ctx
// to be done; in the last two cases the whole process group gets SIGKILL,
// so whatever the script started in the background dies with it.
func (r *Exec) Run(ctx context.Context, s Script) (Result, error) {
	res := Result{ExitCode: -1}
	argv, err := split(s.Command)
	if err != nil {
		return res, fmt.Errorf("%s: %w", s.Name, err)
	}
	if len(argv) == 0 {
		return res, fmt.Errorf("%s: empty command", s.Name)
	}
	path, err := lookPath(argv[0])
	if err != nil {
		return res, fmt.Errorf("%s: script %q not found: %w", s.Name, argv[0], err)
	}
	userName, groupName := s.User, s.Group
	if userName == "" {
		userName, groupName = r.User, r.Group
	}
	cred, err := lookupCredential(userName, groupName)
	if err != nil {
		return res, fmt.Errorf("%s: %w", s.Name, err)
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if cred != nil {
		uid, gid = cred.Uid, cred.Gid
	}
	if r.Security && runsAsRoot(path, uid, gid) {
		if err := checkSecurity(path); err != nil {
			return res, fmt.Errorf("%s: refused by enable_script_security: %w", s.Name, err)
		}
	}

	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path, append(argv[1:], s.Args...)...)
	cmd.Args[0] = argv[0]
	cmd.Env = []string{"PATH=" + searchPath}
	out := &cappedBuffer{limit: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = processAttrs(cred)
	cmd.Cancel = func() error { return killProcessGroup(cmd.Process) }
	// A grandchild holding stdout open must not keep us waiting.
	cmd.WaitDelay = time.Second

	err = cmd.Run()
	res.Output = out.Bytes()
	if ctx.Err() != nil && cmd.ProcessState != nil && !cmd.ProcessState.Success() {
		res.TimedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
		if !res.TimedOut {
			return res, fmt.Errorf("%s: %w", s.Name, ctx.Err())
		}
		return res, nil
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.ExitCode = 0
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode() // -1 when signalled
	case errors.Is(err, exec.ErrWaitDelay):
		res.ExitCode = cmd.ProcessState.ExitCode()
	default:
		return res, fmt.Errorf("%s: run %q: %w", s.Name, path, err)
	}
	return res, nil
}

// lookPath finds a command like the script's own PATH would: a name with a
// slash as it is, a bare name in searchPath.
func lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return exec.LookPath(name)
	}
	for _, dir := range filepath.SplitList(searchPath) {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("not in PATH %s", searchPath)
}

// runsAsRoot says whether the script at path runs with root's user or
// group: started as uid or gid 0, or set-user-ID (set-group-ID) and owned
// by root's user (group). keepalived protects exactly those scripts.
func runsAsRoot(path string, uid, gid uint32) bool {
	if uid == 0 || gid == 0 {
		return true
	}
	fi, err := os.Stat(path)
	if err != nil {
		return true // checkSecurity reports it
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	return fi.Mode()&fs.ModeSetuid != 0 && st.Uid == 0 || fi.Mode()&fs.ModeSetgid != 0 && st.Gid == 0
}

// lookupCredential resolves user and group names (or numeric ids) to the
// credential to run as; nil when userName is empty. Supplementary groups
// are dropped.
func lookupCredential(userName, groupName string) (*syscall.Credential, error) {
	if userName == "" {
		return nil, nil
	}
	u, err := user.Lookup(userName)
	if err != nil {
		if u, err = user.LookupId(userName); err != nil {
			return nil, fmt.Errorf("user %q: %w", userName, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: uid %q: %w", userName, u.Uid, err)
	}
	gidStr := u.Gid
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return nil, fmt.Errorf("group %q: %w", groupName, err)
			}
		}
		gidStr = g.Gid
	}
	gid, err := strconv.ParseUint(gidStr, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q: gid %q: %w", userName, gidStr, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// cappedBuffer keeps the first limit bytes written and discards the rest.
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.limit - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *cappedBuffer) Bytes() []byte { return c.buf.Bytes() }
