package hcl

import "fmt"

// dynamicInterfacesMeaning is what lvsd does with interfaces that come and
// go, said where keepalived.conf sets dynamic_interfaces (measured with
// the lvsd binary in a namespace: a veth deleted and re-created under a
// MASTER).
const dynamicInterfacesMeaning = "lvsd follows its interfaces going down and up (an instance is in FAULT while its interface, " +
	"or one it tracks, is down or missing, and comes back when it is up), but it needs each instance's own interface at start " +
	"(it stops, as keepalived without dynamic_interfaces does), and an interface deleted and re-created is not bound again: " +
	"its instances stay without adverts until lvsd is restarted"

// dynamicInterfaces reads keepalived 2.2.7's global_defs
// `dynamic_interfaces [allow_if_changes]` (global_parser.c): a plain
// warning saying what lvsd does instead, and keepalived's configuration
// error for another option. It says whether c was the keyword.
func (r *kaReader) dynamicInterfaces(c *kaNode) bool {
	if c.name != "dynamic_interfaces" {
		return false
	}
	if !r.noBlock(c) {
		return true
	}
	if len(c.args) > 0 && c.args[0].text != "allow_if_changes" {
		r.warnf(c.pos, fmt.Sprintf("Unknown dynamic_interfaces option '%s'", c.args[0].text), "ignored, as keepalived does")
	}
	r.notef(c.pos, "keyword dynamic_interfaces is not supported by lvsd", "ignored: %s", dynamicInterfacesMeaning)
	return true
}
