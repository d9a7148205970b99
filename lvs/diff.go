package lvs

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvsd/lvsd/hcl"
)

// OpKind is what an operation does.
type OpKind uint8

// Operation kinds.
const (
	OpAddService OpKind = iota + 1
	OpEditService
	OpDeleteService
	OpAddDestination
	OpEditDestination
	OpDeleteDestination
)

func (k OpKind) String() string {
	switch k {
	case OpAddService:
		return "add service"
	case OpEditService:
		return "edit service"
	case OpDeleteService:
		return "delete service"
	case OpAddDestination:
		return "add destination"
	case OpEditDestination:
		return "edit destination"
	case OpDeleteDestination:
		return "delete destination"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one IPVS command.
type Op struct {
	Kind OpKind
	// Service is the service acted on (without destinations); for an
	// edit, its new settings.
	Service Service
	// Destination is the destination of destination operations; for an
	// edit, its new settings.
	Destination Destination
	// Prev holds the old settings of an edited service, PrevDestination
	// those of an edited destination; nil otherwise.
	Prev            *Service
	PrevDestination *Destination
}

// String renders the operation the way `lvsd plan` prints it:
// "+ add service TCP 192.0.2.100:80 wlc",
// "~ edit destination 10.0.0.1:80 of TCP 192.0.2.100:80: weight 1 -> 3".
func (op Op) String() string {
	s, d := &op.Service, &op.Destination
	switch op.Kind {
	case OpAddService:
		return "+ add service " + s.label() + " " + serviceSettings(s)
	case OpEditService:
		if op.Prev == nil {
			return "~ edit service " + s.label() + " " + serviceSettings(s)
		}
		return "~ edit service " + s.label() + ": " + serviceChanges(op.Prev, s)
	case OpDeleteService:
		return "- delete service " + s.label()
	case OpAddDestination:
		return fmt.Sprintf("+ add destination %s to %s %s", d.Addr, s.label(), destinationSettings(d))
	case OpEditDestination:
		if op.PrevDestination == nil {
			return fmt.Sprintf("~ edit destination %s of %s %s", d.Addr, s.label(), destinationSettings(d))
		}
		return fmt.Sprintf("~ edit destination %s of %s: %s", d.Addr, s.label(), destinationChanges(op.PrevDestination, d))
	case OpDeleteDestination:
		return fmt.Sprintf("- delete destination %s of %s", d.Addr, s.label())
	}
	return op.Kind.String()
}

func serviceSettings(s *Service) string {
	out := s.Scheduler
	if s.Flags&FlagPersistent != 0 {
		out += fmt.Sprintf(" persistent %ds netmask /%d", s.Timeout, s.Netmask)
	}
	if f := s.Flags &^ FlagPersistent & userFlags; f != 0 {
		out += " flags " + f.String()
	}
	if s.PEName != "" {
		out += " pe " + s.PEName
	}
	return out
}

func serviceChanges(old, s *Service) string {
	var ch []string
	if old.Scheduler != s.Scheduler {
		ch = append(ch, fmt.Sprintf("scheduler %s -> %s", old.Scheduler, s.Scheduler))
	}
	if old.Flags&userFlags != s.Flags&userFlags {
		ch = append(ch, fmt.Sprintf("flags %s -> %s", old.Flags&userFlags, s.Flags&userFlags))
	}
	if old.Timeout != s.Timeout {
		ch = append(ch, fmt.Sprintf("persistence timeout %ds -> %ds", old.Timeout, s.Timeout))
	}
	if old.Netmask != s.Netmask {
		ch = append(ch, fmt.Sprintf("netmask /%d -> /%d", old.Netmask, s.Netmask))
	}
	if old.PEName != s.PEName {
		ch = append(ch, fmt.Sprintf("pe %q -> %q", old.PEName, s.PEName))
	}
	return strings.Join(ch, ", ")
}

func destinationSettings(d *Destination) string {
	out := fmt.Sprintf("%s weight %d", d.Forward, d.Weight)
	if d.UpperThreshold != 0 {
		out += fmt.Sprintf(" uthreshold %d", d.UpperThreshold)
	}
	if d.LowerThreshold != 0 {
		out += fmt.Sprintf(" lthreshold %d", d.LowerThreshold)
	}
	if d.Tunnel != (Tunnel{}) {
		out += " tunnel " + d.Tunnel.String()
	}
	return out
}

func destinationChanges(old, d *Destination) string {
	var ch []string
	if old.Forward != d.Forward && old.Forward != ForwardLocal && d.Forward != ForwardLocal {
		ch = append(ch, fmt.Sprintf("forward %s -> %s", old.Forward, d.Forward))
	}
	if old.Weight != d.Weight {
		ch = append(ch, fmt.Sprintf("weight %d -> %d", old.Weight, d.Weight))
	}
	if old.UpperThreshold != d.UpperThreshold {
		ch = append(ch, fmt.Sprintf("uthreshold %d -> %d", old.UpperThreshold, d.UpperThreshold))
	}
	if old.LowerThreshold != d.LowerThreshold {
		ch = append(ch, fmt.Sprintf("lthreshold %d -> %d", old.LowerThreshold, d.LowerThreshold))
	}
	if old.Tunnel != d.Tunnel {
		ch = append(ch, fmt.Sprintf("tunnel %q -> %q", old.Tunnel.String(), d.Tunnel.String()))
	}
	return strings.Join(ch, ", ")
}

// diff returns the operations that turn current into desired, touching
// only services for which owns returns true (services in desired must be
// owned). Nothing that is already right is touched.
//
// Order: new services are added and changed services edited first, then
// destinations are added and edited, then destinations deleted, then
// services deleted. So a service exists before its destinations, a
// destination is deleted before its service, and a pool whose members are
// swapped (sorry server in, real servers out) is never empty in between.
func diff(desired, current Table, owns func(key string) bool) []Op {
	cur := make(map[serviceID]*Service, len(current))
	for i := range current {
		cur[current[i].id()] = &current[i]
	}
	des := make(map[serviceID]bool, len(desired))
	capacity := 16
	if len(current) == 0 {
		capacity = desired.Objects()
	}
	ops := make([]Op, 0, capacity)

	// 1. services: add, edit.
	for i := range desired {
		d := &desired[i]
		des[d.id()] = true
		if c := cur[d.id()]; c == nil {
			ops = append(ops, Op{Kind: OpAddService, Service: d.withoutDestinations()})
		} else if !d.settingsEqual(c) {
			prev := c.withoutDestinations()
			ops = append(ops, Op{Kind: OpEditService, Service: d.withoutDestinations(), Prev: &prev})
		}
	}
	// 2. destinations: add, edit; 3. destinations of kept services: delete.
	for _, deleting := range []bool{false, true} {
		for i := range desired {
			d := &desired[i]
			svc := d.withoutDestinations()
			var have []Destination
			if c := cur[d.id()]; c != nil {
				have = sortedDestinations(c.Destinations)
			}
			want := sortedDestinations(d.Destinations)
			if !deleting && orderDependent(d.Scheduler) {
				var listed []Destination
				if c := cur[d.id()]; c != nil {
					listed = c.Destinations
				}
				ops = appendCanonicalDestinationOps(ops, &svc, want, listed)
				continue
			}
			ops = appendDestinationOps(ops, &svc, want, have, deleting)
		}
	}
	// 3. destinations of removed services: delete; 4. the services.
	for _, services := range []bool{false, true} {
		for i := range current {
			c := &current[i]
			if des[c.id()] || !owns(c.Key()) {
				continue
			}
			svc := c.withoutDestinations()
			if services {
				ops = append(ops, Op{Kind: OpDeleteService, Service: svc})
				continue
			}
			for _, dst := range c.Destinations {
				ops = append(ops, Op{Kind: OpDeleteDestination, Service: svc, Destination: dst})
			}
		}
	}
	if len(ops) == 0 {
		return nil
	}
	return ops
}

// appendDestinationOps walks want and have, both sorted by address, side
// by side, and appends the adds and edits, or (deleting) the deletes.
func appendDestinationOps(ops []Op, svc *Service, want, have []Destination, deleting bool) []Op {
	for len(want) > 0 || len(have) > 0 {
		var order int
		switch {
		case len(want) == 0:
			order = 1
		case len(have) == 0:
			order = -1
		default:
			order = want[0].Addr.Compare(have[0].Addr)
		}
		switch {
		case order < 0:
			if !deleting {
				ops = append(ops, Op{Kind: OpAddDestination, Service: *svc, Destination: want[0]})
			}
			want = want[1:]
		case order > 0:
			if deleting {
				ops = append(ops, Op{Kind: OpDeleteDestination, Service: *svc, Destination: have[0]})
			}
			have = have[1:]
		default:
			if !deleting && !want[0].settingsEqual(&have[0]) {
				prev := have[0]
				ops = append(ops, Op{Kind: OpEditDestination, Service: *svc, Destination: want[0], PrevDestination: &prev})
			}
			want, have = want[1:], have[1:]
		}
	}
	return ops
}

// orderDependent reports whether the kernel builds the scheduler's table
// from the order of the service's destination list, so that two directors
// with the same destinations and weights get the same table only when
// their lists are in the same order: mh (ip_vs_mh.c fills the Maglev
// lookup table by walking the list, each destination in turn taking its
// next preferred free slot; the hash secrets are constants, the same on
// every host), sh and dh (ip_vs_sh.c, ip_vs_dh.c deal the buckets out
// walking the list). Each rebuilds its table on every add, delete and
// edit of a destination.
func orderDependent(scheduler string) bool {
	switch scheduler {
	case "mh", "sh", "dh":
		return true
	}
	return false
}

// appendCanonicalDestinationOps appends the adds and edits that leave an
// order-dependent service's destination list (the kernel's list, head
// first, as a dump returns it) equal to want, the canonical order:
// ascending address. The kernel puts an added destination at the head of
// the list (__ip_vs_update_dest: list_add_rcu), also one restored from
// its trash, and an edit or a delete leaves the others in their order. So
// the destinations lvsd keeps must be a suffix of want, already in that
// order in the kernel's list; every destination before that suffix is
// added, in descending order, and one the kernel has elsewhere in its
// list is deleted just before it is added again. The longest such suffix
// is kept, so a list already in order costs no more than the plain diff,
// and the deletes of destinations want does not hold are left to the
// deleting pass (a delete does not change the order of the others).
//
// listed is the kernel's list in dump order (Destination.Position); a
// view that does not know the order (all positions 0, as lvsd's view after
// its own writes) is taken in address order, which is what lvsd's writes
// left.
func appendCanonicalDestinationOps(ops []Op, svc *Service, want, listed []Destination) []Op {
	list := slices.Clone(listed)
	slices.SortStableFunc(list, func(a, b Destination) int {
		if a.Position != b.Position {
			return a.Position - b.Position
		}
		return compareDestinations(a, b)
	})
	at := make(map[netip.AddrPort]int, len(list))
	for i := range list {
		at[list[i].Addr] = i
	}
	// keep is where the kept suffix of want starts: walking want from its
	// end, each destination must be in the list, before the one kept
	// after it.
	keep, next := len(want), len(list)
	for keep > 0 {
		i, ok := at[want[keep-1].Addr]
		if !ok || i >= next {
			break
		}
		keep, next = keep-1, i
	}
	for i := keep; i < len(want); i++ {
		have := &list[at[want[i].Addr]]
		if !want[i].settingsEqual(have) {
			prev := *have
			prev.Position = 0
			ops = append(ops, Op{Kind: OpEditDestination, Service: *svc, Destination: want[i], PrevDestination: &prev})
		}
	}
	for i := keep - 1; i >= 0; i-- {
		if j, ok := at[want[i].Addr]; ok {
			old := list[j]
			old.Position = 0
			ops = append(ops, Op{Kind: OpDeleteDestination, Service: *svc, Destination: old})
		}
		ops = append(ops, Op{Kind: OpAddDestination, Service: *svc, Destination: want[i]})
	}
	return ops
}

// sortedDestinations returns ds sorted by address, copying only when it
// is not sorted already.
func sortedDestinations(ds []Destination) []Destination {
	if slices.IsSortedFunc(ds, compareDestinations) {
		return ds
	}
	ds = slices.Clone(ds)
	slices.SortFunc(ds, compareDestinations)
	return ds
}

// Plan returns the operations that bring current to desired, leaving
// alone every service of current that desired does not name.
func Plan(desired, current Table) []Op {
	keys := make(map[string]bool, len(desired))
	for i := range desired {
		keys[desired[i].Key()] = true
	}
	return diff(desired, current, func(k string) bool { return keys[k] })
}

// PlanConfig is what `lvsd plan -f FILE` prints: the operations that would
// bring the live table to cfg as if this node were MASTER of every
// instance and every real server passed its checks (alpha servers count as
// down, as they would on start), plus the foreign services that would be
// left alone. It changes nothing.
func PlanConfig(cfg *hcl.Config, current Table) (ops []Op, foreign []string) {
	active := map[string]bool{}
	for _, inst := range cfg.Instances {
		active[inst.Name] = true
	}
	for _, vs := range cfg.VirtualServers {
		active[vs.VRRPInstance] = true
	}
	d := Desire(State{Config: cfg, Active: active})
	return diff(d.Table, current, d.owns), foreignKeys(current, d.Owned)
}

// WritePlan prints ops one per line, then the foreign services left alone
// and a summary ("Plan: 2 to add, 1 to change, 1 to delete."), or "No
// changes." when there is nothing to do.
func WritePlan(w io.Writer, ops []Op, foreign []string) error {
	var b strings.Builder
	add, change, del := 0, 0, 0
	for _, op := range ops {
		b.WriteString(op.String())
		b.WriteByte('\n')
		switch op.Kind {
		case OpAddService, OpAddDestination:
			add++
		case OpEditService, OpEditDestination:
			change++
		default:
			del++
		}
	}
	for _, k := range foreign {
		fmt.Fprintf(&b, "  leave foreign service %s alone (not in the configuration)\n", k)
	}
	if len(ops) == 0 {
		b.WriteString("No changes: the IPVS table matches the configuration.\n")
	} else {
		fmt.Fprintf(&b, "Plan: %d to add, %d to change, %d to delete.\n", add, change, del)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// foreignKeys returns, in table order, the keys of services in current that
// lvsd does not own.
func foreignKeys(current Table, owned map[string]bool) []string {
	var out []string
	for i := range current {
		if k := current[i].Key(); !owned[k] {
			out = append(out, k)
		}
	}
	return out
}
