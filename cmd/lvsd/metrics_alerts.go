package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lvsd/lvsd/internal/alert"
)

// collectAlerts exports the notify FIFOs' and e-mail alerts' counters
// (internal/alert): what was written and sent, and what was lost because
// a FIFO's reader is slow or the e-mail queue was full.
func collectAlerts(ch chan<- prometheus.Metric, s *alert.Stats) {
	if s == nil {
		return
	}
	var (
		fifoLines   = prometheus.NewDesc("lvsd_notify_fifo_lines_total", "Lines written to the notify FIFOs.", nil, nil)
		fifoDropped = prometheus.NewDesc("lvsd_notify_fifo_dropped_total", "Lines lost because a notify FIFO was full (a slow or absent reader).", nil, nil)
		mail        = prometheus.NewDesc("lvsd_alert_emails_total", "E-mail alerts, by result: sent, failed (the server refused or was unreachable), dropped (the queue was full).", []string{"result"}, nil)
	)
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if s.FIFOs > 0 {
		counter(fifoLines, s.FIFOLines)
		counter(fifoDropped, s.FIFODropped)
	}
	if s.MailEnabled {
		counter(mail, s.MailSent, "sent")
		counter(mail, s.MailFailed, "failed")
		counter(mail, s.MailDropped, "dropped")
	}
}
