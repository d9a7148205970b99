package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// mailQueue bounds the e-mails waiting to be sent; one more is dropped
// and counted (keepalived forks a sender per e-mail instead).
const mailQueue = 64

// Mail is one alert e-mail.
type Mail struct {
	Subject string
	Body    string
	At      time.Time
}

// Mailer sends alert e-mails with net/smtp from its own goroutine (Run):
// Send only queues, so the VRRP and check paths never wait for a mail
// server.
type Mailer struct {
	cfg   hcl.Email
	log   *slog.Logger
	queue chan Mail

	sent, failed, dropped atomic.Uint64
}

// NewMailer returns the sender of cfg (cfg.Enabled() is true).
func NewMailer(cfg hcl.Email, log *slog.Logger) *Mailer {
	return &Mailer{cfg: cfg, log: log, queue: make(chan Mail, mailQueue)}
}

// Send queues m; a full queue drops it.
func (m *Mailer) Send(mail Mail) {
	select {
	case m.queue <- mail:
	default:
		m.dropped.Add(1)
		m.log.Warn("e-mail alert dropped: queue full", "subject", mail.Subject)
	}
}

// mailStopGrace bounds how long the e-mails still queued when lvsd stops
// (the Stopping ones among them) may take to leave.
const mailStopGrace = 2 * time.Second

// Run sends queued e-mails one after another until ctx ends; then what is
// still queued gets mailStopGrace, and the rest is dropped.
func (m *Mailer) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			m.drain()
			return
		case mail := <-m.queue:
			if ctx.Err() != nil {
				// select chose the queue though ctx had ended: this
				// e-mail joins the drain, which bounds them all together.
				m.drain(mail)
				return
			}
			// An e-mail under way when ctx ends (one queued just
			// before the stop) gets the same grace as the queue.
			dctx, cancel := withGrace(ctx, mailStopGrace)
			m.deliver(dctx, mail)
			cancel()
		}
	}
}

// withGrace returns a context that ends grace after ctx does.
func withGrace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	g, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(grace, cancel)
		mu.Unlock()
	})
	return g, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// drain gives first and then what is still queued mailStopGrace in all.
func (m *Mailer) drain(first ...Mail) {
	ctx, cancel := context.WithTimeout(context.Background(), mailStopGrace)
	defer cancel()
	for _, mail := range first {
		m.deliver(ctx, mail)
	}
	for ctx.Err() == nil {
		select {
		case mail := <-m.queue:
			m.deliver(ctx, mail)
		default:
			return
		}
	}
}

func (m *Mailer) deliver(ctx context.Context, mail Mail) {
	if err := m.send(ctx, mail); err != nil {
		m.failed.Add(1)
		m.log.Warn("e-mail alert not sent", "server", m.cfg.Server, "subject", mail.Subject, "err", err)
		return
	}
	m.sent.Add(1)
}

// Sent, Failed and Dropped count e-mails sent, refused or unreachable, and
// lost to a full queue.
func (m *Mailer) Sent() uint64 { return m.sent.Load() }

// Failed counts e-mails the server refused or could not be reached for.
func (m *Mailer) Failed() uint64 { return m.failed.Load() }

// Dropped counts e-mails lost to a full queue.
func (m *Mailer) Dropped() uint64 { return m.dropped.Load() }

// send talks SMTP (RFC 5321) to the server: connect within
// smtp_connect_timeout, the whole exchange within it again.
func (m *Mailer) send(ctx context.Context, mail Mail) error {
	d := net.Dialer{Timeout: m.cfg.ConnectTimeout}
	conn, err := d.DialContext(ctx, "tcp", m.cfg.Server)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // Close does not wait for a server
	defer stop()
	conn.SetDeadline(time.Now().Add(2 * m.cfg.ConnectTimeout))
	host, _, _ := net.SplitHostPort(m.cfg.Server)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(m.cfg.HeloName); err != nil {
		return err
	}
	if err := c.Mail(m.cfg.From); err != nil {
		return err
	}
	for _, to := range m.cfg.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(m.message(mail)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message is the DATA of an e-mail with keepalived's headers (smtp.h
// SMTP_HEADERS_CMD).
func (m *Mailer) message(mail Mail) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\n", mail.At.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	fmt.Fprintf(&b, "From: %s\r\n", m.cfg.From)
	fmt.Fprintf(&b, "Subject: %s\r\n", oneLine(mail.Subject))
	fmt.Fprintf(&b, "X-Mailer: lvsd\r\n")
	fmt.Fprintf(&b, "To: %s\r\n\r\n", strings.Join(m.cfg.To, ", "))
	fmt.Fprintf(&b, "%s\r\n", mail.Body)
	return []byte(b.String())
}

// oneLine keeps a header on one line whatever a name holds.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
