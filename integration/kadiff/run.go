package kadiff

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netns"
)

// Steady is the end of a run whose adverts are compared: long enough for
// every MASTER to advertise once (advert_int 3 is the corpus's longest),
// late enough that tracked scripts have moved priorities where they stay.
const Steady = 3500 * time.Millisecond

// Result is what one daemon did on one file.
type Result struct {
	// Adverts are the distinct adverts sent in the last Steady of the
	// run with a priority above 0 (the priority-0 adverts of a stop are
	// left out: their timing is the stop's), sorted.
	Adverts []Advert
	// Log is the daemon's output.
	Log string
}

// Instances says whether the daemon started VRRP instances: keepalived
// logs each instance's first state (an instance that starts in FAULT says
// "entering FAULT state"), lvsd logs "VRRP state change".
func (r Result) Instances() bool {
	for _, s := range []string{"Entering BACKUP STATE", "Entering MASTER STATE", "Entering FAULT STATE", ") entering FAULT state", "VRRP state change"} {
		if strings.Contains(r.Log, s) {
			return true
		}
	}
	return false
}

// Run runs daemon (keepalived or lvsd, with keepalived's command line:
// the VRRP side alone, -P, in the foreground) on file, alone in a fresh
// namespace ns made by Namespace, for d, and reads the adverts it sends on
// the far side of every link. dir holds its log and pid files. The daemon
// is stopped with SIGTERM (SIGKILL 5 s later) and ns deleted.
func Run(ns, dir string, d time.Duration, daemon, file string) (Result, error) {
	if err := Namespace(ns); err != nil {
		return Result{}, err
	}
	defer DeleteNamespace(ns)
	var mu sync.Mutex
	seen := map[Advert]time.Time{} // last seen
	var conns []*packet.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i, link := range Links {
		var c *packet.Conn
		err := InNetns(ns, func() error {
			ifi, err := net.InterfaceByName(Peer(i))
			if err != nil {
				return err
			}
			c, err = packet.Listen(ifi, packet.Raw, 0x0003, nil) // ETH_P_ALL
			return err
		})
		if err != nil {
			return Result{}, err
		}
		conns = append(conns, c)
		go func() {
			buf := make([]byte, 2048)
			for {
				n, _, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				if a, ok := ParseAdvert(link, buf[:n]); ok && a.Priority > 0 {
					mu.Lock()
					seen[a] = time.Now()
					mu.Unlock()
				}
			}
		}()
	}
	base := filepath.Join(dir, ns+"-"+filepath.Base(daemon))
	logf, err := os.Create(base + ".log")
	if err != nil {
		return Result{}, err
	}
	cmd := exec.Command("ip", "netns", "exec", ns, daemon, "-f", file, "-n", "-l", "-P",
		"-p", base+"-main.pid", "-r", base+"-vrrp.pid", "-c", base+"-check.pid")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return Result{}, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	time.Sleep(d)
	mu.Lock()
	var r Result
	for a, last := range seen {
		if time.Since(last) < Steady {
			r.Adverts = append(r.Adverts, a)
		}
	}
	mu.Unlock()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	slices.SortFunc(r.Adverts, func(x, y Advert) int { return strings.Compare(x.String(), y.String()) })
	b, _ := os.ReadFile(base + ".log")
	r.Log = string(b)
	return r, nil
}

// InNetns runs f on an OS thread switched into namespace ns; sockets it
// opens stay in ns. The integration tests' namespaces use it too.
func InNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked and so dies with this goroutine: it
		// never returns to the pool in another namespace.
		h, err := netns.GetFromName(ns)
		if err != nil {
			errc <- err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// syncDaemon matches the keywords that start an IPVS sync daemon, which
// keepalived's VRRP process starts itself ("Can't initialize ipvs"
// without IPVS in the kernel).
var syncDaemon = regexp.MustCompile(`(?m)^\s*lvs_sync_daemon(_interface)?\s`)

// NeedsIPVS says whether keepalived's VRRP process needs IPVS for the
// keepalived.conf text src: such files have their adverts compared in the
// VM, whose kernel has IPVS.
func NeedsIPVS(src []byte) bool { return syncDaemon.Match(src) }
