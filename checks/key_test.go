package checks

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// checkerKey tells two checks apart by every setting of their kind (the
// kind's settings are behind a pointer in the Checker, which %+v would
// write as an address), and two checks with equal settings in settings
// of their own are one: each field of each kind's settings, changed,
// changes the key; a copy with settings of its own keeps it.
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
			f := reflect.ValueOf(changed.KindSettings).Elem().Field(i)
			name := settings.Type().Field(i).Name
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.Int, reflect.Int64:
				f.SetInt(f.Int() + 1)
			case reflect.Slice:
				if f.Type() == reflect.TypeFor[[]hcl.URL]() {
					f.Index(0).Field(0).SetString("/other") // the url's path
				} else {
					f.Index(0).SetUint(f.Index(0).Uint() + 1)
				}
			default:
				t.Fatalf("%s.%s: a %s this test does not change", c.Kind, name, f.Kind())
			}
			if checkerKey(&buf, changed, 1) == key {
				t.Errorf("%s: another %s, the same key", c.Kind, name)
			}
		}
	}
}
