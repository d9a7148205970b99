package lvs

import "time"

// StatusChunk is how many services a status reads per kernel read
// (statusread.go).
const StatusChunk = statusChunk

// SetStatusClock makes m's status reads age by now instead of time.Now.
func SetStatusClock(m *Manager, now func() time.Time) { m.status.now = now }

// SetStatusYieldMax sets how long m's status reads wait for pending writes
// before each chunk.
func SetStatusYieldMax(m *Manager, d time.Duration) { m.status.yieldMax = d }
