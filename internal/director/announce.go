package director

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/lvs"
)

// newAnnouncer builds the BGP announcer when the configuration has an
// announce block and the checks side runs: it announces a VIP while its
// services are programmed with quorum (internal/announce).
func (d *Director) newAnnouncer(cfg *hcl.Config) {
	if cfg.Announce == nil || !d.opts.Checks {
		return
	}
	d.announcer = announce.New(cfg, announce.Options{
		Logger:   d.log.With("part", "announce"),
		Speaker:  d.opts.Speaker,
		Services: d.announcedServices,
	})
}

// announcedServices is the IPVS manager's state of every configured
// service, or nil before the configuration has one.
func (d *Director) announcedServices() []lvs.ServiceStatus {
	ipvs := d.ipvsManager()
	if ipvs == nil {
		return nil
	}
	return ipvs.Status()
}

// reloadAnnouncer hands a reloaded configuration to the announcer. The
// sessions keep the announce block they started with: adding, removing or
// changing the block takes a restart, which the log says.
func (d *Director) reloadAnnouncer(old, cfg *hcl.Config) {
	switch {
	case d.announcer == nil && cfg.Announce != nil && d.opts.Checks:
		d.log.Warn("reload: the announce block takes effect at the next start of lvsd", "at", cfg.Announce.Pos.String())
	case d.announcer == nil:
	case cfg.Announce == nil:
		d.log.Warn("reload: the announce block was removed; lvsd announces with the old block until it restarts")
		d.announcer.SetConfig(cfg)
	default:
		d.addClusterVIPs(cfg) // a virtual server the reload added
		if !reflect.DeepEqual(stripPositions(*old.Announce), stripPositions(*cfg.Announce)) {
			d.log.Warn("reload: the announce block changed; its sessions keep the old settings until lvsd restarts", "at", cfg.Announce.Pos.String())
		}
		d.announcer.SetConfig(cfg)
	}
}

// stripPositions returns a with no positions, to compare settings only.
func stripPositions(a hcl.Announce) hcl.Announce {
	a.Pos, a.Positions = hcl.Pos{}, hcl.Positions{}
	ns := make([]hcl.BGPNeighbor, len(a.Neighbors))
	for i, n := range a.Neighbors {
		n.Pos, n.Positions = hcl.Pos{}, hcl.Positions{}
		ns[i] = n
	}
	a.Neighbors = ns
	return a
}

// kickAnnouncer has the announcer decide again (a quorum crossing, a
// mastership change, a reload).
func (d *Director) kickAnnouncer() {
	if d.announcer != nil {
		d.announcer.Kick()
	}
}

// runAnnouncer starts the announcer and returns the function that stops
// it: every route is withdrawn, then everything keeps running for
// drain_delay (drain.go), then the sessions close. Run calls it first on
// the way out, so the router moves the flows to the other directors while
// this one still holds its VIPs and IPVS table.
func (d *Director) runAnnouncer(errs chan<- error) (stop func()) {
	if d.announcer == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.announcer.Run(ctx); err != nil {
			errs <- fmt.Errorf("announce: %w", err)
		}
	}()
	return func() {
		select {
		case <-done: // the announcer failed: nothing to drain
		default:
			d.drainBeforeStop()
		}
		cancel()
		<-done
	}
}

// BGPReport is the announcer in `lvsd status`: each session, each VIP's
// decision with its reason, and the announcements and withdrawals sent.
type BGPReport struct {
	Sessions []BGPSessionReport `json:"sessions"`
	Routes   []BGPRouteReport   `json:"routes"`
	Changes  uint64             `json:"changes"` // announcements and withdrawals sent
}

// BGPSessionReport is one neighbor's session.
type BGPSessionReport struct {
	Neighbor   string `json:"neighbor"`
	RemoteAS   uint32 `json:"remote_as"`
	State      string `json:"state"`
	Received   uint64 `json:"routes_received"` // all rejected: lvsd announces only
	Advertised uint64 `json:"routes_advertised"`
}

// BGPRouteReport is one VIP's decision.
type BGPRouteReport struct {
	Prefix    string `json:"prefix"`
	Announced bool   `json:"announced"`
	Reason    string `json:"reason"`
}

// bgpReport is the announcer's part of the report, nil without one.
func (d *Director) bgpReport() *BGPReport {
	if d.announcer == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), bgpReportTimeout)
	defer cancel()
	st := d.announcer.Status(ctx)
	r := &BGPReport{Sessions: []BGPSessionReport{}, Routes: []BGPRouteReport{}, Changes: st.Changes}
	for _, p := range st.Peers {
		r.Sessions = append(r.Sessions, BGPSessionReport{Neighbor: p.Addr.String(), RemoteAS: p.RemoteAS, State: p.State, Received: p.Received, Advertised: p.Advertised})
	}
	for _, dc := range st.Decisions {
		r.Routes = append(r.Routes, BGPRouteReport{Prefix: dc.Prefix.String(), Announced: dc.Announce, Reason: dc.Reason})
	}
	return r
}

// bgpReportTimeout bounds the read of the sessions' states.
const bgpReportTimeout = time.Second

// renderBGP prints the BGP part of `lvsd status`.
func renderBGP(w io.Writer, r *BGPReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nBGP (%d announcements and withdrawals sent)\n", r.Changes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NEIGHBOR\tAS\tSTATE\tRECEIVED (REJECTED)\tADVERTISED")
	for _, s := range r.Sessions {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%d\n", s.Neighbor, s.RemoteAS, s.State, s.Received, s.Advertised)
	}
	tw.Flush()
	for _, rt := range r.Routes {
		state := "withdrawn"
		if rt.Announced {
			state = "announced"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", rt.Prefix, state, rt.Reason)
	}
	tw.Flush()
}
