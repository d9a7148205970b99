package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lenientConfig is a keepalived.conf as people have them: a 1.x LVS-DR
// director copied from a tutorial, with keywords keepalived 2.2.7 no longer
// knows (lvs_id, nat_mask, nb_get_retry in TCP_CHECK), a typo, a stray
// brace, an invalid scheduler and a real server nobody answers for.
// keepalived logs each and runs; so must lvsd, into the same IPVS table.
const lenientConfig = `! Configuration File for keepalived
global_defs {
   notification_email {
     ops@example.com
   }
   notification_email_from lvs@example.com
   smtp_server 127.0.0.1
   smtp_connect_timeout 30
   lvs_id LVS_DEVEL
}

virtual_server 10.0.0.100 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    nat_mask 255.255.255.0
    persistence_timeout 50
    protocol TCP

    real_server 10.0.0.11 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 2
            nb_get_retry 3
            delay_before_retry 1
            connect_port 80
        }
    }
    real_server 10.0.0.12 80 {
        weight 2
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 2
            nb_get_retry 1
            delay_before_retry 1
        }
    }
    real_server 10.0.0.13 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
}

virtual_server 10.0.0.101 80 {
    delay_loop 2
    lb_algo fastest
    lb_kind TUN
    protocol TCP
    real_server 10.0.0.11 80 {
        weight 1
        wieght 5
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
`

// TestLvsdKeepalivedLenientTable runs keepalived 2.2.7 and then lvsd (with
// keepalived's command line) on lenientConfig and compares `ipvsadm -Ln`
// once the checks settle: step 3 of the differential harness
// (integration/keepalived_diff_test.go runs steps 1 and 2 on the host).
func TestLvsdKeepalivedLenientTable(t *testing.T) {
	ka := os.Getenv("KEEPALIVED_BIN")
	lvsd := os.Getenv("LVSD_BIN")
	l := newLab(t)
	if lvsd == "" {
		t.Skip("LVSD_BIN unset")
	}
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(conf, []byte(lenientConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	const settle, limit = 4 * time.Second, 30 * time.Second
	kaTable := keepalivedTable(l, ka, conf, settle, limit)
	d := startGroupDaemon(t, lvsd, conf, "lvsd")
	lvsdTable := settledTable(l, settle, limit)
	d.stop(t)
	t.Logf("▶ lvsd's table:\n%s", lvsdTable)
	if kaTable != "" && canonicalTable(lvsdTable) != canonicalTable(kaTable) {
		t.Errorf("lvsd's table differs from keepalived's:\nkeepalived:\n%s\nlvsd:\n%s", kaTable, lvsdTable)
	}
	for _, want := range []string{
		"TCP 10.0.0.100:80 wrr persistent 50", "  -> 10.0.0.11:80 Route 3", "  -> 10.0.0.12:80 Route 2",
		"TCP 10.0.0.101:80 wlc", "  -> 10.0.0.11:80 Tunnel 1",
	} {
		if !strings.Contains(lvsdTable, want) {
			t.Errorf("lvsd's table has no %q", want)
		}
	}
	if strings.Contains(lvsdTable, "10.0.0.13") {
		t.Errorf("the real server nobody answers for is in lvsd's table:\n%s", lvsdTable)
	}
}
