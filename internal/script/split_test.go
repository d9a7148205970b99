package script

import (
	"reflect"
	"testing"
)

func TestSplitLikeKeepalived(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"/usr/bin/check", []string{"/usr/bin/check"}},
		{"  /bin/check  -a   b\t c ", []string{"/bin/check", "-a", "b", "c"}},
		{`/bin/check "two words" 'single $quoted'`, []string{"/bin/check", "two words", "single $quoted"}},
		{`/bin/check "say \"hi\"" a\ b`, []string{"/bin/check", `say "hi"`, "a b"}},
		{`/bin/check ""`, []string{"/bin/check", ""}},
		{`/bin/check pre"mid"post`, []string{"/bin/check", "premidpost"}},
		{`/bin/sh -c 'exit 0'`, []string{"/bin/sh", "-c", "exit 0"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := split(tt.line)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("split(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{`/bin/x "open`, `/bin/x 'open`, `/bin/x \`} {
		if _, err := split(bad); err == nil {
			t.Errorf("split(%q) accepted", bad)
		}
	}
}
