package lvs

import "time"

// StatusChunk is how many services a status reads per kernel read
// (statusread.go).
const StatusChunk = statusChunk

// StatusYieldBudget is how long a status waits for pending writes in all.
const StatusYieldBudget = statusYieldBudget

// SetStatusClock makes m's status reads age on clock instead of the
// wall clock (time.Now, time.AfterFunc).
func SetStatusClock(m *Manager, clock *HandClock) {
	m.status.now, m.status.after = clock.Now, clock.AfterFunc
}

// SetStatusYieldMax sets how long m's status reads wait for pending writes
// before each chunk.
func SetStatusYieldMax(m *Manager, d time.Duration) { m.status.yieldMax = d }

// SetStatusYieldBudget sets how long one of m's statuses or repair passes
// waits for pending writes in all.
func SetStatusYieldBudget(m *Manager, d time.Duration) { m.status.budget = d }

// WritePending reports whether m's write gate is raised (a Wait that may
// not wait at all says whether it would have).
func WritePending(m *Manager) bool { return m.status.gate.Wait(0) }

// HoldInputs takes m's inputs lock (mu) until the returned func.
func HoldInputs(m *Manager) (release func()) {
	m.mu.Lock()
	return m.mu.Unlock
}

// SetChunkObserver makes m call f after each chunk of desired state a
// repair pass or a reload computes (desireInChunks), holding no lock.
func SetChunkObserver(m *Manager, f func()) { m.chunkDesired = f }
