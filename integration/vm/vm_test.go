package vm

import (
	"strings"
	"testing"
)

func TestRunReturnsScriptOutputAndExitStatus(t *testing.T) {
	res := Run(t, Spec{Script: `
echo hello from the guest
/sbin/ipvsadm -A -t 10.9.9.9:80 -s rr || exit 10
/sbin/ipvsadm -Ln
printf "no newline at the end"
exit 3
`})
	if res.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3", res.ExitCode)
	}
	for _, want := range []string{"hello from the guest", "TCP  10.9.9.9:80 rr", "\nno newline at the end\n"} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	if strings.Contains(res.Output, markerInsmod) {
		t.Errorf("a module failed to load:\n%s", res.Output)
	}
}
