package lvs

import "time"

// ReadCost is what one read of the whole table cost.
type ReadCost struct {
	// Requests counts the dump requests sent: one for the services, one
	// per service for its real servers (genetlink_dump.go says why no
	// fewer).
	Requests int
	// Syscalls counts the system calls of the read; zero when the reader
	// does not count them (moby/ipvs, a fake kernel).
	Syscalls int
	// Datagrams counts the answers received (zero when not counted).
	Datagrams int
	Took      time.Duration
}

// ReadTable reads k's whole table like Kernel.Table and says what the read
// cost, for benchmarks; a Kernel that does not count reads gets its time
// measured only.
func ReadTable(k Kernel) (Table, ReadCost, error) {
	if c, ok := k.(interface {
		tableCost() (Table, ReadCost, error)
	}); ok {
		return c.tableCost()
	}
	start := time.Now()
	t, err := k.Table()
	return t, ReadCost{Took: time.Since(start)}, err
}
