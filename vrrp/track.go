package vrrp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/trackfile"
)

// startScripts starts the tracker of every used vrrp_script that is not
// running with the same definition (old: the definitions running now).
func (n *Node) startScripts(old map[string]hcl.VRRPScript) {
	for _, s := range n.cfg.Scripts {
		if !n.scriptUsed(s.Name) {
			continue
		}
		if prev, ok := old[s.Name]; ok && scriptEqual(prev, s) {
			if _, running := n.scriptStop[s.Name]; running {
				continue
			}
		}
		if stop, ok := n.scriptStop[s.Name]; ok {
			stop()
		}
		ctx, cancel := context.WithCancel(n.workers)
		n.scriptStop[s.Name] = cancel
		n.goroutines.Go(n.tracker(ctx, s))
	}
	for name, stop := range n.scriptStop {
		if !n.scriptUsed(name) || !n.scriptDefined(name) {
			stop()
			delete(n.scriptStop, name)
		}
	}
}

func scriptEqual(a, b hcl.VRRPScript) bool {
	return a.Script == b.Script && a.Interval == b.Interval && a.Timeout == b.Timeout && a.Rise == b.Rise && a.Fall == b.Fall &&
		a.User == b.User && a.Group == b.Group && a.InitFail == b.InitFail
}

func (n *Node) scriptDefined(name string) bool {
	for _, s := range n.cfg.Scripts {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (n *Node) scriptUsed(name string) bool {
	for _, in := range n.insts {
		if _, ok := in.scriptWeight[name]; ok {
			return true
		}
	}
	return false
}

func (n *Node) linkChanged(now time.Time, name string, up bool) {
	for _, in := range n.insts {
		if was, tracked := in.linkUp[name]; tracked && was != up {
			in.log.Info("tracked interface changed", "interface", name, "up", up)
			in.linkUp[name] = up
			n.refreshTracking(now, in)
		}
	}
}

func (n *Node) scriptChanged(ctx context.Context, now time.Time, r scriptResult) {
	if r.disabled {
		n.scriptDisabled(ctx, now, r.name)
		return
	}
	for _, in := range n.insts {
		if _, ok := in.scriptWeight[r.name]; !ok {
			continue
		}
		first := false
		if _, seen := in.scriptOK[r.name]; !seen {
			in.pending--
			first = true
		}
		if !first || !r.ok {
			in.log.Info("tracked script changed", "script", r.name, "ok", r.ok)
		}
		in.scriptOK[r.name] = r.ok
		n.refreshTracking(now, in)
		if in.pending == 0 && !in.started && !n.holding {
			in.started = true
			n.apply(ctx, now, in, in.m.Start(now), false)
		}
	}
}

// refreshTracking recomputes fault and effective priority from what the
// instance and its sync group track: interfaces, scripts, files and
// processes (keepalived's vrrp_track.c, track_file.c). Weight 0 means FAULT
// while the object is down (up, with reverse); a positive weight is added
// while it is up, a negative one while it is down, both negated with
// reverse. A tracked file adds its number × weight (negated with reverse),
// FAULT at -254 or below; with weight 0 any number but 0 is FAULT (0, with
// reverse). The instance's own interface down is FAULT unless
// dont_track_primary. The address owner's 255 never moves.
func (n *Node) refreshTracking(now time.Time, in *instance) {
	ifs := in.cfg.TrackInterfaces
	files := in.cfg.TrackFiles
	procs := in.cfg.TrackProcesses
	if g := in.group; g != nil {
		ifs = append(slices.Clip(ifs), g.cfg.TrackInterfaces...)
		files = append(slices.Clip(files), g.cfg.TrackFiles...)
		procs = append(slices.Clip(procs), g.cfg.TrackProcesses...)
	}
	for _, name := range append([]string{in.cfg.Interface}, trackNames(ifs)...) {
		if _, known := in.linkUp[name]; !known {
			up, err := n.net.Links.LinkUp(name)
			if err != nil {
				in.log.Warn("tracked interface", "interface", name, "err", err)
			}
			in.linkUp[name] = up
		}
	}
	var faults []string
	prio := in.cfg.Priority
	if !in.linkUp[in.cfg.Interface] && !in.cfg.DontTrackPrimary {
		faults = append(faults, in.cfg.Interface+" down")
	}
	add := func(what string, weight int, reverse, up bool) {
		fault, delta := trackedEffect(weight, reverse, up)
		if fault {
			faults = append(faults, what)
		}
		prio += delta
	}
	for _, ti := range ifs {
		add(ti.Name+" down", ti.Weight, ti.Reverse, in.linkUp[ti.Name])
	}
	for name, w := range in.scriptWeight {
		if ok, known := in.scriptOK[name]; known {
			add("script "+name+" failed", w, in.scriptRev[name], ok)
		}
	}
	for _, tp := range procs {
		add("process "+tp.Name+" without quorum", tp.Weight, tp.Reverse, n.procQuorum[tp.Name])
	}
	for _, tf := range files {
		fault, delta := fileEffect(tf, n.fileValue[tf.File])
		if fault {
			faults = append(faults, fmt.Sprintf("file %s holds %d", tf.Name, n.fileValue[tf.File]))
		}
		prio += delta
	}
	if in.cfg.Priority != 255 {
		prio = min(max(prio, 1), 254)
	} else {
		prio = 255
	}
	ctx := context.Background()
	n.apply(ctx, now, in, in.m.SetPriority(now, prio), false)
	reason := "tracking recovered"
	if len(faults) > 0 {
		reason = fmt.Sprint(faults)
	}
	n.apply(ctx, now, in, in.m.SetFault(now, len(faults) > 0, reason), false)
}

// trackedEffect is what a tracked interface, script or process does to
// its instance (vrrp_track.c): FAULT, or a priority change.
func trackedEffect(weight int, reverse, up bool) (fault bool, delta int) {
	mult := 1
	if reverse {
		mult = -1
	}
	switch {
	case weight == 0:
		return up == reverse, 0
	case weight > 0 && up, weight < 0 && !up:
		return false, weight * mult
	}
	return false, 0
}

// fileEffect is what a tracked file holding value does to its instance
// (track_file.c process_update_vrrp_track_file_status).
func fileEffect(tf hcl.TrackedFile, value int64) (fault bool, delta int) {
	if tf.Weight == 0 {
		return (value != 0) != tf.Reverse, 0
	}
	status := value * int64(tf.Weight)
	if tf.Reverse {
		status = -status
	}
	if status <= -254 {
		return true, 0
	}
	return false, int(min(status, 253))
}

func trackNames(ts []hcl.TrackInterface) []string {
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return names
}

// trackedWork is what the poller reads: the files and processes some
// instance or sync group of the configuration in force tracks.
type trackedWork struct {
	files []string
	procs []hcl.TrackProcess
	// quorum is each process's quorum as the node knows it when the
	// work is handed over (readTracked).
	quorum map[string]bool
}

// work lists the files and processes the configuration in force tracks.
func (n *Node) work() *trackedWork {
	w := &trackedWork{}
	files := map[string]bool{}
	procs := map[string]bool{}
	note := func(fs []hcl.TrackedFile, ps []hcl.TrackedProcess) {
		for _, f := range fs {
			files[f.File] = true
		}
		for _, p := range ps {
			procs[p.Name] = true
		}
	}
	for _, in := range n.insts {
		note(in.cfg.TrackFiles, in.cfg.TrackProcesses)
	}
	for _, g := range n.groups {
		note(g.cfg.TrackFiles, g.cfg.TrackProcesses)
	}
	for f := range files {
		w.files = append(w.files, f)
	}
	slices.Sort(w.files)
	for _, p := range n.cfg.TrackProcesses {
		if procs[p.Name] {
			w.procs = append(w.procs, p)
		}
	}
	return w
}

// readTracked reads every tracked file and counts every tracked process
// now, on Run's goroutine, so that instances start with what they track
// (keepalived reads them before its instances start).
func (n *Node) readTracked() {
	w := n.work()
	defer func() {
		w.quorum = maps.Clone(n.procQuorum)
		n.tracked.Store(w)
	}()
	for _, f := range w.files {
		if v, valid := trackfile.Read(f); valid {
			n.fileValue[f] = v
		}
	}
	if len(w.procs) > 0 {
		procs := readProcs(n.procRoot())
		for _, p := range w.procs {
			if _, known := n.procQuorum[p.Name]; !known {
				c := countProcesses(p, procs)
				n.procQuorum[p.Name] = c >= p.Quorum && c <= p.QuorumMax
			}
		}
	}
}

func (n *Node) procRoot() string {
	if n.opts.ProcRoot != "" {
		return n.opts.ProcRoot
	}
	return "/proc"
}

// pollTracked reads the tracked files and counts the tracked processes
// every hcl.ProcessPollInterval (keepalived watches files with inotify and
// processes with the proc connector) and posts what changed to the event
// loop. A process's quorum change counts once it has held for fork_delay
// (gained) or terminate_delay (lost).
func (n *Node) pollTracked(ctx context.Context) {
	files := map[string]int64{}
	type procState struct {
		quorum  bool      // as reported
		raw     bool      // as counted last
		rawFrom time.Time // since when raw
	}
	procs := map[string]*procState{}
	root := n.procRoot()
	t := n.clock.NewTimer(hcl.ProcessPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		t.Reset(hcl.ProcessPollInterval)
		w := n.tracked.Load()
		for _, f := range w.files {
			v, valid := trackfile.Read(f)
			if last, seen := files[f]; !valid || (seen && last == v) {
				continue
			}
			files[f] = v
			n.post(ctx, func(now time.Time) { n.fileChanged(now, f, v) })
		}
		if len(w.procs) == 0 {
			continue
		}
		list := readProcs(root)
		now := n.clock.Now()
		for _, p := range w.procs {
			c := countProcesses(p, list)
			raw := c >= p.Quorum && c <= p.QuorumMax
			st, ok := procs[p.Name]
			if !ok {
				known, seen := w.quorum[p.Name]
				st = &procState{quorum: known, raw: raw, rawFrom: now}
				procs[p.Name] = st
				if !seen {
					st.quorum = raw
					n.post(ctx, func(now time.Time) { n.processChanged(now, p.Name, raw) })
				}
			}
			if raw != st.raw {
				st.raw, st.rawFrom = raw, now
			}
			delay := p.TerminateDelay
			if raw {
				delay = p.ForkDelay
			}
			if raw != st.quorum && now.Sub(st.rawFrom) >= delay {
				st.quorum = raw
				n.post(ctx, func(now time.Time) { n.processChanged(now, p.Name, raw) })
			}
		}
	}
}

// fileChanged takes a tracked file's new number (Run's goroutine).
func (n *Node) fileChanged(now time.Time, path string, v int64) {
	if old, ok := n.fileValue[path]; ok && old == v {
		return
	}
	n.fileValue[path] = v
	for _, in := range n.insts {
		if in.tracksFile(path) {
			in.log.Info("tracked file changed", "file", path, "value", v)
			n.refreshTracking(now, in)
		}
	}
}

// processChanged takes a tracked process's quorum (Run's goroutine).
func (n *Node) processChanged(now time.Time, name string, quorum bool) {
	if old, ok := n.procQuorum[name]; ok && old == quorum {
		return
	}
	n.procQuorum[name] = quorum
	for _, in := range n.insts {
		if in.tracksProcess(name) {
			in.log.Info("tracked process changed", "process", name, "quorum", quorum)
			n.refreshTracking(now, in)
		}
	}
}

func (in *instance) tracksFile(path string) bool {
	has := func(fs []hcl.TrackedFile) bool {
		return slices.ContainsFunc(fs, func(f hcl.TrackedFile) bool { return f.File == path })
	}
	return has(in.cfg.TrackFiles) || (in.group != nil && has(in.group.cfg.TrackFiles))
}

func (in *instance) tracksProcess(name string) bool {
	has := func(ps []hcl.TrackedProcess) bool {
		return slices.ContainsFunc(ps, func(p hcl.TrackedProcess) bool { return p.Name == name })
	}
	return has(in.cfg.TrackProcesses) || (in.group != nil && has(in.group.cfg.TrackProcesses))
}

// seedInitFail marks the init_fail scripts an instance tracks as failed
// until they pass (keepalived's SCRIPT_INIT_STATE_FAILED), so the
// instance does not wait for their first result.
func (n *Node) seedInitFail(in *instance) {
	for _, s := range n.cfg.Scripts {
		if _, tracked := in.scriptWeight[s.Name]; !tracked || !s.InitFail {
			continue
		}
		if _, known := in.scriptOK[s.Name]; !known {
			in.scriptOK[s.Name] = false
			in.pending--
		}
	}
}
