package announce

import "time"

// SetDrain withdraws every VIP for reason ("lvsd drain", "stopping")
// while the sessions stay up and nothing else changes, until SetDrain("")
// lets Decide announce them again. It never blocks: Run acts on it at
// once; Withdrawn tells when the withdrawals are sent.
func (a *Announcer) SetDrain(reason string) {
	a.mu.Lock()
	switch {
	case reason == "":
		a.drainSince = time.Time{}
	case a.drain == "":
		a.drainSince = time.Now()
	}
	a.drain = reason
	a.mu.Unlock()
	a.Kick()
}

// Draining returns the reason given to SetDrain and since when the
// director is drained, or "".
func (a *Announcer) Draining() (reason string, since time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.drain, a.drainSince
}

// draining returns the reason given to SetDrain, or "".
func (a *Announcer) draining() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.drain
}

// Withdrawn reports whether no VIP is announced: after SetDrain, that
// every withdrawal has been handed to the sessions.
func (a *Announcer) Withdrawn() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.announced) == 0
}
