package vrrp

import (
	"net"
	"strings"
	"testing"
)

// NewAdvertConn takes its socket from the caller, like arp.New; a socket
// that is not raw IP is refused with a value, not a panic.
func TestNewAdvertConnRefusesANonRawSocket(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skip(err)
	}
	defer pc.Close()
	_, err = NewAdvertConn(&net.Interface{Name: "lo"}, pc, false)
	if err == nil || !strings.Contains(err.Error(), "not a raw IP socket") {
		t.Fatalf("err = %v", err)
	}
}
