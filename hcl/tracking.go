package hcl

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The tracked objects of VRRP instances and sync groups beyond interfaces
// and scripts: track_file (a file holding a number, shared with
// FILE_CHECK) and vrrp_track_process (a count of running processes), and
// the references instances and sync groups make to them.

// TrackedFile is an instance's (or sync group's) track_file entry:
// "NAME [weight N [reverse]]". Weight and Reverse are final: the entry's
// own when written, else the track_file block's. File is the block's
// path (resolved by validation).
type TrackedFile struct {
	Name       string
	File       string
	Weight     int
	Reverse    bool
	WeightSet  bool
	ReverseSet bool
}

// TrackedProcess is an instance's (or sync group's) track_process entry:
// "NAME [weight N [reverse]]"; Weight and Reverse are final, as for
// TrackedFile.
type TrackedProcess struct {
	Name       string
	Weight     int
	Reverse    bool
	WeightSet  bool
	ReverseSet bool
}

// Process param_match values (keepalived's vrrp_track_process).
const (
	ParamMatchNone    = ""        // the name only
	ParamMatchExact   = "exact"   // the name and exactly these arguments
	ParamMatchPartial = "partial" // the name and arguments starting with these
	ParamMatchInitial = "initial" // as partial, the last argument a prefix
)

// TrackProcess is a vrrp_track_process block: the processes named Process
// (its comm, or its argv[0] with FullCommand; Params its arguments when
// ParamMatch says how to compare them) have quorum while between Quorum
// and QuorumMax of them run. A gained quorum counts after ForkDelay, a
// lost one after TerminateDelay. lvsd reads /proc every ProcessPollInterval
// (keepalived listens to the kernel's process connector instead).
type TrackProcess struct {
	Name           string
	Process        string
	Params         []string
	ParamMatch     string
	FullCommand    bool
	Quorum         int // default 1
	QuorumMax      int // default 65535 (no upper bound)
	ForkDelay      time.Duration
	TerminateDelay time.Duration
	Weight         int // -254..254, default 0 (FAULT without quorum)
	Reverse        bool
	Pos            Pos
	Positions      Positions
}

// ProcessPollInterval is how often lvsd counts the processes of a
// vrrp_track_process.
const ProcessPollInterval = time.Second

const maxTrackWeight = 254 // track_file.c, vrrp_track_process: -254..254

// trackEntrySpec is one parsed track_* entry.
type trackEntrySpec struct {
	name                  string
	weight                int
	weightSet, reverseSet bool
	reverse               bool
}

// parseTrackEntry reads "NAME [weight N [reverse|noreverse]]", the entry
// of every track_* list (HCL strings and keepalived.conf lines alike);
// lo..hi bound the weight. An entry without reverse or noreverse takes
// its block's direction (vrrp_track.c alloc_track_script).
func parseTrackEntry(s string, lo, hi int) (trackEntrySpec, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1:
		return trackEntrySpec{name: f[0]}, nil
	case (len(f) == 3 || len(f) == 4) && f[1] == "weight":
		w, err := strconv.Atoi(f[2])
		if err != nil || w < lo || w > hi {
			return trackEntrySpec{}, fmt.Errorf("%q: weight must be a whole number from %d to %d", s, lo, hi)
		}
		e := trackEntrySpec{name: f[0], weight: w, weightSet: true}
		if len(f) == 4 {
			switch f[3] {
			case "reverse":
				e.reverse, e.reverseSet = true, true
			case "noreverse":
				e.reverseSet = true
			default:
				return trackEntrySpec{}, fmt.Errorf("%q: after the weight, want reverse, noreverse or nothing", s)
			}
		}
		return e, nil
	}
	return trackEntrySpec{}, fmt.Errorf("%q: want \"NAME\", \"NAME weight N\" or \"NAME weight N reverse\"", s)
}

// add appends the entry to the list of kind (track_interface, ...).
func (e trackEntrySpec) add(kind string, t kaTracking) {
	switch kind {
	case "track_interface":
		*t.ifs = append(*t.ifs, TrackInterface{Name: e.name, Weight: e.weight, Reverse: e.reverse})
	case "track_script":
		*t.scripts = append(*t.scripts, TrackScript{Name: e.name, Weight: e.weight, WeightSet: e.weightSet, Reverse: e.reverse, ReverseSet: e.reverseSet})
	case "track_file":
		*t.files = append(*t.files, TrackedFile{Name: e.name, Weight: e.weight, WeightSet: e.weightSet, Reverse: e.reverse, ReverseSet: e.reverseSet})
	case "track_process":
		*t.procs = append(*t.procs, TrackedProcess{Name: e.name, Weight: e.weight, WeightSet: e.weightSet, Reverse: e.reverse, ReverseSet: e.reverseSet})
	}
}

// trackProcesses checks the vrrp_track_process blocks.
func (v *validator) trackProcesses() {
	seen := map[string]bool{}
	for _, p := range v.cfg.TrackProcesses {
		where := func(a string) Pos { return at(p.Positions, a, p.Pos) }
		if seen[p.Name] {
			v.diags.errorf(p.Pos, "duplicate vrrp_track_process", "vrrp_track_process %q is defined twice", p.Name)
		}
		seen[p.Name] = true
		if p.Process == "" {
			v.diags.errorf(p.Pos, "missing process", "vrrp_track_process %q needs process", p.Name)
		}
		if p.Weight < -maxTrackWeight || p.Weight > maxTrackWeight {
			v.diags.errorf(where("weight"), "invalid weight", "vrrp_track_process %q: weight %d is outside -254..254", p.Name, p.Weight)
		}
		if p.Quorum < 0 || p.QuorumMax < p.Quorum || p.QuorumMax > defaultProcessQuorumMax {
			v.diags.errorf(where("quorum"), "invalid quorum", "vrrp_track_process %q: want 0 <= quorum <= quorum_max <= 65535", p.Name)
		}
		switch p.ParamMatch {
		case ParamMatchNone, ParamMatchExact, ParamMatchPartial, ParamMatchInitial:
		default:
			v.diags.errorf(where("param_match"), "invalid param_match", "vrrp_track_process %q: %q: want exact, partial or initial", p.Name, p.ParamMatch)
		}
		for _, d := range []struct {
			attr string
			d    time.Duration
		}{{"fork_delay", p.ForkDelay}, {"terminate_delay", p.TerminateDelay}} {
			if d.d < 0 || d.d > time.Hour {
				v.diags.errorf(where(d.attr), "invalid "+d.attr, "vrrp_track_process %q: %s must be 0..3600 seconds", p.Name, d.attr)
			}
		}
	}
}

// trackedObjects resolves and checks the track_file and track_process
// entries of an instance or sync group (owner names it in messages): each
// names a block that exists, once; Weight and Reverse come from the
// block unless the entry sets them; File is the block's path.
func (v *validator) trackedObjects(owner string, positions Positions, def Pos, files *[]TrackedFile, procs *[]TrackedProcess) {
	*files = resolveTracked(v, trackedKind[TrackFile]{
		owner: owner, at: at(positions, "track_file", def), noun: "file",
		unknown: "unknown track_file", repeat: "duplicate track_file",
		repeatNote: " (keepalived: duplicate track_file - ignoring)",
		blocks:     v.cfg.TrackFiles, blockName: func(b TrackFile) string { return b.Name },
	}, *files, func(t *TrackedFile, b TrackFile) {
		t.File = b.File
		inheritTrack(&t.Weight, &t.Reverse, t.WeightSet, t.ReverseSet, b.Weight, b.Reverse)
	})
	*procs = resolveTracked(v, trackedKind[TrackProcess]{
		owner: owner, at: at(positions, "track_process", def), noun: "process",
		unknown: "unknown vrrp_track_process", repeat: "duplicate track_process",
		blocks: v.cfg.TrackProcesses, blockName: func(b TrackProcess) string { return b.Name },
	}, *procs, func(t *TrackedProcess, b TrackProcess) {
		inheritTrack(&t.Weight, &t.Reverse, t.WeightSet, t.ReverseSet, b.Weight, b.Reverse)
	})
}

// trackedKind is one kind of block an instance or sync group tracks by
// name (track_file, vrrp_track_process), as resolveTracked reports on it.
type trackedKind[B any] struct {
	owner      string // the instance or sync group, as messages name it
	at         Pos    // its list's position
	noun       string // "tracks file %q"; empty for a vrrp_script ("tracks %q")
	unknown    string // the summary of a name no block defines
	repeat     string // the summary of a name listed twice
	repeatNote string // after the repeat's detail: keepalived's own message, where it logs one
	blocks     []B
	blockName  func(B) string
}

// resolveTracked keeps the entries that name a block of kind k, each
// once: a name no block defines is an error that suggests the nearest
// one, a repeat a warning (the first entry is kept, as keepalived keeps
// it). resolve completes a kept entry from the block it names.
func resolveTracked[E interface{ trackedName() string }, B any](v *validator, k trackedKind[B], entries []E, resolve func(*E, B)) []E {
	names := make([]string, len(k.blocks))
	for i, b := range k.blocks {
		names[i] = k.blockName(b)
	}
	candidates := slices.Compact(slices.Sorted(slices.Values(names)))
	seen := map[string]bool{}
	kept := entries[:0]
	for _, e := range entries {
		name := e.trackedName()
		object := fmt.Sprintf("%q", name)
		if k.noun != "" {
			object = k.noun + " " + object
		}
		i := slices.Index(names, name)
		switch {
		case i < 0:
			v.diags.errorf(k.at, k.unknown, "%s tracks %s, which is not defined.%s", k.owner, object, suggest(name, candidates))
			continue
		case seen[name]:
			v.diags.warnf(k.at, k.repeat, "%s tracks %s twice; the first is used%s", k.owner, object, k.repeatNote)
			continue
		}
		seen[name] = true
		resolve(&e, k.blocks[i])
		kept = append(kept, e)
	}
	return kept
}

func (t TrackScript) trackedName() string    { return t.Name }
func (t TrackedFile) trackedName() string    { return t.Name }
func (t TrackedProcess) trackedName() string { return t.Name }

// inheritTrack gives an entry its block's weight and direction where the
// entry does not write its own (vrrp_track.c alloc_track_script).
func inheritTrack(weight *int, reverse *bool, weightSet, reverseSet bool, blockWeight int, blockReverse bool) {
	if !weightSet {
		*weight = blockWeight
	}
	if !reverseSet {
		*reverse = blockReverse
	}
}

// syncGroupTracking checks the tracking a sync group adds to its members
// and resolves its track_script weights.
func (v *validator) syncGroupTracking() {
	scripts := map[string]*VRRPScript{}
	for i := range v.cfg.Scripts {
		if _, dup := scripts[v.cfg.Scripts[i].Name]; !dup {
			scripts[v.cfg.Scripts[i].Name] = &v.cfg.Scripts[i]
		}
	}
	for i := range v.cfg.SyncGroups {
		g := &v.cfg.SyncGroups[i]
		owner := fmt.Sprintf("vrrp_sync_group %q", g.Name)
		v.trackedObjects(owner, g.Positions, g.Pos, &g.TrackFiles, &g.TrackProcesses)
		where := at(g.Positions, "track_script", g.Pos)
		kept := g.TrackScripts[:0]
		for _, ts := range g.TrackScripts {
			s, ok := scripts[ts.Name]
			if !ok {
				v.diags.errorf(where, "unknown vrrp_script", "%s tracks %q, which is not defined", owner, ts.Name)
				continue
			}
			inheritTrack(&ts.Weight, &ts.Reverse, ts.WeightSet, ts.ReverseSet, s.Weight, s.Reverse)
			kept = append(kept, ts)
		}
		g.TrackScripts = kept
	}
}
