package script

import (
	"os"
	"syscall"
)

// processAttrs puts a script in its own process group (so a timeout kills
// everything it started) with the given credential, and makes the kernel
// kill it if lvsd dies.
func processAttrs(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: syscall.SIGKILL}
}

// killProcessGroup sends SIGKILL to the process group led by p.
func killProcessGroup(p *os.Process) error {
	if p == nil {
		return nil
	}
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		return p.Kill()
	}
	return nil
}
