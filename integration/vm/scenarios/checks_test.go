package scenarios

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Health checks end to end (issue 5): one lvsd daemon (the real binary,
// `lvsd run -f`) in a director namespace with lvs_program "always" and two
// DR services, three real-server namespaces running busybox httpd on port
// 80 and a Go HTTPS server (self-signed certificate) on port 443. Every
// checker kind guards a real server; the tests stop and restart the
// servers (or break what a check compares) and read the kernel's table
// with ipvsadm -Ln, asserting keepalived's bounds:
//
//   - down: the next round comes within delay_loop, and 1+retry failed
//     attempts (each at most connect_timeout, or misc_timeout) spaced by
//     delay_before_retry take the check down;
//   - up: a down check is tried once per round, one success brings it up:
//     within delay_loop plus one attempt.
//
// Both get ckMargin for the IPVS write, ipvsadm's polling and TCG.

const (
	ckDir      = "/tmp/ck"
	ckDirector = "ck-dir"
	ckVIP      = "10.0.0.100"
	ckSorry    = "10.0.0.250:80"

	ckDelayLoop   = 2 * time.Second
	ckTimeout     = time.Second // connect_timeout
	ckRetry       = 1
	ckRetryDelay  = time.Second // delay_before_retry
	ckMiscTimeout = 2 * time.Second
	ckMargin      = 2 * time.Second
)

// ckDownBound is the longest a check whose attempts last at most attempt
// may take to go down after its server stopped answering.
func ckDownBound(attempt time.Duration) time.Duration {
	return ckDelayLoop + (1+ckRetry)*attempt + ckRetry*ckRetryDelay + ckMargin
}

// ckUpBound is the longest a down check may take to come up after its
// server answers again.
func ckUpBound(attempt time.Duration) time.Duration {
	return ckDelayLoop + attempt + ckMargin
}

func ckBoundText(attempt time.Duration, what string) string {
	return fmt.Sprintf("delay_loop %v + %d×%s %v + %d×delay_before_retry %v + margin %v",
		ckDelayLoop, 1+ckRetry, what, attempt, ckRetry, ckRetryDelay, ckMargin)
}

// ckReal is one real server of the test: its namespace, address and the
// page its httpd serves at /health.html.
type ckReal struct {
	realServer
	httpd *exec.Cmd
	https *http.Server
}

// checksLab is the topology and the daemon of the checks tests.
type checksLab struct {
	*lab
	bin   string
	reals []*ckReal
	cert  tls.Certificate
	cmd   *exec.Cmd
	done  chan struct{}
}

func newChecksLab(t *testing.T) *checksLab {
	t.Helper()
	requireGuest(t)
	bin := os.Getenv("LVSD_BIN")
	if bin == "" {
		t.Skip("no lvsd binary in the guest (LVSD_BIN, set by integration/pair_vm_test.go)")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("lvsd: %v", err)
	}
	// The director's namespace is the "client" of lab: waitHTTP fetches
	// from there, where the checks run.
	l := &lab{t: t, client: ckDirector}
	c := &checksLab{lab: l, bin: bin, cert: selfSigned(t)}
	for i := 1; i <= 3; i++ {
		c.reals = append(c.reals, &ckReal{realServer: realServer{name: fmt.Sprintf("ck-rs%d", i), ip: fmt.Sprintf("10.0.0.1%d", i)}})
	}
	t.Cleanup(l.close)
	t.Cleanup(c.stopServers)
	t.Cleanup(c.stopDaemon)
	os.RemoveAll(ckDir)
	if err := os.MkdirAll(ckDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{ckDirector, "ck-rs1", "ck-rs2", "ck-rs3"} {
		l.ip("netns", "add", ns)
		l.created = append(l.created, ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	d := ckDirector
	l.ip("-n", d, "link", "add", "lan", "type", "bridge")
	l.ip("-n", d, "addr", "add", lanDirector+"/24", "dev", "lan")
	l.ip("-n", d, "link", "set", "lan", "up")
	l.ip("-n", d, "link", "add", "vips", "type", "dummy")
	l.ip("-n", d, "addr", "add", ckVIP+"/32", "dev", "vips")
	l.ip("-n", d, "link", "set", "vips", "up")
	for _, rs := range c.reals {
		l.veth(d, rs.name+"-p", rs.name, "eth0", true)
		l.ip("-n", rs.name, "addr", "add", rs.ip+"/24", "dev", "eth0")
		// DR: the VIP on lo, never announced.
		l.hideVIPs(rs.name, ckVIP)
		dir := "/srv/" + rs.name
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.writePage(rs, "index.html", rs.name)
		c.writePage(rs, "health.html", rs.healthPage())
		c.startHTTPD(rs)
		c.startHTTPS(rs)
	}
	l.reals = nil
	for _, rs := range c.reals {
		l.reals = append(l.reals, rs.realServer)
	}
	l.waitHTTP()
	return c
}

func (rs *ckReal) healthPage() string { return "ok " + rs.name + "\n" }

func (c *checksLab) writePage(rs *ckReal, file, body string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join("/srv", rs.name, file), []byte(body), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// startHTTPD runs busybox httpd on port 80 in rs's namespace.
func (c *checksLab) startHTTPD(rs *ckReal) {
	c.t.Helper()
	cmd := exec.Command("/sbin/ip", "netns", "exec", rs.name, "/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/srv/"+rs.name)
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("httpd in %s: %v", rs.name, err)
	}
	rs.httpd = cmd
}

// stopHTTPD kills rs's httpd and waits until it is gone, so its port is
// closed when it returns.
func (c *checksLab) stopHTTPD(rs *ckReal) {
	if rs.httpd != nil {
		rs.httpd.Process.Kill()
		rs.httpd.Wait()
		rs.httpd = nil
	}
}

// startHTTPS serves HTTPS on port 443 in rs's namespace from this
// process: the listening socket is made inside the namespace and stays
// there. GET /ready answers "ready NAME".
func (c *checksLab) startHTTPS(rs *ckReal) {
	c.t.Helper()
	ln, err := listenIn(rs.name, "tcp", ":443")
	if err != nil {
		c.t.Fatalf("HTTPS in %s: %v", rs.name, err)
	}
	name := rs.name
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "ready %s\n", name) })
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{c.cert}},
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go srv.ServeTLS(ln, "", "")
	rs.https = srv
}

func (c *checksLab) stopHTTPS(rs *ckReal) {
	if rs.https != nil {
		rs.https.Close()
		rs.https = nil
	}
}

func (c *checksLab) stopServers() {
	for _, rs := range c.reals {
		c.stopHTTPD(rs)
		c.stopHTTPS(rs)
	}
}

// listenIn opens a listener inside namespace ns (see inNamespace).
func listenIn(ns, network, addr string) (ln net.Listener, err error) {
	err = inNamespace(ns, func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// selfSigned makes a throwaway certificate for the HTTPS servers; SSL_GET
// does not verify it (keepalived never does, lvsd only with tls_verify).
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ck-rs"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// miscScript is rs3's MISC_CHECK: a page from its httpd over busybox nc
// (busybox wget crashed in the VM). Scripts run without a shell's PATH.
func miscScript(rs *ckReal) string {
	return fmt.Sprintf(`#!/bin/sh
# MISC_CHECK of %[1]s: exit 0 when its httpd serves its page.
printf 'GET / HTTP/1.0\r\n\r\n' | /bin/busybox nc -w 1 %[2]s 80 | /bin/busybox grep -q %[1]s
`, rs.name, rs.ip)
}

func (c *checksLab) miscPath() string { return filepath.Join(ckDir, "misc-rs3.sh") }
func (c *checksLab) cfgPath() string  { return filepath.Join(ckDir, "lvsd.hcl") }
func (c *checksLab) logPath() string  { return filepath.Join(ckDir, "lvsd.log") }
func (c *checksLab) sockPath() string { return filepath.Join(ckDir, "lvsd.sock") }

// config is the director's lvsd.hcl. Service :80 (rr, sorry server):
// rs1 HTTP_GET with path, status and digest, rs2 TCP_CHECK, rs3
// MISC_CHECK. Service :443 (wrr, inhibit_on_failure): rs1 weight 3 and
// rs2 weight 2, SSL_GET with path, status and regex.
func (c *checksLab) config() string {
	rs1, rs2, rs3 := c.reals[0], c.reals[1], c.reals[2]
	sum := md5.Sum([]byte(rs1.healthPage()))
	timing := fmt.Sprintf(`      connect_timeout    = %g
      retry              = %d
      delay_before_retry = %g`, ckTimeout.Seconds(), ckRetry, ckRetryDelay.Seconds())
	var b strings.Builder
	fmt.Fprintf(&b, `global {
  router_id              = %q
  lvs_program            = "always"
  enable_script_security = true
  control_socket         = %q
}

virtual_server "%[3]s:80" {
  delay_loop   = %[4]g
  lb_algo      = "rr"
  lb_kind      = "DR"
  protocol     = "TCP"
  sorry_server = %[5]q

  real_server "%[6]s:80" {
    weight = 1
    HTTP_GET {
      url {
        path        = "/health.html"
        status_code = [200]
        digest      = %[7]q
      }
%[8]s
    }
  }

  real_server "%[9]s:80" {
    weight = 1
    TCP_CHECK {
%[8]s
    }
  }

  real_server "%[10]s:80" {
    weight = 1
    MISC_CHECK {
      misc_path    = %[11]q
      misc_timeout = %[12]g
      retry              = %[13]d
      delay_before_retry = %[14]g
    }
  }
}

virtual_server "%[3]s:443" {
  delay_loop         = %[4]g
  lb_algo            = "wrr"
  lb_kind            = "DR"
  protocol           = "TCP"
  inhibit_on_failure = true
`, ckDirector, c.sockPath(), ckVIP, ckDelayLoop.Seconds(), ckSorry,
		rs1.ip, hex.EncodeToString(sum[:]), timing, rs2.ip, rs3.ip, c.miscPath(),
		ckMiscTimeout.Seconds(), ckRetry, ckRetryDelay.Seconds())
	for i, rs := range []*ckReal{rs1, rs2} {
		fmt.Fprintf(&b, `
  real_server "%s:443" {
    weight = %d
    SSL_GET {
      url {
        path        = "/ready"
        status_code = ["200-299"]
        regex       = "^ready ck-rs[0-9]"
      }
%s
    }
  }
`, rs.ip, 3-i, timing)
	}
	b.WriteString("}\n")
	return b.String()
}

// startDaemon writes the script and the configuration, runs lvsd in the
// director's namespace and waits until its table is complete.
func (c *checksLab) startDaemon() {
	c.t.Helper()
	// enable_script_security: root-owned, writable by root only, in
	// directories others cannot write (/tmp is sticky).
	if err := os.WriteFile(c.miscPath(), []byte(miscScript(c.reals[2])), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chmod(c.miscPath(), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(c.cfgPath(), []byte(c.config()), 0o644); err != nil {
		c.t.Fatal(err)
	}
	if out, err := exec.Command(c.bin, "check", "-f", c.cfgPath()).CombinedOutput(); err != nil {
		c.t.Fatalf("lvsd check -f %s: %v\n%s\n%s", c.cfgPath(), err, out, c.config())
	}
	logf, err := os.OpenFile(c.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command("/sbin/ip", "netns", "exec", ckDirector, c.bin, "run", "-f", c.cfgPath())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatalf("lvsd in %s: %v", ckDirector, err)
	}
	c.cmd, c.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		cmd.Wait()
		logf.Close()
		close(done)
	}(c.done)
	c.waitTable("lvsd start", c.want(), time.Now(), 30*time.Second)
}

func (c *checksLab) stopDaemon() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.cmd = nil
}

func (c *checksLab) chmod(path string, mode os.FileMode) {
	c.t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		c.t.Fatal(err)
	}
}

func (c *checksLab) logText() string {
	b, _ := os.ReadFile(c.logPath())
	return string(b)
}

// want is the canonical table (see canonicalTable) with the given real
// servers ("10.0.0.12:80") failing their checks: removed from :80, where
// the sorry server stands in when none is left; weight 0 in :443
// (inhibit_on_failure).
func (c *checksLab) want(down ...string) string {
	var plain, secure []string
	for _, rs := range c.reals {
		if a := rs.ip + ":80"; !slices.Contains(down, a) {
			plain = append(plain, "  -> "+a+" Route 1")
		}
	}
	if len(plain) == 0 {
		plain = append(plain, "  -> "+ckSorry+" Route 1")
	}
	for i, rs := range c.reals[:2] {
		a, w := rs.ip+":443", 3-i
		if slices.Contains(down, a) {
			w = 0
		}
		secure = append(secure, fmt.Sprintf("  -> %s Route %d", a, w))
	}
	slices.Sort(plain)
	slices.Sort(secure)
	return "TCP " + ckVIP + ":443 wrr\n" + strings.Join(secure, "\n") + "\n" +
		"TCP " + ckVIP + ":80 rr\n" + strings.Join(plain, "\n") + "\n"
}

// waitTable polls ipvsadm -Ln until it shows want and returns how long
// after from that was; it fails the test after within.
func (c *checksLab) waitTable(what, want string, from time.Time, within time.Duration) time.Duration {
	c.t.Helper()
	var got string
	for deadline := from.Add(within); ; time.Sleep(100 * time.Millisecond) {
		got = canonicalTable(c.in(ckDirector, "/sbin/ipvsadm", "-Ln"))
		if got == want {
			return time.Since(from)
		}
		if time.Now().After(deadline) {
			break
		}
	}
	c.t.Fatalf("%s: ipvsadm -Ln after %v:\n%swant:\n%sstatus:\n%slvsd log:\n%s",
		what, time.Since(from).Round(time.Millisecond), got, want, c.statusText(), c.logText())
	return 0
}

// ckHealth is one entry of `lvsd status --json`'s real_servers.
type ckHealth struct {
	Service string `json:"service"`
	Real    string `json:"real"`
	Up      bool   `json:"up"`
	Reason  string `json:"reason"`
}

// health asks lvsd for the verdict on real (service "TCP:VIP:PORT").
func (c *checksLab) health(service, real string) ckHealth {
	c.t.Helper()
	out, err := exec.Command("/sbin/ip", "netns", "exec", ckDirector, c.bin, "status", "--socket", c.sockPath(), "--json").Output()
	if err != nil {
		c.t.Fatalf("lvsd status --json: %v: %s", err, out)
	}
	var st struct {
		Reals []ckHealth `json:"real_servers"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		c.t.Fatalf("lvsd status --json: %v: %s", err, out)
	}
	for _, h := range st.Reals {
		if h.Service == service && h.Real == real {
			return h
		}
	}
	c.t.Fatalf("lvsd status --json has no real server %s of %s: %s", real, service, out)
	return ckHealth{}
}

func (c *checksLab) statusText() string {
	out, err := exec.Command("/sbin/ip", "netns", "exec", ckDirector, c.bin, "status", "--socket", c.sockPath()).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(lvsd status: %v: %s)", err, out)
	}
	return string(out)
}

// expectDown checks that lvsd's status reports real as down with a reason
// and narrates it.
func (c *checksLab) expectDown(t *testing.T, service, real string) {
	t.Helper()
	h := c.health(service, real)
	if h.Up || h.Reason == "" {
		t.Errorf("lvsd status --json for %s of %s: up %v, reason %q; want down with a reason", real, service, h.Up, h.Reason)
	}
	t.Logf("▶   lvsd status: %s %s up=%v reason %q", service, real, h.Up, h.Reason)
}

// cycle breaks a real server with stop, waits for want(down...) within
// the down bound, mends it with start and waits for the full table within
// the up bound.
func (c *checksLab) cycle(t *testing.T, label, service, real string, attempt time.Duration, attemptName string, stop, start func()) {
	t.Helper()
	c.waitTable("before "+label, c.want(), time.Now(), 30*time.Second)
	from := time.Now()
	stop()
	downBound := ckDownBound(attempt)
	took := c.waitTable(label+" down", c.want(real), from, downBound)
	t.Logf("▶ %s: down after %.1f s (bound %v = %s)", label, took.Seconds(), downBound, ckBoundText(attempt, attemptName))
	c.expectDown(t, service, real)
	from = time.Now()
	start()
	upBound := ckUpBound(attempt)
	took = c.waitTable(label+" up", c.want(), from, upBound)
	t.Logf("▶ %s: back after %.1f s (bound %v = delay_loop + one attempt + margin)", label, took.Seconds(), upBound)
	if h := c.health(service, real); !h.Up {
		t.Errorf("lvsd status --json for %s of %s: still down (%q) with the server back in the table", real, service, h.Reason)
	}
}

// TestPairChecksDR runs every checker kind against real servers in
// namespaces through the lvsd binary and watches the kernel's table.
func TestPairChecksDR(t *testing.T) {
	c := newChecksLab(t)
	rs1, rs2, rs3 := c.reals[0], c.reals[1], c.reals[2]
	start := time.Now()
	c.startDaemon()
	t.Logf("▶ lvsd run in %s: DR %s:80 (HTTP_GET %s, TCP_CHECK %s, MISC_CHECK %s, sorry_server %s) and %s:443 (SSL_GET %s, %s; inhibit_on_failure); table complete after %.1f s",
		ckDirector, ckVIP, rs1.ip, rs2.ip, rs3.ip, ckSorry, ckVIP, rs1.ip, rs2.ip, time.Since(start).Seconds())
	svc80, svc443 := "TCP:"+ckVIP+":80", "TCP:"+ckVIP+":443"

	t.Run("TCPCheck", func(t *testing.T) {
		c.cycle(t, "TCP_CHECK "+rs2.ip+":80, httpd stopped", svc80, rs2.ip+":80", ckTimeout, "connect_timeout",
			func() { c.stopHTTPD(rs2) }, func() { c.startHTTPD(rs2) })
	})

	t.Run("MiscCheck", func(t *testing.T) {
		c.cycle(t, "MISC_CHECK "+rs3.ip+":80 (script over busybox nc), httpd stopped", svc80, rs3.ip+":80", ckMiscTimeout, "misc_timeout",
			func() { c.stopHTTPD(rs3) }, func() { c.startHTTPD(rs3) })
	})

	t.Run("MiscScriptSecurity", func(t *testing.T) {
		// enable_script_security is applied at every run: a script that
		// becomes writable by everyone is refused, its real server is
		// down until the mode is safe again.
		real := rs3.ip + ":80"
		c.cycle(t, "MISC_CHECK "+real+", script made world-writable (enable_script_security)", svc80, real, ckMiscTimeout, "misc_timeout",
			func() { c.chmod(c.miscPath(), 0o757) }, func() { c.chmod(c.miscPath(), 0o755) })
	})

	t.Run("HTTPGetDigest", func(t *testing.T) {
		c.cycle(t, "HTTP_GET "+rs1.ip+":80/health.html, body changed (digest)", svc80, rs1.ip+":80", ckTimeout, "connect_timeout",
			func() { c.writePage(rs1, "health.html", "maintenance\n") }, func() { c.writePage(rs1, "health.html", rs1.healthPage()) })
		if h := c.health(svc80, rs1.ip+":80"); !h.Up {
			t.Errorf("HTTP_GET %s: down after the page came back: %q", rs1.ip, h.Reason)
		}
	})

	t.Run("SSLGetInhibit", func(t *testing.T) {
		c.cycle(t, "SSL_GET "+rs1.ip+":443 (self-signed, inhibit_on_failure), HTTPS stopped → weight 0", svc443, rs1.ip+":443", ckTimeout, "connect_timeout",
			func() { c.stopHTTPS(rs1) }, func() { c.startHTTPS(rs1) })
	})

	t.Run("SorryServer", func(t *testing.T) {
		c.waitTable("before all down", c.want(), time.Now(), 30*time.Second)
		from := time.Now()
		for _, rs := range c.reals {
			c.stopHTTPD(rs)
		}
		all := []string{rs1.ip + ":80", rs2.ip + ":80", rs3.ip + ":80"}
		bound := ckDownBound(max(ckTimeout, ckMiscTimeout))
		took := c.waitTable("all of :80 down", c.want(all...), from, bound)
		t.Logf("▶ every httpd of %s:80 stopped: sorry_server %s alone after %.1f s (bound %v)", ckVIP, ckSorry, took.Seconds(), bound)
		c.expectDown(t, svc80, rs1.ip+":80")
		from = time.Now()
		c.startHTTPD(rs2)
		upBound := ckUpBound(ckTimeout)
		took = c.waitTable("one of :80 back", c.want(rs1.ip+":80", rs3.ip+":80"), from, upBound)
		t.Logf("▶ %s's httpd back: sorry_server gone, %s in after %.1f s (bound %v)", rs2.name, rs2.ip, took.Seconds(), upBound)
		c.startHTTPD(rs1)
		c.startHTTPD(rs3)
		took = c.waitTable("all of :80 back", c.want(), time.Now(), ckUpBound(ckMiscTimeout))
		t.Logf("▶ all back after %.1f s", took.Seconds())
	})

	var errs []string
	for _, line := range strings.Split(c.logText(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			errs = append(errs, line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("lvsd logged %d errors:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	if t.Failed() {
		t.Logf("lvsd log:\n%s", c.logText())
	}
}
