// Package checksbench is the checks benchmark's configuration in its
// shape (integration/vm/scenarios TestBenchChecksVsKeepalived, keepalived
// #2318's at 1/16 scale: 143 virtual servers, 2,326 real servers), for the
// host tests and benchmarks that read it: hcl's load benchmarks, cmd/lvsd's
// model and start heap tests, checks' kept heap. It imports nothing of
// lvsd, so that hcl's own tests can use it. The VM's benchmark writes its
// own, with the targets its listeners answer (checktargets).
package checksbench

import (
	"bytes"
	"fmt"
)

// The benchmark's default scale.
const (
	VirtualServers = 143
	RealServers    = 2326
)

// KeepalivedConf is the benchmark's keepalived.conf: vs virtual servers
// sharing rs (>= vs) real servers evenly, DR, one TCP_CHECK per real
// server pointed at a loopback target of its own (127.1.x.y, ports
// 20000-20099), delay_loop 6, warmup 6.
func KeepalivedConf(vs, rs int) []byte {
	var b bytes.Buffer
	b.WriteString("global_defs {\n  router_id checks-bench\n}\n")
	for v := range vs {
		fmt.Fprintf(&b, "virtual_server 10.%d.%d.1 80 {\n  delay_loop 6\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n", v>>8, v&255)
		for i := v * rs / vs; i < (v+1)*rs/vs; i++ {
			fmt.Fprintf(&b, "  real_server 10.%d.%d.%d 80 {\n    weight 1\n    TCP_CHECK {\n      connect_ip 127.1.%d.%d\n      connect_port %d\n"+
				"      connect_timeout 5\n      retry 1\n      delay_before_retry 1\n      warmup 6\n    }\n  }\n",
				128+i>>16, byte(i>>8), byte(i), (i/100+1)>>8, byte(i/100+1), 20000+i%100)
		}
		b.WriteString("}\n")
	}
	return b.Bytes()
}
