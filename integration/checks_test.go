package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvsd/lvsd/checks"
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// checksLab is one network namespace holding the real servers, joined to
// the host by a veth pair: host 10.201.N.1/30, namespace 10.201.N.2/30.
type checksLab struct {
	t        *testing.T
	ns       string
	hostIf   string
	nsIf     string
	hostAddr netip.Addr
	realAddr netip.Addr
}

func newChecksLab(t *testing.T) *checksLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs iproute2 (ip)")
	}
	n := os.Getpid()%250 + 1
	l := &checksLab{
		t:        t,
		ns:       fmt.Sprintf("lvsdchk%d", os.Getpid()),
		hostIf:   fmt.Sprintf("lvck%dh", os.Getpid()),
		nsIf:     fmt.Sprintf("lvck%dn", os.Getpid()),
		hostAddr: netip.AddrFrom4([4]byte{10, 201, byte(n), 1}),
		realAddr: netip.AddrFrom4([4]byte{10, 201, byte(n), 2}),
	}
	t.Cleanup(l.destroy)
	l.ip("netns", "add", l.ns)
	l.ip("link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf)
	l.ip("link", "set", l.nsIf, "netns", l.ns)
	l.ip("addr", "add", l.hostAddr.String()+"/30", "dev", l.hostIf)
	l.ip("link", "set", l.hostIf, "up")
	l.ip("-n", l.ns, "addr", "add", l.realAddr.String()+"/30", "dev", l.nsIf)
	l.ip("-n", l.ns, "link", "set", l.nsIf, "up")
	l.ip("-n", l.ns, "link", "set", "lo", "up")
	return l
}

func (l *checksLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func (l *checksLab) destroy() {
	exec.Command("ip", "link", "del", l.hostIf).Run()
	exec.Command("ip", "netns", "del", l.ns).Run()
}

// listen opens a TCP listener inside the namespace (inNetns: no pooled
// thread is left in the namespace).
func (l *checksLab) listen(port int) net.Listener {
	l.t.Helper()
	var ln net.Listener
	err := inNetns(l.ns, func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(l.realAddr, uint16(port)).String())
		return err
	})
	if err != nil {
		l.t.Fatalf("listen in %s on %d: %v", l.ns, port, err)
	}
	return ln
}

// tcpServer accepts and closes connections until stopped.
type tcpServer struct {
	lab  *checksLab
	port int
	mu   sync.Mutex
	ln   net.Listener
}

func (s *tcpServer) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln = s.lab.listen(s.port)
	ln := s.ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (s *tcpServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

// httpServer serves a status (settable) over HTTP or HTTPS.
type nsHTTPServer struct {
	lab    *checksLab
	port   int
	tls    *tls.Config
	quiet  bool // drop net/http's own error log (handshakes cut by a stop)
	status atomic.Int32
	mu     sync.Mutex
	srv    *http.Server
}

func (s *nsHTTPServer) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ln := s.lab.listen(s.port)
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(s.status.Load()))
		fmt.Fprintf(w, "lvsd integration %s", r.Host)
	}), ReadHeaderTimeout: 5 * time.Second}
	if s.quiet {
		s.srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	go s.srv.Serve(ln)
}

func (s *nsHTTPServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "real.example"}, DNSNames: []string{"real.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// eventWatcher collects the Manager's events per real server.
type eventWatcher struct {
	mu     sync.Mutex
	events []checks.Event
	signal chan struct{}
}

func watchEvents(m *checks.Manager) *eventWatcher {
	w := &eventWatcher{signal: make(chan struct{}, 1)}
	go func() {
		for ev := range m.Events() {
			w.mu.Lock()
			w.events = append(w.events, ev)
			w.mu.Unlock()
			select {
			case w.signal <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

// await waits up to bound for an event of real that is not a baseline and
// has the wanted state, reported after since; it returns how long after
// since it came.
func (w *eventWatcher) await(t *testing.T, real netip.AddrPort, up bool, since time.Time, bound time.Duration) (checks.Event, time.Duration) {
	t.Helper()
	deadline := time.After(bound)
	for {
		w.mu.Lock()
		for _, ev := range w.events {
			if ev.Real == real && !ev.Initial && ev.Up == up && !ev.At.Before(since) {
				w.mu.Unlock()
				return ev, ev.At.Sub(since)
			}
		}
		w.mu.Unlock()
		select {
		case <-w.signal:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: no %s event within %v", real, map[bool]string{true: "up", false: "down"}[up], bound)
		}
	}
}

func (w *eventWatcher) baseline(t *testing.T, real netip.AddrPort) checks.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, ev := range w.events {
			if ev.Real == real && ev.Initial {
				w.mu.Unlock()
				return ev
			}
		}
		w.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: no baseline event", real)
	return checks.Event{}
}

// TestChecksFollowRealServersInANamespace runs TCP_CHECK, HTTP_GET and
// SSL_GET against servers in a network namespace, stops and restarts them,
// cuts the link, and asserts each verdict changes within the bound the
// settings give:
//
//	down within delay_loop + retry×(delay_before_retry+connect_timeout) + connect_timeout + slack
//	up   within delay_loop + connect_timeout + slack (one success, keepalived)
func TestChecksFollowRealServersInANamespace(t *testing.T) {
	lab := newChecksLab(t)

	tcp := &tcpServer{lab: lab, port: 8080}
	web := &nsHTTPServer{lab: lab, port: 8081, quiet: true}
	web.status.Store(200)
	secure := &nsHTTPServer{lab: lab, port: 8443, tls: selfSignedTLS(t), quiet: true}
	secure.status.Store(200)
	tcp.start()
	web.start()
	secure.start()
	defer tcp.stop()
	defer web.stop()
	defer secure.stop()

	at := func(port int) netip.AddrPort { return netip.AddrPortFrom(lab.realAddr, uint16(port)) }
	common := nsCheckSettings()
	webCheck := `virtualhost = "real.example"
url {
  path        = "/health"
  status_code = ["200-299"]
  regex       = "lvsd integration"
}`
	cfg := hcltest.Load(t, fmt.Sprintf(`
global { lvs_program = "always" }
virtual_server "192.0.2.10:80" {
  real_server %[1]q {
    TCP_CHECK {
      %[4]s
    }
  }
}
virtual_server "192.0.2.11:80" {
  real_server %[2]q {
    HTTP_GET {
      %[4]s
      %[5]s
    }
  }
}
virtual_server "192.0.2.12:443" {
  real_server %[3]q {
    SSL_GET {
      %[4]s
      %[5]s
      enable_sni = true
    }
  }
}`, at(8080), at(8081), at(8443), common, webCheck))
	followSteps(t, lab, cfg, []int{8080, 8081, 8443}, []checkStep{
		{"TCP listener closed", 8080, tcp.stop, false, "connection refused"},
		{"TCP listener back", 8080, tcp.start, true, "connected"},
		{"HTTP answers 503", 8081, func() { web.status.Store(503) }, false, "status 503"},
		{"HTTP answers 200", 8081, func() { web.status.Store(200) }, true, "status 200"},
		{"HTTPS server stopped", 8443, secure.stop, false, "connection refused"},
		{"HTTPS server back", 8443, secure.start, true, "status 200"},
		// A cut link ends the connects at their deadline, or sooner
		// with EHOSTUNREACH once the director's ARP for the real
		// server fails (neigh's 3 probes, a second apart, from the first
		// packet after the cut flushed the entry): the FIN of the last
		// connect before the cut, which lvsd sends when it reads that
		// connect's end at its next grid tick, may be that packet.
		{"link cut", 8080, func() { lab.ip("-n", lab.ns, "link", "set", lab.nsIf, "down") }, false, "timeout after 1s|connect: no route to host"},
		{"link back", 8080, func() { lab.ip("-n", lab.ns, "link", "set", lab.nsIf, "up") }, true, "connected"},
	})
}

// The checker settings of the namespace check tests, and the bounds they
// give a verdict (nsCheckSettings writes them as HCL).
const (
	nsDelayLoop  = 1 * time.Second
	nsTimeout    = 1 * time.Second
	nsRetry      = 1
	nsRetryDelay = 500 * time.Millisecond
	nsSlack      = 1500 * time.Millisecond
	nsDownBound  = nsDelayLoop + nsRetry*(nsRetryDelay+nsTimeout) + nsTimeout + nsSlack
	nsUpBound    = nsDelayLoop + nsTimeout + nsSlack
)

// nsCheckSettings is the body every checker of the namespace check tests
// starts with. warmup 0: every first check at once, as the bounds assume.
func nsCheckSettings() string {
	return fmt.Sprintf("delay_loop = %q\nconnect_timeout = %q\nretry = %d\ndelay_before_retry = %q\nwarmup = 0",
		nsDelayLoop, nsTimeout, nsRetry, nsRetryDelay)
}

// checkStep is one change to the lab's servers and the verdict it must
// bring, within its bound, on the real server at port, with a word of the
// reason.
type checkStep struct {
	name   string
	port   int
	change func()
	up     bool
	reason string // what the verdict's reason contains; alternatives separated by "|"
}

// followSteps runs the checkers of cfg in a Manager; once every real
// server at ports has an up baseline and a few good rounds have passed, it
// applies each step and asserts the verdict it brings within nsUpBound or
// nsDownBound. The last step brings the link back: every real server is
// then up again within nsUpBound.
func followSteps(t *testing.T, lab *checksLab, cfg *hcl.Config, ports []int, steps []checkStep) {
	t.Helper()
	at := func(port int) netip.AddrPort { return netip.AddrPortFrom(lab.realAddr, uint16(port)) }
	m := checks.NewManager(cfg, checks.Options{})
	w := watchEvents(m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	for _, p := range ports {
		if ev := w.baseline(t, at(p)); !ev.Up {
			t.Fatalf("baseline of %s is down: %+v", at(p), ev)
		}
	}
	time.Sleep(2 * nsDelayLoop) // a few good rounds

	for _, s := range steps {
		bound := nsUpBound
		if !s.up {
			bound = nsDownBound
		}
		since := time.Now()
		s.change()
		ev, took := w.await(t, at(s.port), s.up, since, bound)
		t.Logf("%s: %s %v after the change (bound %v): %s", s.name, at(s.port), took.Round(time.Millisecond), bound, ev.Reason)
		if !slices.ContainsFunc(strings.Split(s.reason, "|"), func(r string) bool { return strings.Contains(ev.Reason, r) }) {
			t.Errorf("%s: reason %q, want it to contain %q", s.name, ev.Reason, s.reason)
		}
	}
	// The cut took every server of the namespace down; all come back
	// within the up bound of the link's return.
	deadline := time.Now().Add(nsUpBound)
	for {
		var down []string
		for _, st := range m.Status() {
			if !st.Up {
				down = append(down, fmt.Sprintf("%s %s: %s", st.Service, st.Real, st.Reason))
			}
		}
		if len(down) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still down %v after the link came back: %s", nsUpBound, strings.Join(down, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
