package hcl

import (
	"fmt"
	"strconv"
	"strings"
)

// TrackFileInit is a track_file's init_file [VALUE] [overwrite] (keepalived
// 2.2.7 track_file.c): lvsd writes VALUE (default 0) and a newline to the
// file as it starts, when the file is missing, or with Overwrite whatever
// it holds (never over something that is not a regular file, and never on
// a reload, where only a missing file is written). internal/trackfile
// writes it; `lvsd -t` writes nothing.
type TrackFileInit struct {
	Set       bool // init_file was written
	Value     int
	Overwrite bool
}

// String is the keyword's arguments as keepalived reads them, which the
// HCL attribute holds too: "VALUE" or "VALUE overwrite".
func (i TrackFileInit) String() string {
	if !i.Set {
		return ""
	}
	if i.Overwrite {
		return fmt.Sprintf("%d overwrite", i.Value)
	}
	return strconv.Itoa(i.Value)
}

// parseTrackFileInit reads init_file's arguments with keepalived 2.2.7's
// rules (track_file_init_handler): a word starting with a digit or '-' is
// the value (the last one wins; one that is not a whole number is reported
// and reads as 0; one outside -254..254 is reported and kept), "overwrite"
// sets Overwrite, any other word is reported and ignored. file is the
// track_file's name, for the messages.
func parseTrackFileInit(file string, args []string) (TrackFileInit, []string) {
	in := TrackFileInit{Set: true}
	var problems []string
	for _, w := range args {
		w = strings.TrimLeft(w, " \t")
		switch {
		case w != "" && (w[0] == '-' || w[0] >= '0' && w[0] <= '9'):
			v, err := strconv.ParseInt(w, 10, 32)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("Track file %s init value %s is invalid", file, w))
				v = 0
			case v < -maxTrackWeight || v > maxTrackWeight:
				problems = append(problems, fmt.Sprintf("Track file %s init value %d is outside sensible range [%d, %d]", file, v, -maxTrackWeight, maxTrackWeight))
			}
			in.Value = int(v)
		case w == "overwrite":
			in.Overwrite = true
		default:
			problems = append(problems, fmt.Sprintf("Unknown track file init option %s", w))
		}
	}
	return in, problems
}

// trackFileInit reads the HCL attribute init_file = "[VALUE] [overwrite]";
// HCL refuses what keepalived would report and run past.
func (d *decoder) trackFileInit(bl *block, f *TrackFile) {
	var s string
	if !bl.str("init_file", &s) {
		return
	}
	init, problems := parseTrackFileInit(f.Name, strings.Fields(s))
	for _, p := range problems {
		d.diags.errorf(bl.pos.Where("init_file", Pos{}), "invalid init_file", "track_file %q: %s", f.Name, p)
	}
	f.Init = init
}
