package kadiff

import (
	"testing"
)

// frame is an Ethernet frame carrying IPv4 with protocol proto and payload.
func frame(proto byte, payload ...byte) []byte {
	b := make([]byte, 14, 14+20+len(payload))
	b[12], b[13] = 0x08, 0x00
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 255, proto
	return append(append(b, ip...), payload...)
}

func TestParseAdvertReadsWhatTheHarnessCompares(t *testing.T) {
	v2 := []byte{0x21, 51, 150, 2, 1, 1, 0, 0, 10, 99, 0, 9, 10, 99, 0, 1, 'g', 'r', 'r', '0', '2', 0, 0, 0}
	v3 := []byte{0x31, 7, 100, 1, 0, 50, 0, 0, 192, 0, 2, 1}
	// AH (RFC 4302 §2): next header 112, payload length 4 (6 words), then
	// the advert.
	ah := append([]byte{112, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		0x21, 9, 200, 1, 2, 1, 0, 0, 10, 99, 1, 5)
	tests := []struct {
		name  string
		frame []byte
		want  Advert
		ok    bool
	}{
		{"VRRPv2 with PASS: addresses sorted, password without its padding", frame(112, v2...),
			Advert{Link: "eth0", Version: 2, VRID: 51, Priority: 150, Interval: 1, AuthType: 1, Auth: "grr02", Addrs: "10.99.0.1 10.99.0.9"}, true},
		{"VRRPv3: the interval in centiseconds", frame(112, v3...),
			Advert{Link: "eth0", Version: 3, VRID: 7, Priority: 100, Interval: 50, Addrs: "192.0.2.1"}, true},
		{"AH before the advert", frame(51, ah...),
			Advert{Link: "eth0", Version: 2, VRID: 9, Priority: 200, Interval: 1, AuthType: 2, Auth: "AH", Addrs: "10.99.1.5"}, true},
		{"another protocol is no advert", frame(17, v2...), Advert{}, false},
		{"a truncated advert is none", frame(112, v2[:5]...), Advert{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseAdvert("eth0", tt.frame)
			if ok != tt.ok || got != tt.want {
				t.Errorf("ParseAdvert = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNeedsIPVSOnlyForASyncDaemon(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"vrrp_instance VI_1 {\n    lvs_sync_daemon_interface eth0\n}\n", true},
		{"global_defs {\n  lvs_sync_daemon eth1 VI_1\n}\n", true},
		{"! lvs_sync_daemon eth1 in a comment\nvrrp_instance VI_1 {\n}\n", false},
		{"virtual_server 10.0.0.1 80 {\n}\n", false},
	}
	for _, tt := range tests {
		if got := NeedsIPVS([]byte(tt.src)); got != tt.want {
			t.Errorf("NeedsIPVS(%q) = %v, want %v", tt.src, got, tt.want)
		}
	}
}
