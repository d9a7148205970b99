package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/kadiff"
)

// TestLvsdKeepalivedCorpusAdverts is the advert differential of the files
// the host cannot compare: those whose keepalived VRRP process needs IPVS
// (lvs_sync_daemon, lvs_sync_daemon_interface: it starts the sync daemon
// itself, "Can't initialize ipvs" on the host's kernel). Each daemon runs
// the file alone in a namespace of its own, as on the host (kadiff.Run:
// the same links, the same advert reader on their far sides), and the VRRP
// instances each starts and the adverts each sends must be the same.
func TestLvsdKeepalivedCorpusAdverts(t *testing.T) {
	requireGuest(t)
	ka, lvsd, corpus := os.Getenv("KEEPALIVED_BIN"), os.Getenv("LVSD_BIN"), os.Getenv("LVSD_KA_CORPUS")
	if ka == "" || lvsd == "" || corpus == "" {
		t.Skip("needs KEEPALIVED_BIN, LVSD_BIN and LVSD_KA_CORPUS")
	}
	paths, _ := filepath.Glob(filepath.Join(corpus, "*"))
	slices.Sort(paths)
	paths = slices.DeleteFunc(paths, func(p string) bool {
		src, err := os.ReadFile(p)
		return err != nil || !kadiff.NeedsIPVS(src)
	})
	if len(paths) == 0 {
		t.Fatalf("no file of %s needs IPVS", corpus)
	}
	// The host's 8 s, and a margin for the emulator, which starts
	// keepalived's processes in seconds.
	const runFor = 12 * time.Second
	dir := t.TempDir()
	results := make([][2]kadiff.Result, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		for j, bin := range []string{ka, lvsd} {
			wg.Go(func() {
				r, err := kadiff.Run(fmt.Sprintf("kadv%d%d", i, j), dir, runFor, bin, p)
				if err != nil {
					t.Errorf("%s: %s: %v", filepath.Base(p), bin, err)
				}
				results[i][j] = r
			})
		}
	}
	wg.Wait()
	same := 0
	for i, p := range paths {
		k, l := results[i][0], results[i][1]
		name := filepath.Base(p)
		switch {
		case k.Instances() != l.Instances() || !slices.Equal(k.Adverts, l.Adverts):
			t.Errorf("%s: VRRP instances running: keepalived %v, lvsd %v; adverts\nkeepalived: %v\nlvsd:       %v\nkeepalived log:\n%s\nlvsd log:\n%s",
				name, k.Instances(), l.Instances(), k.Adverts, l.Adverts, k.Log, l.Log)
		case len(k.Adverts) == 0:
			t.Errorf("%s: neither daemon advertised: nothing compared\nkeepalived log:\n%s\nlvsd log:\n%s", name, k.Log, l.Log)
		default:
			same++
			t.Logf("%s: the same instances and adverts: %v", name, k.Adverts)
		}
	}
	t.Logf("▶ %d of %d corpus files whose keepalived VRRP process needs IPVS: the same VRRP instances and adverts as keepalived 2.2.7", same, len(paths))
}
