package checktargets

import (
	"net"
	"testing"
	"time"
)

// TestHandshakeAgeIsWhenTheConnectionWasMade accepts a connection 300 ms
// after it was made (and closed, as a checker does) and checks that the
// recorder would count it at the handshake, not at the accept.
func TestHandshakeAgeIsWhenTheConnectionWasMade(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
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
