package lvstest

import (
	"cmp"
	"io/fs"
	"slices"
	"sync"
	"syscall"

	"github.com/lvsd/lvsd/lvs"
)

// FakeKernel is an in-memory IPVS table for tests of code that drives a
// Kernel. It answers like ip_vs_ctl.c: EEXIST for a duplicate, ESRCH for a
// missing service, ENOENT for a missing destination or an unknown
// scheduler.
type FakeKernel struct {
	mu    sync.Mutex
	table lvs.Table
	// Schedulers lists the schedulers whose module is "loaded"; nil means
	// all of them.
	Schedulers []string
	// Refuse, when set, is asked before each operation; a non-nil error
	// fails it.
	Refuse func(lvs.Op) error
	// Applied records every operation that succeeded, in order.
	Applied []lvs.Op
	// HZ is the kernel's HZ that ProcTable prints persistence timeouts
	// in (jiffies); zero means DefaultHZ.
	HZ uint32
	// NoProc makes ProcTable fail as on a kernel without the file.
	NoProc bool
	// Reads counts the reads (ReadsSoFar).
	Reads FakeReads

	daemons []lvs.SyncDaemon    // running sync daemons (fakesync.go)
	conns   lvs.ConnectionCount // what Connections reports
	// DaemonLog records every sync daemon started or stopped, in order
	// ("start master daemon on eth0, sync id 51, …", "stop backup").
	DaemonLog []string
}

// NewFakeKernel returns a fake holding a copy of initial.
func NewFakeKernel(initial lvs.Table) *FakeKernel {
	t := initial.Clone()
	t.Sort()
	return &FakeKernel{table: t}
}

// FakeReads counts a FakeKernel's reads.
type FakeReads struct {
	Tables, ServiceReads, ProcTables int
	// Services counts the services the ServiceReads asked for.
	Services int
}

// ReadsSoFar returns the reads counted so far.
func (f *FakeKernel) ReadsSoFar() FakeReads {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Reads
}

// Table implements Kernel.
func (f *FakeKernel) Table() (lvs.Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Reads.Tables++
	return f.table.Clone(), nil
}

// Services implements Kernel: copies of the services which names that
// the table holds.
func (f *FakeKernel) Services(which []lvs.Service) (lvs.Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Reads.ServiceReads++
	f.Reads.Services += len(which)
	want := make(map[string]bool, len(which))
	for i := range which {
		want[which[i].Key()] = true
	}
	var t lvs.Table
	for _, s := range f.table {
		if want[s.Key()] {
			s.Destinations = slices.Clone(s.Destinations)
			t = append(t, s)
		}
	}
	return t, nil
}

// ProcTable implements Kernel: the table as the kernel prints
// /proc/net/ip_vs (ProcIPVS), or fs.ErrNotExist with NoProc.
func (f *FakeKernel) ProcTable(dst []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Reads.ProcTables++
	if f.NoProc {
		return dst, &fs.PathError{Op: "open", Path: "/proc/net/ip_vs", Err: fs.ErrNotExist}
	}
	return append(dst, ProcIPVS(f.table, cmp.Or(f.HZ, DefaultHZ))...), nil
}

// Close implements Kernel.
func (f *FakeKernel) Close() error { return nil }

// Edit changes the table behind lvsd's back, as ipvsadm would.
func (f *FakeKernel) Edit(edit func(*lvs.Table)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(&f.table)
	f.table.Sort()
}

// ResetApplied forgets the recorded operations.
func (f *FakeKernel) ResetApplied() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Applied = nil
}

// Apply implements Kernel.
func (f *FakeKernel) Apply(ops []lvs.Op) (int, []lvs.Refusal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var refused []lvs.Refusal
	for _, op := range ops {
		if err := f.apply(op); err != nil {
			refused = append(refused, lvs.Refusal{Op: op, Err: err})
			continue
		}
		f.Applied = append(f.Applied, op)
	}
	f.table.Sort()
	return len(ops), refused, nil
}

func (f *FakeKernel) apply(op lvs.Op) error {
	if f.Refuse != nil {
		if err := f.Refuse(op); err != nil {
			return err
		}
	}
	key := op.Service.Key()
	i := slices.IndexFunc(f.table, func(s lvs.Service) bool { return s.Key() == key })
	switch op.Kind {
	case lvs.OpAddService, lvs.OpEditService:
		if f.Schedulers != nil && !slices.Contains(f.Schedulers, op.Service.Scheduler) {
			return syscall.ENOENT
		}
		if op.Kind == lvs.OpAddService {
			if i >= 0 {
				return syscall.EEXIST
			}
			f.table = append(f.table, withoutDestinations(op.Service))
			return nil
		}
		if i < 0 {
			return syscall.ESRCH
		}
		dests := f.table[i].Destinations
		f.table[i] = withoutDestinations(op.Service)
		f.table[i].Destinations = dests
		return nil
	case lvs.OpDeleteService:
		if i < 0 {
			return syscall.ESRCH
		}
		f.table = slices.Delete(f.table, i, i+1)
		return nil
	}
	if i < 0 {
		return syscall.ESRCH
	}
	s := &f.table[i]
	j := slices.IndexFunc(s.Destinations, func(d lvs.Destination) bool { return d.Addr == op.Destination.Addr })
	switch op.Kind {
	case lvs.OpAddDestination:
		if j >= 0 {
			return syscall.EEXIST
		}
		s.Destinations = append(s.Destinations, op.Destination)
	case lvs.OpEditDestination:
		if j < 0 {
			return syscall.ENOENT
		}
		s.Destinations[j] = op.Destination
	case lvs.OpDeleteDestination:
		if j < 0 {
			return syscall.ENOENT
		}
		s.Destinations = slices.Delete(s.Destinations, j, j+1)
	default:
		return syscall.EINVAL
	}
	return nil
}

// withoutDestinations returns a copy of s carrying only the service itself.
func withoutDestinations(s lvs.Service) lvs.Service {
	s.Destinations = nil
	return s
}
