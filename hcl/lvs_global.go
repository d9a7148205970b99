package hcl

import (
	"fmt"
	"strconv"
	"time"

	hcl2 "github.com/hashicorp/hcl/v2"
)

// LVSTimeouts are the kernel's IPVS connection timeouts (ipvsadm --set
// tcp tcpfin udp; IPVS_CMD_SET_CONFIG), which lvsd sets when it starts
// and on every reload, as keepalived's lvs_timeouts does. Zero leaves a
// timeout as the kernel has it ("not setting a value leaves it
// unchanged", keepalived.conf(5)).
type LVSTimeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// IsZero reports whether no timeout is set.
func (t LVSTimeouts) IsZero() bool { return t == LVSTimeouts{} }

// maxLVSTimeout is the largest timeout IPVS takes: ip_vs_ctl.c keeps
// them in jiffies as int, keepalived bounds them at LVS_MAX_TIMEOUT
// (86400 * 31 seconds).
const maxLVSTimeout = 86400 * 31 * time.Second

// What lvs_flush_on_stop removes from the IPVS table when lvsd stops
// (Global.LVSFlushOnStop). lvs_flush (Global.LVSFlush) removes, when lvsd
// starts, every service the configuration does not name: keepalived
// flushes the whole table there, lvsd keeps its own services and
// reconciles them, so their connections survive a restart; the table that
// results is the same.
const (
	// FlushOnStopNone (lvsd's default) removes only the services with
	// omega; everything else stays, so a restart drops no connection.
	FlushOnStopNone = ""
	// FlushOnStopServices removes every service the configuration names
	// (keepalived's `lvs_flush_on_stop VS`); foreign services stay.
	FlushOnStopServices = "VS"
	// FlushOnStopAll empties the whole IPVS table, foreign services too
	// (keepalived's bare `lvs_flush_on_stop`, IPVS_CMD_FLUSH).
	FlushOnStopAll = "ALL"
)

// validateLVSGlobal checks the global IPVS settings.
func (v *validator) validateLVSGlobal(g *Global) {
	where := func(attr string) Pos { return g.Positions.Where(attr, g.Pos) }
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"tcp", g.LVSTimeouts.TCP}, {"tcpfin", g.LVSTimeouts.TCPFin}, {"udp", g.LVSTimeouts.UDP}} {
		if t.d < 0 || t.d > maxLVSTimeout || t.d%time.Second != 0 {
			v.diags.errorf(where("lvs_timeouts"), "invalid lvs_timeouts", "%s %v: want whole seconds, 0 (unchanged) to %v", t.name, t.d, maxLVSTimeout)
		}
	}
	switch g.LVSFlushOnStop {
	case FlushOnStopNone, FlushOnStopServices, FlushOnStopAll:
	default:
		v.diags.errorf(where("lvs_flush_on_stop"), "invalid lvs_flush_on_stop", "%q: want \"VS\" (lvsd's services) or \"ALL\" (the whole table)", g.LVSFlushOnStop)
	}
}

// lvsGlobal reads keepalived's lvs_timeouts, lvs_flush and
// lvs_flush_on_stop (global_parser.c); it says whether c was one.
func (r *kaReader) lvsGlobal(c *kaNode) bool {
	g := &r.cfg.Global
	switch c.name {
	case "lvs_timeouts":
		if !r.noBlock(c) {
			return true
		}
		// lvs_timeouts_handler(): pairs of NAME SECONDS, at least one.
		args := c.argText()
		if len(args) == 0 || len(args)%2 != 0 {
			r.errf(c.pos, "invalid lvs_timeouts", "want [tcp SECS] [tcpfin SECS] [udp SECS]")
			return true
		}
		for i := 0; i < len(args); i += 2 {
			secs, err := strconv.ParseUint(args[i+1], 10, 32)
			if err != nil || time.Duration(secs)*time.Second > maxLVSTimeout {
				r.errf(c.pos, fmt.Sprintf("invalid lvs_timeouts %s value %q", args[i], args[i+1]), "want 0 to %d seconds", int(maxLVSTimeout/time.Second))
				continue
			}
			d := time.Duration(secs) * time.Second
			switch args[i] {
			case "tcp":
				g.LVSTimeouts.TCP = d
			case "tcpfin":
				g.LVSTimeouts.TCPFin = d
			case "udp":
				g.LVSTimeouts.UDP = d
			default:
				r.errf(c.pos, fmt.Sprintf("unknown lvs_timeouts timeout %q", args[i]), "want tcp, tcpfin or udp")
			}
		}
		g.Positions.Set(c.name, c.pos)
	case "lvs_flush":
		if r.none(c) {
			g.LVSFlush = true
			g.Positions.Set(c.name, c.pos)
		}
	case "lvs_flush_on_stop", "lvs_flush_onstop":
		if !r.noBlock(c) {
			return true
		}
		switch args := c.argText(); {
		case len(args) == 0:
			g.LVSFlushOnStop = FlushOnStopAll
		case len(args) == 1 && args[0] == "VS":
			g.LVSFlushOnStop = FlushOnStopServices
		default:
			r.errf(c.pos, "invalid lvs_flush_on_stop", "want no value (the whole table) or VS (keepalived's services)")
			return true
		}
		g.Positions.Set("lvs_flush_on_stop", c.pos)
	default:
		return false
	}
	return true
}

// lvsTimeouts reads global's lvs_timeouts block: tcp, tcpfin, udp as
// durations ("15m", "120s").
func (d *decoder) lvsTimeouts(b *hcl2.Block) {
	bl := d.openBlock(b, lvsTimeoutsSchema)
	g := &d.cfg.Global
	bl.duration("tcp", &g.LVSTimeouts.TCP)
	bl.duration("tcpfin", &g.LVSTimeouts.TCPFin)
	bl.duration("udp", &g.LVSTimeouts.UDP)
	g.Positions.Set("lvs_timeouts", bl.def)
}

// convertLVSGlobal writes lvs_flush, lvs_flush_on_stop and lvs_timeouts.
func convertLVSGlobal(b *hclBody, g Global) {
	setBool(b, "lvs_flush", g.LVSFlush)
	setStr(b, "lvs_flush_on_stop", g.LVSFlushOnStop)
	if g.LVSTimeouts.IsZero() {
		return
	}
	t := b.block("lvs_timeouts", nil)
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"tcp", g.LVSTimeouts.TCP}, {"tcpfin", g.LVSTimeouts.TCPFin}, {"udp", g.LVSTimeouts.UDP}} {
		if v.d != 0 {
			setDur(t, v.name, v.d)
		}
	}
}
