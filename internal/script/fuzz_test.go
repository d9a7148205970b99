package script

import (
	"strings"
	"testing"
)

// FuzzSplit: any command line either splits or is refused, and a line of
// plain words splits to exactly those words.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"/bin/check -a b", `/bin/x "a b" 'c d' e\ f`, `"unterminated`, `\`, "", "\t \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := split(line)
		if err != nil {
			return
		}
		if !strings.ContainsAny(line, `"'\`) {
			want := strings.FieldsFunc(line, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
			if len(want) == 0 {
				want = nil
			}
			if strings.Join(words, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("split(%q) = %q, want %q", line, words, want)
			}
		}
	})
}
