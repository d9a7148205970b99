package lvs

import "time"

// ReadCost is what reads of the table cost: one read of the whole table
// (ReadTable), or all reads so far (ReadCosts).
type ReadCost struct {
	// Requests counts the netlink requests sent: for a whole table one
	// dump for the services and one per service for its real servers
	// (genetlink_dump.go says why no fewer); for a read of some services
	// (Kernel.Services) two per service, sent together.
	Requests int
	// Syscalls counts the system calls of the reads, those of
	// /proc/net/ip_vs included; zero when the reader does not count them
	// (moby/ipvs, a fake kernel).
	Syscalls int
	// Datagrams counts the netlink answers received (zero when not
	// counted).
	Datagrams int
	// Services counts the services read one by one (Kernel.Services).
	Services int
	// ProcReads and ProcBytes count the read calls and bytes of
	// /proc/net/ip_vs (Kernel.ProcTable).
	ProcReads, ProcBytes int
	Took                 time.Duration
}

// add adds o to c.
func (c *ReadCost) add(o ReadCost) {
	c.Requests += o.Requests
	c.Syscalls += o.Syscalls
	c.Datagrams += o.Datagrams
	c.Services += o.Services
	c.ProcReads += o.ProcReads
	c.ProcBytes += o.ProcBytes
	c.Took += o.Took
}

// Sub returns what c cost beyond before (both totals of ReadCosts).
func (c ReadCost) Sub(before ReadCost) ReadCost {
	return ReadCost{
		Requests:  c.Requests - before.Requests,
		Syscalls:  c.Syscalls - before.Syscalls,
		Datagrams: c.Datagrams - before.Datagrams,
		Services:  c.Services - before.Services,
		ProcReads: c.ProcReads - before.ProcReads,
		ProcBytes: c.ProcBytes - before.ProcBytes,
		Took:      c.Took - before.Took,
	}
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

// ReadCosts returns what every read of k (Table, Services, ProcTable) has
// cost so far, for benchmarks: the cost of a repair pass is the
// difference around it. ok is false for a Kernel that does not count.
func ReadCosts(k Kernel) (total ReadCost, ok bool) {
	if c, ok := k.(interface{ readCosts() ReadCost }); ok {
		return c.readCosts(), true
	}
	return ReadCost{}, false
}
