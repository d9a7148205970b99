package hcl

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// InterfaceDelay is one entry of keepalived 2.2.7's interface_up_down_delays
// block, `IF DOWN_DELAY [UP_DELAY]` (vrrp_parser.c alloc_if_up_down_delay):
// the VRRP side acts on IF going down only once it has been down for Down,
// on it coming up once it has been up for Up; a change back before then
// is forgotten (vrrp/linkdelay.go). Seconds, 0 to 255, with decimals.
type InterfaceDelay struct {
	Interface string
	Down, Up  time.Duration
}

// String is the entry as keepalived writes it, and the HCL list holds it.
func (d InterfaceDelay) String() string {
	return fmt.Sprintf("%s %s %s", d.Interface, strconv.FormatFloat(d.Down.Seconds(), 'f', -1, 64), strconv.FormatFloat(d.Up.Seconds(), 'f', -1, 64))
}

const maxInterfaceDelay = 255 * time.Second

// parseInterfaceDelay reads `IF DOWN [UP]` as keepalived 2.2.7 does; a
// problem is what keepalived logs (not a configuration error), and the
// entry is then skipped unless kept says otherwise.
func parseInterfaceDelay(fields []string) (d InterfaceDelay, kept bool, problem string) {
	d.Interface = fields[0]
	if len(fields) < 2 {
		return d, false, fmt.Sprintf("No timeouts specified for %s up/down delays", d.Interface)
	}
	if len(fields) > 3 {
		problem = fmt.Sprintf("Too many parameters for %s up/down delays", d.Interface)
	}
	var err error
	if d.Down, err = delaySeconds(fields[1]); err != nil {
		return d, false, fmt.Sprintf("Invalid down delay %s for %s", fields[1], d.Interface)
	}
	if len(fields) > 2 {
		if d.Up, err = delaySeconds(fields[2]); err != nil {
			return d, false, fmt.Sprintf("Invalid up delay %s for %s", fields[2], d.Interface)
		}
	}
	return d, true, problem
}

// delaySeconds reads seconds with up to 6 decimals, 0 to 255.
func delaySeconds(s string) (time.Duration, error) {
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseUint(whole, 10, 16)
	if err != nil || len(frac) > 6 {
		return 0, fmt.Errorf("invalid")
	}
	f := uint64(0)
	if frac != "" {
		if f, err = strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 32); err != nil {
			return 0, err
		}
	}
	d := time.Duration(w)*time.Second + time.Duration(f)*time.Microsecond
	if d > maxInterfaceDelay {
		return 0, fmt.Errorf("above 255")
	}
	return d, nil
}

// interfaceDelays reads keepalived.conf's top-level interface_up_down_delays
// block; what keepalived only logs is a plain warning.
func (r *kaReader) interfaceDelays(n *kaNode) {
	if !r.block(n) {
		return
	}
	for _, e := range n.block {
		d, kept, problem := parseInterfaceDelay(append([]string{e.name}, e.argText()...))
		if problem != "" {
			r.notef(e.pos, problem, "as keepalived logs it")
		}
		if kept {
			r.cfg.Global.InterfaceDelays = append(r.cfg.Global.InterfaceDelays, d)
		}
	}
}

// interfaceDelaysHCL reads the global attribute interface_up_down_delays =
// ["IF DOWN [UP]"]; HCL refuses what keepalived logs.
func (d *decoder) interfaceDelaysHCL(bl *block, g *Global) {
	list, ok := bl.strList("interface_up_down_delays")
	if !ok {
		return
	}
	for _, s := range list {
		f := strings.Fields(s)
		if len(f) == 0 {
			d.diags.errorf(bl.pos.Where("interface_up_down_delays", Pos{}), "invalid interface_up_down_delays", "an empty entry")
			continue
		}
		e, kept, problem := parseInterfaceDelay(f)
		if problem != "" || !kept {
			d.diags.errorf(bl.pos.Where("interface_up_down_delays", Pos{}), "invalid interface_up_down_delays", "%q: %s", s, problem)
			continue
		}
		g.InterfaceDelays = append(g.InterfaceDelays, e)
	}
}

// capInterfaceDelays limits each delay below the Master_Down_Interval of
// the instances on its interface, as keepalived 2.2.7 does
// (vrrp.c check_debounce_timers): at most (down_timer_adverts - 1) ×
// advert_int - advert_int/256, or a peer would take over before this
// director acted on its own interface going down.
func (v *validator) capInterfaceDelays() {
	g := &v.cfg.Global
	for i := range g.InterfaceDelays {
		d := &g.InterfaceDelays[i]
		for _, in := range v.cfg.Instances {
			if in.Interface != d.Interface || in.DownTimerAdverts <= 1 {
				continue
			}
			limit := time.Duration(in.DownTimerAdverts-1)*in.AdvertInt - in.AdvertInt/256
			for _, x := range []*time.Duration{&d.Down, &d.Up} {
				if *x >= limit {
					v.diags.warnf(at(g.Positions, "interface_up_down_delays", g.Pos), fmt.Sprintf("%s: up/down delay reduced to %v", d.Interface, limit),
						"vrrp_instance %s: the delay must stay below (down_timer_adverts - 1) × advert_int, as keepalived makes it", in.Name)
					*x = limit
				}
			}
		}
	}
}

// convertInterfaceDelays writes the list back.
func convertInterfaceDelays(b *hclBody, g Global) {
	var l []string
	for _, d := range g.InterfaceDelays {
		l = append(l, d.String())
	}
	setList(b, "interface_up_down_delays", l)
}
