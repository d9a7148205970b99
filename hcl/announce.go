package hcl

import (
	"fmt"
	"math/big"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// AnnounceBGP is the protocol an announce block names: the only one.
const AnnounceBGP = "bgp"

// Announce is an `announce "bgp" {}` block: the VIPs of the virtual
// servers are announced to the upstream routers by BGP while their
// services meet their quorum (docs/cluster.md), announce only.
type Announce struct {
	Protocol string     // AnnounceBGP
	LocalAS  uint32     // local_as
	RouterID netip.Addr // router_id: an IPv4 address (RFC 4271 section 4.2, BGP Identifier)
	// Neighbors are the neighbor "ADDR" blocks, in file order.
	Neighbors []BGPNeighbor
	// Communities are RFC 1997 communities ("65000:100"), each as
	// ASN<<16 | value, attached to every announced route.
	Communities []uint32
	// MED is the MULTI_EXIT_DISC (RFC 4271 section 5.1.4) of every
	// announced route when HasMED.
	MED    uint32
	HasMED bool
	// MaintenanceFile, when set, withdraws every VIP while the file
	// exists, without stopping anything else (ExaBGP's healthcheck
	// --disable).
	MaintenanceFile string
	// DrainDelay is how long `lvsd drain` and SIGTERM keep the VIPs and
	// IPVS (and every check) after the routes are withdrawn, so that the
	// router moves the flows away before lvsd stops (drain_delay).
	DrainDelay time.Duration

	Pos       Pos
	Positions Positions
}

// BGPNeighbor is one neighbor "ADDR" block of an announce block.
type BGPNeighbor struct {
	Addr     netip.Addr
	RemoteAS uint32 // remote_as; equal to local_as makes an iBGP session
	// HoldTime and Keepalive are the session's timers (RFC 4271 section
	// 4.2 and 10): hold_time 0 or at least 3 s, keepalive below it.
	HoldTime  time.Duration
	Keepalive time.Duration
	Password  string // TCP MD5 signature (RFC 2385); empty means none
	BFD       bool   // a BFD session toward the neighbor (gobgp's)
	// BFDMinRx, BFDMinTx and BFDMultiplier are the BFD session's
	// Required Min RX Interval, Desired Min TX Interval and Detect Mult
	// (RFC 5880 section 4.1; keepalived's bfd_instance min_rx, min_tx,
	// multiplier): the router declares this director down after
	// BFDMultiplier intervals without a packet.
	BFDMinRx, BFDMinTx time.Duration
	BFDMultiplier      uint32

	Pos       Pos
	Positions Positions
}

var (
	announceSchema = blockSchema([]string{"local_as", "router_id", "communities", "med", "maintenance_file", "drain_delay"},
		hcl2.BlockHeaderSchema{Type: "neighbor", LabelNames: []string{"address"}})
	neighborSchema = blockSchema([]string{"remote_as", "hold_time", "keepalive", "password", "bfd", "bfd_min_rx", "bfd_min_tx", "bfd_multiplier"})
)

// announce reads an announce "bgp" block.
func (d *decoder) announce(b *hcl2.Block) {
	bl := d.openBlock(b, announceSchema)
	a := &Announce{Protocol: b.Labels[0], DrainDelay: defaultDrainDelay, Pos: bl.def, Positions: bl.pos}
	if d.cfg.Announce != nil {
		d.diags.errorf(a.Pos, "duplicate announce", "only one announce block is allowed; the first is at %s", d.cfg.Announce.Pos)
		return
	}
	if a.Protocol != AnnounceBGP {
		d.diags.errorf(a.Pos, "unknown announce protocol", "announce %q: the only protocol is %q", a.Protocol, AnnounceBGP)
	}
	bl.uint32("local_as", &a.LocalAS)
	bl.addr("router_id", &a.RouterID)
	if bl.uint32("med", &a.MED) {
		a.HasMED = true
	}
	bl.str("maintenance_file", &a.MaintenanceFile)
	bl.duration("drain_delay", &a.DrainDelay)
	if list, ok := bl.strList("communities"); ok {
		for _, c := range list {
			v, err := parseCommunity(c)
			if err != nil {
				d.diags.errorf(bl.pos.Where("communities", Pos{}), "invalid communities", "%q: %v", c, err)
				continue
			}
			a.Communities = append(a.Communities, v)
		}
	}
	for _, nb := range bl.inner {
		a.Neighbors = append(a.Neighbors, d.neighbor(nb))
	}
	d.cfg.Announce = a
}

func (d *decoder) neighbor(b *hcl2.Block) BGPNeighbor {
	bl := d.openBlock(b, neighborSchema)
	n := BGPNeighbor{HoldTime: defaultBGPHoldTime, BFDMinRx: defaultBFDInterval, BFDMinTx: defaultBFDInterval, BFDMultiplier: defaultBFDMultiplier, Pos: bl.def, Positions: bl.pos}
	if a, err := netip.ParseAddr(b.Labels[0]); err != nil {
		d.diags.errorf(n.Pos, "invalid neighbor", "neighbor %q is not an IP address", b.Labels[0])
	} else {
		n.Addr = a
	}
	bl.uint32("remote_as", &n.RemoteAS)
	bl.duration("hold_time", &n.HoldTime)
	if !bl.duration("keepalive", &n.Keepalive) {
		n.Keepalive = (n.HoldTime / 3).Truncate(time.Second) // RFC 4271 section 10: one third of the hold time
	}
	bl.str("password", &n.Password)
	bl.boolean("bfd", &n.BFD)
	bl.duration("bfd_min_rx", &n.BFDMinRx)
	bl.duration("bfd_min_tx", &n.BFDMinTx)
	bl.uint32("bfd_multiplier", &n.BFDMultiplier)
	return n
}

// convertAnnounce writes an announce block for ConvertToHCL.
func convertAnnounce(b *hclBody, a *Announce) {
	setInt(b, "local_as", int(a.LocalAS))
	setStr(b, "router_id", a.RouterID.String())
	var communities []string
	for _, c := range a.Communities {
		communities = append(communities, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
	}
	setList(b, "communities", communities)
	if a.HasMED {
		setInt(b, "med", int(a.MED))
	}
	setStr(b, "maintenance_file", a.MaintenanceFile)
	setDur(b, "drain_delay", a.DrainDelay)
	for _, n := range a.Neighbors {
		nb := b.block("neighbor", []string{n.Addr.String()})
		setInt(nb, "remote_as", int(n.RemoteAS))
		setDur(nb, "hold_time", n.HoldTime)
		setDur(nb, "keepalive", n.Keepalive)
		setStr(nb, "password", n.Password)
		setBool(nb, "bfd", n.BFD)
		if n.BFD {
			setDur(nb, "bfd_min_rx", n.BFDMinRx)
			setDur(nb, "bfd_min_tx", n.BFDMinTx)
			setInt(nb, "bfd_multiplier", int(n.BFDMultiplier))
		}
	}
}

// uint32 reads a whole number in 0..4294967295 (an AS number, a MED).
func (b *block) uint32(name string, dst *uint32) bool {
	v, ok := b.value(name, cty.Number)
	if !ok {
		return false
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != big.Exact || n < 0 || n > 1<<32-1 {
		b.d.diags.errorf(b.pos.Where(name, Pos{}), fmt.Sprintf("invalid %s", name), "%s must be a whole number in 0..4294967295, got %s", name, v.AsBigFloat().Text('g', 10))
		return false
	}
	*dst = uint32(n)
	return true
}

// parseCommunity reads an RFC 1997 community written "ASN:VALUE".
func parseCommunity(s string) (uint32, error) {
	hi, lo, ok := strings.Cut(s, ":")
	if !ok {
		return 0, fmt.Errorf("a community is written ASN:VALUE")
	}
	a, err1 := strconv.ParseUint(hi, 10, 16)
	v, err2 := strconv.ParseUint(lo, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("both halves of a community are numbers in 0..65535")
	}
	return uint32(a)<<16 | uint32(v), nil
}

// announceBlock validates the announce block: local_as and router_id set,
// at least one neighbor, each once, with a remote_as and RFC 4271's
// timers, and a virtual server with an address to announce.
func (v *validator) announceBlock() {
	a := v.cfg.Announce
	if a == nil {
		return
	}
	if a.LocalAS == 0 {
		v.diags.errorf(at(a.Positions, "local_as", a.Pos), "invalid local_as", "announce %q: local_as must be set (1..4294967295)", a.Protocol)
	}
	if !a.RouterID.Is4() {
		v.diags.errorf(at(a.Positions, "router_id", a.Pos), "invalid router_id", "announce %q: router_id must be an IPv4 address (RFC 4271 section 4.2, BGP Identifier)", a.Protocol)
	}
	if a.MaintenanceFile != "" && !filepath.IsAbs(a.MaintenanceFile) {
		v.diags.errorf(at(a.Positions, "maintenance_file", a.Pos), "invalid maintenance_file", "announce %q: maintenance_file %q must be an absolute path", a.Protocol, a.MaintenanceFile)
	}
	if len(a.Neighbors) == 0 {
		v.diags.errorf(a.Pos, "no neighbor", "announce %q: at least one neighbor \"ADDR\" {} block is needed", a.Protocol)
	}
	seen := map[netip.Addr]Pos{}
	for _, n := range a.Neighbors {
		where := func(name string) Pos { return at(n.Positions, name, n.Pos) }
		if prev, dup := seen[n.Addr]; dup && n.Addr.IsValid() {
			v.diags.errorf(n.Pos, "duplicate neighbor", "neighbor %s is also defined at %s", n.Addr, prev)
		}
		seen[n.Addr] = n.Pos
		if n.RemoteAS == 0 {
			v.diags.errorf(where("remote_as"), "invalid remote_as", "neighbor %s: remote_as must be set (1..4294967295)", n.Addr)
		}
		if n.HoldTime%time.Second != 0 || (n.HoldTime != 0 && n.HoldTime < 3*time.Second) || n.HoldTime > 65535*time.Second {
			v.diags.errorf(where("hold_time"), "invalid hold_time", "neighbor %s: hold_time %s must be 0 or whole seconds in 3..65535 (RFC 4271 section 4.2)", n.Addr, n.HoldTime)
		} else if n.Keepalive%time.Second != 0 || (n.HoldTime != 0 && (n.Keepalive == 0 || n.Keepalive >= n.HoldTime)) {
			v.diags.errorf(where("keepalive"), "invalid keepalive", "neighbor %s: keepalive %s must be whole seconds, more than 0 and less than hold_time %s (RFC 4271 section 10)", n.Addr, n.Keepalive, n.HoldTime)
		}
		for _, t := range []struct {
			name string
			d    time.Duration
		}{{"bfd_min_rx", n.BFDMinRx}, {"bfd_min_tx", n.BFDMinTx}} {
			if t.d < 10*time.Millisecond || t.d > 10*time.Second || t.d%time.Millisecond != 0 {
				v.diags.errorf(where(t.name), "invalid "+t.name, "neighbor %s: %s %s must be whole milliseconds in 10ms..10s", n.Addr, t.name, t.d)
			}
		}
		if n.BFDMultiplier < 1 || n.BFDMultiplier > 255 {
			v.diags.errorf(where("bfd_multiplier"), "invalid bfd_multiplier", "neighbor %s: bfd_multiplier %d must be in 1..255 (RFC 5880 section 4.1, Detect Mult)", n.Addr, n.BFDMultiplier)
		}
		if len(n.Password) > 80 {
			v.diags.errorf(where("password"), "invalid password", "neighbor %s: password is longer than the kernel's TCP MD5 key (80 bytes)", n.Addr)
		}
	}
	for _, vs := range v.cfg.VirtualServers {
		if vs.Addr.IsValid() {
			return
		}
	}
	v.diags.errorf(a.Pos, "nothing to announce", "announce %q: no virtual_server has an address to announce", a.Protocol)
}
