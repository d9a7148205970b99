package priority

import (
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
