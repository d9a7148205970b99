package alert

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvsd/lvsd/hcl"
)

// keepalived 2.2.7's e-mail wording (vrrp_notify.c, smtp.c, check_*.c,
// ipwrapper.c) and its FIFO lines for virtual and real servers
// (ipwrapper.c notify_fifo_vs, notify_fifo_rs).

// vrrpMail is keepalived's e-mail for an instance (or, group, a sync
// group) entering state; ok is false for a state keepalived sends none for.
func vrrpMail(routerID string, group bool, name, state string) (subject, body string, ok bool) {
	kind := "VRRP Instance"
	if group {
		kind = "VRRP Group"
	}
	var what string
	switch state {
	case "MASTER":
		what, body = "Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="
		if group {
			body = "=> All VRRP group instances are now in MASTER state <="
		}
	case "BACKUP":
		what, body = "Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="
		if group {
			body = "=> All VRRP group instances are now in BACKUP state <="
		}
	case "FAULT":
		what, body = "Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="
		if group {
			body = "=> All VRRP group instances are now in FAULT state <="
		}
	case "STOP":
		what, body = "Stopping", "=> VRRP Instance stopping <="
		if group {
			body = "=> All VRRP group instances are now stopping <="
		}
	case "DELETED":
		if group {
			return "", "", false
		}
		what, body = "Deleted", "=> VRRP Deleted at reload <="
	default:
		return "", "", false
	}
	return fmt.Sprintf("[%s] %s %s - %s", routerID, kind, name, what), body, true
}

// serviceName is keepalived's FMT_VS: "[ADDR]:proto:PORT", "FWM N", or
// "[GROUP]:PORT" for a virtual_server_group.
func serviceName(vs hcl.VirtualServer) string {
	switch {
	case vs.Group != "":
		return fmt.Sprintf("[%s]:%d", vs.Group, vs.Addr.Port())
	case vs.FWMark != 0:
		return fmt.Sprintf("FWM %d", vs.FWMark)
	}
	return trio(vs.Addr, vs.Protocol)
}

// trio is keepalived's inet_sockaddrtotrio: "[ADDR]:proto:PORT".
func trio(a netip.AddrPort, protocol string) string {
	return fmt.Sprintf("[%s]:%s:%d", a.Addr(), strings.ToLower(protocol), a.Port())
}

// realServerMail is keepalived's e-mail for a real server going up or
// down; kind is its first checker's (the body names it as keepalived's
// checker does).
func realServerMail(routerID string, vs hcl.VirtualServer, rs netip.AddrPort, up bool, kind string) (subject, body string) {
	state := "DOWN"
	if up {
		state = "UP"
	}
	subject = fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s", routerID, trio(rs, vs.Protocol), serviceName(vs), state)
	check := map[string]string{hcl.CheckTCP: "TCP CHECK", hcl.CheckUDP: "UDP CHECK", hcl.CheckPing: "ICMP CHECK", hcl.CheckDNS: "DNS_CHECK:"}[kind]
	if check == "" {
		check = "CHECK"
	}
	if up {
		return subject, "=> " + check + " succeed on service <="
	}
	return subject, "=> " + check + " failed on service <="
}

// virtualServerMail is keepalived's e-mail for a virtual server crossing
// quorum, or with start its quorum when it is first programmed. The body
// carries keepalived 2.2.7's numbers (ipwrapper.c do_vs_notifies):
// quorum, hysteresis, the threshold crossed and the live weight sum,
// "=> Gained quorum 3+1=4 <= 5 <=". The threshold is quorum + hysteresis
// when quorum comes up (or is told at start) and quorum - hysteresis when
// it is lost, always written after "+" as keepalived writes it.
func virtualServerMail(routerID string, vs hcl.VirtualServer, up, start bool, liveWeight int) (subject, body string) {
	state, what := "DOWN", "Lost quorum"
	if up {
		state, what = "UP", "Gained quorum"
	}
	threshold := vs.Quorum - vs.Hysteresis
	if up || start {
		threshold = vs.Quorum + vs.Hysteresis
	}
	if start {
		what = "Starting with quorum " + strings.ToLower(state)
	}
	return fmt.Sprintf("[%s] Virtualserver %s - %s", routerID, serviceName(vs), state),
		fmt.Sprintf("=> %s %d+%d=%d <= %d <=", what, vs.Quorum, vs.Hysteresis, threshold, liveWeight)
}

// shutdownBody is the body of keepalived's stop-time e-mails (ipwrapper.c
// clear_service_rs and do_vs_notifies while stopping).
const shutdownBody = "=> Shutting down <="

// realServerLine is keepalived's FIFO line for a real server.
func realServerLine(vs hcl.VirtualServer, rs netip.AddrPort, up bool) string {
	state := "DOWN"
	if up {
		state = "UP"
	}
	return fmt.Sprintf("RS %s %s %s", trio(rs, vs.Protocol), serviceName(vs), state)
}

// virtualServerLine is keepalived's FIFO line for a virtual server's
// quorum.
func virtualServerLine(vs hcl.VirtualServer, up bool) string {
	state := "DOWN"
	if up {
		state = "UP"
	}
	return fmt.Sprintf("VS %s %s", serviceName(vs), state)
}
