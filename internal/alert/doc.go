// Package alert owns what lvsd tells the outside world besides notify
// scripts, in keepalived's formats: lines on notify FIFOs (fifo.go:
// notify_fifo, vrrp_notify_fifo, lvs_notify_fifo and their scripts) and
// e-mail alerts (mail.go: notification_email, smtp_server, smtp_alert),
// worded as keepalived 2.2.7 words them (message.go). Alerter (alerter.go)
// is the one entry the director calls for VRRP notices, real server
// verdicts and virtual server quorum.
//
// It never blocks its caller: a FIFO line is written without waiting (a
// slow or absent reader loses lines, counted), and an e-mail goes into a
// bounded queue sent from its own goroutine (a full queue loses the
// e-mail, counted). It never decides what happened: the VRRP node, the
// checkers and the IPVS manager do.
package alert
