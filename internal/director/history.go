package director

import (
	"sync"
	"time"
)

// historySize bounds the recent events a director keeps: enough for an
// operator to see what led to the current state, never growing with a
// flapping real server.
const historySize = 64

// Event is one change in the director's recent history: a VRRP transition
// or a real server's health verdict changing.
type Event struct {
	Time time.Time `json:"time"`
	// Kind is EventVRRP or EventHealth.
	Kind string `json:"kind"`
	// Subject is the instance name, or "SERVICE REAL" for a real server.
	Subject string `json:"subject"`
	// From and To are VRRP states, or "up" and "down".
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason,omitempty"`
}

// The kinds of Event.
const (
	EventVRRP   = "vrrp"
	EventHealth = "health"
)

// history is a ring of the last historySize events.
type history struct {
	mu     sync.Mutex
	events []Event // oldest first once full, starting at next
	next   int
}

func (h *history) add(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) < historySize {
		h.events = append(h.events, e)
		return
	}
	h.events[h.next] = e
	h.next = (h.next + 1) % historySize
}

// newestFirst returns a copy of the events, newest first.
func (h *history) newestFirst() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Event, 0, len(h.events))
	for i := len(h.events) - 1; i >= 0; i-- {
		out = append(out, h.events[(h.next+i)%len(h.events)])
	}
	return out
}
