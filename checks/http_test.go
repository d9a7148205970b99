package checks

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// serve runs handler on a loopback listener and returns its address.
func serve(t *testing.T, handler func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); handler(c) })
		}
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

// httpServer answers every request with status and body, recording the
// request head.
type httpServer struct {
	mu       sync.Mutex
	requests []string
	status   int
	body     string
	chunked  bool
}

func (s *httpServer) handle(c net.Conn) {
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, head.String())
	status, body, chunked := s.status, s.body, s.chunked
	s.mu.Unlock()
	if chunked {
		fmt.Fprintf(c, "HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n", status)
		for _, part := range []string{body[:len(body)/2], body[len(body)/2:]} {
			fmt.Fprintf(c, "%x\r\n%s\r\n", len(part), part)
		}
		io.WriteString(c, "0\r\n\r\n")
		return
	}
	fmt.Fprintf(c, "HTTP/1.0 %d X\r\nContent-Length: %d\r\n\r\n%s", status, len(body), body)
}

func (s *httpServer) lastRequest() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// loadChecker returns the only checker of a real server at addr, loaded
// from block (an HTTP_GET or SSL_GET block) as lvsd loads it, so that it
// carries hcl's defaults: HTTP/1.0, status 200-299, the url's virtualhost.
func loadChecker(t *testing.T, addr netip.AddrPort, block string) hcl.Checker {
	t.Helper()
	cfg := load(t, service("192.0.2.1:80", real(addr.String(), block)))
	return cfg.VirtualServers[0].RealServers[0].Checkers[0]
}

// checkerBlock is a kind block (HTTP_GET, SSL_GET); body holds its
// attributes and url blocks.
func checkerBlock(kind string, body ...string) string {
	return kind + " {\n" + strings.Join(body, "\n") + "\n}"
}

// urlBlock is a url block of path; attrs holds its other attributes.
func urlBlock(path string, attrs ...string) string {
	return fmt.Sprintf("url {\n  path = %q\n%s\n}", path, strings.Join(attrs, "\n"))
}

// probeHTTP runs one attempt of the checker that block loads for a real
// server at addr, bounded by its connect_timeout, with a 1 KiB body cap.
func probeHTTP(t *testing.T, addr netip.AddrPort, block string) Result {
	t.Helper()
	c := loadChecker(t, addr, block)
	p, err := newHTTPProber(c, NetDialer{}, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return p.probe(ctx)
}

func TestHTTPGetMatchRules(t *testing.T) {
	const body = "<html>service OK v42</html>"
	tests := []struct {
		name    string
		status  int
		chunked bool
		url     string // attributes of the url block of path "/"
		wantOK  bool
		reason  string
	}{
		{"default codes accept 200", 200, false, "", true, "status 200"},
		{"default codes accept 204", 204, false, "", true, "status 204"},
		{"default codes refuse 503", 503, false, "", false, "status 503"},
		{"default codes refuse 301", 301, false, "", false, "status 301"},
		{"explicit code", 301, false, `status_code = ["301"]`, true, "status 301"},
		{"range 200-299 refuses 404", 404, false, `status_code = ["200-299"]`, false, "status 404"},
		{"several ranges", 404, false, `status_code = ["200-299", "400-404"]`, true, "status 404"},
		{"digest match", 200, false, fmt.Sprintf("digest = %q", md5hex(body)), true, "status 200"},
		{"digest match upper-case", 200, false, fmt.Sprintf("digest = %q", strings.ToUpper(md5hex(body))), true, "status 200"},
		{"digest match chunked", 200, true, fmt.Sprintf("digest = %q", md5hex(body)), true, "status 200"},
		{"digest mismatch", 200, false, fmt.Sprintf("digest = %q", md5hex("other")), false, "digest mismatch"},
		{"digest not checked when status fails", 500, false, fmt.Sprintf("digest = %q", md5hex(body)), false, "status 500"},
		{"regex found", 200, false, `regex = "OK v[0-9]+"`, true, "status 200"},
		{"regex not found", 200, false, `regex = "DOWN"`, false, "regex did not match"},
		{"regex_no_match absent", 200, false, "regex = \"DOWN\"\nregex_no_match = true", true, "status 200"},
		{"regex_no_match present", 200, false, "regex = \"OK\"\nregex_no_match = true", false, "regex matched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &httpServer{status: tt.status, body: body, chunked: tt.chunked}
			addr := serve(t, srv.handle)
			r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, urlBlock("/", tt.url)))
			if r.OK != tt.wantOK || r.Reason != tt.reason {
				t.Errorf("got ok=%v reason %q, want ok=%v %q", r.OK, r.Reason, tt.wantOK, tt.reason)
			}
		})
	}
}

func TestHTTPGetEveryURLMustPass(t *testing.T) {
	srv := &httpServer{status: 200, body: "a"}
	addr := serve(t, srv.handle)
	r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP,
		urlBlock("/one", fmt.Sprintf("digest = %q", md5hex("a"))),
		urlBlock("/two", fmt.Sprintf("digest = %q", md5hex("b")))))
	if r.OK || r.Reason != "digest mismatch for /two" {
		t.Fatalf("got %+v, want the second URL to fail the check", r)
	}
}

func TestHTTPGetRequestHead(t *testing.T) {
	tests := []struct {
		name       string
		checker    []string // the HTTP_GET block's body
		wantLine   string
		wantHost   string
		portInHost bool
	}{
		{"default HTTP/1.0, Host is the address", []string{urlBlock("/health")}, "GET /health HTTP/1.0", "", true},
		{"http_protocol 1.1 with virtualhost", []string{`http_protocol = "1.1"`, `virtualhost = "www.example.com"`, urlBlock("/")}, "GET / HTTP/1.1", "www.example.com", false},
		{"per-URL virtualhost wins", []string{`virtualhost = "a.example"`, urlBlock("/x?y=1", `virtualhost = "b.example"`)}, "GET /x?y=1 HTTP/1.0", "b.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &httpServer{status: 200}
			addr := serve(t, srv.handle)
			if r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, tt.checker...)); !r.OK {
				t.Fatalf("check failed: %+v", r)
			}
			head := srv.lastRequest()
			if !strings.HasPrefix(head, tt.wantLine+"\r\n") {
				t.Errorf("request line of %q, want %q", head, tt.wantLine)
			}
			host := tt.wantHost
			if tt.portInHost {
				host = addr.String()
			}
			if !strings.Contains(head, "\r\nHost: "+host+"\r\n") {
				t.Errorf("request %q lacks Host: %s", head, host)
			}
		})
	}
}

func TestHTTPGetServerThatHangsAfterAcceptTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr := serve(t, func(c net.Conn) { <-release })
	const timeout = 300 * time.Millisecond
	start := time.Now()
	r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, `connect_timeout = "300ms"`, urlBlock("/")))
	took := time.Since(start)
	if r.OK || r.Reason != "timeout after 300ms" {
		t.Fatalf("got %+v, want a timeout", r)
	}
	if took > timeout+time.Second {
		t.Errorf("check took %v with connect_timeout %v", took, timeout)
	}
}

func TestHTTPGetEndlessBodyIsBounded(t *testing.T) {
	endless := func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
		chunk := []byte(strings.Repeat("x", 4096))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	addr := serve(t, endless)
	start := time.Now()
	r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, urlBlock("/", fmt.Sprintf("digest = %q", md5hex("x")))))
	if r.OK || r.Reason != "body longer than 1024 bytes" {
		t.Fatalf("got %+v, want the body cap to fail the check", r)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("bounded read took %v", took)
	}
	// Without digest or regex the body is not read at all.
	if r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, urlBlock("/"))); !r.OK {
		t.Errorf("status-only check of an endless body: %+v", r)
	}
}

func TestHTTPGetEndlessHeadersAreBounded(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "HTTP/1.0 200 OK\r\nX-Long: ")
		chunk := []byte(strings.Repeat("y", 4096))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	})
	start := time.Now()
	r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, urlBlock("/")))
	if r.OK {
		t.Fatalf("endless header accepted: %+v", r)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("bounded header read took %v (%s)", took, r.Reason)
	}
}

func TestHTTPGetConnectRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	r := probeHTTP(t, addr, checkerBlock(hcl.CheckHTTP, urlBlock("/")))
	if r.OK || r.Reason != "connect: connection refused" {
		t.Fatalf("got %+v", r)
	}
}

// testCert makes a CA-signed certificate for name and writes the CA to a
// PEM file.
func testCert(t *testing.T, name string) (tls.Certificate, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lvsd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

func TestSSLGetSNIAndVerification(t *testing.T) {
	cert, caFile := testCert(t, "www.example.com")
	var mu sync.Mutex
	var sni []string
	srv := &httpServer{status: 200, body: "secure"}
	addr := serve(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = append(sni, h.ServerName)
			mu.Unlock()
			return nil, nil
		}})
		if tc.Handshake() != nil {
			return
		}
		srv.handle(tc)
	})
	digest := urlBlock("/", fmt.Sprintf("digest = %q", md5hex("secure")))
	tests := []struct {
		name    string
		checker []string // the SSL_GET block's attributes, before its url
		url     string
		wantOK  bool
		wantSNI string
	}{
		{"no SNI, no verification (keepalived)", []string{`virtualhost = "www.example.com"`}, digest, true, ""},
		{"SNI from virtualhost", []string{`virtualhost = "www.example.com"`, "enable_sni = true"}, digest, true, "www.example.com"},
		{"SNI from the url's own virtualhost", []string{"enable_sni = true"},
			urlBlock("/", fmt.Sprintf("digest = %q", md5hex("secure")), `virtualhost = "www.example.com"`), true, "www.example.com"},
		{"verified against ca_file", []string{`virtualhost = "www.example.com"`, "enable_sni = true", "tls_verify = true", fmt.Sprintf("ca_file = %q", caFile)}, digest, true, "www.example.com"},
		{"verification fails for a wrong name", []string{`virtualhost = "other.example.com"`, "enable_sni = true", "tls_verify = true", fmt.Sprintf("ca_file = %q", caFile)}, digest, false, "other.example.com"},
		{"verification fails without the CA", []string{`virtualhost = "www.example.com"`, "enable_sni = true", "tls_verify = true"}, digest, false, "www.example.com"},
		{"verified without SNI", []string{`virtualhost = "www.example.com"`, "tls_verify = true", fmt.Sprintf("ca_file = %q", caFile)}, digest, true, ""},
		{"verification without SNI fails for a wrong name", []string{`virtualhost = "other.example.com"`, "tls_verify = true", fmt.Sprintf("ca_file = %q", caFile)}, digest, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := probeHTTP(t, addr, checkerBlock(hcl.CheckSSL, append(tt.checker, tt.url)...))
			if r.OK != tt.wantOK {
				t.Fatalf("got %+v, want ok=%v", r, tt.wantOK)
			}
			if !tt.wantOK && !strings.HasPrefix(r.Reason, "tls: ") {
				t.Errorf("reason %q should name TLS", r.Reason)
			}
			mu.Lock()
			got := sni[len(sni)-1]
			mu.Unlock()
			if got != tt.wantSNI {
				t.Errorf("server saw SNI %q, want %q", got, tt.wantSNI)
			}
		})
	}
}

func TestTCPCheckOnLoopback(t *testing.T) {
	addr := serve(t, func(net.Conn) {})
	// The kernel completes the handshake at once; 5s only leaves a
	// loaded host room.
	p := &tcpProber{dialer: NetDialer{}, endpoint: Endpoint{Addr: addr, BindTo: netip.MustParseAddr("127.0.0.3")}, timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r := p.probe(ctx); !r.OK {
		t.Fatalf("connect from 127.0.0.3 to %s: %+v", addr, r)
	}
}
