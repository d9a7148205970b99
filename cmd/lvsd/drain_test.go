package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestDrainCommandCarriesTheDaemonsAnswer: `lvsd drain` sends its request
// over the control socket and prints the daemon's answer; a refusal (a
// VRRP director, which hands over on SIGTERM) is an error with exit 1,
// and a stray argument a usage error.
func TestDrainCommandCarriesTheDaemonsAnswer(t *testing.T) {
	cfg := hcltest.Load(t, `
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  virtual_ipaddress = ["192.0.2.10/24"]
}
`)
	d, err := director.New(cfg, director.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "lvsd.sock")
	ctl, err := serveControl(sock, d, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--socket", sock}, 1, "stop lvsd (SIGTERM) for the make-before-break handover"},
		{[]string{"--socket", sock, "--undo"}, 1, "nothing to undo"},
		{[]string{"--socket", sock, "now"}, 2, `unexpected argument "now"`},
		{[]string{"--socket", filepath.Join(t.TempDir(), "none.sock")}, 1, "is lvsd running?"},
	} {
		var stdout, stderr bytes.Buffer
		if code := cmdDrain(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("lvsd drain %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}
