package director

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStatusScreenShowsStatesAndServers(t *testing.T) {
	var r Report
	raw := `{"version":"t","pid":1,"vrrp_instances":[{"name":"VI_1","interface":"eth0","virtual_router_id":51,"state":"MASTER","priority":150,"master":"10.0.0.1","reason":"master down timer expired","adverts_sent":10,"drops":{"auth mismatch":2}}],
"virtual_servers":[{"Key":"TCP:192.0.2.1:80","Scheduler":"wrr","Instance":"VI_1","State":"programmed","Quorum":1,"LiveWeight":3,"Destinations":[{"Addr":"10.0.0.11:80","Up":true,"InKernel":true,"Weight":3,"ConfiguredWeight":3},{"Addr":"10.0.0.12:80","Up":false,"Reason":"connect: connection refused"}]}]}`
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	Render(&b, r, true)
	for _, want := range []string{"VI_1", "MASTER", "10.0.0.1", "TCP:192.0.2.1:80", "wrr", "10.0.0.12:80", "DOWN", "connection refused", "3/3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status screen lacks %q:\n%s", want, b.String())
		}
	}
}
