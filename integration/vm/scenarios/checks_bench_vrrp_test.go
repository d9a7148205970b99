package scenarios

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The VRRP side of TestBenchChecksVsKeepalived: with a vrrp_instance in the
// configuration (unicast adverts every second out of the namespace's dummy
// link), the listener records when each advert leaves, and the spread of
// the interval between two adverts says how the daemon's VRRP timing holds
// under the full check load (RFC 3768 section 6.4.3: the master sends an
// advert every Advertisement_Interval).

// cbVRRPInstance is the vrrp_instance added to the benchmark's
// keepalived.conf: MASTER alone on the dummy link, unicast to a peer that
// is never there (the dummy link drops what it sends; a packet socket on
// it still sees each advert leave).
const cbVRRPInstance = `vrrp_instance bench {
  state MASTER
  interface rs
  virtual_router_id 51
  priority 150
  advert_int 1
  unicast_src_ip 10.255.255.254
  unicast_peer {
    10.255.255.253
  }
  virtual_ipaddress {
    10.254.0.1/32
  }
}
`

// cbAdvertFigures are the intervals between adverts over the window, in
// nanoseconds.
type cbAdvertFigures struct {
	Count              int
	Min, P50, P99, Max int64
}

// cbAdverts records the instants VRRP adverts (IP protocol 112) leave
// through one interface.
type cbAdverts struct {
	fd   int
	mu   sync.Mutex
	at   []time.Time
	stop bool
	done chan struct{}
}

// cbCaptureAdverts starts recording on ifname.
func cbCaptureAdverts(ifname string) (*cbAdverts, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	// ETH_P_ALL: only a packet socket of every protocol sees what the
	// host sends (dev_queue_xmit_nit), one of ETH_P_IP only what it
	// receives.
	const ethPAll = 0x0300 // htons(ETH_P_ALL)
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, ethPAll)
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifi.Index}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	// A receive timeout lets the loop see stop.
	tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	a := &cbAdverts{fd: fd, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		buf := make([]byte, 2048)
		for {
			n, _, err := syscall.Recvfrom(fd, buf, 0)
			now := time.Now()
			a.mu.Lock()
			if a.stop {
				a.mu.Unlock()
				return
			}
			if err == nil && n >= 20 && buf[0]>>4 == 4 && buf[9] == 112 {
				a.at = append(a.at, now)
			}
			a.mu.Unlock()
		}
	}()
	return a, nil
}

// mark forgets what came before.
func (a *cbAdverts) mark() {
	a.mu.Lock()
	a.at = a.at[:0]
	a.mu.Unlock()
}

// close stops the capture.
func (a *cbAdverts) close() {
	a.mu.Lock()
	a.stop = true
	a.mu.Unlock()
	<-a.done
	syscall.Close(a.fd)
}

// figures are the intervals between the adverts seen since the last mark.
func (a *cbAdverts) figures() cbAdvertFigures {
	a.mu.Lock()
	defer a.mu.Unlock()
	var iv []int64
	for i := 1; i < len(a.at); i++ {
		iv = append(iv, int64(a.at[i].Sub(a.at[i-1])))
	}
	if len(iv) == 0 {
		return cbAdvertFigures{}
	}
	slices.Sort(iv)
	return cbAdvertFigures{Count: len(iv), Min: iv[0], P50: iv[len(iv)/2], P99: iv[len(iv)*99/100], Max: iv[len(iv)-1]}
}

// String is the figures as the report prints them.
func (f cbAdvertFigures) String() string {
	if f.Count == 0 {
		return ""
	}
	d := func(ns int64) string { return time.Duration(ns).Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("%d advert intervals: min %s p50 %s p99 %s max %s", f.Count, d(f.Min), d(f.P50), d(f.P99), d(f.Max))
}

// cbWithVRRP is conf with the benchmark's vrrp_instance added.
func cbWithVRRP(conf string) string {
	return strings.Replace(conf, "}\n", "}\n"+cbVRRPInstance, 1)
}
