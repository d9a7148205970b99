package lvs

import (
	"net/netip"
	"reflect"
	"testing"
)

// sameKernelState must tell apart two services that differ in any field
// but the counters, as lvsd's view keeps them (view.go): the periodic
// repair skips the services it calls the same, so a field it or the
// view overlooked (one added later, say) would be an outside edit never
// repaired. The test walks the fields by reflection.
func TestSameKernelStateSeesEveryFieldButTheCounters(t *testing.T) {
	base := Service{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc", Netmask: 32,
		Destinations: []Destination{{Addr: ap("10.0.0.1:80"), Forward: ForwardRoute, Weight: 1}, {Addr: ap("10.0.0.2:80"), Weight: 2, Position: 1}}}
	counters := map[string]bool{"Stats": true, "ActiveConns": true, "InactiveConns": true}
	same := func(a, b Service) bool {
		va, vb := toView(&a), toView(&b)
		same := va.sameKernelState(&vb)
		if read := va.readAs(&b); read != same {
			t.Errorf("readAs = %v, sameKernelState = %v", read, same)
		}
		return same
	}
	// change sets field f of v (a struct) to something else than it is.
	change := func(t *testing.T, v reflect.Value, name string) {
		f := v.FieldByName(name)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(f.Uint() + 1)
		case reflect.Struct:
			switch f.Type() {
			case reflect.TypeFor[netip.AddrPort]():
				f.Set(reflect.ValueOf(ap("198.51.100.7:81")))
			default:
				// A struct of settings (Tunnel): change its first field.
				g := f.Field(0)
				switch g.Kind() {
				case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
					g.SetUint(g.Uint() + 1)
				case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
					g.SetInt(g.Int() + 1)
				default:
					t.Fatalf("field %s: cannot change a %s", name, g.Kind())
				}
			}
		case reflect.Slice: // Destinations: one fewer
			f.Set(f.Slice(0, f.Len()-1))
		default:
			t.Fatalf("field %s: cannot change a %s", name, f.Kind())
		}
	}
	for i := range reflect.TypeFor[Service]().NumField() {
		name := reflect.TypeFor[Service]().Field(i).Name
		o := base
		o.Destinations = append([]Destination(nil), base.Destinations...)
		change(t, reflect.ValueOf(&o).Elem(), name)
		if got := same(base, o); got != counters[name] {
			t.Errorf("service field %s changed: sameKernelState = %v", name, got)
		}
	}
	for i := range reflect.TypeFor[Destination]().NumField() {
		name := reflect.TypeFor[Destination]().Field(i).Name
		o := base
		o.Destinations = append([]Destination(nil), base.Destinations...)
		change(t, reflect.ValueOf(&o.Destinations[1]).Elem(), name)
		if got := same(base, o); got != counters[name] {
			t.Errorf("destination field %s changed: sameKernelState = %v", name, got)
		}
	}
}

// A service of another protocol (AH, ESP: ipvsadm cannot make one, the
// kernel can hold one) is named as the reader names it and asked for by
// the same number, so the repair can read it again by its identity.
func TestProtocolNamesRoundTrip(t *testing.T) {
	for _, n := range []uint16{6, 17, 132, 50, 51, 0} {
		if got := protocolNumber(protocolName(n)); got != n {
			t.Errorf("protocolNumber(protocolName(%d)) = %d", n, got)
		}
	}
}
