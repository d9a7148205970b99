package checks

import (
	"context"
	"time"
)

// A TCP_CHECK attempt is a connect and nothing else, so the Manager runs
// every TCP_CHECK of the operating system's dialer through one connector
// (connect_linux.go) instead of a goroutine, a context and Go's dialer per
// attempt: keepalived's syscalls (socket, connect, one poll, getsockopt
// TCP_INFO where keepalived reads SO_ERROR, close), one event loop for
// every attempt in flight, and their deadlines and ends read on that
// loop's single timer. Measured in TestBenchChecksInVM
// and TestBenchChecks37kTargets (docs/benchmarks.md).

// maxKeptBatch bounds the room kept for good for the attempts of a
// wakeup (the connector's finished batch, its sockets in flight, the
// scheduler's attempts that ended at once): a start under emulation had
// about 1,000 attempts in flight and finished as many in one wakeup, and
// what was sized for them stayed for the daemon's life. Room past the
// bound is given back burstRoomFor after the last wakeup that needed it:
// at once, a machine that stalls now and then (37,205 targets on a loaded
// host) made it again at every stall, about 10 bytes more per connect.
const maxKeptBatch = 256

// burstRoomFor is how long the room of a burst is kept after it.
const burstRoomFor = 30 * time.Second

// burstRoom decides when the room a burst left may go: it remembers the
// last wakeup that needed more than maxKeptBatch.
type burstRoom struct {
	last time.Time // zero: no burst since the room last went
}

// over notes a wakeup at now that needed room for n, and reports, once,
// that burstRoomFor has passed since the last burst.
func (r *burstRoom) over(n int, now time.Time) bool {
	if n > maxKeptBatch {
		r.last = now
	}
	if r.last.IsZero() || now.Sub(r.last) < burstRoomFor {
		return false
	}
	r.last = time.Time{}
	return true
}

// batch is a slice reused from one wakeup to the next.
type batch[T any] struct {
	items []T
	room  burstRoom
}

// reuse empties the batch for the wakeup at now (cleared: it keeps no
// attempt or result alive), and gives back its room past maxKeptBatch
// once no batch needed it for burstRoomFor.
func (b *batch[T]) reuse(now time.Time) {
	if b.room.over(len(b.items), now) {
		b.items = nil
		return
	}
	clear(b.items)
	b.items = b.items[:0]
}

// connectAttempt is one TCP_CHECK attempt handed to the connector.
type connectAttempt struct {
	probe    *probe
	endpoint Endpoint
	budget   time.Duration // connect_timeout: the whole attempt
	deadline time.Time
	started  time.Time // set by the caller (the scheduler's instant), else by submit
	fd       int
	index    int // in the connector's deadline heap
}

// result is the attempt's Result from the error its connect ended with
// (nil: connected), in the words tcpProber uses, ended at now.
func (a *connectAttempt) result(err error, now time.Time) Result {
	r := Result{OK: true, Weight: -1, Reason: "connected"}
	if err != nil {
		r = failure(context.Background(), a.budget, "connect", err)
	}
	r.Latency = now.Sub(a.started)
	return r
}

// deadlines is a min-heap of attempts in flight by deadline.
type deadlines []*connectAttempt

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlines) Push(x any) {
	a := x.(*connectAttempt)
	a.index = len(*d)
	*d = append(*d, a)
}
func (d *deadlines) Pop() any {
	old := *d
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	a.index = -1
	return a
}
