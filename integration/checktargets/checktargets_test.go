package checktargets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/netnstest"
)

// TestHandshakeAgeIsWhenTheConnectionWasMade accepts a connection 300 ms
// after it was made (and closed, as a checker does) and checks that the
// recorder would count it at the handshake, not at the accept.
func TestHandshakeAgeIsWhenTheConnectionWasMade(t *testing.T) {
	ln, conn := listenAndDial(t)
	conn.Close()
	const late = 300 * time.Millisecond
	time.Sleep(late)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	age := handshakeAge(c)
	t.Logf("accepted %v after the connect: the handshake's age %v", late, age)
	if age < late-20*time.Millisecond || age > late+time.Second {
		t.Errorf("handshake age %v, want about %v", age, late)
	}
}

// TestHandshakeAgeIsNotTheFINs makes a connection, closes it 300 ms
// later (as lvsd's connector closes at its next wakeup) and accepts it 300
// ms after that: the age is the handshake's, not the FIN's.
func TestHandshakeAgeIsNotTheFINs(t *testing.T) {
	ln, conn := listenAndDial(t)
	const gap = 300 * time.Millisecond
	time.Sleep(gap)
	conn.Close()
	time.Sleep(gap)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	age := handshakeAge(c)
	t.Logf("closed %v after the connect, accepted %v after that: the handshake's age %v", gap, gap, age)
	if age < 2*gap-20*time.Millisecond || age > 2*gap+time.Second {
		t.Errorf("handshake age %v, want about %v (the FIN's would be about %v)", age, 2*gap, gap)
	}
}

// listenAndDial listens on a loopback port and connects to it; the
// listener is closed at the test's end, the connection is the caller's.
func listenAndDial(t *testing.T) (net.Listener, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return ln, conn
}

// TestRecorderHoldsEachConnectionUntilTheCheckerCloses connects to a
// Recorder's accept loop and checks that the listener never closes first
// (a checker whose connection the listener closed first could read EPIPE
// from SO_ERROR and fail the attempt), and that a connection the checker
// resets is counted as unclean while one it closes is not.
func TestRecorderHoldsEachConnectionUntilTheCheckerCloses(t *testing.T) {
	r, err := listenOn([]string{"127.0.0.1:0"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addr := r.addrs[0].String()

	conn, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	// Open until this side closes: the read waits out its deadline.
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v: the listener ended the connection before the checker closed it", n, err)
	}
	conn.Close()
	// One closed at once, as a TCP_CHECK closes: its FIN can arrive
	// before the accept, and it ends cleanly too.
	quick, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	quick.Close()

	// A reset (SO_LINGER 0) is the one unclean end.
	reset, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	reset.(*net.TCPConn).SetLinger(0)
	for deadline := time.Now().Add(10 * time.Second); r.Figures(1).Accepts < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the listener accepted %d of 3 connections in 10s", r.Figures(1).Accepts)
		}
	}
	reset.Close()
	for deadline := time.Now().Add(10 * time.Second); r.Figures(1).Unclean < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a reset connection was not counted unclean in 10s")
		}
	}
	if f := r.Figures(1); f.Unclean != 1 {
		t.Errorf("unclean %d, want 1 (the reset one; the closed ones ended by their FIN)", f.Unclean)
	}
}

// TestSYNTimestampsGiveTheConnectsIntervals connects to one target at 0,
// 200 and 500 ms, each closed at once, and checks that the Recorder's SYN
// figures are those intervals, read from the SYNs' timestamps, whatever
// the listener's own timing. It runs in a network namespace of its own
// with net.ipv4.tcp_timestamps 2, as the VM's checks benchmark sets it
// (timestamps without the kernel's offset, which recent kernels draw for
// each connection).
func TestSYNTimestampsGiveTheConnectsIntervals(t *testing.T) {
	var r *Recorder
	err := netnstest.Run(t, func() error {
		// /proc/sys/net is the opening thread's namespace's.
		if err := os.WriteFile("/proc/sys/net/ipv4/tcp_timestamps", []byte("2"), 0); err != nil {
			return err
		}
		var err error
		if r, err = listenOn([]string{"127.0.0.1:0"}, 1); err != nil {
			return err
		}
		start := time.Now()
		for _, at := range []time.Duration{0, 200 * time.Millisecond, 500 * time.Millisecond} {
			time.Sleep(time.Until(start.Add(at)))
			c, err := net.Dial("tcp4", r.addrs[0].String())
			if err != nil {
				return err
			}
			c.Close()
		}
		return nil
	})
	if r != nil {
		defer r.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); r.Figures(1).Accepts < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the listener accepted %d of 3 connections in 10s", r.Figures(1).Accepts)
		}
	}
	f := r.Figures(1)
	t.Logf("SYN intervals: %d, p1 %v, max %v", f.SYN.Count, time.Duration(f.SYN.P1), time.Duration(f.SYN.Max))
	near := func(got int64, want time.Duration) bool {
		return time.Duration(got) >= want-5*time.Millisecond && time.Duration(got) <= want+20*time.Millisecond
	}
	if f.SYN.Count != 2 || !near(f.SYN.P1, 200*time.Millisecond) || !near(f.SYN.Max, 300*time.Millisecond) {
		t.Errorf("SYN intervals %d, shortest %v, longest %v: want 2, about 200ms and 300ms",
			f.SYN.Count, time.Duration(f.SYN.P1), time.Duration(f.SYN.Max))
	}
}

// TestTSvalOf reads the timestamp option among others and refuses what is
// not an IPv4 packet with one.
func TestTSvalOf(t *testing.T) {
	ip := []byte{0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
	tcp := []byte{0x9c, 0x40, 0x4e, 0x20, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0xff, 0xff, 0, 0, 0, 0,
		2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, 1, 3, 3, 7}
	syn := append(append([]byte{}, ip...), tcp...)
	if ts, ok := tsvalOf(syn); !ok || ts != 0x01020304 {
		t.Errorf("tsvalOf = %#x, %v; want 0x1020304, true", ts, ok)
	}
	noTS := append(append([]byte{}, ip...), tcp[:20]...)
	noTS[len(ip)+12] = 0x50
	for name, pkt := range map[string][]byte{"no options": noTS, "IPv6": append([]byte{0x60}, syn[1:]...), "cut short": syn[:30], "empty": nil} {
		if ts, ok := tsvalOf(pkt); ok {
			t.Errorf("%s: tsvalOf = %#x, true; want false", name, ts)
		}
	}
}

// FuzzTSvalOf: any bytes, no panic; a TSval found lies inside them.
func FuzzTSvalOf(f *testing.F) {
	f.Add([]byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
		0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 2, 0, 0, 0, 0, 0, 0, 8, 10, 0, 0, 0, 9, 0, 0})
	f.Add([]byte{0x4f})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if ts, ok := tsvalOf(pkt); ok && !bytes.Contains(pkt, binary.BigEndian.AppendUint32(nil, ts)) {
			t.Errorf("TSval %#x is not in the packet %x", ts, pkt)
		}
	})
}
