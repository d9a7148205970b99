package lvs

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// kernelList models what the kernel keeps of one service's destinations
// for an order-dependent scheduler: the list itself, head first. An add
// (also of a destination restored from the trash) puts it at the head
// (__ip_vs_update_dest: list_add_rcu); an edit leaves it in place; a delete
// unlinks it.
type kernelList []Destination

func (l kernelList) apply(t *testing.T, ops []Op) kernelList {
	t.Helper()
	for _, op := range ops {
		i := slices.IndexFunc(l, func(d Destination) bool { return d.Addr == op.Destination.Addr })
		switch op.Kind {
		case OpAddDestination:
			if i >= 0 {
				t.Fatalf("%s: already in the list (EEXIST)", op)
			}
			l = slices.Insert(l, 0, op.Destination)
		case OpEditDestination:
			if i < 0 {
				t.Fatalf("%s: not in the list (ENOENT)", op)
			}
			l[i] = op.Destination
		case OpDeleteDestination:
			if i < 0 {
				t.Fatalf("%s: not in the list (ENOENT)", op)
			}
			l = slices.Delete(l, i, i+1)
		}
	}
	return l
}

// dump is the list as the kernel's dump returns it: Position set.
func (l kernelList) dump() []Destination {
	out := slices.Clone([]Destination(l))
	for i := range out {
		out[i].Position = i
	}
	return out
}

func (l kernelList) String() string {
	var s []string
	for _, d := range l {
		s = append(s, fmt.Sprintf("%s=%d", d.Addr, d.Weight))
	}
	return strings.Join(s, " ")
}

func mhService(dests ...Destination) Service {
	return Service{Protocol: "TCP", Addr: ap("192.0.2.100:80"), Scheduler: "mh", Flags: FlagSched2, Netmask: 32, Destinations: dests}
}

func rs(n, weight int) Destination {
	return Destination{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}), 80), Forward: ForwardRoute, Weight: weight}
}

// TestOrderDependentSchedulersEndInTheCanonicalOrderWhateverTheHistory
// drives an mh service through random healthy sets, starting from a list
// in a random order (a table another tool built), and checks after each
// step that the kernel's list holds exactly the healthy set, in ascending
// address order, with the wanted weights: the Maglev table is a function
// of that list and the weights alone (ip_vs_mh.c's hash secrets are
// constants), so two directors with the same healthy set hold the same
// table, whatever happened before on either.
func TestOrderDependentSchedulersEndInTheCanonicalOrderWhateverTheHistory(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2))
	for run := range 200 {
		var list kernelList
		for _, n := range rng.Perm(6) {
			if rng.IntN(3) > 0 {
				list = append(list, rs(n+1, 1+rng.IntN(3)))
			}
		}
		for step := range 20 {
			var want []Destination
			for n := 1; n <= 6; n++ {
				switch rng.IntN(4) {
				case 0: // down, deleted
				case 1: // down, inhibited (inhibit_on_failure)
					want = append(want, rs(n, 0))
				default:
					want = append(want, rs(n, 1+rng.IntN(2)))
				}
			}
			desired := Table{mhService(want...)}
			current := Table{mhService(list.dump()...)}
			before := list.String()
			ops := Plan(desired, current)
			list = list.apply(t, ops)
			if got, wantList := list.String(), kernelList(want).String(); got != wantList {
				t.Fatalf("run %d step %d: list %s, wanted %s\nfrom %s by\n%s", run, step, got, wantList, before, strings.Join(opStrings(ops), "\n"))
			}
			// lvsd's own view after the write (positions unknown) needs
			// nothing more.
			if again := Plan(desired, Table{mhService(want...)}); len(again) != 0 {
				t.Fatalf("run %d step %d: a second plan on lvsd's view: %v", run, step, opStrings(again))
			}
			if again := Plan(desired, Table{mhService(list.dump()...)}); len(again) != 0 {
				t.Fatalf("run %d step %d: a second plan on the kernel's list: %v", run, step, opStrings(again))
			}
		}
	}
}

// TestCanonicalOrderCostsOnlyWhatTheListNeeds names the operations of the
// cases that happen in a cluster: a real server coming back re-adds the
// ones listed before it, one failing is only deleted, and a list already
// in order gets the plain diff. The other schedulers keep the plain diff.
func TestCanonicalOrderCostsOnlyWhatTheListNeeds(t *testing.T) {
	tests := []struct {
		name      string
		scheduler string
		list      kernelList // the kernel's list, head first
		want      []Destination
		ops       []string
	}{
		{"a new mh service is filled in descending order", "mh", nil,
			[]Destination{rs(1, 1), rs(2, 1), rs(3, 1)},
			[]string{
				"+ add destination 10.0.0.3:80 to TCP 192.0.2.100:80 route weight 1",
				"+ add destination 10.0.0.2:80 to TCP 192.0.2.100:80 route weight 1",
				"+ add destination 10.0.0.1:80 to TCP 192.0.2.100:80 route weight 1",
			}},
		{"a failing real server is only deleted", "mh", kernelList{rs(1, 1), rs(2, 1), rs(3, 1)},
			[]Destination{rs(1, 1), rs(3, 1)},
			[]string{"- delete destination 10.0.0.2:80 of TCP 192.0.2.100:80"}},
		{"the lowest coming back is only added", "mh", kernelList{rs(2, 1), rs(3, 1)},
			[]Destination{rs(1, 1), rs(2, 1), rs(3, 1)},
			[]string{"+ add destination 10.0.0.1:80 to TCP 192.0.2.100:80 route weight 1"}},
		{"one coming back re-adds those before it", "mh", kernelList{rs(1, 1), rs(3, 1)},
			[]Destination{rs(1, 1), rs(2, 1), rs(3, 1)},
			[]string{
				"+ add destination 10.0.0.2:80 to TCP 192.0.2.100:80 route weight 1",
				"- delete destination 10.0.0.1:80 of TCP 192.0.2.100:80",
				"+ add destination 10.0.0.1:80 to TCP 192.0.2.100:80 route weight 1",
			}},
		{"a weight change in order is an edit", "sh", kernelList{rs(1, 1), rs(2, 1)},
			[]Destination{rs(1, 0), rs(2, 1)},
			[]string{"~ edit destination 10.0.0.1:80 of TCP 192.0.2.100:80: weight 1 -> 0"}},
		{"a list out of order keeps its longest tail in order", "dh", kernelList{rs(3, 1), rs(1, 1), rs(2, 1)},
			[]Destination{rs(1, 1), rs(2, 2), rs(3, 1)},
			[]string{
				"- delete destination 10.0.0.2:80 of TCP 192.0.2.100:80",
				"+ add destination 10.0.0.2:80 to TCP 192.0.2.100:80 route weight 2",
				"- delete destination 10.0.0.1:80 of TCP 192.0.2.100:80",
				"+ add destination 10.0.0.1:80 to TCP 192.0.2.100:80 route weight 1",
			}},
		{"wlc keeps the plain diff whatever the list order", "wlc", kernelList{rs(3, 1), rs(1, 1)},
			[]Destination{rs(1, 1), rs(2, 1), rs(3, 1)},
			[]string{"+ add destination 10.0.0.2:80 to TCP 192.0.2.100:80 route weight 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			desired := mhService(tc.want...)
			desired.Scheduler = tc.scheduler
			var current Table
			if tc.list != nil {
				c := mhService(tc.list.dump()...)
				c.Scheduler = tc.scheduler
				current = Table{c}
			}
			var ops []Op
			for _, op := range Plan(Table{desired}, current) {
				if op.Kind != OpAddService {
					ops = append(ops, op)
				}
			}
			if got := opStrings(ops); !slices.Equal(got, tc.ops) {
				t.Fatalf("operations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.ops, "\n"))
			}
		})
	}
}
