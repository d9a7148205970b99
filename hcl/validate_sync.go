package hcl

import "slices"

// syncDaemon resolves and checks global's lvs_sync_daemon once the
// virtual servers know their owning instance.
//
// Without an lvs_sync_daemon block (HCL), sync is on when a vrrp_instance
// owns a virtual_server: the instance that owns the first one switches
// the daemons, on its interface, with its virtual_router_id as sync id.
// Written, the interface defaults to the instance's and the id to its
// virtual_router_id (0 without an instance).
func (v *validator) syncDaemon() {
	s := &v.cfg.Global.LVSSyncDaemon
	if !s.Enabled {
		*s = LVSSyncDaemon{}
		return
	}
	if s.Positions == (Positions{}) { // no block written: lvsd's default
		s.Enabled = false
		for _, vs := range v.cfg.VirtualServers {
			if vs.VRRPInstance != "" {
				s.Enabled, s.Instance = true, vs.VRRPInstance
				break
			}
		}
		if !s.Enabled {
			*s = LVSSyncDaemon{}
			return
		}
	}
	where := func(name string) Pos { return at(s.Positions, name, s.Pos) }
	var inst *VRRPInstance
	if s.Instance != "" {
		i := slices.IndexFunc(v.cfg.Instances, func(in VRRPInstance) bool { return in.Name == s.Instance })
		if i < 0 {
			if s.Positions == (Positions{}) {
				// lvsd's default, from a virtual server that names an
				// instance not defined: owner (validate.go) reports it
				// there, with its place.
				*s = LVSSyncDaemon{}
				return
			}
			v.diags.errorf(where("instance"), "unknown lvs_sync_daemon instance",
				"vrrp_instance %q is not defined.%s", s.Instance, suggest(s.Instance, keys(v.instanceNames())))
			return
		}
		inst = &v.cfg.Instances[i]
	}
	if s.Interface == "" && inst != nil {
		s.Interface = inst.Interface
	}
	if s.SyncID == unsetSyncID {
		s.SyncID = 0
		if inst != nil {
			s.SyncID = inst.VirtualRouterID
		}
	}
	if s.Interface == "" {
		v.diags.errorf(where("interface"), "lvs_sync_daemon without interface", "set interface, or instance to use its interface")
	} else if len(s.Interface) > 15 {
		v.diags.errorf(where("interface"), "invalid lvs_sync_daemon interface", "%q: at most 15 characters (IFNAMSIZ)", s.Interface)
	}
	for _, r := range []struct {
		name   string
		val    int
		lo, hi int
		zeroOK bool
	}{
		{"id", s.SyncID, 0, 255, true},
		{"maxlen", s.MaxLen, 1, 65507, true},
		{"port", s.Port, 1, 65535, true},
		{"ttl", s.TTL, 1, 255, true},
	} {
		if (r.val == 0 && r.zeroOK) || (r.val >= r.lo && r.val <= r.hi) {
			continue
		}
		v.diags.errorf(where(r.name), "invalid lvs_sync_daemon "+r.name, "%d: want %d..%d", r.val, r.lo, r.hi)
	}
	if s.Group.IsValid() && !s.Group.IsMulticast() {
		v.diags.errorf(where("group"), "invalid lvs_sync_daemon group", "%s is not a multicast address", s.Group)
	}
}
