package statuspage

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lvsd/lvsd/internal/director"
)

//go:embed assets
var assets embed.FS

// DefaultRefresh is how often the page reloads itself unless the address
// asks otherwise (?refresh=SECONDS, 0 for never).
const DefaultRefresh = 5 * time.Second

// contentSecurityPolicy lets the page load its own stylesheet and nothing
// else: no script, no image, no frame, no form, no other origin.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the status page at "/" and its stylesheet under
// "/static/". It only reads: every method but GET and HEAD is refused.
type Handler struct {
	report func() director.Report
	page   *template.Template
	static http.Handler
	mux    *http.ServeMux
	rates  rateKeeper
}

// New returns the handler; report takes a snapshot (Director.Report).
func New(report func() director.Report) *Handler {
	h := &Handler{report: report}
	h.page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
		"rate": formatRate, "bits": formatBits,
	}).ParseFS(assets, "assets/page.html.tmpl"))
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	h.static = http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("GET /{$}", h.servePage)
	h.mux.Handle("GET /static/", h.static)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	refresh := DefaultRefresh
	if s := r.URL.Query().Get("refresh"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 3600 {
			http.Error(w, "refresh: want whole seconds, 0..3600", http.StatusBadRequest)
			return
		}
		refresh = time.Duration(n) * time.Second
	}
	rep := h.report()
	rt, haveRates := h.rates.observe(rep)
	v := buildView(rep, rt, haveRates, refresh)
	var b bytes.Buffer
	if err := h.page.Execute(&b, v); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	b.WriteTo(w)
}

// view is what the template shows: the report with durations, verdicts
// and rates already worked out, so the template only lays them out.
type view struct {
	Host, Version, File string
	PID                 int
	Uptime              string
	Now                 string
	RefreshSeconds      int
	HaveRates           bool
	RateWindow          string
	Instances           []instanceView
	Groups              []director.GroupReport
	IPVS                *director.IPVSReport
	IPVSOperations      uint64
	Services            []serviceView
	HealthOnly          []director.HealthReport // checks without IPVS (keepalived -C without services)
	Events              []eventView
}

type instanceView struct {
	director.InstanceReport
	For   string
	Drops uint64
}

type serviceView struct {
	// Alias is the name the configuration gives the service when the key
	// does not already say it ("fwmark 1" for FWM:1:inet).
	Key, Alias, Scheduler, Instance, State, ReadError string
	Quorum, LiveWeight                                int
	Sorry, InKernel                                   bool
	Rates                                             *serviceRates
	Conns, PacketsIn, PacketsOut, BytesIn, BytesOut   uint64
	Reals                                             []realView
}

type realView struct {
	Addr, Forward, Health, Reason, LastCheck string
	Weight, ConfiguredWeight                 int
	InKernel, Sorry                          bool
	LatencyMS                                float64
	Active, Inactive                         uint32
	Conns                                    uint64
	ConnRate                                 float64
	HaveRate                                 bool
}

type eventView struct {
	director.Event
	Ago, At string
}

func buildView(r director.Report, rt rates, haveRates bool, refresh time.Duration) view {
	host, _ := os.Hostname()
	v := view{
		Host: host, Version: r.Version, File: r.File, PID: r.PID,
		Uptime:         r.Now.Sub(r.Started).Round(time.Second).String(),
		Now:            r.Now.Format("2006-01-02 15:04:05 MST"),
		RefreshSeconds: int(refresh / time.Second),
		HaveRates:      haveRates,
		RateWindow:     time.Duration(rt.seconds * float64(time.Second)).Round(100 * time.Millisecond).String(),
		Groups:         r.Groups,
		IPVS:           r.IPVS,
	}
	if r.IPVS != nil {
		for _, n := range r.IPVS.Operations {
			v.IPVSOperations += n
		}
	}
	for _, in := range r.Instances {
		iv := instanceView{InstanceReport: in, For: formatAgo(r.Now, in.Since)}
		for _, n := range in.Drops {
			iv.Drops += n
		}
		v.Instances = append(v.Instances, iv)
	}
	health := map[string]director.HealthReport{}
	for _, h := range r.Health {
		health[h.Service+" "+h.Real] = h
	}
	services := append(r.Services[:0:0], r.Services...)
	sort.Slice(services, func(i, j int) bool { return services[i].Key < services[j].Key })
	for _, s := range services {
		sv := serviceView{
			Key: s.Key, Scheduler: s.Scheduler, Instance: s.Instance, State: s.State, ReadError: s.ReadError,
			Quorum: s.Quorum, LiveWeight: s.LiveWeight, Sorry: s.SorryActive, InKernel: s.InKernel,
			Conns: s.Stats.Conns, PacketsIn: s.Stats.PacketsIn, PacketsOut: s.Stats.PacketsOut, BytesIn: s.Stats.BytesIn, BytesOut: s.Stats.BytesOut,
		}
		if !strings.HasSuffix(s.Key, ":"+s.Name) {
			sv.Alias = s.Name
		}
		if sr, ok := rt.services[s.Key]; ok && haveRates {
			sv.Rates = &sr
		}
		for _, d := range s.Destinations {
			key := s.Key + " " + d.Addr.String()
			h := health[key]
			rv := realView{
				Addr: d.Addr.String(), Forward: d.Forward.String(), Reason: d.Reason,
				Weight: d.Weight, ConfiguredWeight: d.ConfiguredWeight, InKernel: d.InKernel, Sorry: d.Sorry,
				LatencyMS: h.LatencyMS, Active: d.ActiveConns, Inactive: d.InactiveConns, Conns: d.Stats.Conns,
			}
			switch {
			case d.Sorry:
				rv.Health = "sorry"
			case d.Up:
				rv.Health = "up"
			default:
				rv.Health = "down"
			}
			if !h.LastCheck.IsZero() {
				rv.LastCheck = formatAgo(r.Now, h.LastCheck) + " ago"
			}
			rv.ConnRate, rv.HaveRate = rt.reals[key]
			rv.HaveRate = rv.HaveRate && haveRates
			sv.Reals = append(sv.Reals, rv)
		}
		v.Services = append(v.Services, sv)
	}
	if len(r.Services) == 0 {
		v.HealthOnly = r.Health
	}
	for _, e := range r.Events {
		v.Events = append(v.Events, eventView{Event: e, Ago: formatAgo(r.Now, e.Time), At: e.Time.Format("15:04:05")})
	}
	return v
}

// formatAgo is the time from then to now, rounded for reading.
func formatAgo(now, then time.Time) string {
	if then.IsZero() {
		return "–"
	}
	d := now.Sub(then)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Minute).String()
	}
}

// formatRate is a per-second rate; a negative one is unknown.
func formatRate(v float64) string {
	switch {
	case v < 0:
		return "–"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "/s"
	default:
		return scaled(v, "", "/s")
	}
}

// formatBits is a bit rate with SI prefixes.
func formatBits(v float64) string {
	if v < 0 {
		return "–"
	}
	return scaled(v, " ", "bit/s")
}

// scaled writes v with an SI prefix: "1.2k/s", "3.4 Mbit/s".
func scaled(v float64, sep, unit string) string {
	for _, p := range []struct {
		limit  float64
		prefix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= p.limit {
			return fmt.Sprintf("%.1f%s%s%s", v/p.limit, sep, p.prefix, unit)
		}
	}
	return fmt.Sprintf("%.0f%s%s", v, sep, unit)
}
