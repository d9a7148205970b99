package checks

import (
	"container/heap"
	"time"
)

// schedule is a min-heap of probes by the time of their next attempt: the
// single timer of the scheduler always waits for its head. A probe keeps
// its next attempt and its round's plan as offsets from the schedule's
// epoch (8 bytes each where a time.Time takes 24, on every one of tens of
// thousands of checks); an offset is the instant's distance from the epoch
// on the monotonic clock when both carry a monotonic reading (the system
// clock's instants do), so the instants it gives back compare exactly as
// the ones it was given: no attempt moves earlier or later for it.
type schedule struct {
	epoch time.Time
	heap  dueHeap
}

// dueHeap orders probes by due offset (container/heap).
type dueHeap []*probe

func (s dueHeap) Len() int           { return len(s) }
func (s dueHeap) Less(i, j int) bool { return s[i].due < s[j].due }
func (s dueHeap) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].index, s[j].index = int32(i), int32(j)
}
func (s *dueHeap) Push(x any) {
	p := x.(*probe)
	p.index = int32(len(*s))
	*s = append(*s, p)
}
func (s *dueHeap) Pop() any {
	old := *s
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	p.index = -1
	return p
}

// offset is t as an offset from the epoch.
func (s *schedule) offset(t time.Time) int64 { return int64(t.Sub(s.epoch)) }

// at is the instant of an offset from the epoch.
func (s *schedule) at(offset int64) time.Time { return s.epoch.Add(time.Duration(offset)) }

// add plans p's next attempt at due.
func (s *schedule) add(p *probe, due time.Time) {
	p.due = s.offset(due)
	heap.Push(&s.heap, p)
}

// remove takes p out of the schedule if it is in it.
func (s *schedule) remove(p *probe) {
	if i := int(p.index); i >= 0 && i < len(s.heap) && s.heap[i] == p {
		heap.Remove(&s.heap, i)
	}
}

// popDue returns the head if it is due at now.
func (s *schedule) popDue(now time.Time) *probe {
	if len(s.heap) == 0 || s.heap[0].due > s.offset(now) {
		return nil
	}
	return heap.Pop(&s.heap).(*probe)
}

// next is the time of the earliest planned attempt, zero when none.
func (s *schedule) next() time.Time {
	if len(s.heap) == 0 {
		return time.Time{}
	}
	return s.at(s.heap[0].due)
}

// maxWakeTick is the coarsest grid the connector's wakeups keep to.
const maxWakeTick = 100 * time.Millisecond

// wakeGrid rounds the instants the scheduling connector wakes at up to a
// grid of tick from origin, so that the checks falling due within one tick
// share one wakeup (one timer, one clock read, one wait, and the loop's
// sleep and wakeup in the kernel) instead of one each. An attempt starts
// at most one tick late and never early. A round's plan is first round +
// k × delay_loop, so when tick divides delay_loop every round of a check
// lands on the same offset of the grid and the interval between two
// rounds is delay_loop exactly. The tick is at most 1/100 of the shortest
// delay_loop and 1/10 of the shortest delay_before_retry (gridTick): a
// round is never more than 1 % of its delay_loop late, a retry never
// more than 10 % of its delay_before_retry, and it is at most
// maxWakeTick. keepalived arms its thread master's timer for every check,
// and starts them all at once, so its checks run in bursts; lvsd spreads
// them over delay_loop and wakes for them on this grid. In the checks
// benchmark (delay_loop 6 s, delay_before_retry 1 s, 388 checks a second)
// the grid was 10 ms, 1/100 of delay_before_retry, and woke the loop
// about 100 times a second; at 60 ms it wakes about 17 times, and in two
// boots, each order once, lvsd's CPU fell from 0.486 to 0.330 and 0.405
// core (1.03x and 1.17x keepalived's per check, from 1.44x and 1.30x),
// its voluntary context switches from 1.29-1.36 to 0.90-0.93 per
// connection, and its interval p99 was +0.92 and +1.29 % against +1.59
// and +2.27 % (docs/benchmarks.md, session 10).
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
// 1/100 of the shortest delay_loop or 1/10 of the shortest
// delay_before_retry when that is finer.
func gridTick(probes []*probe) time.Duration {
	tick := maxWakeTick
	for _, p := range probes {
		if d := p.checker.DelayLoop; d > 0 {
			tick = min(tick, d/100)
		}
		if d := p.checker.RetryDelay; d > 0 {
			tick = min(tick, d/10)
		}
	}
	return tick
}
