package main

import (
	"testing"

	"github.com/lvsd/lvsd/internal/alert"
	"github.com/lvsd/lvsd/internal/director"
)

func TestMetricsCountAlertLosses(t *testing.T) {
	got := scrapeValues(t, func() director.Report {
		return director.Report{Alerts: &alert.Stats{FIFOs: 1, FIFOLines: 7, FIFODropped: 2, MailEnabled: true, MailSent: 3, MailFailed: 1, MailDropped: 4}}
	})
	for name, want := range map[string]float64{
		"lvsd_notify_fifo_lines_total":           7,
		"lvsd_notify_fifo_dropped_total":         2,
		"lvsd_alert_emails_total,result=sent":    3,
		"lvsd_alert_emails_total,result=failed":  1,
		"lvsd_alert_emails_total,result=dropped": 4,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
	if _, ok := scrapeValues(t, func() director.Report { return director.Report{} })["lvsd_notify_fifo_lines_total"]; ok {
		t.Error("FIFO counters without a FIFO")
	}
}
