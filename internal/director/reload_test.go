package director

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
	"github.com/lvsd/lvsd/vrrp"
)

// fakeSegment stands in for vrrp's Linux edges: adverts go nowhere, links
// are up, and every VIP added is recorded together with what the IPVS
// kernel held at that moment.
type fakeSegment struct {
	kernel *lvstest.FakeKernel

	mu    sync.Mutex
	added map[netip.Addr]lvs.Table // VIP → the kernel's table when it came up
	vips  map[netip.Addr]bool
}

func newFakeSegment(k *lvstest.FakeKernel) *fakeSegment {
	return &fakeSegment{kernel: k, added: map[netip.Addr]lvs.Table{}, vips: map[netip.Addr]bool{}}
}

func (s *fakeSegment) network() vrrp.Network {
	return vrrp.Network{Adverts: s, Addresses: s, Announcer: s, Links: s}
}

func (s *fakeSegment) Listen(string, bool, bool) (vrrp.AdvertConn, error) {
	return &silentConn{closed: make(chan struct{})}, nil
}

func (s *fakeSegment) PrimaryAddr(string, bool, []netip.Addr) (netip.Addr, error) {
	return netip.MustParseAddr("10.0.0.1"), nil
}

func (s *fakeSegment) HasVIP(v hcl.VIP) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vips[v.Prefix.Addr()], nil
}

func (s *fakeSegment) AddVIP(v hcl.VIP) error {
	table, err := s.kernel.Table()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vips[v.Prefix.Addr()] = true
	if _, seen := s.added[v.Prefix.Addr()]; !seen {
		s.added[v.Prefix.Addr()] = table
	}
	return nil
}

func (s *fakeSegment) RemoveVIP(v hcl.VIP) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vips, v.Prefix.Addr())
	return nil
}

func (s *fakeSegment) SendGARP(string, netip.Addr, int) error { return nil }
func (s *fakeSegment) Close() error                           { return nil }
func (s *fakeSegment) LinkUp(string) (bool, error)            { return true, nil }

func (s *fakeSegment) WatchLinks(ctx context.Context, _ func(string, bool)) error {
	<-ctx.Done()
	return nil
}

// tableWhenAdded waits until vip has come up and returns the kernel's
// table at that moment.
func (s *fakeSegment) tableWhenAdded(t *testing.T, vip netip.Addr) lvs.Table {
	t.Helper()
	var table lvs.Table
	waitFor(t, "VIP "+vip.String(), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ok bool
		table, ok = s.added[vip]
		return ok
	})
	return table
}

// silentConn is an advert socket on a segment with no other router.
type silentConn struct {
	once   sync.Once
	closed chan struct{}
}

func (c *silentConn) Read() (vrrp.Received, error) {
	<-c.closed
	return vrrp.Received{}, context.Canceled
}
func (c *silentConn) Write(netip.Addr, netip.Addr, []byte) error { return nil }
func (c *silentConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

const reloadBefore = `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 255
  virtual_ipaddress = ["192.0.2.10/24"]
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
}
`

const reloadAfter = `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 255
  virtual_ipaddress = ["192.0.2.10/24", "192.0.2.11/24"]
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
}
virtual_server "192.0.2.11:80" {
  protocol = "TCP"
  real_server "10.0.0.2:80" {}
}
`

// TestReloadProgramsServicesBeforeItAddsTheirVIPs: a reload that adds a
// VIP and its virtual service to a MASTER programs the service first, so
// the VIP never answers without it (issue 11, defect 2: the VIP came up
// before its service existed).
func TestReloadProgramsServicesBeforeItAddsTheirVIPs(t *testing.T) {
	kernel := lvstest.NewFakeKernel(nil)
	seg := newFakeSegment(kernel)
	after := hcltest.Load(t, reloadAfter)
	d, err := New(hcltest.Load(t, reloadBefore), Options{
		File: "lvsd.hcl", VRRP: true, Checks: true,
		Load:       func(string) (*hcl.Config, hcl.Diagnostics) { return after, nil },
		OpenKernel: func() (lvs.Kernel, error) { return kernel, nil },
		Network:    seg.network(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, d)
	defer stop()

	// Priority 255 is MASTER at once (RFC 3768 §6.4.1): the first VIP
	// comes up after its service.
	first := netip.MustParseAddr("192.0.2.10")
	if seg.tableWhenAdded(t, first).Find("TCP:192.0.2.10:80") == nil {
		t.Fatalf("VIP %s came up before its virtual service", first)
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	added := netip.MustParseAddr("192.0.2.11")
	if table := seg.tableWhenAdded(t, added); table.Find("TCP:192.0.2.11:80") == nil {
		t.Errorf("reload: VIP %s came up before its virtual service; the kernel held %v", added, table)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
