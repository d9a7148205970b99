package lvs

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lvsd/lvsd/hcl"
)

// What a periodic repair pass reads (Manager.Reconcile).
//
// A netlink read of the whole table costs the kernel a GET_DEST dump per
// service under __ip_vs_mutex: on 2,000 services x 16 real servers it is
// most of a pass (docs/benchmarks.md, "The repair pass on its own"). So a
// steady pass reads /proc/net/ip_vs instead (proctable.go: one seq_file
// read under RCU) and compares everything it shows with lvsd's view of
// the kernel. A service whose text differs from the view, one the view
// lacks and one the file lacks are read through netlink (Kernel.Services)
// and repaired as a full read would repair them. What the file does not
// show (thresholds, tunnel parameters, scheduler flags, the persistence
// engine, IPv6 one-packet scheduling, a fwmark service's address family)
// is covered by a rotation: every pass also reads through netlink the
// services lvsd owns whose rereadSlot is the pass's, so each is read
// whole at least once every RereadPasses passes: an outside edit the file
// does not show is repaired within RereadPasses x reconcile_interval.
//
// The first pass after a start or a reload, and the pass after a write
// the kernel refused or that was cut short, read the whole table through
// netlink, as every pass did before; so does every pass where the file
// cannot be read or parsed (another kernel, no /proc).
//
// The file is printed a page per read call, and the kernel walks its
// table afresh at each call; a service deleted or added meanwhile can
// shift what the next call prints. In Linux 6.1 the service table is
// shared by all namespaces and a call resumes at a position counted over
// the reader's namespace only, while the previous call counted every
// namespace's services (ip_vs_info_seq_next against ip_vs_info_array): a
// director with IPVS services in other namespaces sees some of its own
// missing from the file. Either way a service the file misses or shows
// twice is read through netlink: the pass stays correct, and costs more.

// DefaultRereadPasses is how many passes a rotation takes when
// ManagerOptions.RereadPasses is zero: on the 2,000 x 16 benchmark table
// a pass then reads some 100 services through netlink beside the file,
// and costs a tenth of the pass issue 19 measured or less
// (docs/benchmarks.md, "The repair pass on its own"); with 10 it cost
// 0.11.
const DefaultRereadPasses = 20

// rereadSlot is the pass (modulo passes) in which the rotation reads the
// service key: FNV-1a of the key, so that a service keeps its slot
// whatever else the table gains or loses.
func rereadSlot(key string, passes int) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % uint32(passes))
}

// identity is the part of s that names it to the kernel.
func (s *Service) identity() Service {
	return Service{Protocol: s.Protocol, Addr: s.Addr, FWMark: s.FWMark, IPv6: s.IPv6}
}

// procShows reports whether p is what ip_vs_info_seq_show prints for s,
// lvsd's view of the service, in a kernel of the given HZ (0 when not yet
// known: a persistent service then does not match).
func procShows(p *procService, s *viewService, hz uint32) bool {
	if p.scheduler != s.Scheduler || p.persistent != (s.Flags&FlagPersistent != 0) ||
		len(p.dests) != len(s.dests) {
		return false
	}
	ipv6 := s.isIPv6()
	if (s.FWMark != 0 || !ipv6) && p.onePacket != (s.Flags&FlagOnePacket != 0) {
		return false // "ops" is not printed for an IPv6 address service
	}
	// svc->timeout is seconds times HZ in an unsigned int.
	if p.persistent && (hz == 0 || p.timeout != s.Timeout*hz || p.netmask != procNetmask(s.Netmask, ipv6)) {
		return false
	}
	// The file lists the real servers in the kernel's order. The view
	// knows that order from a read (Position); after lvsd's own writes
	// (every Position 0) it does not: the kernel puts a new real server
	// at the head of its list (__ip_vs_update_dest's list_add_rcu), so
	// the two are then compared in address order, each sorted, and a
	// service lvsd just wrote is not read again for its order alone.
	ds := s.dests
	var buf, pbuf [32]int
	order := buf[:0]
	if len(ds) > len(buf) {
		order = make([]int, 0, len(ds))
	}
	known := false
	for i := range ds {
		order = append(order, -1)
		known = known || ds[i].position != 0
	}
	porder := pbuf[:0]
	if len(p.dests) > len(pbuf) {
		porder = make([]int, 0, len(p.dests))
	}
	for j := range p.dests {
		porder = append(porder, j)
	}
	if known {
		for i := range ds {
			pos := int(ds[i].position)
			if pos < 0 || pos >= len(ds) || order[pos] >= 0 {
				return false
			}
			order[pos] = i
		}
	} else {
		for i := range order {
			order[i] = i
		}
		byAddr := func(a, b viewDest) int { return a.addr.Compare(b.addr) }
		if !slices.IsSortedFunc(ds, byAddr) {
			slices.SortStableFunc(order, func(a, b int) int { return byAddr(ds[a], ds[b]) })
		}
		slices.SortStableFunc(porder, func(a, b int) int { return p.dests[a].addr.Compare(p.dests[b].addr) })
	}
	for j, k := range porder {
		pd, d := &p.dests[k], &ds[order[j]]
		if pd.addr != d.addr || pd.forward != procForward(d.forward) || pd.weight != d.weight {
			return false
		}
	}
	return true
}

// procEntries are the places in a procTable of the services of one
// identity: one, or for a fwmark, one per address family; more means the
// table changed between two reads of the file (each read call walks the
// table again from its start).
type procEntries struct {
	at      [2]int32
	n       int32
	claimed bool // some service of the view has this identity
}

// procChanges compares the file, parsed, with view (lvsd's view of the
// kernel, by key) and returns the identities of the services to read
// through netlink: those whose text differs, those the view holds and
// the file lacks, and those the file shows and the view lacks (a fwmark
// one in both address families: the file does not say which).
//
// The index it makes of the file's services is the parse's (proc.index),
// cleared and filled again by each pass that keeps the parse: a pass that
// changes nothing allocates nothing here but the services to read. It
// calls yield, when not nil, before every chunkServices-th service of the
// view (parseYielding).
func procChanges(proc *procTable, view map[string]viewService, hz uint32, yield func()) []Service {
	if proc.index == nil {
		proc.index = make(map[serviceID]procEntries, len(proc.services))
	}
	idx := proc.index
	clear(idx)
	for i := range proc.services {
		id := proc.services[i].id
		e := idx[id]
		if e.n < int32(len(e.at)) {
			e.at[e.n] = int32(i)
		}
		e.n++
		idx[id] = e
	}
	var reread []Service
	fwmarks := map[uint32][]*viewService{}
	n := 0
	for _, s := range view {
		if n++; yield != nil && n%chunkServices == 0 {
			yield()
		}
		if s.FWMark != 0 {
			fw := s // its own copy: only a fwmark service's escapes
			fwmarks[s.FWMark] = append(fwmarks[s.FWMark], &fw)
			continue
		}
		id := s.id()
		e, ok := idx[id]
		if ok {
			e.claimed = true
			idx[id] = e
		}
		if !ok || e.n != 1 || !procShows(&proc.services[e.at[0]], &s, hz) {
			reread = append(reread, s.identity())
		}
	}
	for mark, ss := range fwmarks {
		id := serviceID{fwmark: mark}
		e, ok := idx[id]
		if ok {
			e.claimed = true
			idx[id] = e
		}
		if !ok || int(e.n) != len(ss) || !fwmarkShows(proc, e, ss, hz) {
			// Both families: the file may hold one the view lacks.
			reread = append(reread, Service{FWMark: mark}, Service{FWMark: mark, IPv6: true})
		}
	}
	for id, e := range idx {
		switch {
		case e.claimed:
		case id.fwmark != 0:
			reread = append(reread, Service{FWMark: id.fwmark}, Service{FWMark: id.fwmark, IPv6: true})
		default:
			reread = append(reread, Service{Protocol: id.protocol, Addr: id.addr})
		}
	}
	return reread
}

// fwmarkShows reports whether the file's services of one mark (e, as
// many as ss) are ss, the view's, in some order.
func fwmarkShows(proc *procTable, e procEntries, ss []*viewService, hz uint32) bool {
	switch len(ss) {
	case 1:
		return procShows(&proc.services[e.at[0]], ss[0], hz)
	case 2:
		a, b := &proc.services[e.at[0]], &proc.services[e.at[1]]
		return procShows(a, ss[0], hz) && procShows(b, ss[1], hz) ||
			procShows(a, ss[1], hz) && procShows(b, ss[0], hz)
	}
	return false
}

// learnHZ returns the kernel's HZ as the file's persistence timeout of a
// service read through netlink in seconds gives it, or 0. A fwmark
// service counts only when the file shows its mark once (the file does
// not say which family it prints).
func learnHZ(proc *procTable, read Table) uint32 {
	byID := map[serviceID]*procService{}
	for i := range proc.services {
		p := &proc.services[i]
		if _, twice := byID[p.id]; twice {
			byID[p.id] = nil
		} else if p.persistent {
			byID[p.id] = p
		}
	}
	for i := range read {
		s := &read[i]
		if s.Flags&FlagPersistent == 0 || s.Timeout == 0 {
			continue
		}
		id := s.id()
		if s.FWMark != 0 {
			id = serviceID{fwmark: s.FWMark}
		}
		if p := byID[id]; p != nil && p.timeout%s.Timeout == 0 {
			// CONFIG_HZ is 100 to 1000 on the common architectures.
			if hz := p.timeout / s.Timeout; hz >= 24 && hz <= 10000 {
				return hz
			}
		}
	}
	return 0
}

// repairRead is what a steady pass read: the services it read through
// netlink (reread), and of those the ones the kernel holds (got).
type repairRead struct {
	got    map[string]Service
	reread map[string]bool
}

// errProcUnusable wraps why /proc/net/ip_vs could not serve a pass.
var errProcUnusable = errors.New("/proc/net/ip_vs unusable")

// readChanged reads what a steady pass needs: through netlink the
// rotation's share for pass (the services lvsd owns whose rereadSlot it
// is), and beside it, the file, then through netlink the services the
// file shows changed. The two reads take no common lock in the kernel
// (the file is printed under RCU, a dump holds __ip_vs_mutex), so the
// rotation's costs the pass no time where the machine has a processor
// to spare. old is lvsd's view (not changed); owned and retired say which
// services are lvsd's. hz is the kernel's HZ as known so far; the one
// learned from this read, if any, is returned.
func (m *Manager) readChanged(old map[string]viewService, owned map[string]*hcl.VirtualServer, retired map[string]bool, pass uint64, hz uint32, yield func()) (repairRead, uint32, error) {
	slot := int(pass % uint64(m.rereadPasses))
	var rotation []Service
	for k, s := range old {
		if (owned[k] != nil || retired[k]) && rereadSlot(k, m.rereadPasses) == slot {
			rotation = append(rotation, s.identity())
		}
	}
	type result struct {
		t   Table
		err error
	}
	rotated := make(chan result, 1)
	readRotation := func() {
		t, err := m.kernel.Services(rotation)
		rotated <- result{t, err}
	}
	// After a pass that could not use the file, the file is read first:
	// where it is missing, a pass reads the whole table and nothing else.
	concurrent := len(rotation) > 0 && !m.procFailing
	if concurrent {
		go readRotation()
	}
	err := m.readProc(yield)
	m.procFailing = err != nil
	if err != nil {
		if concurrent {
			<-rotated
		}
		return repairRead{}, hz, fmt.Errorf("%w: %w", errProcUnusable, err)
	}
	which := procChanges(&m.proc, old, hz, yield)
	var rot result
	switch {
	case concurrent:
		rot = <-rotated
	case len(rotation) > 0:
		readRotation()
		rot = <-rotated
	}
	if rot.err != nil {
		return repairRead{}, hz, fmt.Errorf("reading IPVS services: %w", rot.err)
	}
	r := repairRead{got: make(map[string]Service, len(rot.t)+len(which)), reread: make(map[string]bool, len(rotation)+len(which))}
	for i := range rotation {
		r.reread[rotation[i].Key()] = true
	}
	for _, s := range rot.t {
		if k := s.Key(); r.reread[k] { // only what was asked
			r.got[k] = s
		}
	}
	// What the file shows changed is read after it, also when the
	// rotation read it before (the edit may have come in between).
	var read Table
	if len(which) > 0 {
		if read, err = m.kernel.Services(which); err != nil {
			return repairRead{}, hz, fmt.Errorf("reading IPVS services: %w", err)
		}
		asked := make(map[string]bool, len(which))
		for i := range which {
			k := which[i].Key()
			asked[k], r.reread[k] = true, true
			delete(r.got, k)
		}
		for _, s := range read {
			if k := s.Key(); asked[k] {
				r.got[k] = s
			}
		}
	}
	if hz == 0 {
		hz = cmp.Or(learnHZ(&m.proc, rot.t), learnHZ(&m.proc, read))
	}
	return r, hz, nil
}

// procForHZ reads the file for a pass that reads the whole table through
// netlink while the kernel's HZ is not known, so that read can teach it.
func (m *Manager) procForHZ() *procTable {
	if m.readProc(nil) != nil {
		return nil
	}
	return &m.proc
}

// procSizes are the sizes of the last pass's file and parse: the next
// pass makes its buffer and parse at once at that size (with procRoom to
// spare), instead of growing them.
type procSizes struct {
	bytes, services, dests int
}

// procRoom is the room a pass's buffer has beyond the last file's size:
// the Linux reader grows a buffer with less than half of its read size
// (64 KiB) free before each read call, so with this much a table the
// size of the last one is read without a copy.
const procRoom = 64 << 10

// closePasses is the reconcile interval below which a repair pass keeps
// its parse of the file for the next pass; from closePasses on the pass
// lets it go at its end (endPass). The file's buffer and the kernel's
// table reader's answer buffers live outside the Go heap (pages) and give
// their pages back after every pass, close together or not. On the
// checks benchmark's table (143 services, 2,326 real servers) the parse
// is 0.34 MB, on the 2,000 x 16 benchmark table some 2 MB, made again in
// a pass that otherwise allocates 0.8 MB (1.7 MB before its map copies
// and procChanges' index were kept too, passCopies)
// (BenchmarkSteadyRepairPass). Made again each pass, it is the steady
// state's garbage: at GOGC=25 (cmd/lvsd) it sets how often the daemon
// collects, and its heap keeps room for it and its fragments besides. At
// the default 10 s the daemon keeps it: in the checks benchmark's VM, two
// boots each order once, lvsd's RSS (smaps) was 1.0 to 1.2 MB lower with
// the parse and the buffers kept on the heap than with them made again
// (docs/benchmarks.md, "Session 11"). Passes half a minute or more apart
// let it go: the memory would sit unused for longer than it takes to make
// again.
const closePasses = 30 * time.Second

// readProc reads /proc/net/ip_vs and parses it into m.proc (repairMu
// held). The buffer is m.procMem, at the last file's size and procRoom
// (a table that grew more than that since is read into a heap buffer that
// grows, once: the next pass's buffer is its size); endPass drops its
// pages. The parse is kept and reused between passes close together
// (closePasses), and otherwise made at the last pass's sizes at once.
func (m *Manager) readProc(yield func()) error {
	sz := m.procSizes
	buf, err := m.kernel.ProcTable(m.procMem.get(sz.bytes + procRoom)[:0])
	if err != nil {
		return err
	}
	if m.proc.services == nil {
		m.proc = procTable{services: make([]procService, 0, sz.services), slab: make([]procDest, 0, sz.dests)}
	}
	if err := m.proc.parseYielding(buf, yield); err != nil {
		return err
	}
	m.procSizes = procSizes{bytes: len(buf), services: len(m.proc.services), dests: len(m.proc.slab)}
	return nil
}

// endPass ends a repair pass (repairMu held): the file's buffer gives its
// pages back, and with passes close together (keep: the interval is below
// closePasses) the parse and the pass's copies stay for the next pass;
// otherwise only the sizes stay.
func (m *Manager) endPass(keep bool) {
	m.procMem.drop()
	if !keep {
		m.proc = procTable{}
		m.passOld, m.passOwned, m.passRetired = nil, nil, nil
	}
}

// rereadIn says in how many passes from now (1 to RereadPasses) the
// rotation reads the service key through netlink, for tests of the bound.
func (m *Manager) rereadIn(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := int(m.passes % uint64(m.rereadPasses))
	slot := rereadSlot(key, m.rereadPasses)
	return (slot-next+m.rereadPasses)%m.rereadPasses + 1
}
