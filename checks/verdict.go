package checks

import "time"

// verdictRules are the settings that turn attempts into a verdict, taken
// from a checker as hcl finalised it (validation holds Rise >= 1 and
// DelayLoop > 0).
type verdictRules struct {
	Retry      int           // retry: 1+Retry consecutive failures take an up check down
	RetryDelay time.Duration // delay_before_retry between those attempts
	Rise       int           // consecutive successes that bring a down check up (>= 1)
	DelayLoop  time.Duration // between rounds
}

// verdict is the pure state of one check, keepalived's semantics:
//
//   - an up check that fails is retried Retry times, RetryDelay after each
//     failure; the 1+Retry-th consecutive failure takes it down;
//   - a down check is tried once per round (no retries: it is already down);
//   - a down check comes up after Rise consecutive successes (keepalived:
//     Rise = 1, one success), further attempts spaced by RetryDelay;
//   - with misc_dynamic a success may set the weight (Result.Weight >= 0);
//     a success without a weight (exit status 0) keeps the last one set,
//     as keepalived keeps the real server's weight; going down keeps it too.
//
// Its counts are 32 bits (retry and rise are: hcl.Checker), and so is the
// weight (-1 or 0..65535): 16 bytes in every check where ints took 32.
type verdict struct {
	Weight    int32  // -1 configured, else the last weight misc_dynamic set
	failures  uint32 // consecutive failures while up: at most 1+Retry
	successes uint32 // consecutive successes while down: at most Rise
	Up        bool
}

// step is what applying one Result decided.
type step struct {
	Changed bool // Up or Weight changed: subscribers re-evaluate
	Retry   bool // the next attempt is a retry (RetryDelay), not the next round
}

// apply folds the Result of one attempt into the verdict.
func (v *verdict) apply(rules verdictRules, r Result) step {
	if r.OK {
		v.failures = 0
		if v.Up {
			if r.Weight >= 0 && r.Weight != int(v.Weight) {
				v.Weight = int32(r.Weight)
				return step{Changed: true}
			}
			return step{}
		}
		v.successes++
		if int(v.successes) < rules.Rise {
			return step{Retry: true}
		}
		v.successes = 0
		v.Up = true
		if r.Weight >= 0 {
			v.Weight = int32(r.Weight)
		}
		return step{Changed: true}
	}
	v.successes = 0
	if !v.Up {
		return step{}
	}
	v.failures++
	if int(v.failures) <= rules.Retry {
		return step{Retry: true}
	}
	v.failures = 0
	v.Up = false
	return step{Changed: true}
}

// nextAttempt is when to try again after an attempt of the round planned at
// roundStart ended at done. A retry follows the failure by RetryDelay
// (keepalived). The next round keeps the schedule's rhythm: it is planned
// from the previous plan, not from the clock (next = planned + delay_loop),
// skipping whole rounds only if the check overran them, so load delays a
// check but never shifts all later ones (keepalived #2271). It returns the
// time of the next attempt and the planned start of its round.
func nextAttempt(rules verdictRules, s step, roundStart, done time.Time) (at, round time.Time) {
	if s.Retry {
		return done.Add(rules.RetryDelay), roundStart
	}
	loop := rules.DelayLoop
	next := roundStart.Add(loop)
	if next.Before(done) {
		missed := done.Sub(next)/loop + 1
		next = next.Add(missed * loop)
	}
	return next, next
}
