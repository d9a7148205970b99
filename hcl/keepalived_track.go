package hcl

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// keepalived.conf's tracking vocabulary beyond track_interface and
// track_script lists: track_file and track_process entries in instances
// and sync groups, `weight N reverse`, vrrp_track_process blocks,
// dont_track_primary, sync-group tracking and sync_group_tracking_weight,
// with keepalived 2.2.7's rules (vrrp_track.c, track_file.c,
// vrrp_parser.c, vrrp.c vrrp_complete_instance).

// kaTracking is where the entries of a block's track_* lists go.
type kaTracking struct {
	owner   string
	ifs     *[]TrackInterface
	scripts *[]TrackScript
	files   *[]TrackedFile
	procs   *[]TrackedProcess
}

// trackList reads one track_interface, track_script, track_file or
// track_process block: "NAME [weight N [reverse]]" per line. An entry
// keepalived ignores (a bad weight, an unknown option) is ignored with
// its warning.
func (r *kaReader) trackList(c *kaNode, t kaTracking) {
	if !r.block(c) {
		return
	}
	lo, hi := -253, 253 // track_interface, track_script
	if c.name == "track_file" || c.name == "track_process" {
		lo, hi = -maxTrackWeight, maxTrackWeight
	}
	for _, e := range c.block {
		if e.hasBlock {
			r.errf(e.pos, "invalid track entry", "%s opens a block", e.name)
			continue
		}
		spec, err := parseTrackEntry(e.line(), lo, hi)
		if args := e.argText(); err != nil && len(args) >= 2 && args[0] == "weight" {
			// vrrp_track.c's wording.
			r.warnf(e.pos, fmt.Sprintf("weight %s for %s must be between [%d..%d] inclusive. Ignoring...", args[1], e.name, lo, hi), "the entry is ignored, as keepalived does")
			continue
		}
		if err != nil {
			r.warnf(e.pos, fmt.Sprintf("(%s) invalid %s entry %q", t.owner, c.name, e.line()), "%v; ignored, as keepalived does", err)
			continue
		}
		spec.add(c.name, t)
	}
}

// instanceTracking reads the instance keywords of this file; it says
// whether c was one.
func (r *kaReader) instanceTracking(c *kaNode, in *VRRPInstance) bool {
	switch c.name {
	case "track_interface", "track_script", "track_file", "track_process":
		r.trackList(c, kaTracking{owner: in.Name, ifs: &in.TrackInterfaces, scripts: &in.TrackScripts, files: &in.TrackFiles, procs: &in.TrackProcesses})
	case "dont_track_primary":
		if r.none(c) {
			in.DontTrackPrimary = true
		}
	case "down_timer_adverts":
		if v, ok := r.integer(c, 1, maxDownTimerAdverts); ok {
			in.DownTimerAdverts = int(v)
		} else {
			return true
		}
	case "notify_deleted":
		if r.none(c) {
			in.NotifyDeleted = true
		}
	case "notify_master_rx_lower_pri":
		v, u, ok := r.notifyScript(c) // notify_users.go
		if !ok {
			return true
		}
		in.Notify.MasterRxLowerPri = v
		in.Notify.Users.set(c.name, u)
	case "smtp_alert":
		if v, ok := r.flag(c); ok {
			in.SMTPAlert = v
		} else {
			return true
		}
	default:
		return false
	}
	in.Positions.Set(c.name, c.pos)
	return true
}

// syncGroupTracking reads the sync-group keywords of this file; it says
// whether c was one.
func (r *kaReader) syncGroupTracking(c *kaNode, g *SyncGroup) bool {
	switch c.name {
	case "track_interface", "track_script", "track_file", "track_process":
		r.trackList(c, kaTracking{owner: g.Name, ifs: &g.TrackInterfaces, scripts: &g.TrackScripts, files: &g.TrackFiles, procs: &g.TrackProcesses})
	case "sync_group_tracking_weight":
		if r.none(c) {
			g.TrackingWeight = true
		}
	case "global_tracking":
		r.warnf(c.pos, fmt.Sprintf("(%s) global_tracking is deprecated. Use track_interface/script/file on the sync group", g.Name), "it means sync_group_tracking_weight, as in keepalived")
		g.TrackingWeight = true
	case "smtp_alert":
		if v, ok := r.flag(c); ok {
			g.SMTPAlert = v
		} else {
			return true
		}
	default:
		return false
	}
	g.Positions.Set(c.name, c.pos)
	return true
}

// trackProcess reads a vrrp_track_process block.
func (r *kaReader) trackProcess(n *kaNode) {
	name, ok := r.name(n)
	if !ok {
		return
	}
	p := TrackProcess{Name: name, Quorum: defaultProcessQuorum, QuorumMax: defaultProcessQuorumMax, Pos: n.pos, Positions: r.positions.new()}
	for _, c := range n.block {
		switch c.name {
		case "process":
			if !r.noBlock(c) || len(c.args) == 0 {
				r.warnf(c.pos, "process needs a name", "vrrp_track_process %s", name)
				continue
			}
			p.Process = c.args[0].text
			for _, a := range c.args[1:] {
				p.Params = append(p.Params, a.text)
			}
			if len(p.Params) > 0 {
				// vrrp_parser.c: parameters mean exact matching of the
				// full command unless param_match says otherwise.
				if p.ParamMatch == ParamMatchNone {
					p.ParamMatch = ParamMatchExact
				}
				p.FullCommand = true
			}
		case "param_match":
			if !r.noBlock(c) {
				continue
			}
			switch v := c.argText(); {
			case len(v) == 0:
				p.ParamMatch = ParamMatchExact
			case v[0] == ParamMatchInitial || v[0] == ParamMatchPartial:
				p.ParamMatch = v[0]
			default:
				r.warnf(c.pos, fmt.Sprintf("Invalid param_match type %s - ignoring", v[0]), "vrrp_track_process %s, as keepalived does", name)
				continue
			}
			p.FullCommand = true
		case "full_command":
			if r.none(c) {
				p.FullCommand = true
			}
		case "weight":
			if !r.noBlock(c) {
				continue
			}
			args := c.argText()
			w, err := 0, error(nil)
			if len(args) > 0 {
				w, err = strconv.Atoi(args[0])
			}
			if len(args) == 0 || err != nil || w < -maxTrackWeight || w > maxTrackWeight {
				r.warnf(c.pos, fmt.Sprintf("Weight for vrrp_track_process %s must be between [-254..254] inclusive. Ignoring...", name), "as keepalived does")
				continue
			}
			p.Weight = w
			if len(args) > 1 {
				if args[1] == "reverse" {
					p.Reverse = true
				} else {
					r.warnf(c.pos, fmt.Sprintf("vrrp_track_process %s unknown weight option %s", name, args[1]), "as keepalived says")
				}
			}
		case "quorum":
			if v, ok := r.integer(c, 1, 65535); ok {
				if int(v) > p.QuorumMax {
					r.warnf(c.pos, "Quorum is greater than quorum_max - ignoring", "vrrp_track_process %s, as keepalived does", name)
					continue
				}
				p.Quorum = int(v)
			}
		case "quorum_max":
			if v, ok := r.integer(c, 0, 65535); ok {
				if (v != 0 || p.Quorum > 1) && int(v) < p.Quorum {
					r.warnf(c.pos, "quorum_max is less than quorum - ignoring", "vrrp_track_process %s, as keepalived does", name)
					continue
				}
				p.QuorumMax = int(v)
				if v == 0 {
					p.Quorum = 0
				} else if p.Quorum == 0 {
					p.Quorum = 1
				}
			}
		case "delay", "fork_delay", "terminate_delay":
			d, ok := r.seconds(c, true)
			if !ok {
				continue
			}
			if d <= 0 || d > time.Hour {
				r.warnf(c.pos, fmt.Sprintf("%s for vrrp_track_process %s must be between [0.000001..3600] inclusive. Ignoring...", c.name, name), "as keepalived does")
				continue
			}
			if c.name != "fork_delay" {
				p.TerminateDelay = d
			}
			if c.name != "terminate_delay" {
				p.ForkDelay = d
			}
		default:
			r.unknown(c, "vrrp_track_process "+name)
			continue
		}
		p.Positions.Set(c.name, c.pos)
	}
	if p.Process == "" {
		r.warnf(n.pos, fmt.Sprintf("track process '%s' process name not specified", name), "the block is ignored, as keepalived does")
		return
	}
	r.cfg.TrackProcesses = append(r.cfg.TrackProcesses, p)
}

// trackingFinish applies keepalived's rules for tracking that depend on
// the whole file (vrrp.c vrrp_complete_instance, sync_group_tracking_init):
// an entry naming a track_file or vrrp_track_process that is not defined
// is ignored with keepalived's warning; in a sync group without
// sync_group_tracking_weight, and for the address owner, weighted
// tracking moves no priority: a weighted script is dropped, a track_file
// with the default weight becomes weight 0 and one with another weight is
// dropped, and the owner stops tracking a weighted interface or process
// (a sync group member keeps their weights: keepalived 2.2.7 does,
// measured).
func (r *kaReader) trackingFinish() {
	files := map[string]bool{}
	for _, f := range r.cfg.TrackFiles {
		files[f.Name] = true
	}
	procs := map[string]bool{}
	for _, p := range r.cfg.TrackProcesses {
		procs[p.Name] = true
	}
	known := func(owner string, pos Pos, fs *[]TrackedFile, ps *[]TrackedProcess) {
		*fs = slices.DeleteFunc(*fs, func(t TrackedFile) bool {
			if files[t.Name] {
				return false
			}
			r.warnf(pos, fmt.Sprintf("(%s) track file %s not found, ignoring...", owner, t.Name), "as keepalived does")
			return true
		})
		*ps = slices.DeleteFunc(*ps, func(t TrackedProcess) bool {
			if procs[t.Name] {
				return false
			}
			r.warnf(pos, fmt.Sprintf("(%s) track process %s not found, ignoring...", owner, t.Name), "as keepalived does")
			return true
		})
	}
	for i := range r.cfg.SyncGroups {
		g := &r.cfg.SyncGroups[i]
		known(g.Name, g.Pos, &g.TrackFiles, &g.TrackProcesses)
	}
	unweighted := map[string]string{} // instance -> why weights do not apply
	for _, g := range r.cfg.SyncGroups {
		if !g.TrackingWeight {
			for _, m := range g.Group {
				unweighted[m] = "SYNC group"
			}
		}
	}
	for i := range r.cfg.Instances {
		in := &r.cfg.Instances[i]
		// vrrp.c: an address owner written BACKUP starts as BACKUP and
		// takes over when its Master_Down_Timer fires (vrrp/README.md).
		in.StartBackup = in.State == StateBackup && in.Priority == kaOwnerPriority
		known(in.Name, in.Pos, &in.TrackFiles, &in.TrackProcesses)
		why, ok := unweighted[in.Name]
		owner := in.Priority == kaOwnerPriority
		if owner {
			why, ok = "address owner", true
		}
		if !ok {
			continue
		}
		pos := func(k string) Pos { return in.Positions.Where(k, in.Pos) }
		// keepalived 2.2.7 says it ignores a weighted interface's weight
		// in a sync group, and then moves the priority by it all the
		// same (the weight its tracking object holds; measured): lvsd
		// does what keepalived does. The owner stops tracking it.
		in.TrackInterfaces = slices.DeleteFunc(in.TrackInterfaces, func(t TrackInterface) bool {
			if t.Weight == 0 {
				return false
			}
			if owner {
				r.warnf(pos("track_interface"), fmt.Sprintf("(%s) ignoring %s tracked interface due to %s", in.Name, t.Name, why), "as keepalived does")
				return true
			}
			r.warnf(pos("track_interface"), fmt.Sprintf("(%s) ignoring %s tracked interface weight due to %s", in.Name, t.Name, why), "keepalived 2.2.7 says so and moves the priority by it all the same; so does lvsd")
			return false
		})
		scripts := map[string]int{}
		for _, s := range r.cfg.Scripts {
			scripts[s.Name] = s.Weight
		}
		in.TrackScripts = slices.DeleteFunc(in.TrackScripts, func(t TrackScript) bool {
			w := t.Weight
			if !t.WeightSet {
				w = scripts[t.Name]
			}
			if w == 0 {
				return false
			}
			r.warnf(pos("track_script"), fmt.Sprintf("(%s) ignoring tracked script %s with weights due to %s", in.Name, t.Name, why), "as keepalived does")
			return true
		})
		fileWeight := map[string]int{}
		for _, f := range r.cfg.TrackFiles {
			fileWeight[f.Name] = f.Weight
		}
		in.TrackFiles = slices.DeleteFunc(in.TrackFiles, func(t TrackedFile) bool {
			w := t.Weight
			if !t.WeightSet {
				w = fileWeight[t.Name]
			}
			switch w {
			case 0:
				return false
			case defaultTrackFileWeight:
				r.warnf(pos("track_file"), fmt.Sprintf("(%s) ignoring weight from tracked file %s due to %s. specify weight 0", in.Name, t.Name, why), "as keepalived does")
				return false
			}
			r.warnf(pos("track_file"), fmt.Sprintf("(%s) ignoring tracked file %s with weight %d due to %s", in.Name, t.Name, w, why), "as keepalived does")
			return true
		})
		for j := range in.TrackFiles {
			in.TrackFiles[j].Weight, in.TrackFiles[j].WeightSet = 0, true
		}
		procWeight := map[string]int{}
		for _, p := range r.cfg.TrackProcesses {
			procWeight[p.Name] = p.Weight
		}
		// A weighted process, like a weighted interface, keeps moving a
		// sync group member's priority in keepalived 2.2.7 (measured:
		// sync-group-member-files.conf); the owner's never moves.
		in.TrackProcesses = slices.DeleteFunc(in.TrackProcesses, func(t TrackedProcess) bool {
			w := t.Weight
			if !t.WeightSet {
				w = procWeight[t.Name]
			}
			if w == 0 {
				return false
			}
			r.warnf(pos("track_process"), fmt.Sprintf("(%s) ignoring tracked process %s with weights due to %s", in.Name, t.Name, why), "keepalived 2.2.7 says so; it drops it for the owner and applies it in a sync group, and so does lvsd")
			return owner
		})
	}
}

// scriptWeight reads a vrrp_script's "weight N [reverse]".
func (r *kaReader) scriptWeight(c *kaNode, s *VRRPScript) {
	if !r.noBlock(c) {
		return
	}
	args := c.argText()
	if len(args) == 0 {
		r.warnf(c.pos, fmt.Sprintf("vrrp_script %s: weight needs a value", s.Name), "ignored, as keepalived does")
		return
	}
	w, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || w < -253 || w > 253 {
		r.warnf(c.pos, fmt.Sprintf("invalid weight %q", args[0]), "vrrp_script %s: want a whole number from -253 to 253; ignored, as keepalived does", s.Name)
		return
	}
	s.Weight = int(w)
	if len(args) > 1 {
		switch args[1] {
		case "reverse":
			s.Reverse = true
		case "noreverse":
		default:
			r.warnf(c.pos, fmt.Sprintf("vrrp_script %s unknown weight option %s", s.Name, args[1]), "ignored, as keepalived does")
		}
	}
	s.Positions.Set(c.name, c.pos)
}
