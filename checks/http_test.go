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

func runHTTPProbe(t *testing.T, c hcl.Checker) Result {
	t.Helper()
	if c.Kind == "" {
		c.Kind = hcl.CheckHTTP
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
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
		url     hcl.URL
		wantOK  bool
		reason  string
	}{
		{"default codes accept 200", 200, false, hcl.URL{Path: "/"}, true, "status 200"},
		{"default codes accept 204", 204, false, hcl.URL{Path: "/"}, true, "status 204"},
		{"default codes refuse 503", 503, false, hcl.URL{Path: "/"}, false, "status 503"},
		{"default codes refuse 301", 301, false, hcl.URL{Path: "/"}, false, "status 301"},
		{"explicit code", 301, false, hcl.URL{Path: "/", StatusCodes: []hcl.StatusRange{{Low: 301, High: 301}}}, true, "status 301"},
		{"range 200-299 refuses 404", 404, false, hcl.URL{Path: "/", StatusCodes: []hcl.StatusRange{{Low: 200, High: 299}}}, false, "status 404"},
		{"several ranges", 404, false, hcl.URL{Path: "/", StatusCodes: []hcl.StatusRange{{Low: 200, High: 299}, {Low: 400, High: 404}}}, true, "status 404"},
		{"digest match", 200, false, hcl.URL{Path: "/", Digest: md5hex(body)}, true, "status 200"},
		{"digest match upper-case", 200, false, hcl.URL{Path: "/", Digest: strings.ToUpper(md5hex(body))}, true, "status 200"},
		{"digest match chunked", 200, true, hcl.URL{Path: "/", Digest: md5hex(body)}, true, "status 200"},
		{"digest mismatch", 200, false, hcl.URL{Path: "/", Digest: md5hex("other")}, false, "digest mismatch"},
		{"digest not checked when status fails", 500, false, hcl.URL{Path: "/", Digest: md5hex(body)}, false, "status 500"},
		{"regex found", 200, false, hcl.URL{Path: "/", Regex: `OK v[0-9]+`}, true, "status 200"},
		{"regex not found", 200, false, hcl.URL{Path: "/", Regex: `DOWN`}, false, "regex did not match"},
		{"regex_no_match absent", 200, false, hcl.URL{Path: "/", Regex: `DOWN`, RegexNoMatch: true}, true, "status 200"},
		{"regex_no_match present", 200, false, hcl.URL{Path: "/", Regex: `OK`, RegexNoMatch: true}, false, "regex matched"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &httpServer{status: tt.status, body: body, chunked: tt.chunked}
			addr := serve(t, srv.handle)
			r := runHTTPProbe(t, hcl.Checker{Connect: addr, URLs: []hcl.URL{tt.url}})
			if r.OK != tt.wantOK || r.Reason != tt.reason {
				t.Errorf("got ok=%v reason %q, want ok=%v %q", r.OK, r.Reason, tt.wantOK, tt.reason)
			}
		})
	}
}

func TestHTTPGetEveryURLMustPass(t *testing.T) {
	srv := &httpServer{status: 200, body: "a"}
	addr := serve(t, srv.handle)
	r := runHTTPProbe(t, hcl.Checker{Connect: addr, URLs: []hcl.URL{
		{Path: "/one", Digest: md5hex("a")},
		{Path: "/two", Digest: md5hex("b")},
	}})
	if r.OK || r.Reason != "digest mismatch for /two" {
		t.Fatalf("got %+v, want the second URL to fail the check", r)
	}
}

func TestHTTPGetRequestHead(t *testing.T) {
	tests := []struct {
		name       string
		checker    hcl.Checker
		wantLine   string
		wantHost   string
		portInHost bool
	}{
		{"default HTTP/1.0, Host is the address", hcl.Checker{URLs: []hcl.URL{{Path: "/health"}}}, "GET /health HTTP/1.0", "", true},
		{"http_protocol 1.1 with virtualhost", hcl.Checker{HTTPVersion: "1.1", Virtualhost: "www.example.com", URLs: []hcl.URL{{Path: "/"}}}, "GET / HTTP/1.1", "www.example.com", false},
		{"per-URL virtualhost wins", hcl.Checker{Virtualhost: "a.example", URLs: []hcl.URL{{Path: "/x?y=1", Virtualhost: "b.example"}}}, "GET /x?y=1 HTTP/1.0", "b.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &httpServer{status: 200}
			addr := serve(t, srv.handle)
			c := tt.checker
			c.Connect = addr
			if r := runHTTPProbe(t, c); !r.OK {
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
	r := runHTTPProbe(t, hcl.Checker{Connect: addr, Timeout: timeout})
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
	r := runHTTPProbe(t, hcl.Checker{Connect: addr, Timeout: 5 * time.Second, URLs: []hcl.URL{{Path: "/", Digest: md5hex("x")}}})
	if r.OK || r.Reason != "body longer than 1024 bytes" {
		t.Fatalf("got %+v, want the body cap to fail the check", r)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("bounded read took %v", took)
	}
	// Without digest or regex the body is not read at all.
	if r := runHTTPProbe(t, hcl.Checker{Connect: addr, Timeout: 5 * time.Second}); !r.OK {
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
	r := runHTTPProbe(t, hcl.Checker{Connect: addr, Timeout: 5 * time.Second})
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
	r := runHTTPProbe(t, hcl.Checker{Connect: addr})
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
	tests := []struct {
		name    string
		checker hcl.Checker
		wantOK  bool
		wantSNI string
	}{
		{"no SNI, no verification (keepalived)", hcl.Checker{Virtualhost: "www.example.com"}, true, ""},
		{"SNI from virtualhost", hcl.Checker{Virtualhost: "www.example.com", EnableSNI: true}, true, "www.example.com"},
		{"verified against ca_file", hcl.Checker{Virtualhost: "www.example.com", EnableSNI: true, VerifyTLS: true, CAFile: caFile}, true, "www.example.com"},
		{"verification fails for a wrong name", hcl.Checker{Virtualhost: "other.example.com", EnableSNI: true, VerifyTLS: true, CAFile: caFile}, false, "other.example.com"},
		{"verification fails without the CA", hcl.Checker{Virtualhost: "www.example.com", EnableSNI: true, VerifyTLS: true}, false, "www.example.com"},
		{"verified without SNI", hcl.Checker{Virtualhost: "www.example.com", VerifyTLS: true, CAFile: caFile}, true, ""},
		{"verification without SNI fails for a wrong name", hcl.Checker{Virtualhost: "other.example.com", VerifyTLS: true, CAFile: caFile}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.checker
			c.Kind, c.Connect = hcl.CheckSSL, addr
			c.URLs = []hcl.URL{{Path: "/", Digest: md5hex("secure")}}
			r := runHTTPProbe(t, c)
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
	p := &tcpProber{dialer: NetDialer{}, endpoint: Endpoint{Addr: addr, BindTo: netip.MustParseAddr("127.0.0.3")}, timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if r := p.probe(ctx); !r.OK {
		t.Fatalf("connect from 127.0.0.3 to %s: %+v", addr, r)
	}
}
