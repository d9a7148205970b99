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
