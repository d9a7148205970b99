package checks

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
// notify_up/notify_down, or (for the vrrp package) a notify or tracked
// script.
type Script struct {
	// Name says what the script is for in errors and logs, e.g.
	// `MISC_CHECK of 10.0.0.1:80 in TCP:192.0.2.1:80`.
	Name string
	// Command is the command line as configured. It is split on white
	// space like keepalived does, honouring '…' and "…" quoting and
	// backslash escapes; no shell is involved.
	Command string
	// Args are appended to the split command line (keepalived appends
	// TYPE NAME STATE PRIORITY to `notify`, for example).
	Args []string
	// User and Group to run as; empty means the runner's default
	// (global script_user / script_group).
	User, Group string
	// Timeout kills the script's whole process group when it expires;
	// zero means only ctx bounds the run.
	Timeout time.Duration
}

// ScriptResult is how a script ended.
type ScriptResult struct {
	ExitCode int  // exit status; -1 when killed by a signal
	TimedOut bool // killed because Timeout expired
	// Output is the start of what the script wrote on stdout and stderr
	// (at most 4 KiB), for logs.
	Output []byte
}

// ScriptRunner runs scripts. ExecRunner is the real one; tests inject fakes.
// An error means the script did not run (refused by script security, not
// found, unknown user, …); a script that ran and failed returns a result
// with a non-zero ExitCode or TimedOut and a nil error.
type ScriptRunner interface {
	Run(ctx context.Context, s Script) (ScriptResult, error)
}

// ExecRunner runs scripts as child processes in their own process group.
type ExecRunner struct {
	// Security is keepalived's enable_script_security: a script run with
	// root's user or group that is writable by a non-root user, or lies in
	// a directory writable by a non-root user, is refused.
	Security bool
	// User and Group are the defaults (script_user, script_group); empty
	// runs as the current user.
	User, Group string
	// Env is the environment of every script; nil means a minimal PATH.
	Env []string
}

// NewExecRunner returns a runner with the global block's script settings.
func NewExecRunner(g hcl.Global) *ExecRunner {
	return &ExecRunner{Security: g.EnableScriptSecurity, User: g.ScriptUser, Group: g.ScriptGroup}
}

// maxScriptOutput bounds the output kept from one run.
const maxScriptOutput = 4096

// Run starts s and waits for it to end, for s.Timeout to expire, or for ctx
// to be done; in the last two cases the whole process group gets SIGKILL.
func (r *ExecRunner) Run(ctx context.Context, s Script) (ScriptResult, error) {
	res := ScriptResult{ExitCode: -1}
	argv, err := SplitCommand(s.Command)
	if err != nil {
		return res, fmt.Errorf("%s: %w", s.Name, err)
	}
	if len(argv) == 0 {
		return res, fmt.Errorf("%s: empty command", s.Name)
	}
	path, err := exec.LookPath(argv[0])
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
	if r.Security && (uid == 0 || gid == 0) {
		if err := CheckScriptSecurity(path); err != nil {
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
	cmd.Env = r.Env
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	out := &cappedBuffer{limit: maxScriptOutput}
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

// lookupCredential resolves user and group names (or numeric ids) to the
// credential to run as; nil when userName is empty.
func lookupCredential(userName, groupName string) (*syscall.Credential, error) {
	if userName == "" {
		return nil, nil
	}
	u, err := user.Lookup(userName)
	if err != nil {
		if u, err = user.LookupId(userName); err != nil {
			return nil, fmt.Errorf("script_user %q: %w", userName, err)
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("script_user %q: uid %q: %w", userName, u.Uid, err)
	}
	gidStr := u.Gid
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if g, err = user.LookupGroupId(groupName); err != nil {
				return nil, fmt.Errorf("script_group %q: %w", groupName, err)
			}
		}
		gidStr = g.Gid
	}
	gid, err := strconv.ParseUint(gidStr, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("script_user %q: gid %q: %w", userName, gidStr, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// CheckScriptSecurity applies keepalived's enable_script_security rule to
// the executable at path (symbolic links resolved) and every directory
// above it: each must be owned by root, and a regular file or a directory
// without the sticky bit must not be writable by a non-root group or by
// others. The error names the offending path and why.
func CheckScriptSecurity(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("script %s: %w", path, err)
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("script %s: %w", path, err)
		}
		if reason := unsafeReason(p == real, fi); reason != "" {
			what := "directory"
			if p == real {
				what = "file"
			}
			return fmt.Errorf("unsafe permissions for script %s: %s %s %s", path, what, p, reason)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}

// unsafeReason says why fi makes a script unsafe, or "" when it does not.
func unsafeReason(isScript bool, fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "has no ownership information"
	}
	mode := fi.Mode()
	if isScript && !mode.IsRegular() {
		return "is not a regular file"
	}
	if !isScript && !mode.IsDir() {
		return "is not a directory"
	}
	if st.Uid != 0 {
		return fmt.Sprintf("is owned by uid %d, not root", st.Uid)
	}
	if mode.IsDir() && mode&fs.ModeSticky != 0 {
		return "" // like /tmp: others cannot replace what root owns
	}
	if st.Gid != 0 && mode.Perm()&0o020 != 0 {
		return fmt.Sprintf("is writable by group %d", st.Gid)
	}
	if mode.Perm()&0o002 != 0 {
		return "is writable by everyone"
	}
	return ""
}

// SplitCommand splits a command line into words the way keepalived does:
// white space separates words; '…' quotes literally; "…" quotes with \" and
// \\ escapes; a backslash outside quotes escapes the next character.
func SplitCommand(line string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   byte
		escaped bool
	)
	// Byte by byte: every special character is ASCII, so multi-byte
	// characters (and invalid UTF-8) pass through untouched.
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped = false
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteByte(c)
			}
		case c == '\\':
			escaped, inWord = true, true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case isCommandSpace(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q: unterminated %c quote", line, quote)
	}
	if escaped {
		return nil, fmt.Errorf("command %q: ends with a backslash", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// isCommandSpace is C's isspace in the C locale, which keepalived uses.
func isCommandSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
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
