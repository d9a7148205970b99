package hcl

// trackFileInit reads a track_file's init_file [VALUE] [overwrite] line
// (track_file_init.go has keepalived 2.2.7's rules); what keepalived
// reports and runs past is a lenient warning.
func (r *kaReader) trackFileInit(e *kaNode, f *TrackFile) {
	if !r.noBlock(e) {
		return
	}
	init, problems := parseTrackFileInit(f.Name, e.argText())
	for _, p := range problems {
		r.warnf(e.pos, p, "track_file %s, as keepalived reports it", f.Name)
	}
	f.Init = init
	f.Positions.Set("init_file", e.pos)
}
