package director

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lvsd/lvsd/checks"
	"github.com/lvsd/lvsd/internal/alert"
	"github.com/lvsd/lvsd/lvs"
)

// Report is what the control socket answers and `lvsd status` shows.
type Report struct {
	Version   string                 `json:"version"`
	File      string                 `json:"file"`
	PID       int                    `json:"pid"`
	Started   time.Time              `json:"started"`
	Now       time.Time              `json:"now"`
	Instances []InstanceReport       `json:"vrrp_instances"`
	Groups    []GroupReport          `json:"vrrp_sync_groups,omitempty"`
	Sockets   []SocketReport         `json:"vrrp_sockets,omitempty"`
	Services  []lvs.ServiceStatus    `json:"virtual_servers"`
	Health    []HealthReport         `json:"real_servers"`
	Checks    []checks.CheckerStatus `json:"-"`
	IPVS      *IPVSReport            `json:"ipvs,omitempty"`
	Sync      *SyncReport            `json:"ipvs_sync,omitempty"`
	BGP       *BGPReport             `json:"bgp,omitempty"` // announce.go
	// Alerts counts the notify FIFOs' lines and the e-mail alerts
	// (alerts.go); nil without either.
	Alerts *alert.Stats `json:"alerts,omitempty"`
	// Events are the last VRRP transitions and real-server verdict
	// changes with their reasons, newest first (at most 64).
	Events []Event `json:"events,omitempty"`
}

// IPVSReport is the IPVS manager's running totals.
type IPVSReport struct {
	Operations      map[string]uint64 `json:"operations"` // applied, by kind
	Errors          uint64            `json:"errors"`
	Reconciles      uint64            `json:"reconciles"`
	ReconcileTotalS float64           `json:"reconcile_seconds_total"`
	LastReconcileS  float64           `json:"last_reconcile_seconds"`
}

// SyncReport is connection sync: the kernel's running sync daemons (read
// over generic netlink) and its connection table, synced entries apart.
type SyncReport struct {
	Instance    string             `json:"instance,omitempty"` // whose mastership switches the daemons
	Daemons     []SyncDaemonReport `json:"daemons"`
	Connections int                `json:"connections"`
	Synced      int                `json:"synced_connections"` // received from the other director
	ReadError   string             `json:"read_error,omitempty"`
}

// SyncDaemonReport is one running sync daemon.
type SyncDaemonReport struct {
	State     string `json:"state"` // "master" or "backup"
	Interface string `json:"interface"`
	SyncID    int    `json:"sync_id"`
}

// InstanceReport is one VRRP instance.
type InstanceReport struct {
	Name        string            `json:"name"`
	Interface   string            `json:"interface"`
	VRID        int               `json:"virtual_router_id"`
	VRRPVersion int               `json:"version"` // 2 (RFC 3768) or 3 (RFC 5798)
	Family      string            `json:"family"`  // "inet" or "inet6"
	State       string            `json:"state"`
	Priority    int               `json:"priority"`
	Master      string            `json:"master,omitempty"`
	Since       time.Time         `json:"since"`
	Reason      string            `json:"reason"`
	Sent        uint64            `json:"adverts_sent"`
	Received    uint64            `json:"adverts_received"`
	Transitions uint64            `json:"transitions"`
	Drops       map[string]uint64 `json:"drops,omitempty"`
}

// SocketReport is one VRRP advert socket with the packets it dropped
// before any instance saw them (an unknown VRID, a bad checksum, …).
type SocketReport struct {
	Interface string            `json:"interface"`
	Multicast bool              `json:"multicast"`
	Drops     map[string]uint64 `json:"drops,omitempty"`
}

// GroupReport is one vrrp_sync_group: MIXED while its members disagree.
type GroupReport struct {
	Name      string   `json:"name"`
	Instances []string `json:"instances"`
	State     string   `json:"state"`
}

// HealthReport is one real server's health in one virtual service.
type HealthReport struct {
	Service   string    `json:"service"`
	Real      string    `json:"real"`
	Up        bool      `json:"up"`
	Reason    string    `json:"reason"`
	LastCheck time.Time `json:"last_check"`
	LatencyMS float64   `json:"latency_ms"`
	// Attempts and Failures (by reason) add up every checker of the
	// real server.
	Attempts uint64            `json:"attempts"`
	Failures map[string]uint64 `json:"failures,omitempty"`
}

// Report takes a snapshot of every part: what `lvsd status` shows, the
// SIGUSR1/SIGUSR2 dumps hold and /metrics exports. Before each big part it
// waits for a VRRP transition's hook in progress (YieldToTransitions).
func (d *Director) Report() Report {
	d.YieldToTransitions()
	cfg := d.Config()
	r := Report{Version: d.opts.Version, File: d.opts.File, PID: os.Getpid(), Started: d.started, Now: time.Now(), Events: d.events.newestFirst(),
		Alerts: d.alertReport()}
	states := map[string]string{}
	if d.node != nil {
		for _, st := range d.node.Status() {
			ir := InstanceReport{
				Name: st.Name, Interface: st.Interface, VRID: st.VRID, VRRPVersion: st.Version, Family: st.Family, State: st.State.String(),
				Priority: st.Priority, Since: st.Since, Reason: st.Reason,
				Sent: st.Counters.AdvertsSent, Received: st.Counters.AdvertsReceived,
				Transitions: st.Counters.Transitions,
			}
			if st.MasterIP.IsValid() {
				ir.Master = st.MasterIP.String()
			}
			for reason, n := range st.Counters.Drops {
				if ir.Drops == nil {
					ir.Drops = map[string]uint64{}
				}
				ir.Drops[string(reason)] = n
			}
			states[st.Name] = ir.State
			r.Instances = append(r.Instances, ir)
		}
		for _, so := range d.node.Sockets() {
			sr := SocketReport{Interface: so.Interface, Multicast: so.Multicast}
			for reason, n := range so.Drops {
				if sr.Drops == nil {
					sr.Drops = map[string]uint64{}
				}
				sr.Drops[string(reason)] = n
			}
			r.Sockets = append(r.Sockets, sr)
		}
	}
	for _, g := range cfg.SyncGroups {
		gr := GroupReport{Name: g.Name, Instances: g.Group}
		for _, m := range g.Group {
			if gr.State == "" {
				gr.State = states[m]
			} else if gr.State != states[m] {
				gr.State = "MIXED"
			}
		}
		r.Groups = append(r.Groups, gr)
	}
	if ipvs := d.ipvsManager(); ipvs != nil {
		d.YieldToTransitions()
		r.Services = ipvs.Status()
		c := ipvs.Counters()
		r.IPVS = &IPVSReport{Operations: c.Applied, Errors: c.Errors, Reconciles: c.Reconciles,
			ReconcileTotalS: c.ReconcileTime.Seconds(), LastReconcileS: c.LastReconcile.Seconds()}
		if s := d.Config().Global.LVSSyncDaemon; s.Enabled {
			st := ipvs.SyncStatus()
			sr := &SyncReport{Instance: s.Instance, Daemons: []SyncDaemonReport{}, Connections: st.Connections.Total,
				Synced: st.Connections.Synced, ReadError: st.ReadError}
			for _, x := range st.Daemons {
				sr.Daemons = append(sr.Daemons, SyncDaemonReport{State: x.State.String(), Interface: x.Interface, SyncID: int(x.SyncID)})
			}
			r.Sync = sr
		}
	}
	r.BGP = d.bgpReport()
	if d.checker != nil {
		d.YieldToTransitions()
		for _, h := range d.checker.Status() {
			hr := HealthReport{
				Service: h.Service, Real: h.Real.String(), Up: h.Up, Reason: h.Reason,
				LastCheck: h.LastCheck, LatencyMS: float64(h.Latency.Microseconds()) / 1000,
			}
			for _, c := range h.Checkers {
				hr.Attempts += c.Attempts
				for reason, n := range c.Failures {
					if hr.Failures == nil {
						hr.Failures = map[string]uint64{}
					}
					hr.Failures[reason] += n
				}
			}
			r.Health = append(r.Health, hr)
		}
	}
	return r
}

// Render prints the screen an operator reads instead of
// `ipvsadm -Ln` plus the logs.
func Render(w io.Writer, r Report, counters bool) {
	fmt.Fprintf(w, "lvsd %s  pid %d  up %s  config %s\n", r.Version, r.PID, r.Now.Sub(r.Started).Round(time.Second), r.File)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(r.Instances) > 0 {
		fmt.Fprintln(w, "\nVRRP")
		fmt.Fprintln(tw, "  INSTANCE\tIFACE\tVRID\tVRRP\tSTATE\tPRIO\tMASTER\tFOR\tREASON\tSENT\tRECV\tDROPS")
		for _, in := range r.Instances {
			drops := 0
			for _, n := range in.Drops {
				drops += int(n)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\tv%d %s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\n", in.Name, in.Interface, in.VRID, in.VRRPVersion, in.Family, in.State, in.Priority,
				dash(in.Master), r.Now.Sub(in.Since).Round(time.Second), in.Reason, in.Sent, in.Received, drops)
		}
		tw.Flush()
		for _, g := range r.Groups {
			fmt.Fprintf(w, "  sync group %s [%s]: %s\n", g.Name, strings.Join(g.Instances, " "), g.State)
		}
		for _, so := range r.Sockets {
			if len(so.Drops) == 0 {
				continue
			}
			reasons := make([]string, 0, len(so.Drops))
			for reason, n := range so.Drops {
				reasons = append(reasons, fmt.Sprintf("%s %d", reason, n))
			}
			sort.Strings(reasons)
			fmt.Fprintf(w, "  socket %s dropped before any instance: %s\n", so.Interface, strings.Join(reasons, ", "))
		}
	}
	health := map[string]HealthReport{}
	for _, h := range r.Health {
		health[h.Service+" "+h.Real] = h
	}
	if len(r.Services) > 0 {
		fmt.Fprintln(w, "\nVIRTUAL SERVERS")
		if x := r.IPVS; x != nil {
			var ops uint64
			for _, n := range x.Operations {
				ops += n
			}
			fmt.Fprintf(w, "  IPVS: %d operations applied, %d errors, %d reconciles (last %s)\n",
				ops, x.Errors, x.Reconciles, time.Duration(x.LastReconcileS*float64(time.Second)).Round(time.Microsecond))
		}
		if x := r.Sync; x != nil {
			var ds []string
			for _, dm := range x.Daemons {
				ds = append(ds, fmt.Sprintf("%s on %s id %d", dm.State, dm.Interface, dm.SyncID))
			}
			fmt.Fprintf(w, "  connection sync: %s; %d connections, %d synced from the other director\n",
				dash(strings.Join(ds, ", ")), x.Connections, x.Synced)
		}
		sort.Slice(r.Services, func(i, j int) bool { return r.Services[i].Key < r.Services[j].Key })
		for _, s := range r.Services {
			extra := ""
			if s.SorryActive {
				extra = "  SORRY SERVER ACTIVE"
			}
			fmt.Fprintf(w, "  %s  %s  instance %s  %s  quorum %d/%d%s\n", s.Key, s.Scheduler, dash(s.Instance), s.State, s.LiveWeight, s.Quorum, extra)
			if counters {
				fmt.Fprintf(w, "    conns %d  packets in/out %d/%d  bytes in/out %d/%d\n", s.Stats.Conns, s.Stats.PacketsIn, s.Stats.PacketsOut, s.Stats.BytesIn, s.Stats.BytesOut)
			}
			if s.ReadError != "" {
				fmt.Fprintf(w, "    kernel read error: %s\n", s.ReadError)
			}
			fmt.Fprintln(tw, "    REAL\tFWD\tWEIGHT\tHEALTH\tLAST CHECK\tREASON\tACTIVE\tINACT\tCONNS")
			for _, dst := range s.Destinations {
				h := health[s.Key+" "+dst.Addr.String()]
				verdict := "up"
				if !dst.Up {
					verdict = "DOWN"
				}
				if dst.Sorry {
					verdict = "sorry"
				}
				last := "-"
				if !h.LastCheck.IsZero() {
					last = fmt.Sprintf("%s ago (%.1f ms)", r.Now.Sub(h.LastCheck).Round(time.Second), h.LatencyMS)
				}
				weight := "-"
				if dst.InKernel {
					weight = fmt.Sprintf("%d/%d", dst.Weight, dst.ConfiguredWeight)
				}
				fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", dst.Addr, dst.Forward, weight, verdict, last, dash(dst.Reason), dst.ActiveConns, dst.InactiveConns, dst.Stats.Conns)
			}
			tw.Flush()
		}
	} else if len(r.Health) > 0 {
		fmt.Fprintln(w, "\nREAL SERVERS")
		fmt.Fprintln(tw, "  SERVICE\tREAL\tHEALTH\tREASON")
		for _, h := range r.Health {
			fmt.Fprintf(tw, "  %s\t%s\t%v\t%s\n", h.Service, h.Real, h.Up, h.Reason)
		}
		tw.Flush()
	}
	renderBGP(w, r.BGP)
	if len(r.Events) > 0 {
		fmt.Fprintln(w, "\nRECENT EVENTS")
		for _, e := range r.Events[:min(len(r.Events), renderedEvents)] {
			fmt.Fprintf(tw, "  %s ago\t%s\t%s\t%s → %s\t%s\n", r.Now.Sub(e.Time).Round(time.Second), e.Kind, e.Subject, e.From, e.To, e.Reason)
		}
		tw.Flush()
		if n := len(r.Events) - renderedEvents; n > 0 {
			fmt.Fprintf(w, "  … %d older (--json lists them)\n", n)
		}
	}
}

// renderedEvents is how many recent events the text screen shows.
const renderedEvents = 10

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
