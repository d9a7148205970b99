package lvs

import (
	"errors"
	"fmt"
	"syscall"
)

// Kernel is the IPVS table of one network namespace.
type Kernel interface {
	// Table reads the whole table, counters included.
	Table() (Table, error)
	// Services reads the services that which names (by Protocol and
	// Addr, or FWMark and IPv6), each with its real servers, as Table
	// reads them; a service the kernel does not hold is left out.
	Services(which []Service) (Table, error)
	// ProcTable appends the text of the namespace's /proc/net/ip_vs
	// (proctable.go) to dst. It fails where there is no such file; the
	// periodic repair then reads the whole table through Table.
	ProcTable(dst []byte) ([]byte, error)
	// Apply executes ops in order. It goes on past an operation the
	// kernel refuses (later ones may not depend on it). done is how many
	// of the first operations the kernel answered: all took effect but
	// the refused ones. err says why the run stopped before the end (a
	// lost socket, lost answers); the state of ops[done:] is then
	// unknown.
	Apply(ops []Op) (done int, refused []Refusal, err error)
	Close() error
}

// Refusal is the kernel's refusal of one operation. Its Error names the
// service and real server and, for the common causes, what to do.
type Refusal struct {
	Op  Op
	Err error // usually a syscall.Errno
}

func (e *Refusal) Unwrap() error { return e.Err }

func (e *Refusal) Error() string {
	op := &e.Op
	svc := op.Service.Key()
	var errno syscall.Errno
	isErrno := errors.As(e.Err, &errno)
	switch op.Kind {
	case OpAddService, OpEditService:
		if isErrno && errno == syscall.ENOENT {
			// The kernel asks for ip_vs_<scheduler> with request_module
			// and answers ENOENT when it is not there.
			return fmt.Sprintf("service %s: scheduler %q refused by kernel: kernel module ip_vs_%s not loaded",
				svc, op.Service.Scheduler, op.Service.Scheduler)
		}
		return fmt.Sprintf("%s %s refused by kernel (%v)", op.Kind, svc, e.Err)
	case OpDeleteService:
		return fmt.Sprintf("delete service %s refused by kernel (%v)", svc, e.Err)
	case OpAddDestination, OpEditDestination:
		if isErrno && errno == syscall.EINVAL {
			// ip_vs_ctl.c refuses a destination whose address is not
			// unicast or local as seen from the namespace's routes.
			return fmt.Sprintf("real server %s of %s refused by kernel (%v): is there a unicast route to it?",
				op.Destination.Addr, svc, e.Err)
		}
		return fmt.Sprintf("real server %s of %s: %s refused by kernel (%v)", op.Destination.Addr, svc, op.Kind, e.Err)
	case OpDeleteDestination:
		return fmt.Sprintf("real server %s of %s: delete refused by kernel (%v)", op.Destination.Addr, svc, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", op.Kind, svc, e.Err)
}
