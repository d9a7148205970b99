package lvs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/ipvs"
	"golang.org/x/sys/unix"
)

// KernelOptions configure OpenKernelWith.
type KernelOptions struct {
	// NetnsPath is the network namespace to program ("" = the current
	// one), e.g. /run/netns/director.
	NetnsPath string
	// OneByOne writes each operation with its own moby/ipvs round trip
	// instead of the batched writer (the way ipvsadm and keepalived do);
	// kept for comparison in benchmarks. Its writes share the reading
	// socket, so they wait for a dump in progress.
	OneByOne bool
	// MobyReads reads the table with moby/ipvs (four system calls and a
	// fresh 64 KiB buffer per dump) instead of lvs's own reader
	// (genetlink_dump_linux.go), and has no /proc/net/ip_vs (every repair
	// pass reads the whole table, as before issue 19); kept for comparison
	// in benchmarks. Its reads share the one-by-one writes' socket.
	MobyReads bool
	// Logger receives what github.com/moby/ipvs logs (see routeMobyLogs);
	// nil discards it.
	Logger *slog.Logger
	// LoadModule runs `modprobe ip_vs` when the kernel has no IPVS yet, as
	// keepalived does when it starts its checker process. Only the daemon
	// sets it: `lvsd plan` and tests never change the kernel they run on.
	LoadModule bool
	// Modprobe is the program LoadModule runs; "" means the kernel's own
	// helper (/proc/sys/kernel/modprobe, else /sbin/modprobe).
	Modprobe string
}

// linuxKernel reads with the table reader and writes with the batched
// writer, on two sockets: a write never waits for a dump of the table in
// progress. moby/ipvs's handle is opened only for OneByOne and MobyReads.
type linuxKernel struct {
	readMu    sync.Mutex // one command stream at a time on reader's (and handle's) socket
	writeMu   sync.Mutex // and on writer's
	reader    *tableReader
	handle    *ipvs.Handle // nil unless oneByOne or mobyReads
	writer    *batchWriter
	oneByOne  bool
	mobyReads bool
	netns     string // NetnsPath, for the connection table (sync_linux.go)

	proc procFile // /proc/net/ip_vs of the namespace (proctable_linux.go)

	costMu sync.Mutex
	costs  ReadCost // every read so far (ReadCosts)
}

// procIPVS exists in every network namespace while the kernel has IPVS.
const procIPVS = "/proc/net/ip_vs"

// errNoIPVS says that the kernel has no IPVS loaded.
var errNoIPVS = errors.New("IPVS is not available in this kernel: kernel module ip_vs not loaded")

// OpenKernel opens the IPVS table of the network namespace at netnsPath
// ("" = the current namespace): the table reader plus the batched writer.
func OpenKernel(netnsPath string) (Kernel, error) {
	return OpenKernelWith(KernelOptions{NetnsPath: netnsPath})
}

// OpenKernelWith is OpenKernel with options.
//
// Without LoadModule it never loads a kernel module: without IPVS in the
// kernel it fails before asking netlink for the IPVS family (since Linux
// 5.16 that request alone makes the kernel load ip_vs) and before
// moby/ipvs, when asked for, runs `modprobe -va ip_vs`, which its first
// ipvs.New does; with IPVS there, that modprobe finds nothing to load.
func OpenKernelWith(opts KernelOptions) (Kernel, error) {
	routeMobyLogs(opts.Logger)
	if _, err := os.Stat(procIPVS); errors.Is(err, fs.ErrNotExist) {
		if !opts.LoadModule {
			return nil, fmt.Errorf("opening IPVS (netns %q): %w", opts.NetnsPath, errNoIPVS)
		}
		if err := loadIPVSModule(opts.Modprobe); err != nil {
			return nil, fmt.Errorf("opening IPVS (netns %q): %w", opts.NetnsPath, err)
		}
	}
	// The writer first: resolving the IPVS family is also the check that
	// IPVS exists (moby/ipvs goes on silently without it).
	w, err := newBatchWriter(opts.NetnsPath)
	if err != nil {
		return nil, fmt.Errorf("opening IPVS (netns %q): %w", opts.NetnsPath, err)
	}
	k := &linuxKernel{writer: w, oneByOne: opts.OneByOne, mobyReads: opts.MobyReads, netns: opts.NetnsPath}
	if opts.OneByOne || opts.MobyReads {
		if k.handle, err = ipvs.New(opts.NetnsPath); err != nil {
			w.Close()
			return nil, fmt.Errorf("opening IPVS (netns %q): %w", opts.NetnsPath, err)
		}
	}
	if !opts.MobyReads {
		if k.reader, err = newTableReader(opts.NetnsPath); err != nil {
			k.Close()
			return nil, fmt.Errorf("opening IPVS (netns %q): %w", opts.NetnsPath, err)
		}
	}
	return k, nil
}

// loadIPVSModule runs modprobe for ip_vs, by default the kernel's own
// helper as keepalived's modprobe_ipvs does: the program named in
// /proc/sys/kernel/modprobe, else /sbin/modprobe.
func loadIPVSModule(modprobe string) error {
	if modprobe == "" {
		modprobe = "/sbin/modprobe"
		if b, err := os.ReadFile("/proc/sys/kernel/modprobe"); err == nil {
			if p := strings.TrimSpace(string(b)); p != "" {
				modprobe = p
			}
		}
	}
	out, err := exec.Command(modprobe, "-q", "ip_vs").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w; %s -q ip_vs: %v %s(load it at boot: ip_vs in /etc/modules-load.d)", errNoIPVS, modprobe, err, out)
	}
	if _, err := os.Stat(procIPVS); err != nil {
		return fmt.Errorf("%w after %s ip_vs", errNoIPVS, modprobe)
	}
	return nil
}

func (k *linuxKernel) Close() error {
	k.proc.close()
	if k.handle != nil {
		k.handle.Close()
	}
	if k.reader != nil {
		k.reader.Close()
	}
	return k.writer.Close()
}

// Table implements Kernel.
func (k *linuxKernel) Table() (Table, error) {
	t, _, err := k.tableCost()
	return t, err
}

// tableCost reads the table and says what the read cost (ReadTable).
func (k *linuxKernel) tableCost() (Table, ReadCost, error) {
	k.readMu.Lock()
	defer k.readMu.Unlock()
	if k.mobyReads {
		start := time.Now()
		t, err := k.mobyTable()
		// moby/ipvs makes one dump request for the services and one per
		// service; its system calls are not counted.
		cost := ReadCost{Requests: 1 + len(t), Took: time.Since(start)}
		k.addCost(cost)
		return t, cost, err
	}
	t, cost, err := k.reader.read()
	k.addCost(cost)
	if err != nil {
		return nil, cost, err
	}
	t.Sort()
	return t, cost, nil
}

// Services implements Kernel. With MobyReads it reads the whole table
// and keeps what was asked (benchmarks only).
func (k *linuxKernel) Services(which []Service) (Table, error) {
	if k.mobyReads {
		t, _, err := k.tableCost()
		if err != nil {
			return nil, err
		}
		want := make(map[serviceID]bool, len(which))
		for i := range which {
			want[which[i].id()] = true
		}
		return slices.DeleteFunc(t, func(s Service) bool { return !want[s.id()] }), nil
	}
	k.readMu.Lock()
	defer k.readMu.Unlock()
	t, cost, err := k.reader.readServices(which)
	k.addCost(cost)
	if err != nil {
		return nil, err
	}
	t.Sort()
	return t, nil
}

func (k *linuxKernel) addCost(c ReadCost) {
	k.costMu.Lock()
	k.costs.add(c)
	k.costMu.Unlock()
}

func (k *linuxKernel) readCosts() ReadCost {
	k.costMu.Lock()
	defer k.costMu.Unlock()
	return k.costs
}

// mobyTable reads the table through moby/ipvs (MobyReads).
func (k *linuxKernel) mobyTable() (Table, error) {
	svcs, err := k.handle.GetServices()
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%w (%w)", errNoIPVS, err)
		}
		return nil, err
	}
	t := make(Table, 0, len(svcs))
	for _, ms := range svcs {
		s, err := fromMobyService(ms)
		if err != nil {
			return nil, err
		}
		dests, err := k.handle.GetDestinations(ms)
		if err != nil {
			return nil, fmt.Errorf("reading real servers of %s: %w", s.Key(), err)
		}
		for i, md := range dests {
			d, err := fromMobyDestination(md, s.Addr.Port())
			if err != nil {
				return nil, fmt.Errorf("real server of %s: %w", s.Key(), err)
			}
			d.Position = i // the dump walks svc->destinations in order
			s.Destinations = append(s.Destinations, d)
		}
		t = append(t, s)
	}
	t.Sort()
	return t, nil
}

// Apply implements Kernel.
func (k *linuxKernel) Apply(ops []Op) (int, []Refusal, error) {
	if !k.oneByOne {
		k.writeMu.Lock()
		defer k.writeMu.Unlock()
		return k.writer.Apply(ops)
	}
	k.readMu.Lock()
	defer k.readMu.Unlock()
	var refused []Refusal
	for i := range ops {
		if err := k.applyOne(&ops[i]); err != nil {
			refused = append(refused, Refusal{Op: ops[i], Err: err})
		}
	}
	return len(ops), refused, nil
}

func (k *linuxKernel) applyOne(op *Op) error {
	s := toMobyService(&op.Service)
	switch op.Kind {
	case OpAddService:
		return k.handle.NewService(s)
	case OpEditService:
		return k.handle.UpdateService(s)
	case OpDeleteService:
		return k.handle.DelService(s)
	case OpAddDestination:
		return k.handle.NewDestination(s, toMobyDestination(&op.Destination))
	case OpEditDestination:
		return k.handle.UpdateDestination(s, toMobyDestination(&op.Destination))
	case OpDeleteDestination:
		return k.handle.DelDestination(s, toMobyDestination(&op.Destination))
	}
	return fmt.Errorf("unknown IPVS operation %d", op.Kind)
}

func toMobyService(s *Service) *ipvs.Service {
	ms := &ipvs.Service{
		SchedName:     s.Scheduler,
		Flags:         uint32(s.Flags & userFlags),
		Timeout:       s.Timeout,
		Netmask:       netmaskValue(s.Netmask, s.isIPv6()),
		AddressFamily: afInet,
	}
	if s.isIPv6() {
		ms.AddressFamily = afInet6
	}
	if s.FWMark != 0 {
		ms.FWMark = s.FWMark
	} else {
		ms.Address = net.IP(s.Addr.Addr().Unmap().AsSlice())
		ms.Protocol = protocolNumber(s.Protocol)
		ms.Port = s.Addr.Port()
	}
	return ms
}

func toMobyDestination(d *Destination) *ipvs.Destination {
	fam := uint16(afInet)
	if d.Addr.Addr().Is6() && !d.Addr.Addr().Is4In6() {
		fam = afInet6
	}
	return &ipvs.Destination{
		Address:         net.IP(d.Addr.Addr().Unmap().AsSlice()),
		Port:            d.Addr.Port(),
		Weight:          d.Weight,
		ConnectionFlags: uint32(d.Forward),
		AddressFamily:   fam,
		UpperThreshold:  d.UpperThreshold,
		LowerThreshold:  d.LowerThreshold,
	}
}

func fromMobyService(ms *ipvs.Service) (Service, error) {
	s := Service{
		FWMark:    ms.FWMark,
		IPv6:      ms.AddressFamily == afInet6,
		Scheduler: ms.SchedName,
		Flags:     ServiceFlags(ms.Flags),
		Timeout:   ms.Timeout,
		Netmask:   netmaskPrefix(ms.Netmask, ms.AddressFamily == afInet6),
		Stats:     statsOf(ipvs.DstStats(ms.Stats)),
	}
	if ms.FWMark == 0 {
		a, ok := netip.AddrFromSlice(ms.Address)
		if !ok {
			return s, fmt.Errorf("IPVS service with unreadable address %v", ms.Address)
		}
		s.Protocol = protocolName(ms.Protocol)
		s.Addr = netip.AddrPortFrom(a.Unmap(), ms.Port)
	}
	return s, nil
}

func fromMobyDestination(md *ipvs.Destination, _ uint16) (Destination, error) {
	a, ok := netip.AddrFromSlice(md.Address)
	if !ok {
		return Destination{}, fmt.Errorf("unreadable address %v", md.Address)
	}
	return Destination{
		Addr:           netip.AddrPortFrom(a.Unmap(), md.Port),
		Forward:        Forward(md.ConnectionFlags & 0x7),
		Weight:         md.Weight,
		UpperThreshold: md.UpperThreshold,
		LowerThreshold: md.LowerThreshold,
		ActiveConns:    uint32(md.ActiveConnections),
		InactiveConns:  uint32(md.InactiveConnections),
		Stats:          statsOf(md.Stats),
	}, nil
}

func statsOf(st ipvs.DstStats) Stats {
	return Stats{
		Conns:      uint64(st.Connections),
		PacketsIn:  uint64(st.PacketsIn),
		PacketsOut: uint64(st.PacketsOut),
		BytesIn:    st.BytesIn,
		BytesOut:   st.BytesOut,
	}
}
