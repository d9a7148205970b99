package vrrp

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it accepts must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	a := sampleAdvert()
	good, _ := a.Marshal()
	f.Add(good)
	f.Add(good[:10])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		adv, drop := Decode(b)
		if drop != DropNone {
			return
		}
		out, err := adv.Marshal()
		if err != nil {
			t.Fatalf("accepted packet does not re-encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoded %x, read %x", out, b)
		}
		e := sampleExpect()
		_ = e.Check(Received{TTL: 255, Payload: b})
	})
}
