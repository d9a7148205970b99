package director

import (
	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/trackfile"
)

// initTrackFiles writes the track_file blocks' init_file values
// (internal/trackfile.Init) before the VRRP node and the checkers first
// read the files, at start and on reload, as keepalived 2.2.7 writes them
// while it reads its configuration. A file that cannot be written is
// logged, as keepalived logs it, and read as it is.
func (d *Director) initTrackFiles(cfg *hcl.Config, reload bool) {
	for _, f := range cfg.TrackFiles {
		if !f.Init.Set {
			continue
		}
		wrote, err := trackfile.Init(f.File, f.Init.Value, f.Init.Overwrite, reload)
		switch {
		case err != nil:
			d.log.Error("track_file init_file", "track_file", f.Name, "file", f.File, "err", err)
		case wrote:
			d.log.Info("track_file initialised", "track_file", f.Name, "file", f.File, "value", f.Init.Value)
		}
	}
}
