package statuspage

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// get fetches path from h and returns the response and its body.
func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// reportOf decodes a Report the way `lvsd status --json` carries it.
func reportOf(t *testing.T, raw string) director.Report {
	t.Helper()
	var r director.Report
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

const sample1 = `{"version":"t1","pid":42,"file":"/etc/lvsd/lvsd.hcl","started":"2026-01-01T00:00:00Z","now":"2026-01-01T01:00:00Z",
"vrrp_instances":[{"name":"VI_1","interface":"eth0","virtual_router_id":51,"state":"MASTER","priority":150,"master":"10.0.0.1","since":"2026-01-01T00:59:00Z","reason":"master down timer expired","adverts_sent":60}],
"virtual_servers":[{"Key":"TCP:192.0.2.1:80","Name":"192.0.2.1:80","Scheduler":"wrr","Instance":"VI_1","State":"programmed","InKernel":true,"Quorum":1,"LiveWeight":3,
 "Stats":{"Conns":1000,"PacketsIn":5000,"PacketsOut":4000,"BytesIn":100000,"BytesOut":900000},
 "Destinations":[{"Addr":"10.0.0.11:80","Configured":true,"Up":true,"InKernel":true,"Weight":3,"ConfiguredWeight":3,"Forward":0,"Stats":{"Conns":600}},
                 {"Addr":"10.0.0.12:80","Configured":true,"Up":false,"Reason":"connect: connection refused","ConfiguredWeight":2}]}],
"real_servers":[{"service":"TCP:192.0.2.1:80","real":"10.0.0.11:80","up":true,"last_check":"2026-01-01T00:59:58Z","latency_ms":1.26}],
"events":[{"time":"2026-01-01T00:59:00Z","kind":"vrrp","subject":"VI_1","from":"BACKUP","to":"MASTER","reason":"master down timer expired"}]}`

// TestPageShowsTheSnapshotOfLvsdStatus: instances with state, priority,
// master and time in state; services with real servers, weights, health,
// last check and latency; the recent transitions with their reasons.
func TestPageShowsTheSnapshotOfLvsdStatus(t *testing.T) {
	r := reportOf(t, sample1)
	res, body := get(t, New(func() director.Report { return r }), "GET", "/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		"VI_1", ">eth0<", ">51<", `class="state state-MASTER">MASTER<`, ">150<", ">10.0.0.1<", ">1m0s<", "master down timer expired",
		"TCP:192.0.2.1:80", "scheduler wrr", "quorum 3/1",
		"10.0.0.11:80", ">3/3<", `health-up">up<`, "2s ago", "1.3 ms",
		"10.0.0.12:80", ">–/2<", `health-down">down<`, "connection refused",
		"BACKUP → MASTER", "Rates appear from the next refresh on",
		`<meta http-equiv="refresh" content="5">`, `href="static/style.css"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestRatesComeFromSuccessiveSnapshots: the second look computes the
// connection, packet and bit rates from the counters' change.
func TestRatesComeFromSuccessiveSnapshots(t *testing.T) {
	r := reportOf(t, sample1)
	var mu sync.Mutex
	h := New(func() director.Report {
		mu.Lock()
		defer mu.Unlock()
		return r
	})
	get(t, h, "GET", "/")
	mu.Lock()
	next := reportOf(t, sample1)
	next.Now = r.Now.Add(2 * time.Second)
	next.Services[0].Stats = lvs.Stats{Conns: 1100, PacketsIn: 7000, PacketsOut: 4000, BytesIn: 350000, BytesOut: 900000}
	next.Services[0].Destinations[0].Stats.Conns = 640
	r = next
	mu.Unlock()
	_, body := get(t, h, "GET", "/")
	for _, want := range []string{"Rates over the last 2s", "<b>50/s</b> conn", "in 1.0k/s pkt, 1.0 Mbit/s", "out 0.0/s pkt, 0 bit/s", ">20/s<"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestPageEscapesNamesFromTheConfiguration: names come from the
// configuration and reasons from the network; none is markup.
func TestPageEscapesNamesFromTheConfiguration(t *testing.T) {
	r := reportOf(t, sample1)
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	r.Instances[0].Name = evil
	r.Instances[0].Reason = evil
	r.Services[0].Destinations[1].Reason = evil
	r.Events[0].Subject = evil
	r.File = evil
	_, body := get(t, New(func() director.Report { return r }), "GET", "/")
	if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
		t.Fatalf("markup from the report reached the page:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("escaped name missing")
	}
}

// TestPageIsReadOnlyAndInert: only GET and HEAD; no script may run and
// nothing may be fetched from elsewhere; the stylesheet is embedded.
func TestPageIsReadOnlyAndInert(t *testing.T) {
	r := reportOf(t, sample1)
	h := New(func() director.Report { return r })
	res, body := get(t, h, "GET", "/")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page has a script or an absolute link")
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		if res, _ := get(t, h, method, "/"); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s / = %d, want 405", method, res.StatusCode)
		}
	}
	res, css := get(t, h, "GET", "/static/style.css")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, ".state-MASTER") {
		t.Errorf("GET /static/style.css = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := get(t, h, "GET", "/other"); res.StatusCode != 404 {
		t.Errorf("GET /other = %d, want 404", res.StatusCode)
	}
	if _, body := get(t, h, "GET", "/?refresh=0"); strings.Contains(body, `http-equiv="refresh"`) {
		t.Errorf("?refresh=0 still refreshes")
	}
	if res, _ := get(t, h, "GET", "/?refresh=x"); res.StatusCode != 400 {
		t.Errorf("?refresh=x = %d, want 400", res.StatusCode)
	}
}

// TestPageShowsARunningDirector renders a director on lvs's fake kernel:
// its services and real servers as the IPVS manager reports them.
func TestPageShowsARunningDirector(t *testing.T) {
	cfg := hcltest.Load(t, `
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  lb_algo  = "rr"
  real_server "10.0.0.1:80" {
    weight = 4
  }
}
`)
	d, err := director.New(cfg, director.Options{Checks: true, Version: "test", OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, body := get(t, New(d.Report), "GET", "/")
	for _, want := range []string{"TCP:192.0.2.10:80", "scheduler rr", "10.0.0.1:80", ">4/4<", "version test", "No VRRP instance runs here."} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestARecreatedServiceHasNoRate: a counter that went backwards (the
// service was deleted and added again) gives no rate rather than a huge one.
func TestARecreatedServiceHasNoRate(t *testing.T) {
	r := reportOf(t, sample1)
	var k rateKeeper
	k.observe(r)
	next := reportOf(t, sample1)
	next.Now = r.Now.Add(2 * time.Second)
	next.Services[0].Stats.Conns = 10
	rt, ok := k.observe(next)
	if !ok {
		t.Fatal("no rates from two snapshots 2 s apart")
	}
	if got := formatRate(rt.services["TCP:192.0.2.1:80"].Conns); got != "–" {
		t.Errorf("connection rate after a reset = %q, want –", got)
	}
	if got := formatRate(rt.services["TCP:192.0.2.1:80"].PacketsIn); got != "0.0/s" {
		t.Errorf("packet rate = %q, want 0.0/s", got)
	}
}
