package lvs

import (
	"os"
	"strings"
	"testing"
)

func TestOpenKernelWithoutIPVSSaysWhichModuleIsMissing(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS")
	}
	for _, opts := range []KernelOptions{{}, {OneByOne: true}} {
		k, err := OpenKernelWith(opts)
		if err == nil {
			k.Close()
			t.Fatalf("one-by-one=%v: opened IPVS on a kernel without it", opts.OneByOne)
		}
		if !strings.Contains(err.Error(), "kernel module ip_vs not loaded") {
			t.Errorf("error %q does not name the module", err)
		}
	}
}
