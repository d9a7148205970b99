package checks

import (
	"container/heap"
	"time"
)

// schedule is a min-heap of probes by the time of their next attempt: the
// single timer of the scheduler always waits for its head.
type schedule []*probe

func (s schedule) Len() int { return len(s) }
func (s schedule) Less(i, j int) bool {
	return s[i].due.Before(s[j].due)
}
func (s schedule) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index, s[j].index = i, j
}
func (s *schedule) Push(x any) {
	p := x.(*probe)
	p.index = len(*s)
	*s = append(*s, p)
}
func (s *schedule) Pop() any {
	old := *s
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	p.index = -1
	return p
}

// add plans p's next attempt at due.
func (s *schedule) add(p *probe, due time.Time) {
	p.due = due
	heap.Push(s, p)
}

// remove takes p out of the schedule if it is in it.
func (s *schedule) remove(p *probe) {
	if p.index >= 0 && p.index < len(*s) && (*s)[p.index] == p {
		heap.Remove(s, p.index)
	}
}

// popDue returns the head if it is due at now.
func (s *schedule) popDue(now time.Time) *probe {
	if len(*s) == 0 || (*s)[0].due.After(now) {
		return nil
	}
	return heap.Pop(s).(*probe)
}

// next is the time of the earliest planned attempt, zero when none.
func (s schedule) next() time.Time {
	if len(s) == 0 {
		return time.Time{}
	}
	return s[0].due
}

// maxWakeTick is the coarsest grid the connector's wakeups keep to.
const maxWakeTick = 10 * time.Millisecond

// wakeGrid rounds the instants the scheduling connector wakes at up to a
// grid of tick from origin, so that the checks falling due within one tick
// share one wakeup (one timer, one clock read, one wait) instead of one
// each: keepalived arms its thread master's timer for every check. An
// attempt starts at most one tick late and never early. A round's plan is
// first round + k × delay_loop, so when tick divides delay_loop every
// round of a check lands on the same offset of the grid and the interval
// between two rounds is delay_loop exactly; the tick is also at most
// 1/100 of the shortest delay_loop or delay_before_retry (gridTick), so an
// attempt is never more than 1 % of its delay late.
type wakeGrid struct {
	origin time.Time
	tick   time.Duration // zero: no grid
}

// up is the first instant of the grid at or after t; t itself without a
// grid or when t is zero.
func (g wakeGrid) up(t time.Time) time.Time {
	if g.tick <= 0 || t.IsZero() {
		return t
	}
	switch rem := t.Sub(g.origin) % g.tick; {
	case rem > 0:
		return t.Add(g.tick - rem)
	case rem < 0:
		return t.Add(-rem)
	}
	return t
}

// gridTick is the wake grid's tick for these checks: maxWakeTick, or
// 1/100 of the shortest delay_loop or delay_before_retry when that is
// finer.
func gridTick(probes map[string]*probe) time.Duration {
	tick := maxWakeTick
	for _, p := range probes {
		for _, d := range []time.Duration{p.rules.DelayLoop, p.rules.RetryDelay} {
			if d > 0 {
				tick = min(tick, d/100)
			}
		}
	}
	return tick
}
