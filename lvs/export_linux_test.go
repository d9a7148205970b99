package lvs

import "testing"

// See export_test.go.
var FakeModprobe = fakeModprobe

const ProcIPVS = procIPVS

// ProcBufferResident is how many pages of m's buffer of /proc/net/ip_vs
// are in memory (between passes: none).
func ProcBufferResident(t testing.TB, m *Manager) int {
	m.repairMu.Lock()
	defer m.repairMu.Unlock()
	return residentPages(t, m.procMem.b)
}
