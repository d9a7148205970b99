package lvs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// SyncDaemons implements SyncKernel (IPVS_CMD_GET_DAEMON).
func (k *linuxKernel) SyncDaemons() ([]SyncDaemon, error) {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	return k.writer.daemons()
}

// StartSyncDaemon implements SyncKernel (IPVS_CMD_NEW_DAEMON).
func (k *linuxKernel) StartSyncDaemon(d SyncDaemon) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	return k.writer.daemonCommand(ipvsCmdNewDaemon, &d)
}

// StopSyncDaemon implements SyncKernel (IPVS_CMD_DEL_DAEMON).
func (k *linuxKernel) StopSyncDaemon(st SyncState) error {
	k.writeMu.Lock()
	defer k.writeMu.Unlock()
	return k.writer.daemonCommand(ipvsCmdDelDaemon, &SyncDaemon{State: st})
}

// Connections implements SyncKernel. The kernel has no netlink command
// for the connection table; it lists it in /proc/net/ip_vs_conn_sync
// (what `ipvsadm -Lnc` reads as /proc/net/ip_vs_conn, plus an Origin
// column: LOCAL or SYNC), per network namespace.
func (k *linuxKernel) Connections() (ConnectionCount, error) {
	data, err := k.connTable()
	if err != nil {
		return ConnectionCount{}, err
	}
	return countConnections(bytes.NewReader(data))
}

// connTable reads /proc/net/ip_vs_conn_sync of the kernel's namespace.
func (k *linuxKernel) connTable() ([]byte, error) {
	if k.netns == "" {
		return os.ReadFile("/proc/net/ip_vs_conn_sync")
	}
	return readInNamespace(k.netns, "/proc/thread-self/net/ip_vs_conn_sync")
}

// readInNamespace reads a file from a thread that entered the network
// namespace at netnsPath.
func readInNamespace(netnsPath, name string) (data []byte, err error) {
	err = inNamespace(netnsPath, func() error {
		data, err = os.ReadFile(name)
		return err
	})
	return data, err
}

// inNamespace runs f on a fresh locked thread that entered the network
// namespace at netnsPath (as openGenetlink does), and waits for it.
func inNamespace(netnsPath string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(netnsPath)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		ferr := f()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread dies with the goroutine, locked.
			ch <- errors.Join(errRestoreNamespace, err)
			return
		}
		runtime.UnlockOSThread()
		ch <- ferr
	}()
	return <-ch
}
