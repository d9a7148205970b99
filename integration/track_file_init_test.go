package integration

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

// TestTrackFileInitAsKeepalived runs keepalived 2.2.7 and lvsd on the same
// keepalived.conf, a track_file with init_file, each on a file of its own
// in the state the case gives: both leave the file the same (a missing
// file written with the value, an existing one kept unless overwrite, a
// directory never replaced) and advertise the priority the file then
// gives (100 + 2 × the value it holds).
func TestTrackFileInitAsKeepalived(t *testing.T) {
	bin := requireDiffTools(t)
	tests := []struct {
		name, before, init, after string // before/after: "" missing, "dir" a directory, else content
		priority                  int    // 0: the adverts are not compared
	}{
		{"missing file created", "", "init_file 7", "7\n", 114},
		{"existing file kept", "3\n", "init_file 7", "3\n", 106},
		{"existing file overwritten", "3\n", "init_file 7 overwrite", "7\n", 114},
		{"bare init_file on a missing file", "", "init_file", "0\n", 100},
		{"directory never replaced", "dir", "init_file 7 overwrite", "dir", 0},
	}
	type run struct {
		file string
		res  kadiff.Result
		err  error
	}
	runs := make([][2]run, len(tests))
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i, tt := range tests {
		for j, daemon := range []string{"keepalived", bin} {
			r := &runs[i][j]
			r.file = filepath.Join(dir, fmt.Sprintf("track-%d-%d", i, j))
			switch tt.before {
			case "":
			case "dir":
				os.Mkdir(r.file, 0o755)
			default:
				os.WriteFile(r.file, []byte(tt.before), 0o644)
			}
			conf := filepath.Join(dir, fmt.Sprintf("keepalived-%d-%d.conf", i, j))
			os.WriteFile(conf, []byte(fmt.Sprintf(`track_file tf {
    file %s
    weight 2
    %s
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 65
    priority 100
    advert_int 1
    track_file {
        tf
    }
    virtual_ipaddress {
        10.99.0.165/24
    }
}
`, r.file, tt.init)), 0o644)
			wg.Go(func() {
				r.res, r.err = kadiff.Run(fmt.Sprintf("kti%d%d%d", os.Getpid()%1000, i, j), dir, 6*time.Second, daemon, conf)
			})
		}
	}
	wg.Wait()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for j, daemon := range []string{"keepalived", "lvsd"} {
				r := runs[i][j]
				if r.err != nil {
					t.Fatalf("%s: %v", daemon, r.err)
				}
				got := "dir"
				if st, err := os.Stat(r.file); err != nil {
					got = "missing"
				} else if !st.IsDir() {
					b, _ := os.ReadFile(r.file)
					got = string(b)
				}
				if got != tt.after {
					t.Errorf("%s left the file holding %q, want %q\n%s", daemon, got, tt.after, tail(r.res.Log, 12))
				}
				if tt.priority == 0 {
					continue
				}
				if !slices.ContainsFunc(r.res.Adverts, func(a kadiff.Advert) bool { return a.Priority == tt.priority }) || len(r.res.Adverts) != 1 {
					t.Errorf("%s advertised %v, want priority %d\n%s", daemon, r.res.Adverts, tt.priority, tail(r.res.Log, 12))
				}
			}
			if tt.priority != 0 && !slices.Equal(runs[i][0].res.Adverts, runs[i][1].res.Adverts) {
				t.Errorf("adverts differ: keepalived %v, lvsd %v", runs[i][0].res.Adverts, runs[i][1].res.Adverts)
			}
		})
	}
}
