package checktargets

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
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
