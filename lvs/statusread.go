package lvs

import (
	"sync"
	"time"

	"github.com/lvsd/lvsd/internal/priority"
)

// What a status (a /metrics scrape, `lvsd status`, the status page) reads
// of the kernel, and how it stays out of a takeover's way.
//
// IPVS's generic netlink family has no parallel_ops (ip_vs_ctl.c), so
// every IPVS command and every part of every dump, of every namespace,
// takes genetlink's one mutex; and a read of the table asks for the real
// servers of each service in turn, thousands of requests on a big table.
// A takeover's write queued behind a whole-table read of back-to-back
// scrapes waited 60–330 ms in the test VM where it usually takes 2–25 ms
// (docs/benchmarks.md, "Takeover during a repair pass and /metrics
// scrapes"), past VRRP's bound of Master_Down_Interval + 100 ms. A scrape
// may wait; a takeover may not. So:
//   - the status reads the kernel's services statusChunk at a time, and
//     before each chunk it waits while a write of the Manager is pending
//     (a priority.Gate raised by Manager.write: takeovers, health events,
//     reloads; for a takeover from the start of SetActive, before it takes
//     mu), and so does the description of the services (status.go), which
//     takes mu statusChunk services at a time, for at most statusYieldMax
//     per chunk and statusYieldBudget for the whole status, so that a
//     storm of writes cannot starve it (nor hold it past a scraper's
//     timeout); a write so waits for one chunk in flight at most, not for
//     the rest of the table;
//   - the services read are those of lvsd's view of the kernel (the
//     configured ones and the foreign ones the last repair pass or write
//     found); a service added behind lvsd's back shows from the next
//     repair pass on. Before the view is known, and while it holds one
//     chunk at most, the status reads the whole table at once;
//   - reads are shared (statusReads): a status that finds one in flight
//     waits for it, and one that finds a read that started less than
//     statusMaxAge ago, with no write of lvsd's ended since, uses it; so
//     any number of scrapers, status pages and `lvsd status` cost at most
//     one read at a time and one a second. Counters, connection counts and
//     outside edits are then up to a second old (what a Prometheus user
//     expects of counters); lvsd's own writes show at once. A read is
//     let go statusMaxAge after it ended, when it can serve no status any
//     more: a table read once (the start's quorum alerts, a scrape an hour
//     ago) is not held for the daemon's life (0.4 MB of the steady heap
//     on the checks benchmark's table, docs/benchmarks.md "Session 10,
//     lvs's heap").

const (
	// statusChunk is how many services one kernel read of a status asks
	// for (Kernel.Services: a GET_SERVICE and a GET_DEST dump each): a few
	// milliseconds under the test VM's emulation.
	statusChunk = 16
	// statusYieldMax is how long a status, or a repair pass (the parse
	// of /proc/net/ip_vs and its comparison, desireInChunks), waits
	// before one chunk for pending writes or a takeover's hold:
	// longer than any single write of a takeover, short of a scrape's
	// timeout (Prometheus' default is 10 s) even for a table of
	// thousands of chunks.
	statusYieldMax = 500 * time.Millisecond
	// statusYieldBudget is how long one status, or one repair pass, waits
	// for pending writes in all, over its chunks: a storm of writes
	// (flapping health checks, a reload loop) cannot hold a scrape of
	// the 2,000-service table (250 chunks read and described) for
	// statusYieldMax at each, past the scraper's timeout. Once spent, the
	// rest is read and described without waiting.
	statusYieldBudget = 2 * time.Second
	// statusMaxAge is how old a table read may be and still serve a
	// status.
	statusMaxAge = time.Second
)

// statusReads shares the status's table reads (single flight, and a
// result younger than maxAge serves again).
type statusReads struct {
	gate priority.Gate    // raised while a write of the Manager is pending
	now  func() time.Time // time.Now; tests set it
	// after runs f once d has passed (time.AfterFunc); tests set it with
	// now, so that the read they hold is let go on their clock.
	after    func(d time.Duration, f func())
	maxAge   time.Duration // statusMaxAge; tests set it
	yieldMax time.Duration // statusYieldMax; tests set it
	budget   time.Duration // statusYieldBudget; tests set it

	mu      sync.Mutex
	table   Table     // the last read, read-only: handed to every status
	at      time.Time // when it started; zero when there is none
	reading chan struct{}
	done    *statusRead // the read in flight's outcome, set before reading closes
	// writes counts the writes ended: a read that started before one
	// ended serves only the statuses that waited for it.
	writes uint64
	// kept counts the reads kept in table: the release of one (letGo)
	// leaves a later one alone.
	kept uint64
}

// writeBegins holds status reads back until writeEnds (Manager.write).
func (s *statusReads) writeBegins() { s.gate.Raise() }

// writeEnds ends what writeBegins began: the last read no longer serves,
// so that a status after a write (a takeover, a health event, a reload)
// shows it.
func (s *statusReads) writeEnds() {
	s.mu.Lock()
	s.writes++
	s.table, s.at = nil, time.Time{}
	s.mu.Unlock()
	s.gate.Lower()
}

// yieldBudget is a new budget for the waits of one status or repair
// pass (statusYieldBudget unless a test set it).
func (s *statusReads) yieldBudget() *priority.Budget {
	if s.budget == 0 {
		return priority.NewBudget(statusYieldBudget)
	}
	return priority.NewBudget(s.budget)
}

// waitForWrites returns once no write of the Manager is pending, or
// after yieldMax (statusYieldMax unless a test set it), or once b is
// spent: a status, and a repair pass, calls it before each chunk it
// reads or describes, with one budget for all its chunks.
func (s *statusReads) waitForWrites(b *priority.Budget) {
	limit := s.yieldMax
	if limit == 0 {
		limit = statusYieldMax
	}
	s.gate.WaitWithin(b, limit)
}

// statusRead is the outcome of one read.
type statusRead struct {
	table Table
	err   error
}

// get returns a table for a status: the last read if it started at most
// maxAge ago and no write ended since, the outcome of the read in flight
// if there is one, else a read of its own through read. The table is
// shared: callers must not change it. A failed read, or one a write
// overtook, serves only the statuses that waited for it.
func (s *statusReads) get(read func() (Table, error)) (Table, error) {
	now, maxAge := s.now, s.maxAge
	if now == nil {
		now = time.Now
	}
	if maxAge == 0 {
		maxAge = statusMaxAge
	}
	s.mu.Lock()
	if !s.at.IsZero() && now().Sub(s.at) <= maxAge {
		t := s.table
		s.mu.Unlock()
		return t, nil
	}
	if s.reading != nil {
		reading, done := s.reading, s.done
		s.mu.Unlock()
		<-reading
		return done.table, done.err
	}
	reading, done := make(chan struct{}), &statusRead{}
	s.reading, s.done = reading, done
	start, writes := now(), s.writes
	s.mu.Unlock()

	done.table, done.err = read()
	s.mu.Lock()
	s.reading, s.done = nil, nil
	keep := done.err == nil && s.writes == writes
	if keep {
		s.table, s.at = done.table, start
		s.kept++
	} else {
		s.table, s.at = nil, time.Time{}
	}
	kept := s.kept
	s.mu.Unlock()
	close(reading)
	if keep {
		// It serves until start+maxAge at most (get's test is <=): let
		// it go a millisecond past maxAge after now, which is later.
		after := s.after
		if after == nil {
			after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
		}
		after(maxAge+time.Millisecond, func() { s.letGo(kept) })
	}
	return done.table, done.err
}

// letGo forgets the read kept as the kept-th, unless a later one (or a
// write) replaced it.
func (s *statusReads) letGo(kept uint64) {
	s.mu.Lock()
	if s.kept == kept {
		s.table, s.at = nil, time.Time{}
	}
	s.mu.Unlock()
}

// statusTable reads the kernel's table for Status (statusReads, with the
// chunks and the gate above); a read of its own spends from b.
func (m *Manager) statusTable(b *priority.Budget) (Table, error) {
	return m.status.get(func() (Table, error) { return m.readForStatus(b) })
}

// readForStatus reads the services of lvsd's view of the kernel,
// statusChunk at a time, each chunk after the pending writes (at most
// statusYieldMax, and what is left of b); the whole table at once while
// the view is unknown or holds one chunk at most.
func (m *Manager) readForStatus(b *priority.Budget) (Table, error) {
	m.mu.Lock()
	var ids []Service
	if m.cache != nil {
		ids = make([]Service, 0, len(m.cache))
		for _, s := range m.cache {
			ids = append(ids, s.identity())
		}
	}
	known := m.cache != nil
	m.mu.Unlock()
	if !known || len(ids) <= statusChunk {
		m.status.waitForWrites(b)
		return m.kernel.Table()
	}
	Table(ids).Sort() // chunks in the table's order, as a read answers
	t := make(Table, 0, len(ids))
	for i := 0; i < len(ids); i += statusChunk {
		m.status.waitForWrites(b)
		part, err := m.kernel.Services(ids[i:min(i+statusChunk, len(ids))])
		if err != nil {
			return nil, err
		}
		t = append(t, part...)
	}
	t.Sort()
	return t, nil
}
