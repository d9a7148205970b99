// Package trackfile reads the number a tracked file holds, the one way
// for both of its readers: FILE_CHECK (checks) and a VRRP instance's
// track_file (vrrp), as keepalived's track_file.c reads it for both
// (number.go), and writes init_file's value at start (init.go). It never
// watches the file: its callers decide when to read.
package trackfile

import (
	"math"
	"os"
	"strconv"
	"strings"
)

// Read reads a tracked file's number as keepalived's
// strtol(buf, NULL, 0) does: leading space, a sign, 0x for hex, a leading
// 0 for octal, digits up to the first other character; a missing or
// unreadable file, or no digits, is 0. valid is false when the number does
// not fit in 32 bits (keepalived then keeps the last value).
func Read(path string) (value int64, valid bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, true
	}
	if len(b) > 127 {
		b = b[:127]
	}
	s := strings.TrimLeft(string(b), " \t\n\r\v\f")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isDigit(s[2], 16):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	end := 0
	for end < len(s) && isDigit(s[end], base) {
		end++
	}
	if end == 0 {
		return 0, true
	}
	v, err := strconv.ParseInt(s[:end], base, 64)
	if neg {
		v = -v
	}
	if err != nil || v < math.MinInt32 || v > math.MaxInt32+1 {
		return 0, false
	}
	return v, true
}

func isDigit(c byte, base int) bool {
	var d int
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'f':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int(c-'A') + 10
	default:
		return false
	}
	return d < base
}
