package checks

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// DefaultMaxBody bounds how much of a response body HTTP_GET/SSL_GET reads
// for digest and regex: an endless body must not stall a check or grow
// memory. A body longer than this fails the check.
const DefaultMaxBody = 1 << 20

// maxHeaderBytes bounds the status line and headers of a response.
const maxHeaderBytes = 64 << 10

// httpProber is HTTP_GET and SSL_GET: every url block must pass. Each URL is
// fetched on its own connection (like keepalived); the whole attempt, all
// URLs included, has connect_timeout as deadline. keepalived checks one
// url per delay_loop while a real server is down unless fast_recovery is
// set; lvsd always checks them all in one attempt, as fast_recovery does.
type httpProber struct {
	dialer   Dialer
	endpoint Endpoint
	timeout  time.Duration
	version  string // "1.0", "1.0C" or "1.1"
	urls     []httpURL
	maxBody  int64
}

type httpURL struct {
	path     string
	host     string // Host header
	statuses []hcl.StatusRange
	digest   string // lower-case hex MD5 (hcl lowers it), "" when unchecked
	regex    *regexp.Regexp
	noMatch  bool
	// regexMin, regexMax: regex_min_offset, regex_max_offset (0: none).
	regexMin, regexMax int
	tls                *tls.Config // nil for HTTP_GET
}

func (u *httpURL) needsBody() bool { return u.digest != "" || u.regex != nil }

// newHTTPProber builds HTTP_GET/SSL_GET from the checker's settings as hcl
// finalised them: http_protocol is "1.0" or "1.1", there is at least one
// url, each with a path, its status codes and its virtualhost (its own,
// else the checker's) set.
func newHTTPProber(c hcl.Checker, d Dialer, maxBody int64) (prober, error) {
	h := c.HTTP()
	if h == nil {
		return nil, fmt.Errorf("%s without its settings", c.Kind)
	}
	p := &httpProber{
		dialer:   d,
		endpoint: endpointOf(&c),
		timeout:  c.Timeout,
		version:  h.HTTPVersion,
		maxBody:  maxBody,
	}
	var roots *x509.CertPool
	var certs []tls.Certificate
	if c.Kind == hcl.CheckSSL && h.VerifyTLS && h.CAFile != "" {
		var err error
		if roots, err = caRoots(h.CAFile); err != nil {
			return nil, err
		}
	}
	if c.Kind == hcl.CheckSSL && h.CertFile != "" {
		cert, err := clientCertificate(h.CertFile, h.KeyFile, h.KeyPassword) // tls_client.go
		if err != nil {
			return nil, err
		}
		certs = []tls.Certificate{cert}
	}
	for _, u := range h.URLs {
		hu := httpURL{
			path:     u.Path,
			host:     hostHeader(u.Virtualhost, c.Connect, c.Kind == hcl.CheckSSL),
			statuses: u.StatusCodes,
			digest:   u.Digest,
			noMatch:  u.RegexNoMatch,
			regexMin: u.RegexMinOffset,
			regexMax: u.RegexMaxOffset,
		}
		if u.Regex != "" {
			re, err := hcl.CompileURLRegex(u.Regex, u.RegexOptions)
			if err != nil {
				return nil, fmt.Errorf("url %s: regex: %w", u.Path, err)
			}
			hu.regex = re
		}
		if c.Kind == hcl.CheckSSL {
			hu.tls = sslConfig(h, c.Connect, u.Virtualhost, roots)
			hu.tls.Certificates = certs
		}
		p.urls = append(p.urls, hu)
	}
	return p, nil
}

// caRoots reads the PEM certificates of ca_file.
func caRoots(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificates", file)
	}
	return roots, nil
}

// sslConfig is the TLS side of SSL_GET for a url whose virtualhost is
// vhost. Like keepalived it neither sends SNI nor verifies the certificate
// unless asked: enable_sni sends the url's virtualhost as server name, as
// keepalived's ssl_connect does per request; verify (lvsd) checks the chain
// against roots (ca_file, nil for the system roots) and the name
// (virtualhost, else the address connected to), with or without SNI.
func sslConfig(h *hcl.HTTPCheck, connect netip.AddrPort, vhost string, roots *x509.CertPool) *tls.Config {
	// Verification is done here, not by crypto/tls, so that it does not
	// depend on ServerName, which is also what Go sends as SNI.
	tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // verified below when asked
	if h.EnableSNI {
		tc.ServerName = vhost
	}
	if !h.VerifyTLS {
		return tc
	}
	name := vhost
	if name == "" {
		name = connect.Addr().String()
	}
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		opts := x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: x509.NewCertPool()}
		for _, cert := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(cert)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
	return tc
}

// hostHeader is the Host header: the virtualhost, or the address connected
// to (keepalived); the port is added when it is not the scheme's default.
func hostHeader(vhost string, connect netip.AddrPort, secure bool) string {
	if vhost != "" {
		return vhost
	}
	def := uint16(80)
	if secure {
		def = 443
	}
	if connect.Port() == def {
		if connect.Addr().Is6() {
			return "[" + connect.Addr().String() + "]"
		}
		return connect.Addr().String()
	}
	return connect.String()
}

func (p *httpProber) probe(ctx context.Context) Result {
	var last string
	for i := range p.urls {
		ok, reason := p.fetch(ctx, &p.urls[i])
		if !ok {
			if len(p.urls) > 1 {
				reason += " for " + p.urls[i].path
			}
			return Result{Weight: -1, Reason: reason}
		}
		last = reason
	}
	return Result{OK: true, Weight: -1, Reason: last}
}

// fetch gets one URL and says whether it passed, and why not.
func (p *httpProber) fetch(ctx context.Context, u *httpURL) (bool, string) {
	conn, err := p.dialer.DialTCP(ctx, p.endpoint)
	if err != nil {
		return false, describeError(ctx, p.timeout, "connect", err)
	}
	defer conn.Close()
	// The deadline bounds every read and write; closing on ctx's end
	// covers a conn that ignores deadlines.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if u.tls != nil {
		tc := tls.Client(conn, u.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return false, describeError(ctx, p.timeout, "tls", err)
		}
		conn = tc
	}

	// keepalived's request (check_http.c): HTTP/1.0 without a
	// Connection header, 1.0C is 1.0 with "Connection: close", 1.1
	// sends it too.
	req := "GET " + u.path + " HTTP/" + strings.TrimSuffix(p.version, "C") + "\r\n" +
		"Host: " + u.host + "\r\n" +
		"User-Agent: lvsd-health-check\r\n"
	if p.version != "1.0" {
		req += "Connection: close\r\n"
	}
	req += "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return false, describeError(ctx, p.timeout, "write", err)
	}

	// Never read more than headers plus the body cap, whatever the server
	// sends, and never past the deadline.
	limited := io.LimitReader(conn, maxHeaderBytes+p.maxBody+1)
	resp, err := http.ReadResponse(bufio.NewReader(limited), nil)
	if err != nil {
		return false, describeError(ctx, p.timeout, "read response", err)
	}
	defer resp.Body.Close()
	if !statusAllowed(resp.StatusCode, u.statuses) {
		return false, "status " + strconv.Itoa(resp.StatusCode)
	}
	if !u.needsBody() {
		return true, "status " + strconv.Itoa(resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBody+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, describeError(ctx, p.timeout, "read body", err)
	}
	if int64(len(body)) > p.maxBody {
		return false, fmt.Sprintf("body longer than %d bytes", p.maxBody)
	}
	if u.digest != "" {
		sum := md5.Sum(body)
		if hex.EncodeToString(sum[:]) != u.digest {
			return false, "digest mismatch"
		}
	}
	if u.regex != nil {
		found := regexFound(u.regex, body, u.regexMin, u.regexMax)
		if found && u.noMatch {
			return false, "regex matched"
		}
		if !found && !u.noMatch {
			return false, "regex did not match"
		}
	}
	return true, "status " + strconv.Itoa(resp.StatusCode)
}

func statusAllowed(code int, ranges []hcl.StatusRange) bool {
	for _, r := range ranges {
		if r.Contains(code) {
			return true
		}
	}
	return false
}

// endpointOf is where checker c connects from and to.
func endpointOf(c *hcl.Checker) Endpoint {
	return Endpoint{Addr: c.Connect, BindTo: c.BindTo, BindPort: c.BindPort, FWMark: c.FWMark, BindIf: c.BindIf}
}

// regexFound reports whether re matches body the way keepalived searches
// with regex_min_offset and regex_max_offset (PCRE2's start offset and
// offset limit): from min on, and with max > 0 only a match that starts
// at or before max counts.
func regexFound(re *regexp.Regexp, body []byte, minOffset, maxOffset int) bool {
	if minOffset > len(body) {
		return false
	}
	loc := re.FindIndex(body[minOffset:])
	return loc != nil && (maxOffset <= 0 || minOffset+loc[0] <= maxOffset)
}
