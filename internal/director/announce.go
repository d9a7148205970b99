package director

import (
	"context"

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

// kickAnnouncer has the announcer decide again (a quorum crossing, a
// mastership change, a reload).
func (d *Director) kickAnnouncer() {
	if d.announcer != nil {
		d.announcer.Kick()
	}
}

// runAnnouncer starts the announcer and returns the function that stops
// it: every route is withdrawn, then the sessions close. Run calls it
// first on the way out, so the router moves the flows to the other
// directors while this one still holds its VIPs and IPVS table.
func (d *Director) runAnnouncer(errs chan<- error) (stop func()) {
	if d.announcer == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.announcer.Run(ctx); err != nil {
			errs <- err
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
