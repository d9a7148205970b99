package checks

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/script"
	"github.com/lvsd/lvsd/internal/script/scripttest"
)

func TestMiscCheckWithRealScripts(t *testing.T) {
	tests := []struct {
		exit    int
		dynamic bool
		wantOK  bool
		weight  int
	}{
		{0, false, true, -1},
		{1, false, false, -1},
		{5, false, false, -1},
		{0, true, true, -1},
		{1, true, false, -1},
		{2, true, true, 0},
		{102, true, true, 100},
	}
	for _, tt := range tests {
		_, path := scripttest.Write(t, "exit "+strconv.Itoa(tt.exit))
		p := &miscProber{scripts: &script.Exec{}, dynamic: tt.dynamic, script: script.Script{Command: path, Timeout: 5 * time.Second}}
		r := p.probe(context.Background())
		if r.OK != tt.wantOK || r.Weight != tt.weight || r.Reason != "exit status "+strconv.Itoa(tt.exit) {
			t.Errorf("exit %d dynamic %v: got %+v, want ok=%v weight %d", tt.exit, tt.dynamic, r, tt.wantOK, tt.weight)
		}
	}
	_, path := scripttest.Write(t, "sleep 5")
	p := &miscProber{scripts: &script.Exec{}, script: script.Script{Command: path, Timeout: 200 * time.Millisecond}}
	if r := p.probe(context.Background()); r.OK || r.Reason != "timeout after 200ms" {
		t.Errorf("misc_timeout: got %+v", r)
	}
}
