package director

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
	"github.com/lvsd/lvsd/vrrp"
)

// timedSpeaker is a routeSpeaker that also notes when the last withdrawal
// happened and when it was stopped.
type timedSpeaker struct {
	routeSpeaker
	tmu                  sync.Mutex
	withdrawn, stoppedAt time.Time
}

func (s *timedSpeaker) Withdraw(ctx context.Context, p netip.Prefix) error {
	s.tmu.Lock()
	s.withdrawn = time.Now()
	s.tmu.Unlock()
	return s.routeSpeaker.Withdraw(ctx, p)
}

func (s *timedSpeaker) Stop() {
	s.tmu.Lock()
	s.stoppedAt = time.Now()
	s.tmu.Unlock()
	s.routeSpeaker.Stop()
}

func (s *timedSpeaker) times() (withdrawn, stopped time.Time) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	return s.withdrawn, s.stoppedAt
}

// testDrainDelay is drainDirector's drain_delay. A withdrawal that takes
// longer than drain_delay is given up (drainBeforeStop's context), so
// the delay is also how late a loaded host may run the withdrawal
// before these tests fail; a second is far above the few ms it takes,
// and far below the bug they are for (a withdrawal left to the
// announcer's next decision, reconcile_interval 10s).
const testDrainDelay = time.Second

// drainDirector runs a cluster director whose one real server passes its
// TCP_CHECK, with drain_delay testDrainDelay, until its VIP is announced.
func drainDirector(t *testing.T) (*Director, *timedSpeaker, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go acceptAll(ln)
	cfg := hcltest.Load(t, fmt.Sprintf(`
global { lvs_program = "always" }
virtual_server "192.0.2.10:80" {
  delay_loop = "50ms"
  real_server "127.0.0.1:%d" {
    TCP_CHECK {
      connect_timeout = "200ms"
    }
  }
}
announce "bgp" {
  local_as    = 65001
  router_id   = "10.9.0.2"
  drain_delay = "%s"
  neighbor "10.9.0.1" { remote_as = 65000 }
}
`, ln.Addr().(*net.TCPAddr).Port, testDrainDelay))
	sp := &timedSpeaker{routeSpeaker: routeSpeaker{routes: map[netip.Prefix]bool{}}}
	d, err := New(cfg, Options{Checks: true, Speaker: sp, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil },
		Sysctl:  func(string, string) error { return nil },
		Network: vrrp.Network{Addresses: &heldAddresses{}}})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, d)
	t.Cleanup(func() { stop() })
	waitFor(t, "the VIP announced", func() bool { return sp.announced("192.0.2.10/32") })
	return d, sp, stop
}

// TestDrainWithdrawsFirstAndAnswersAfterTheDrainDelay: `lvsd drain`
// withdraws the VIP at once, answers only after drain_delay, keeps it
// withdrawn (the report says why) and --undo announces it again; a
// SIGTERM after the undo drains for the whole drain_delay.
func TestDrainWithdrawsFirstAndAnswersAfterTheDrainDelay(t *testing.T) {
	d, sp, stop := drainDirector(t)
	const vip = "192.0.2.10/32"
	start := time.Now()
	type result struct {
		msg string
		err error
	}
	done := make(chan result, 1)
	go func() {
		msg, err := d.Drain(context.Background())
		done <- result{msg, err}
	}()
	waitFor(t, "the VIP withdrawn", func() bool { return !sp.announced(vip) })
	res := <-done
	answeredAt := time.Now()
	if res.err != nil || !strings.HasPrefix(res.msg, "drained") {
		t.Fatalf("Drain = %q, %v", res.msg, res.err)
	}
	// Ordered by the speaker's own clock rather than bounded from the
	// start: the withdrawal comes first and the answer drain_delay after
	// it, however late a loaded host ran either.
	withdrawnAt, _ := sp.times()
	if withdrawn, answered := withdrawnAt.Sub(start), answeredAt.Sub(start); withdrawnAt.IsZero() || answeredAt.Sub(withdrawnAt) < testDrainDelay {
		t.Errorf("withdrawn after %v, answered after %v; want the withdrawal first and the answer drain_delay %v after it", withdrawn, answered, testDrainDelay)
	}
	waitFor(t, "the report to say why", func() bool {
		r := d.Report().BGP
		return len(r.Routes) == 1 && !r.Routes[0].Announced && r.Routes[0].Reason == "drained (lvsd drain)"
	})
	time.Sleep(100 * time.Millisecond) // several decisions later, still withdrawn
	if sp.announced(vip) {
		t.Fatal("the VIP came back while drained")
	}
	if msg, err := d.Drain(context.Background()); err != nil || !strings.HasPrefix(msg, "already drained") {
		t.Errorf("a second Drain = %q, %v", msg, err)
	}

	if _, err := d.Undrain(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the VIP announced again", func() bool { return sp.announced(vip) })

	// A SIGTERM after the undo drains for the whole drain_delay again.
	start = time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, stopped := sp.times(); stopped.Sub(start) < testDrainDelay {
		t.Errorf("after drain and undo, SIGTERM stopped the sessions %v later, want drain_delay %v", stopped.Sub(start), testDrainDelay)
	}
}

// TestSIGTERMWithdrawsThenServesForTheDrainDelay: when Run's context ends
// (SIGTERM) the VIP is withdrawn first and the sessions stop drain_delay
// later, with everything still running in between.
func TestSIGTERMWithdrawsThenServesForTheDrainDelay(t *testing.T) {
	_, sp, stop := drainDirector(t)
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	withdrawn, stopped := sp.times()
	// "At once" is bounded by three seconds: the withdrawal must not wait
	// for the announcer's next decision (reconcile_interval, 10s), and a
	// loaded host may run the cancelled Run late. The order and the
	// drain_delay between withdrawal and stop are exact.
	if withdrawn.Before(start) || withdrawn.Sub(start) > 3*time.Second || stopped.Sub(withdrawn) < testDrainDelay {
		t.Errorf("withdrawn %v after SIGTERM, speaker stopped %v after that; want at once, then drain_delay %v", withdrawn.Sub(start), stopped.Sub(withdrawn), testDrainDelay)
	}
}

// TestDrainOfAVRRPDirectorSaysHowToHandOver: without an announce block
// there are no routes to withdraw; a VRRP director is told to stop lvsd
// for the make-before-break handover.
func TestDrainOfAVRRPDirectorSaysHowToHandOver(t *testing.T) {
	cfg := hcltest.Load(t, `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  virtual_ipaddress = ["192.0.2.10/24"]
}
`)
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Drain(context.Background()); err == nil || !strings.Contains(err.Error(), "SIGTERM") {
		t.Errorf("Drain of a VRRP director: %v", err)
	}
	if _, err := d.Undrain(); err == nil {
		t.Error("Undrain of a director without announce block succeeded")
	}
}
