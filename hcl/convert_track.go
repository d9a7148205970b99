package hcl

import (
	"strconv"
	"strings"
)

// `lvsd convert` of the tracking (tracking.go) and alert (alert.go)
// settings: written so that the HCL loads back into the same model.

// trackEntry writes one track_* entry as keepalived spells it; reverse
// is written when set (with a weight: keepalived's syntax).
func trackEntry(name string, weight int, set, reverse, reverseSet bool) string {
	if !set && !reverseSet {
		return name
	}
	s := name + " weight " + strconv.Itoa(weight)
	switch {
	case reverseSet && reverse:
		s += " reverse"
	case reverseSet:
		s += " noreverse"
	}
	return s
}

// convertTracking writes the track_* lists of an instance or sync group:
// a weight only where the entry set one (the others take their block's
// again when the HCL is read).
func convertTracking(b *hclBody, ifs []TrackInterface, scripts []TrackScript, files []TrackedFile, procs []TrackedProcess) {
	var l []string
	for _, t := range ifs {
		l = append(l, trackEntry(t.Name, t.Weight, t.Weight != 0, t.Reverse, t.Reverse))
	}
	setList(b, "track_interface", l)
	l = nil
	for _, t := range scripts {
		l = append(l, trackEntry(t.Name, t.Weight, t.WeightSet, t.Reverse, t.ReverseSet))
	}
	setList(b, "track_script", l)
	l = nil
	for _, t := range files {
		l = append(l, trackEntry(t.Name, t.Weight, t.WeightSet, t.Reverse, t.ReverseSet))
	}
	setList(b, "track_file", l)
	l = nil
	for _, t := range procs {
		l = append(l, trackEntry(t.Name, t.Weight, t.WeightSet, t.Reverse, t.ReverseSet))
	}
	setList(b, "track_process", l)
}

// convertInstanceTracking writes an instance's tracking and the
// attributes of instanceTrackAttrs.
func convertInstanceTracking(b *hclBody, in VRRPInstance, g Global) {
	convertTracking(b, in.TrackInterfaces, in.TrackScripts, in.TrackFiles, in.TrackProcesses)
	setBool(b, "dont_track_primary", in.DontTrackPrimary)
	if in.DownTimerAdverts != g.VRRPDownTimerAdverts {
		setInt(b, "down_timer_adverts", in.DownTimerAdverts)
	}
	setBool(b, "notify_deleted", in.NotifyDeleted)
	setStr(b, "notify_master_rx_lower_pri", in.Notify.MasterRxLowerPri)
	convertScriptUsers(b, notifyUserKeywords[5:], in.Notify.Users) // notify_users.go
	setBool(b, "start_backup", in.StartBackup)
	if vrrp, _, _ := alertDefaults(g); in.SMTPAlert != vrrp {
		b.attr("smtp_alert", strconv.FormatBool(in.SMTPAlert))
	}
}

// convertSyncGroupTracking writes a sync group's tracking and smtp_alert.
func convertSyncGroupTracking(b *hclBody, sg SyncGroup, g Global) {
	convertTracking(b, sg.TrackInterfaces, sg.TrackScripts, sg.TrackFiles, sg.TrackProcesses)
	setBool(b, "sync_group_tracking_weight", sg.TrackingWeight)
	if vrrp, _, _ := alertDefaults(g); sg.SMTPAlert != vrrp {
		b.attr("smtp_alert", strconv.FormatBool(sg.SMTPAlert))
	}
}

// convertTrackProcesses writes the vrrp_track_process blocks.
func convertTrackProcesses(root *hclBody, ps []TrackProcess) {
	for _, p := range ps {
		root.newline()
		b := root.block("vrrp_track_process", []string{p.Name})
		setStr(b, "process", strings.Join(append([]string{p.Process}, p.Params...), " "))
		setStr(b, "param_match", p.ParamMatch)
		setBool(b, "full_command", p.FullCommand)
		setInt(b, "quorum", p.Quorum)
		setInt(b, "quorum_max", p.QuorumMax)
		if p.ForkDelay != 0 {
			setDur(b, "fork_delay", p.ForkDelay)
		}
		if p.TerminateDelay != 0 {
			setDur(b, "terminate_delay", p.TerminateDelay)
		}
		setInt(b, "weight", p.Weight)
		setBool(b, "reverse", p.Reverse)
	}
}

// convertAlerts writes the global alert settings and VRRP start timing.
func convertAlerts(b *hclBody, g Global) {
	a := g.Alerts
	for _, f := range []struct {
		prefix string
		fifo   NotifyFIFO
	}{{"", a.NotifyFIFO}, {"vrrp_", a.VRRPNotifyFIFO}, {"lvs_", a.LVSNotifyFIFO}} {
		setStr(b, f.prefix+"notify_fifo", strings.TrimSpace(strings.Join([]string{f.fifo.Path, f.fifo.User, f.fifo.Group}, " ")))
		setStr(b, f.prefix+"notify_fifo_script", f.fifo.Script)
		setStr(b, f.prefix+"notify_fifo_script_user", strings.TrimSpace(f.fifo.ScriptUser.User+" "+f.fifo.ScriptUser.Group))
	}
	e := a.Email
	setList(b, "notification_email", e.To)
	setStr(b, "notification_email_from", e.From)
	setStr(b, "smtp_server", e.Server)
	if e.Server != "" {
		setDur(b, "smtp_connect_timeout", e.ConnectTimeout)
	}
	setStr(b, "smtp_helo_name", e.HeloName)
	for _, k := range []struct {
		name string
		v    bool
	}{{"smtp_alert", e.Alert}, {"smtp_alert_vrrp", e.AlertVRRP}, {"smtp_alert_checker", e.AlertChecker}} {
		if ok := g.Positions.Has(k.name); ok {
			b.attr(k.name, strconv.FormatBool(k.v))
		}
	}
	setBool(b, "no_email_faults", e.NoFaults)
	if g.VRRPStartupDelay != 0 {
		setDur(b, "vrrp_startup_delay", g.VRRPStartupDelay)
	}
	if g.VRRPDownTimerAdverts != defaultDownTimerAdverts {
		setInt(b, "vrrp_down_timer_adverts", g.VRRPDownTimerAdverts)
	}
}

// convertServerAlert writes a virtual or real server's smtp_alert when it
// is not what the global settings give.
func convertServerAlert(b *hclBody, v, def bool) {
	if v != def {
		b.attr("smtp_alert", strconv.FormatBool(v))
	}
}
