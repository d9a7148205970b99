package hcl

import (
	"strings"
	"time"

	hcl2 "github.com/hashicorp/hcl/v2"
)

// HCL spelling of the tracking vocabulary (tracking.go): the track_* lists
// of instances and sync groups take keepalived's entries as strings
// ("eth1 weight 10 reverse"); vrrp_track_process is a labelled block.

var (
	// trackAttrs are the track_* lists of vrrp_instance and vrrp_sync_group.
	trackAttrs = []string{"track_interface", "track_script", "track_file", "track_process"}
	// instanceTrackAttrs are the further vrrp_instance attributes of
	// tracking.go, alert.go and the VRRP timers.
	instanceTrackAttrs = []string{"dont_track_primary", "down_timer_adverts", "notify_deleted",
		"notify_master_rx_lower_pri", "notify_master_rx_lower_pri_user", "smtp_alert", "start_backup"}
	syncGroupTrackAttrs = []string{"sync_group_tracking_weight", "smtp_alert"}
	scriptTrackAttrs    = []string{"reverse", "init_fail"}
	trackProcessSchema  = blockSchema([]string{"process", "param_match", "full_command", "quorum", "quorum_max",
		"delay", "fork_delay", "terminate_delay", "weight", "reverse"})
)

// tracking reads the track_* lists of an instance or sync group.
func (d *decoder) tracking(bl *block, t kaTracking) {
	for _, attr := range trackAttrs {
		list, ok := bl.strList(attr)
		if !ok {
			continue
		}
		lo, hi := -253, 253
		if attr == "track_file" || attr == "track_process" {
			lo, hi = -maxTrackWeight, maxTrackWeight
		}
		for _, s := range list {
			spec, err := parseTrackEntry(s, lo, hi)
			if err != nil {
				d.diags.errorf(bl.pos.Where(attr, Pos{}), "invalid "+attr, "%v", err)
				continue
			}
			spec.add(attr, t)
		}
	}
}

// instanceTracking reads an instance's tracking and the attributes of
// instanceTrackAttrs.
func (d *decoder) instanceTracking(bl *block, in *VRRPInstance) {
	d.tracking(bl, kaTracking{owner: in.Name, ifs: &in.TrackInterfaces, scripts: &in.TrackScripts, files: &in.TrackFiles, procs: &in.TrackProcesses})
	bl.boolean("dont_track_primary", &in.DontTrackPrimary)
	bl.integer("down_timer_adverts", &in.DownTimerAdverts)
	bl.boolean("notify_deleted", &in.NotifyDeleted)
	bl.str("notify_master_rx_lower_pri", &in.Notify.MasterRxLowerPri)
	bl.boolean("smtp_alert", &in.SMTPAlert)
	bl.boolean("start_backup", &in.StartBackup)
}

// syncGroupTracking reads a sync group's tracking and smtp_alert.
func (d *decoder) syncGroupTracking(bl *block, g *SyncGroup) {
	d.tracking(bl, kaTracking{owner: g.Name, ifs: &g.TrackInterfaces, scripts: &g.TrackScripts, files: &g.TrackFiles, procs: &g.TrackProcesses})
	bl.boolean("sync_group_tracking_weight", &g.TrackingWeight)
	bl.boolean("smtp_alert", &g.SMTPAlert)
}

// trackProcess reads a vrrp_track_process block. process is "NAME [ARG...]"
// as keepalived writes it.
func (d *decoder) trackProcess(b *hcl2.Block) {
	bl := d.openBlock(b, trackProcessSchema)
	p := TrackProcess{Name: b.Labels[0], Quorum: defaultProcessQuorum, QuorumMax: defaultProcessQuorumMax, Pos: bl.def, Positions: bl.pos}
	var process string
	if bl.str("process", &process) {
		f := strings.Fields(process)
		if len(f) > 0 {
			p.Process, p.Params = f[0], f[1:]
		}
		if len(p.Params) > 0 {
			p.ParamMatch, p.FullCommand = ParamMatchExact, true
		}
	}
	if bl.str("param_match", &p.ParamMatch) {
		p.FullCommand = true
	}
	bl.boolean("full_command", &p.FullCommand)
	bl.integer("quorum", &p.Quorum)
	bl.integer("quorum_max", &p.QuorumMax)
	var delay time.Duration
	if bl.duration("delay", &delay) {
		p.ForkDelay, p.TerminateDelay = delay, delay
	}
	bl.duration("fork_delay", &p.ForkDelay)
	bl.duration("terminate_delay", &p.TerminateDelay)
	bl.integer("weight", &p.Weight)
	bl.boolean("reverse", &p.Reverse)
	d.cfg.TrackProcesses = append(d.cfg.TrackProcesses, p)
}
