// Package priority lets work that may wait step aside for work that may
// not: a Gate is raised while urgent work runs (a takeover's IPVS write,
// a VRRP transition's hook), and deferrable work (a status read of the
// kernel, a /metrics scrape) waits at its next step until the gate is
// down, for at most a limit so that it cannot starve.
//
// It owns only that: gate.go, the Gate, and budget.go, the Budget that
// bounds one piece of work's waits in all. It never decides what is urgent
// (its callers raise it) nor interrupts work in progress: the deferrable
// work waits where it calls Wait, between two of its own steps.
package priority

import (
	"sync"
	"time"
)

// Gate counts urgent work in progress. The zero value is a lowered gate.
type Gate struct {
	mu      sync.Mutex
	pending int
	clear   chan struct{} // closed when pending drops to zero; nil while zero
}

// Raise marks urgent work as in progress until its Lower.
func (g *Gate) Raise() {
	g.mu.Lock()
	if g.pending == 0 {
		g.clear = make(chan struct{})
	}
	g.pending++
	g.mu.Unlock()
}

// Lower ends urgent work that Raise marked.
func (g *Gate) Lower() {
	g.mu.Lock()
	g.pending--
	if g.pending == 0 {
		close(g.clear)
		g.clear = nil
	}
	g.mu.Unlock()
}

// Wait returns once no urgent work is in progress, or after limit. It
// reports whether it waited at all.
func (g *Gate) Wait(limit time.Duration) bool {
	g.mu.Lock()
	clear := g.clear
	g.mu.Unlock()
	if clear == nil {
		return false
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-clear:
	case <-t.C:
	}
	return true
}
