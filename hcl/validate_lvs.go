package hcl

import "fmt"

// lvsOptions validates and completes what keepalived 2.2.7 has beyond
// lvsd's first vocabulary (lvs_timeouts, lvs_flush_on_stop, TUN's tunnel
// settings, persistence_engine, the SSL block, bind_if, regex options and
// offsets), the same for both readers.
func (v *validator) lvsOptions() {
	v.validateLVSGlobal(&v.cfg.Global) // lvs_global.go
	v.applySSL()                       // ssl.go
	for i := range v.cfg.VirtualServers {
		vs := &v.cfg.VirtualServers[i]
		where := func(attr string) Pos { return vs.Positions.Where(attr, vs.Pos) }
		if vs.LBKind != KindTUN && vs.Tunnel != (Tunnel{}) {
			v.diags.errorf(where("lb_kind"), "tunnel settings without TUN", "virtual_server %q", vs.Name)
		}
		if err := vs.Tunnel.validate(); err != nil {
			v.diags.errorf(where("lb_kind"), "invalid tunnel", "virtual_server %q: %v", vs.Name, err)
		}
		if ss := vs.SorryServer; ss != nil {
			// The sorry server's method defaults to the service's,
			// tunnel settings included.
			if set := vs.Positions.Has("sorry_server_lvs_method"); !set && ss.LBKind == vs.LBKind {
				ss.Tunnel = vs.Tunnel
			}
			if err := ss.Tunnel.validate(); err != nil {
				v.diags.errorf(where("sorry_server_lvs_method"), "invalid tunnel", "virtual_server %q: sorry server: %v", vs.Name, err)
			}
		}
		switch vs.PersistenceEngine {
		case "", "sip":
		default:
			v.diags.errorf(where("persistence_engine"), "invalid persistence_engine", "virtual_server %q: %q: the kernel's only persistence engine is sip", vs.Name, vs.PersistenceEngine)
		}
		for j := range vs.RealServers {
			for k := range vs.RealServers[j].Checkers {
				v.checkerOptions(vs, &vs.RealServers[j].Checkers[k])
			}
		}
	}
}

func (v *validator) checkerOptions(vs *VirtualServer, c *Checker) {
	label := fmt.Sprintf("virtual_server %q: %s", vs.Name, c.Kind)
	if len(c.BindIf) > 15 {
		v.diags.errorf(c.Positions.Where("bind_if", c.Pos), "invalid bind_if", "%s: interface name %q is longer than 15 characters", label, c.BindIf)
	}
	var urls []URL
	if h := c.HTTP(); h != nil {
		urls = h.URLs
	}
	for i := range urls {
		u := &urls[i]
		where := func(attr string) Pos { return u.Positions.Where(attr, u.Pos) }
		if u.RegexMinOffset < 0 || u.RegexMaxOffset < 0 {
			v.diags.errorf(where("regex_min_offset"), "invalid regex offset", "%s: regex offsets must not be negative", label)
		}
		if u.RegexMaxOffset > 0 && u.RegexMaxOffset < u.RegexMinOffset {
			v.diags.errorf(where("regex_max_offset"), "invalid regex_max_offset", "%s: regex_max_offset %d is below regex_min_offset %d", label, u.RegexMaxOffset, u.RegexMinOffset)
		}
		if u.Regex == "" && (len(u.RegexOptions) > 0 || u.RegexMinOffset > 0 || u.RegexMaxOffset > 0) {
			v.diags.warnf(where("regex_options"), "regex settings without regex", "%s: url %s has regex_options or offsets but no regex; they do nothing", label, u.Path)
		}
	}
}
