package lvs

import (
	"reflect"
	"testing"
)

// The view keeps every field of a service and of its real servers but the
// counters: a service taken into the view and out again (for a diff) is
// the service with its counters zero. Every field is set by reflection,
// so a field added to Destination later and not to viewDest fails here.
func TestViewKeepsEveryFieldButTheCounters(t *testing.T) {
	counters := map[string]bool{"Stats": true, "ActiveConns": true, "InactiveConns": true}
	var d Destination
	dv := reflect.ValueOf(&d).Elem()
	for i := range dv.NumField() {
		f := dv.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Struct:
			switch f.Type() {
			case reflect.TypeFor[Tunnel]():
				f.Set(reflect.ValueOf(Tunnel{Type: TunnelGUE, Port: 6080, Flags: TunnelFlagCsum}))
			case reflect.TypeFor[Stats]():
				f.Set(reflect.ValueOf(Stats{Conns: 1, PacketsIn: 2, PacketsOut: 3, BytesIn: 4, BytesOut: 5}))
			default:
				f.Set(reflect.ValueOf(ap("[2001:db8::7]:8443")))
			}
		default:
			t.Fatalf("Destination.%s: a %s the test cannot set", dv.Type().Field(i).Name, f.Kind())
		}
		if f.IsZero() {
			t.Fatalf("Destination.%s not set", dv.Type().Field(i).Name)
		}
	}
	s := Service{Protocol: "TCP", Addr: ap("[2001:db8::1]:443"), Scheduler: "mh", Flags: FlagSched1 | flagHashed,
		Timeout: 300, Netmask: 64, PEName: "sip", Stats: Stats{Conns: 9}, Destinations: []Destination{d, d}}
	s.Destinations[1].Position = 0
	v := toView(&s)
	got := v.service()
	want := s
	want.Stats = Stats{} // kept by the view, but no field a diff reads
	want.Destinations = nil
	for _, d := range s.Destinations {
		d.Stats, d.ActiveConns, d.InactiveConns = Stats{}, 0, 0
		want.Destinations = append(want.Destinations, d)
	}
	got.Stats = Stats{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("through the view:\n got %+v\nwant %+v", got, want)
	}
	for name := range counters {
		if _, ok := reflect.TypeFor[Destination]().FieldByName(name); !ok {
			t.Fatalf("Destination has no counter %s any more: update the view", name)
		}
	}
	// A read of the table goes into the view whole, its real servers in
	// one slab.
	view := viewOf(Table{s, {Protocol: "UDP", Addr: ap("192.0.2.1:53")}, s})
	if len(view) != 2 {
		t.Fatalf("view of %d services, want 2 (one key twice)", len(view))
	}
	for k, v := range view {
		if len(v.Destinations) != 0 {
			t.Fatalf("%s: the view keeps Destinations beside its own real servers", k)
		}
	}
}
