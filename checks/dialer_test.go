package checks

import (
	"context"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestNetDialerBindsAndMarks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_MARK needs CAP_NET_ADMIN")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Addr, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c.RemoteAddr()
			c.Close()
		}
	}()
	// A free port to bind to.
	probe, _ := net.Listen("tcp", "127.0.0.7:0")
	bindPort := uint16(probe.Addr().(*net.TCPAddr).Port)
	probe.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ep := Endpoint{Addr: netip.MustParseAddrPort(ln.Addr().String()), BindTo: netip.MustParseAddr("127.0.0.7"), BindPort: bindPort, FWMark: 0x2a}
	conn, err := NetDialer{}.DialTCP(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, _ := conn.(*net.TCPConn).SyscallConn()
	var mark int
	raw.Control(func(fd uintptr) { mark, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_MARK) })
	if mark != 0x2a {
		t.Errorf("SO_MARK %#x, want 0x2a", mark)
	}
	select {
	case from := <-accepted:
		if want := netip.AddrPortFrom(ep.BindTo, bindPort).String(); from.String() != want {
			t.Errorf("server saw the probe from %s, want bindto:bind_port %s", from, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no connection accepted")
	}
}
