package checks

import (
	"context"
	"time"
)

// tcpProber is TCP_CHECK: the check passes when a TCP connection to the
// endpoint is established before connect_timeout; it is closed at once.
type tcpProber struct {
	dialer   Dialer
	endpoint Endpoint
	timeout  time.Duration
}

func (t *tcpProber) probe(ctx context.Context) Result {
	conn, err := t.dialer.DialTCP(ctx, t.endpoint)
	if err != nil {
		return failure(ctx, t.timeout, "connect", err)
	}
	conn.Close()
	return Result{OK: true, Weight: -1, Reason: "connected"}
}
