package lvs

import (
	"errors"
	"sync"
	"time"
)

// Opening is an IPVS table being opened and read on a goroutine of its
// own while its caller does something else: lvsd reads its configuration
// meanwhile (cmd/lvsd run.go), since neither the open (two generic netlink
// sockets, the IPVS family resolved) nor the read of the table the kernel
// holds needs it. Reading changes nothing, so a configuration that is then
// refused has changed no state. The table read goes to the Manager as
// ManagerOptions.Table: on a restart over a big table (34,000 objects, a
// fifth of a second or more of the test VM's time) the read is off the
// start's path as well.
type Opening struct {
	done chan struct{}

	// Set by the goroutine before done closes.
	kernel Kernel
	table  Table
	took   time.Duration
	err    error

	mu    sync.Mutex
	taken bool // Wait handed the kernel over
}

// OpenAhead opens the table with opts and reads it, on a goroutine. It
// never loads a kernel module, whatever opts.LoadModule says: a module
// load is a change, and the configuration that asks for IPVS is not read
// yet. Without IPVS in the kernel the Opening fails, and the caller opens
// the table as it would have without one (OpenKernelWith, LoadModule).
func OpenAhead(opts KernelOptions) *Opening {
	opts.LoadModule = false
	return OpenAheadWith(func() (Kernel, error) { return OpenKernelWith(opts) })
}

// OpenAheadWith is OpenAhead with the kernel opened by open (tests hand
// it a fake).
func OpenAheadWith(open func() (Kernel, error)) *Opening {
	o := &Opening{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		start := time.Now()
		k, err := open()
		if err != nil {
			o.err = err
			return
		}
		t, err := k.Table()
		if err != nil {
			k.Close()
			o.err = err
			return
		}
		if t == nil {
			t = Table{} // read, and empty: ManagerOptions.Table's nil means unread
		}
		o.kernel, o.table, o.took = k, t, time.Since(start)
	}()
	return o
}

var errOpeningTaken = errors.New("the IPVS table opened ahead was taken already")

// Wait waits for the open and the read and hands the kernel over to the
// caller, who closes it; the second call and any after Close fail. took
// is what the open and the read took, on their goroutine.
func (o *Opening) Wait() (k Kernel, t Table, took time.Duration, err error) {
	<-o.done
	if o.err != nil {
		return nil, nil, 0, o.err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.taken {
		return nil, nil, 0, errOpeningTaken
	}
	o.taken = true
	// The Opening may live as long as the daemon (a deferred Close):
	// what it hands over is the caller's alone, so the table read at the
	// start can go once the manager is done with it (review R5).
	k, t = o.kernel, o.table
	o.kernel, o.table = nil, nil
	return k, t, o.took, nil
}

// Close waits for the open and closes the kernel unless Wait handed it
// over. A nil Opening closes nothing.
func (o *Opening) Close() {
	if o == nil {
		return
	}
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.taken || o.kernel == nil {
		return
	}
	o.taken = true
	o.kernel.Close()
}
