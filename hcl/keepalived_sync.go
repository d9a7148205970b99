package hcl

import (
	"fmt"
	"net/netip"
	"strconv"
)

// lvsSyncDaemon reads keepalived's global_defs keyword
//
//	lvs_sync_daemon INTERFACE [VRRP_INSTANCE] [inst NAME] [id SYNC_ID]
//	    [maxlen LEN] [port PORT] [ttl TTL] [group ADDRESS]
//
// with keepalived's ranges (global_parser.c): id 0..255, maxlen
// 1..65507, port 1..65535, ttl 1..255, a multicast group. Without an
// instance both daemons run; with one, its mastership switches them and
// the sync id defaults to its virtual_router_id (finalize).
func (r *kaReader) lvsSyncDaemon(n *kaNode) {
	if !r.noBlock(n) {
		return
	}
	if len(n.args) < 1 {
		r.errf(n.pos, "invalid lvs_sync_daemon", "want INTERFACE [VRRP_INSTANCE] [id SYNC_ID] [maxlen LEN] [port PORT] [ttl TTL] [group ADDRESS]")
		return
	}
	s := LVSSyncDaemon{Enabled: true, Interface: n.args[0].text, SyncID: unsetSyncID, Pos: n.pos, Positions: positionsAt(n.pos, "interface")}
	args := n.args[1:]
	ranges := map[string][2]int{"id": {0, 255}, "maxlen": {1, 65507}, "port": {1, 65535}, "ttl": {1, 255}}
	for i := 0; i < len(args); i++ {
		word := args[i].text
		_, numeric := ranges[word]
		if !numeric && word != "inst" && word != "group" {
			if i == 0 {
				s.Instance = word
				s.Positions.Set("instance", n.pos)
				continue
			}
			r.errf(n.pos, "invalid lvs_sync_daemon", "unknown option %q: want inst, id, maxlen, port, ttl or group", word)
			return
		}
		if i+1 >= len(args) {
			r.errf(n.pos, "invalid lvs_sync_daemon", "%s needs a value", word)
			return
		}
		i++
		v := args[i].text
		switch word {
		case "inst":
			s.Instance = v
			s.Positions.Set("instance", n.pos)
		case "group":
			a, err := netip.ParseAddr(v)
			if err != nil || !a.IsMulticast() {
				r.errf(n.pos, "invalid lvs_sync_daemon group", "%q is not a multicast address", v)
				return
			}
			s.Group = a
			s.Positions.Set("group", n.pos)
		default:
			rg := ranges[word]
			x, err := strconv.Atoi(v)
			if err != nil || x < rg[0] || x > rg[1] {
				r.errf(n.pos, fmt.Sprintf("invalid lvs_sync_daemon %s", word), "%q: want %d..%d", v, rg[0], rg[1])
				return
			}
			s.Positions.Set(word, n.pos)
			switch word {
			case "id":
				s.SyncID = x
			case "maxlen":
				s.MaxLen = x
			case "port":
				s.Port = x
			case "ttl":
				s.TTL = x
			}
		}
	}
	r.cfg.Global.LVSSyncDaemon = s
}

// lvsSyncDaemonInterface reads the deprecated vrrp_instance keyword
// `lvs_sync_daemon_interface INTERFACE`, which keepalived 2 still takes,
// with a warning, as lvs_sync_daemon INTERFACE INSTANCE.
func (r *kaReader) lvsSyncDaemonInterface(n *kaNode, instance string) {
	v, ok := r.one(n)
	if !ok {
		return
	}
	r.warnf(n.pos, "lvs_sync_daemon_interface is deprecated", "read as lvs_sync_daemon %s %s in global_defs, as keepalived does", v, instance)
	if r.cfg.Global.LVSSyncDaemon.Enabled {
		return // lvs_sync_daemon in global_defs wins
	}
	r.cfg.Global.LVSSyncDaemon = LVSSyncDaemon{Enabled: true, Interface: v, Instance: instance, SyncID: unsetSyncID,
		Pos: n.pos, Positions: positionsAt(n.pos, "interface", "instance")}
}
