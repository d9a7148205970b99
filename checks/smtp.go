package checks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"time"
)

// smtpProber is SMTP_CHECK (keepalived's check_smtp.c): connect, read a
// 220 greeting, send HELO helo, read 250, send QUIT and read its reply.
// Replies are read whole, continuation lines included (RFC 5321 §4.2.1),
// by net/textproto.
type smtpProber struct {
	dialer   Dialer
	endpoint Endpoint
	timeout  time.Duration
	helo     string
}

// smtpMaxReply bounds what one attempt reads from a server.
const smtpMaxReply = 64 << 10

func (s *smtpProber) probe(ctx context.Context) Result {
	conn, err := s.dialer.DialTCP(ctx, s.endpoint)
	if err != nil {
		return failure(ctx, s.timeout, "connect", err)
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	r := textproto.NewReader(bufio.NewReader(io.LimitReader(conn, smtpMaxReply)))
	w := textproto.NewWriter(bufio.NewWriter(conn))
	if _, _, err := r.ReadResponse(220); err != nil {
		return s.fault(ctx, "greeting", err)
	}
	if err := w.PrintfLine("HELO %s", s.helo); err != nil {
		return s.fault(ctx, "HELO", err)
	}
	if _, _, err := r.ReadResponse(250); err != nil {
		return s.fault(ctx, "HELO", err)
	}
	if err := w.PrintfLine("QUIT"); err != nil {
		return s.fault(ctx, "QUIT", err)
	}
	// keepalived reads any line after QUIT; so does lvsd (any code).
	if _, _, err := r.ReadResponse(0); err != nil {
		return s.fault(ctx, "QUIT", err)
	}
	return Result{OK: true, Weight: -1, Reason: "HELO accepted"}
}

// fault names a failed step: "greeting: status 554", "HELO: status 501",
// "greeting: not an SMTP reply", or the I/O error.
func (s *smtpProber) fault(ctx context.Context, step string, err error) Result {
	var te *textproto.Error
	if errors.As(err, &te) {
		return Result{Weight: -1, Reason: fmt.Sprintf("%s: status %d", step, te.Code)}
	}
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return Result{Weight: -1, Reason: step + ": not an SMTP reply"}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Result{Weight: -1, Reason: step + ": connection closed"}
	}
	return failure(ctx, s.timeout, step, err)
}
