package checks

import (
	"fmt"
	"testing"
	"time"
)

func TestUpCheckGoesDownAfterOnePlusRetryFailures(t *testing.T) {
	for _, retry := range []int{0, 1, 3} {
		rules := verdictRules{Retry: retry, RetryDelay: time.Second, Rise: 1, DelayLoop: 6 * time.Second}
		v := verdict{Up: true, Weight: -1}
		for i := 1; i <= retry; i++ {
			s := v.apply(rules, Result{Weight: -1})
			if s.Changed || !s.Retry || !v.Up {
				t.Fatalf("retry %d: failure %d: step %+v up %v, want a retry while still up", retry, i, s, v.Up)
			}
		}
		s := v.apply(rules, Result{Weight: -1})
		if !s.Changed || s.Retry || v.Up {
			t.Fatalf("retry %d: failure %d: step %+v up %v, want down", retry, retry+1, s, v.Up)
		}
	}
}

func TestSuccessBetweenRetriesResetsTheFailureCount(t *testing.T) {
	rules := verdictRules{Retry: 1, RetryDelay: time.Second, Rise: 1, DelayLoop: time.Second}
	v := verdict{Up: true, Weight: -1}
	v.apply(rules, Result{Weight: -1})
	v.apply(rules, Result{OK: true, Weight: -1})
	if s := v.apply(rules, Result{Weight: -1}); s.Changed || !v.Up {
		t.Fatalf("a failure after a success went down at once: %+v", s)
	}
}

func TestDownCheckComesUpAfterOneSuccessAndIsNotRetried(t *testing.T) {
	rules := verdictRules{Retry: 3, RetryDelay: time.Second, Rise: 1, DelayLoop: time.Second}
	v := verdict{Up: false, Weight: -1}
	if s := v.apply(rules, Result{Weight: -1}); s.Changed || s.Retry {
		t.Fatalf("a down check that fails must wait for the next round, got %+v", s)
	}
	if s := v.apply(rules, Result{OK: true, Weight: -1}); !s.Changed || !v.Up {
		t.Fatalf("one success must bring it up (keepalived), got %+v up %v", s, v.Up)
	}
}

func TestRiseNeedsConsecutiveSuccesses(t *testing.T) {
	rules := verdictRules{Retry: 1, RetryDelay: time.Second, Rise: 3, DelayLoop: time.Second}
	v := verdict{Up: false, Weight: -1}
	ok, fail := Result{OK: true, Weight: -1}, Result{Weight: -1}
	for i, r := range []Result{ok, ok, fail, ok, ok} {
		if s := v.apply(rules, r); s.Changed || v.Up {
			t.Fatalf("attempt %d: up too early", i)
		}
	}
	if s := v.apply(rules, ok); !s.Changed || !v.Up {
		t.Fatalf("third consecutive success did not bring it up: %+v", s)
	}
}

func TestMiscDynamicWeightChangeIsAVerdictChange(t *testing.T) {
	rules := verdictRules{Rise: 1, DelayLoop: time.Second}
	v := verdict{Up: true, Weight: -1}
	if s := v.apply(rules, Result{OK: true, Weight: 7}); !s.Changed || v.Weight != 7 {
		t.Fatalf("weight change not reported: %+v %+v", s, v)
	}
	if s := v.apply(rules, Result{OK: true, Weight: 7}); s.Changed {
		t.Fatal("same weight reported as a change")
	}
}

func TestNextRoundIsPlannedFromThePlanNotFromTheClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rules := verdictRules{RetryDelay: 2 * time.Second, DelayLoop: 6 * time.Second}
	tests := []struct {
		name        string
		step        step
		done        time.Time
		wantAt      time.Time
		wantRoundAt time.Time
	}{
		{"quick check", step{}, t0.Add(300 * time.Millisecond), t0.Add(6 * time.Second), t0.Add(6 * time.Second)},
		{"started late under load", step{}, t0.Add(5 * time.Second), t0.Add(6 * time.Second), t0.Add(6 * time.Second)},
		{"retry follows the failure", step{Retry: true}, t0.Add(5 * time.Second), t0.Add(7 * time.Second), t0},
		{"overran two rounds", step{}, t0.Add(13 * time.Second), t0.Add(18 * time.Second), t0.Add(18 * time.Second)},
		{"ended exactly on the next plan", step{}, t0.Add(6 * time.Second), t0.Add(6 * time.Second), t0.Add(6 * time.Second)},
	}
	for _, tt := range tests {
		at, round := nextAttempt(rules, tt.step, t0, tt.done)
		if !at.Equal(tt.wantAt) || !round.Equal(tt.wantRoundAt) {
			t.Errorf("%s: next %v round %v, want %v %v", tt.name, at.Sub(t0), round.Sub(t0), tt.wantAt.Sub(t0), tt.wantRoundAt.Sub(t0))
		}
	}
}

// TestFailureReasonsBeyondTheBoundCountAsOther checks that a check counts
// at most maxFailureReasons distinct failure reasons and the rest, however
// many, under "other".
func TestFailureReasonsBeyondTheBoundCountAsOther(t *testing.T) {
	p := &probe{}
	for i := range maxFailureReasons + 4 {
		p.countFailure(fmt.Sprintf("reason %d", i))
		p.countFailure(fmt.Sprintf("reason %d", i))
	}
	got := p.failureCounts()
	if len(got) != maxFailureReasons+1 {
		t.Fatalf("%d reasons counted, want %d and other: %v", len(got), maxFailureReasons, got)
	}
	for i := range maxFailureReasons {
		if n := got[fmt.Sprintf("reason %d", i)]; n != 2 {
			t.Errorf("reason %d counted %d times, want 2", i, n)
		}
	}
	if got["other"] != 8 {
		t.Errorf("other counted %d times, want 8", got["other"])
	}
	if (&probe{}).failureCounts() != nil {
		t.Errorf("a check that never failed has failure counts")
	}
}
