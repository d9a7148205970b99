package priority

import (
	"sync/atomic"
	"time"
)

// Budget is how long one piece of deferrable work may wait in all, over
// every Wait it makes: a /metrics scrape or a status steps aside at each
// of many steps, and while urgent work keeps coming (many instances
// flapping, a reload loop) a limit per step alone would add up past the
// scrape's timeout. Once spent, the work goes on without waiting. Safe
// for concurrent use (a scrape's collection and its answer's writes).
type Budget struct {
	left atomic.Int64 // nanoseconds
}

// NewBudget returns a budget of total.
func NewBudget(total time.Duration) *Budget {
	b := &Budget{}
	b.left.Store(int64(total))
	return b
}

// Left is what is left of b.
func (b *Budget) Left() time.Duration { return time.Duration(b.left.Load()) }

// Spend runs wait, a wait of some gate's, if b has time left, and takes
// from b the time it took. It reports whether it ran wait.
func (b *Budget) Spend(wait func()) bool {
	if b.Left() <= 0 {
		return false
	}
	start := time.Now()
	wait()
	b.left.Add(-int64(time.Since(start)))
	return true
}

// WaitWithin is Wait for at most limit and at most what is left of b,
// which pays the time waited. A spent budget does not wait at all.
func (g *Gate) WaitWithin(b *Budget, limit time.Duration) bool {
	waited := false
	b.Spend(func() { waited = g.Wait(min(limit, b.Left())) })
	return waited
}
