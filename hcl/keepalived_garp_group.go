package hcl

import (
	"fmt"
	"strconv"
	"strings"
)

// garpGroupMeaning is what lvsd does instead of a garp_group.
const garpGroupMeaning = "lvsd puts no delay between the gratuitous ARPs and NAs of different instances on an interface " +
	"(it ignores vrrp_garp_interval and vrrp_gna_interval alike); each instance still sends its garp_master_repeat " +
	"messages on becoming MASTER and its garp_master_refresh ones"

// garpGroup reads a keepalived.conf garp_group block as keepalived 2.2.7
// does (vrrp_parser.c garp_group_*_handler): garp_interval and
// gna_interval in seconds with up to 6 decimals, interface IF and
// interfaces { IF ... }; keepalived's configuration errors for a value
// that is not a number, an interface in two groups, an empty interfaces block and a
// group without any interval are lenient warnings; then one plain
// warning says what lvsd does instead (garpGroupMeaning). The interfaces'
// existence is not checked here. seen holds the interfaces of the groups
// read before, aggregation the number of groups with an interfaces block.
func (r *kaReader) garpGroup(n *kaNode, seen map[string]bool, aggregation *int) {
	if !r.block(n) {
		return
	}
	group := 0 // keepalived's aggregation_group: set by an interfaces block
	hasInterval := false
	interval := func(e *kaNode) {
		s := ""
		if len(e.args) > 0 {
			s = e.args[0].text
		}
		whole, frac, _ := strings.Cut(s, ".")
		_, err := strconv.ParseUint(whole, 10, 31)
		_, ferr := strconv.ParseUint("0"+frac, 10, 31)
		// keepalived 2.2.7 reports a value that is not a number and
		// still counts the interval as set (measured with -t).
		if s == "" || err != nil || ferr != nil || len(frac) > 6 {
			r.warnf(e.pos, fmt.Sprintf("invalid number '%s'", s), "garp_group %s: ignored, as keepalived does", e.name)
		}
		hasInterval = true
	}
	add := func(e *kaNode, ifname string) {
		if seen[ifname] {
			r.warnf(e.pos, fmt.Sprintf("garp_group already specified for %s - ignoring", ifname), "as keepalived does")
			return
		}
		seen[ifname] = true
	}
	for _, e := range n.block {
		switch e.name {
		case "garp_interval", "gna_interval":
			interval(e)
		case "interface":
			if v, ok := r.one(e); ok {
				add(e, v)
			}
		case "interfaces":
			if len(e.block) == 0 {
				r.warnf(e.pos, "Warning - empty garp_group interfaces block", "as keepalived reports it")
				continue
			}
			*aggregation++
			group = *aggregation
			for _, i := range e.block {
				add(i, i.name)
			}
		default:
			r.unknown(e, "garp_group")
		}
	}
	if !hasInterval {
		r.warnf(n.pos, fmt.Sprintf("garp group %d does not have any delay set - removing", group), "as keepalived does")
		return
	}
	r.notef(n.pos, "keyword garp_group is not supported by lvsd", "ignored: %s", garpGroupMeaning)
}
