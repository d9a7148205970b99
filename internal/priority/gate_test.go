package priority

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// Wait holds deferrable work back while any urgent work is in progress,
// and for at most the limit. In a synctest bubble: the waiter is inside
// Wait before the urgent work ends (scheduled late, it would find none in
// progress and not wait at all), and the limit is the bubble's time.
func TestGateHoldsWaitersWhileUrgentWorkRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Gate
		if g.Wait(time.Hour) {
			t.Fatal("waited with no urgent work in progress")
		}
		g.Raise()
		g.Raise() // a second piece, such as a write waiting for another
		returned := make(chan bool, 1)
		go func() { returned <- g.Wait(time.Hour) }()
		synctest.Wait()
		g.Lower()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("returned with urgent work still in progress")
		default:
		}
		g.Lower()
		synctest.Wait()
		select {
		case waited := <-returned:
			if !waited {
				t.Fatal("Wait says it did not wait")
			}
		default:
			t.Fatal("still waiting with no urgent work in progress")
		}
		if g.Wait(time.Hour) {
			t.Fatal("waited on a gate lowered again")
		}
		// Urgent work that takes longer than the limit: the waiter goes on.
		g.Raise()
		defer g.Lower()
		start := time.Now()
		if !g.Wait(30*time.Millisecond) || time.Since(start) != 30*time.Millisecond {
			t.Fatalf("returned after %v, want the limit of 30ms", time.Since(start))
		}
	})
}

// A budget bounds the waits of one piece of deferrable work in all: each
// wait takes what it waited from it, at most what is left, and once it
// is spent the work goes on without waiting.
func TestBudgetBoundsAllTheWaitsOfOnePieceOfWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Gate
		g.Raise() // urgent work that never ends
		defer g.Lower()
		b := NewBudget(time.Second)
		start := time.Now()
		var waits []time.Duration
		for range 5 {
			at := time.Now()
			if g.WaitWithin(b, 400*time.Millisecond) {
				waits = append(waits, time.Since(at))
			}
		}
		want := []time.Duration{400 * time.Millisecond, 400 * time.Millisecond, 200 * time.Millisecond}
		if !slices.Equal(waits, want) || time.Since(start) != time.Second || b.Left() != 0 {
			t.Fatalf("waits %v (%v in all, %v left), want %v: one second in all", waits, time.Since(start), b.Left(), want)
		}
		// A wait with no urgent work in progress costs nothing.
		var h Gate
		c := NewBudget(time.Second)
		if h.WaitWithin(c, time.Hour) || c.Left() != time.Second {
			t.Fatalf("a lowered gate took %v of the budget", time.Second-c.Left())
		}
		if ran := b.Spend(func() { t.Fatal("a spent budget ran a wait") }); ran {
			t.Fatal("Spend says it ran")
		}
	})
}
