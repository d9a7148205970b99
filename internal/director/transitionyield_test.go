package director

import (
	"context"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
	"github.com/lvsd/lvsd/vrrp"
)

// heldApplyKernel is a fake kernel whose Apply, once held is set, waits
// until release is closed: a takeover's IPVS write in progress.
type heldApplyKernel struct {
	*lvstest.FakeKernel
	held    chan struct{} // closed as a held Apply begins
	release chan struct{}
}

func (k *heldApplyKernel) Apply(ops []lvs.Op) (int, []lvs.Refusal, error) {
	if k.held != nil {
		close(k.held)
		<-k.release
	}
	return k.FakeKernel.Apply(ops)
}

// A scrape yields to a takeover: YieldToTransitions (which Report and
// the /metrics scrape call between their steps) returns only once VRRP
// has done the transition's actions (afterTransition: the VIPs added,
// the gratuitous ARPs sent), past its hook, here held in its IPVS write.
func TestScrapesYieldToATransitionsHook(t *testing.T) {
	cfg := hcltest.Load(t, `
global {
  lvs_sync_daemon {
    enabled = false
  }
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
}
`)
	k := &heldApplyKernel{FakeKernel: lvstest.NewFakeKernel(nil)}
	d, err := New(cfg, Options{OpenKernel: func() (lvs.Kernel, error) { return k, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.openIPVS(cfg); err != nil { // as Run does
		t.Fatal(err)
	}
	start := time.Now()
	d.YieldToTransitions()
	if time.Since(start) >= transitionYieldMax {
		t.Fatalf("waited %v with no transition in progress", time.Since(start))
	}
	k.held, k.release = make(chan struct{}), make(chan struct{})
	hookDone := make(chan error, 1)
	takeover := vrrp.Transition{Instance: "VI_1", From: vrrp.StateBackup, To: vrrp.StateMaster, Reason: "master down timer expired"}
	go func() {
		hookDone <- d.onTransition(context.Background(), takeover)
	}()
	select {
	case <-k.held:
	case <-time.After(10 * time.Second): // catches a deadlock only
		t.Fatal("the takeover's IPVS write never reached the kernel")
	}
	// The scrape goes on when the hook returns, or after
	// transitionYieldMax at the latest: never before the write is let go.
	type yield struct{ start, end time.Time }
	yielded := make(chan yield, 1)
	go func() {
		start := time.Now()
		d.YieldToTransitions()
		yielded <- yield{start, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond) // time for a scrape that does not wait to go on
	close(k.release)
	if err := <-hookDone; err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // VRRP adds the VIPs and sends its ARPs
	done := time.Now()
	d.afterTransition(takeover)
	select {
	case y := <-yielded:
		if y.end.Before(done) && y.end.Sub(y.start) < transitionYieldMax {
			t.Fatalf("a scrape went on after %v while the takeover was in progress", y.end.Sub(y.start))
		}
	case <-time.After(10 * time.Second): // catches a deadlock only
		t.Fatal("the scrape still waits after the takeover was done")
	}
}
