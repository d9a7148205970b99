package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/statuspage"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// browser is headless Chromium (Debian package chromium), run with a fresh
// profile, no network of its own (no component updates, no sync, no QUIC)
// and, unless asked, JavaScript disabled: the status page must read
// without it.
type browser struct{ bin string }

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs chromium (.ci/run installs it)")
	}
	return &browser{bin: bin}
}

// run loads url in namespace ns ("" for this one) with extra flags, and
// returns Chromium's standard output.
func (b *browser) run(t *testing.T, ns, url string, javascript bool, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	if !javascript {
		// The profile's content setting, as a user who turned JavaScript
		// off has it (--blink-settings=scriptEnabled=false would also stop
		// --dump-dom, which serialises the page with a script).
		if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
		prefs := `{"profile":{"default_content_setting_values":{"javascript":2}}}`
		if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + profile}
	args = append(append(args, extra...), url)
	name, argv := b.bin, args
	if ns != "" {
		name, argv = "ip", append([]string{"netns", "exec", ns, b.bin}, args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, tail(stderr.String(), 20))
	}
	return string(out)
}

// dom is the page as Chromium rendered it (--dump-dom).
func (b *browser) dom(t *testing.T, ns, url string, javascript bool) string {
	t.Helper()
	dom := b.run(t, ns, url, javascript, "--dump-dom")
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("chromium dumped no page for %s: %q", url, dom)
	}
	return dom
}

// screenshot keeps a PNG of the page as a test artifact: in
// $LVSD_ARTIFACTS, else integration/.cache/.
func (b *browser) screenshot(t *testing.T, ns, url, name string) string {
	t.Helper()
	dir := os.Getenv("LVSD_ARTIFACTS")
	if dir == "" {
		dir = ".cache"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	b.run(t, ns, url, false, "--screenshot="+path, "--window-size=1280,1000", "--hide-scrollbars")
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", path, err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// requireAll fails for each want the rendered page lacks.
func requireAll(t *testing.T, what, dom string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(dom, w) {
			t.Errorf("%s: the page lacks %q", what, w)
		}
	}
}

// TestStatusPageInChromium loads the status page in a real browser, with
// JavaScript off. First from `lvsd run` in a namespace of the VRRP lab: its
// instance is MASTER, with the transition and its reason listed, and BACKUP
// once a director with a higher priority joins. Then from
// a director whose health checks probe real TCP listeners on loopback (its
// IPVS side on lvs's fake kernel, since this host has no IPVS): a real
// server is shown going down when its listener closes and up again when it
// reopens.
func TestStatusPageInChromium(t *testing.T) {
	requireNetns(t)
	b := newBrowser(t)

	// The control: a script that rewrites its page runs with JavaScript
	// on and not with it off, so "off" below really is off.
	probe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<html><body><p id="x">static</p><script>document.getElementById("x").textContent="scripted"</script></body></html>`)
	}))
	defer probe.Close()
	if dom := b.dom(t, "", probe.URL, false); !strings.Contains(dom, `<p id="x">static</p>`) {
		t.Fatalf("JavaScript still ran with it disabled:\n%s", dom)
	}
	if dom := b.dom(t, "", probe.URL, true); !strings.Contains(dom, `<p id="x">scripted</p>`) {
		t.Fatalf("JavaScript did not run with it enabled:\n%s", dom)
	}

	t.Run("lvsd run in a namespace shows MASTER, then BACKUP under a higher priority", func(t *testing.T) {
		if lvsdBinary(t) == "" {
			t.Skip("lvsd did not build")
		}
		lab := newVRRPLab(t)
		s := lab.speaker("A", "lvsd", 150)
		config := func(priority int) string {
			return fmt.Sprintf(`global {
  status_page = true
}
vrrp_instance "VI_WEB" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = %d
  advert_int        = 1
  virtual_ipaddress = ["%s%s dev eth0"]
}
`, priority, labVIP, labPrefix)
		}
		s.config = config(150)
		s.start()
		if !waitFor(15*time.Second, s.holdsVIP) {
			t.Fatalf("lvsd never became MASTER:\n%s", tail(s.logText(), 30))
		}
		url := "http://127.0.0.1:9650/"
		for _, js := range []bool{false, true} {
			dom := b.dom(t, lab.ns["A"], url, js)
			requireAll(t, fmt.Sprintf("javascript %v", js), dom,
				"<title>lvsd on ", "VI_WEB", "eth0", `class="state state-MASTER">MASTER<`, ">150<",
				"BACKUP → MASTER", "No virtual server is configured.", `http-equiv="refresh"`)
		}
		b.screenshot(t, lab.ns["A"], url, "statuspage-vrrp.png")

		// A director with a higher priority joins: A's page shows it
		// BACKUP under B's mastership, and why.
		peer := lab.speaker("B", "lvsd", 200)
		peer.config = config(200)
		peer.start()
		if !waitFor(15*time.Second, func() bool { return peer.holdsVIP() && !s.holdsVIP() }) {
			t.Fatalf("B never took over:\n%s", tail(peer.logText(), 30))
		}
		dom := b.dom(t, lab.ns["A"], url, false)
		requireAll(t, "after B took over", dom, `class="state state-BACKUP">BACKUP<`, ">"+lab.ip["B"]+"<", "MASTER → BACKUP")
	})

	t.Run("a real server goes down, then up, as it happens", func(t *testing.T) {
		listen := func(addr string) net.Listener {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			return ln
		}
		flaky, steady := listen("127.0.0.1:0"), listen("127.0.0.1:0")
		defer steady.Close()
		flakyAddr := flaky.Addr().String()
		check := `TCP_CHECK {
      connect_timeout    = 1
      delay_loop         = 1
      retry              = 0
      delay_before_retry = 1
    }`
		cfg := hcltest.Load(t, fmt.Sprintf(`
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  lb_algo  = "wrr"
  real_server "%s" {
    weight = 2
    %s
  }
  real_server "%s" {
    %s
  }
}
`, flakyAddr, check, steady.Addr(), check))
		d, err := director.New(cfg, director.Options{Checks: true, Version: "browser-test",
			OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		defer func() { cancel(); <-done }()
		srv := httptest.NewServer(statuspage.New(d.Report))
		defer srv.Close()

		verdict := func(real string, up bool) func() bool {
			return func() bool {
				for _, h := range d.Report().Health {
					if h.Real == real && h.Up == up && !h.LastCheck.IsZero() {
						return true
					}
				}
				return false
			}
		}
		row := func(dom, real string) string {
			i := strings.Index(dom, `<td class="name">`+real+`</td>`)
			if i < 0 {
				t.Fatalf("no row for %s in the page", real)
			}
			start := strings.LastIndex(dom[:i], "<tr")
			end := strings.Index(dom[i:], "</tr>")
			return dom[start : i+end]
		}
		if !waitFor(10*time.Second, verdict(flakyAddr, true)) {
			t.Fatal("the real server never came up")
		}
		dom := b.dom(t, "", srv.URL, false)
		requireAll(t, "both up", dom, "TCP:192.0.2.10:80", "scheduler wrr", `class="svcstate svcstate-programmed">programmed<`)
		requireAll(t, "both up", row(dom, flakyAddr), `health-up">up<`, ">2/2<", " ago<", " ms<")

		flaky.Close()
		if !waitFor(10*time.Second, verdict(flakyAddr, false)) {
			t.Fatal("the real server never went down")
		}
		dom = b.dom(t, "", srv.URL, false)
		requireAll(t, "down", row(dom, flakyAddr), `health-down">down<`, "refused")
		requireAll(t, "down", row(dom, steady.Addr().String()), `health-up">up<`)
		requireAll(t, "down", dom, "quorum 1/1", "up → down", flakyAddr)
		b.screenshot(t, "", srv.URL, "statuspage-down.png")

		reopened := listen(flakyAddr)
		defer reopened.Close()
		if !waitFor(10*time.Second, verdict(flakyAddr, true)) {
			t.Fatal("the real server never came back up")
		}
		dom = b.dom(t, "", srv.URL, false)
		requireAll(t, "up again", row(dom, flakyAddr), `health-up">up<`, ">2/2<")
		requireAll(t, "up again", dom, "down → up", "up → down", "quorum 3/1")
	})
}
