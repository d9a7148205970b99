package checks

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// fileProber is FILE_CHECK (keepalived's check_file.c and track_file.c):
// it reads the number in a file, 0 when the file is missing, empty or
// not a number. With weight 0 the check fails on any number but 0 (on 0
// when reverse). Otherwise number × weight (negated when reverse) is
// added to the real server's weight, and fails the check at -254 or less.
// keepalived watches the file with inotify; lvsd reads it every second.
type fileProber struct {
	path    string
	weight  int
	reverse bool
	base    int // the real server's configured weight
	last    int64
}

// fileFault is keepalived's IPVS_WEIGHT_FAULT: a tracked value at or below
// it fails the check.
const fileFault = -254

func (f *fileProber) probe(context.Context) Result {
	value, reason := readTrackedNumber(f.path)
	if reason != "" {
		// track_file.c keeps the last value when the number is invalid.
		value = f.last
	}
	f.last = value
	if f.weight == 0 {
		if (value != 0) != f.reverse {
			return Result{Weight: -1, Reason: fmt.Sprintf("%s holds %d", f.path, value)}
		}
		return Result{OK: true, Weight: -1, Reason: fmt.Sprintf("%s holds %d", f.path, value)}
	}
	sign := int64(1)
	if f.reverse {
		sign = -1
	}
	status := max(min(value*int64(f.weight)*sign, math.MaxInt32), math.MinInt32)
	if status <= fileFault {
		return Result{Weight: -1, Reason: fmt.Sprintf("%s holds %d: weight %d", f.path, value, status)}
	}
	weight := max(min(int64(f.base)+status, 65535), 0)
	return Result{OK: true, Weight: int(weight), Reason: fmt.Sprintf("%s holds %d: weight %d", f.path, value, weight)}
}

// readTrackedNumber reads a tracked file's number as keepalived's
// strtol(buf, NULL, 0) does: leading space, a sign, 0x for hex, a leading
// 0 for octal, digits up to the first other character; a missing or
// unreadable file, or no digits, is 0. reason is set when the number does
// not fit in 32 bits (keepalived then keeps the last value).
func readTrackedNumber(path string) (value int64, reason string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, ""
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
		return 0, ""
	}
	v, err := strconv.ParseInt(s[:end], base, 64)
	if neg {
		v = -v
	}
	if err != nil || v < math.MinInt32 || v > math.MaxInt32+1 {
		return 0, fmt.Sprintf("invalid number in %s", path)
	}
	return v, ""
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
