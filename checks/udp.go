package checks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"
)

// udpProber is UDP_CHECK (keepalived's check_udp.c): a datagram goes to
// the endpoint over a connected socket, so an ICMP error comes back as the
// read's error. Without requireReply the check passes unless such an
// error (port unreachable) arrives before the deadline; with it a reply
// must arrive, minLen..maxLen octets long and matching reply where mask
// has no bit set.
type udpProber struct {
	dialer       PacketDialer
	endpoint     Endpoint
	timeout      time.Duration
	payload      []byte // nil: udpRandomPayload random octets per attempt
	requireReply bool
	reply, mask  []byte
	minLen       int
	maxLen       int
}

// udpRandomPayload is the size of the payload sent when none is
// configured (keepalived fills a buffer with set_buf()).
const udpRandomPayload = 32

func (u *udpProber) probe(ctx context.Context) Result {
	conn, err := u.dialer.DialUDP(ctx, u.endpoint)
	if err != nil {
		return failure(ctx, u.timeout, "connect", err)
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	payload := u.payload
	if payload == nil {
		payload = make([]byte, udpRandomPayload)
		for i := range payload {
			payload[i] = byte(rand.N(256))
		}
	}
	if _, err := conn.Write(payload); err != nil {
		return udpFailure(ctx, u.timeout, "send", err)
	}
	buf := make([]byte, u.maxLen+1)
	n, err := conn.Read(buf)
	switch {
	case err == nil:
	case !u.requireReply && timedOut(ctx, err):
		// check_udp.c udp_socket_state(): a read timeout is success
		// unless a reply is required.
		return Result{OK: true, Weight: -1, Reason: "no ICMP error"}
	case u.requireReply && timedOut(ctx, err):
		return Result{Weight: -1, Reason: "no reply"}
	default:
		return udpFailure(ctx, u.timeout, "receive", err)
	}
	if !u.requireReply {
		return Result{OK: true, Weight: -1, Reason: "reply"}
	}
	if reason := udpReplyFault(buf[:n], u.reply, u.mask, u.minLen, u.maxLen); reason != "" {
		return Result{Weight: -1, Reason: reason}
	}
	return Result{OK: true, Weight: -1, Reason: fmt.Sprintf("reply of %d octets", n)}
}

// udpReplyFault says what is wrong with a reply, "" when nothing is
// (check_udp.c check_udp_reply()): its length must lie in minLen..maxLen,
// and its first min(len(got), len(want)) octets must equal want's where
// mask has zero bits.
func udpReplyFault(got, want, mask []byte, minLen, maxLen int) string {
	if len(got) < minLen || len(got) > maxLen {
		return fmt.Sprintf("reply of %d octets", len(got))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		var m byte
		if mask != nil {
			m = mask[i]
		}
		if (got[i]^want[i])&^m != 0 {
			return "reply mismatch"
		}
	}
	return ""
}

// udpFailure names an ICMP error reported on the connected socket the way
// an operator reads it.
func udpFailure(ctx context.Context, budget time.Duration, what string, err error) Result {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Result{Weight: -1, Reason: "port unreachable"}
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Result{Weight: -1, Reason: "host unreachable"}
	case errors.Is(err, syscall.ENETUNREACH):
		return Result{Weight: -1, Reason: "network unreachable"}
	}
	return failure(ctx, budget, what, err)
}

// timedOut reports whether err is the attempt's deadline passing (not a
// cancellation: a stopped check passes nothing).
func timedOut(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// bindDeadline makes conn's I/O end at ctx's deadline, or at once when
// ctx is cancelled; the returned function releases the watch.
func bindDeadline(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) func() bool {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}
