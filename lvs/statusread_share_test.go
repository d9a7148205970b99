package lvs

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// handClock is a clock the test moves by hand, for the status's reads
// (these tests and, through export_test.go, package lvs_test's): its
// AfterFunc runs f when Advance reaches the deadline.
type handClock struct {
	mu     sync.Mutex
	t      time.Time
	timers []handTimer
}

type handTimer struct {
	at time.Time
	f  func()
}

// AfterFunc runs f once the clock is advanced by d or more.
func (c *handClock) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	c.timers = append(c.timers, handTimer{c.t.Add(d), f})
	c.mu.Unlock()
}

func newHandClock() *handClock {
	return &handClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
}

func (c *handClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d and runs the timers due, holding no lock.
func (c *handClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	var due []func()
	c.timers = slices.DeleteFunc(c.timers, func(tm handTimer) bool {
		if tm.at.After(c.t) {
			return false
		}
		due = append(due, tm.f)
		return true
	})
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// statusReadsOn is a statusReads whose reads age on clock.
func statusReadsOn(clock *handClock) *statusReads {
	return &statusReads{now: clock.Now, after: clock.AfterFunc, maxAge: time.Second}
}

// A read is kept to serve the statuses of its second, and let go once it
// can serve none: the table a status read at the start (the quorum
// alerts) is not held for the daemon's life. Only the read the timer was
// set for is let go, not a younger one.
func TestStatusReadLetsItsTableGoAfterItsAge(t *testing.T) {
	clock := newHandClock()
	s := statusReadsOn(clock)
	reads := 0
	read := func() (Table, error) {
		reads++
		return Table{{FWMark: uint32(reads)}}, nil
	}
	held := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.table != nil
	}
	if _, err := s.get(read); err != nil || !held() {
		t.Fatalf("after the first status: err %v, held %v; want the read kept for its second", err, held())
	}
	clock.Advance(time.Second)
	if !held() {
		t.Fatal("the read was let go within its age (at it, it still serves)")
	}
	clock.Advance(time.Millisecond)
	if held() {
		t.Fatal("the read is still held at its age, when it can serve no status")
	}
	if tbl, _ := s.get(read); reads != 2 || tbl[0].FWMark != 2 {
		t.Fatalf("the status after the release got %v after %d reads, want a second read", tbl, reads)
	}
	// A write ends and a third read is kept before the second's timer
	// fires: that timer leaves the third alone.
	clock.Advance(500 * time.Millisecond)
	s.writeBegins()
	s.writeEnds()
	s.get(read)
	clock.Advance(501 * time.Millisecond) // the second's timer fires
	if !held() {
		t.Fatal("the second read's timer let the third read go")
	}
	if tbl, _ := s.get(read); reads != 3 || tbl[0].FWMark != 3 {
		t.Fatalf("got %v after %d reads, want the third read served again", tbl, reads)
	}
	clock.Advance(500 * time.Millisecond)
	if held() {
		t.Fatal("the third read is still held past its age")
	}
}

// A status reuses a read that started at most maxAge ago, unless one of
// lvsd's writes ended since; a failed read serves nobody after it.
func TestStatusReadServesUntilMaxAgeOrAWrite(t *testing.T) {
	clock := newHandClock()
	s := statusReadsOn(clock)
	reads := 0
	fail := false
	read := func() (Table, error) {
		reads++
		if fail {
			return nil, errors.New("netlink: lost")
		}
		return Table{{FWMark: uint32(reads)}}, nil
	}
	for _, step := range []struct {
		name      string
		before    func()
		wantReads int
		wantErr   bool
	}{
		{"the first status reads", nil, 1, false},
		{"one within the age reuses it", func() { clock.Advance(600 * time.Millisecond) }, 1, false},
		{"at the age exactly, still", func() { clock.Advance(400 * time.Millisecond) }, 1, false},
		{"past the age, a new read", func() { clock.Advance(time.Millisecond) }, 2, false},
		{"after a write ended, a new read at once", func() { s.writeBegins(); s.writeEnds() }, 3, false},
		{"a failed read is the status's error", func() { clock.Advance(2 * time.Second); fail = true }, 4, true},
		{"and is not kept", func() { fail = false }, 5, false},
		{"the good one is", nil, 5, false},
	} {
		if step.before != nil {
			step.before()
		}
		tbl, err := s.get(read)
		if reads != step.wantReads || (err != nil) != step.wantErr {
			t.Fatalf("%s: %d reads, err %v; want %d reads, error %v", step.name, reads, err, step.wantReads, step.wantErr)
		}
		if err == nil && (len(tbl) != 1 || tbl[0].FWMark != uint32(reads)) {
			t.Fatalf("%s: got table %v, want the read number %d's", step.name, tbl, reads)
		}
	}
}

// Statuses that come while a read is in flight wait for it and get what
// it read: one read however many scrapers. A read that a write of lvsd's
// overtook serves those, but not the status after.
func TestStatusReadInFlightServesItsWaitersOnly(t *testing.T) {
	clock := newHandClock()
	s := statusReadsOn(clock)
	var reads atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	read := func() (Table, error) {
		n := reads.Add(1)
		if n == 1 {
			close(entered)
			<-release
		}
		return Table{{FWMark: uint32(n)}}, nil
	}
	const waiters = 8
	got := make(chan Table, waiters+1)
	go func() { tbl, _ := s.get(read); got <- tbl }()
	<-entered
	// They find the read in flight, or (scheduled late) its outcome, which
	// serves for maxAge on the clock that stands still.
	for range waiters {
		go func() { tbl, _ := s.get(read); got <- tbl }()
	}
	close(release)
	for range waiters + 1 {
		select {
		case tbl := <-got:
			if len(tbl) != 1 || tbl[0].FWMark != 1 {
				t.Fatalf("a status got %v, want the one read in flight", tbl)
			}
		case <-time.After(10 * time.Second): // catches a deadlock only
			t.Fatal("a status waited for ever")
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for %d concurrent statuses, want 1", n, waiters+1)
	}

	// A read in flight that a write overtakes: it serves its own status,
	// and the next status reads again.
	clock.Advance(2 * time.Second)
	entered2, release2 := make(chan struct{}), make(chan struct{})
	read2 := func() (Table, error) {
		n := reads.Add(1)
		if n == 2 {
			close(entered2)
			<-release2
		}
		return Table{{FWMark: uint32(n)}}, nil
	}
	go func() { tbl, _ := s.get(read2); got <- tbl }()
	<-entered2
	s.writeBegins()
	s.writeEnds()
	close(release2)
	if tbl := <-got; len(tbl) != 1 || tbl[0].FWMark != 2 {
		t.Fatalf("the status whose read a write overtook got %v, want its read", tbl)
	}
	if tbl, _ := s.get(read2); reads.Load() != 3 || tbl[0].FWMark != 3 {
		t.Fatalf("the status after the write got %v (%d reads): the read the write overtook served again", tbl, reads.Load())
	}
}
