package checks

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// checkerKey tells two checks apart by every setting of their kind (the
// kind's settings are behind a pointer in the Checker, which %+v would
// write as an address) and by every setting of each of their urls, and
// two checks with equal settings in settings of their own are one: each
// field of each kind's settings and of a url, changed, changes the key
// (walked by reflection, so a field added later is in the test); a copy
// with settings of its own keeps it, and so does a url written elsewhere.
func TestCheckerKeyTellsEverySettingOfTheKind(t *testing.T) {
	url := func() []hcl.URL { return []hcl.URL{{Path: "/", StatusCodes: []hcl.StatusRange{{Low: 200, High: 299}}}} }
	for _, c := range []hcl.Checker{
		{Kind: hcl.CheckHTTP, KindSettings: &hcl.HTTPCheck{URLs: url(), HTTPVersion: "1.0"}},
		{Kind: hcl.CheckSSL, KindSettings: &hcl.HTTPCheck{URLs: url(), HTTPVersion: "1.0"}},
		{Kind: hcl.CheckMisc, KindSettings: &hcl.MiscCheck{Path: "/bin/true"}},
		{Kind: hcl.CheckUDP, KindSettings: &hcl.UDPCheck{Payload: []byte{1}, Reply: []byte{2}, ReplyMask: []byte{0}, MaxReplyLength: 255}},
		{Kind: hcl.CheckDNS, KindSettings: &hcl.DNSCheck{Type: "SOA", Name: "."}},
		{Kind: hcl.CheckSMTP, KindSettings: &hcl.SMTPCheck{HeloName: "a.example"}},
		{Kind: hcl.CheckFile, KindSettings: &hcl.FileCheck{TrackFile: "maint", Path: "/run/maint", Weight: 1}},
	} {
		var buf bytes.Buffer
		key := checkerKey(&buf, c, 1)
		same := c
		same.OwnSettings()
		if checkerKey(&buf, same, 1) != key {
			t.Errorf("%s: an equal copy has another key", c.Kind)
		}
		settings := reflect.ValueOf(c.KindSettings).Elem()
		for i := range settings.NumField() {
			changed := c
			changed.OwnSettings()
			name := settings.Type().Field(i).Name
			changeSetting(t, c.Kind+"."+name, reflect.ValueOf(changed.KindSettings).Elem().Field(i))
			if checkerKey(&buf, changed, 1) == key {
				t.Errorf("%s: another %s, the same key", c.Kind, name)
			}
		}
		if c.HTTP() == nil {
			continue
		}
		urlType := reflect.TypeFor[hcl.URL]()
		for i := range urlType.NumField() {
			changed := c
			changed.OwnSettings()
			name := urlType.Field(i).Name
			changeSetting(t, c.Kind+" url."+name, reflect.ValueOf(&changed.HTTP().URLs[0]).Elem().Field(i))
			differs := checkerKey(&buf, changed, 1) != key
			switch where := name == "Pos" || name == "Positions"; {
			case where && differs:
				t.Errorf("%s: a url written elsewhere (%s), another key", c.Kind, name)
			case !where && !differs:
				t.Errorf("%s: another url %s, the same key", c.Kind, name)
			}
		}
	}
}

// changeSetting gives f another value: a string, number or bool its
// next, a slice one more element, a struct a change in each field.
func changeSetting(t *testing.T, name string, f reflect.Value) {
	t.Helper()
	switch f.Kind() {
	case reflect.String:
		f.SetString(f.String() + "x")
	case reflect.Bool:
		f.SetBool(!f.Bool())
	case reflect.Int, reflect.Int32, reflect.Int64:
		f.SetInt(f.Int() + 1)
	case reflect.Slice:
		f.Set(reflect.Append(f, reflect.Zero(f.Type().Elem())))
	case reflect.Struct:
		if f.Type() == reflect.TypeFor[hcl.Positions]() {
			f.Set(reflect.ValueOf(hcl.NewPositions()))
			return
		}
		for i := range f.NumField() {
			changeSetting(t, name+"."+f.Type().Field(i).Name, f.Field(i))
		}
	default:
		t.Fatalf("%s: a %s this test does not change", name, f.Kind())
	}
}
