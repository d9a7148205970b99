package checks

import (
	"context"
	"fmt"
	"math"

	"github.com/lvsd/lvsd/internal/trackfile"
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

// readTrackedNumber reads a tracked file's number (internal/trackfile,
// shared with VRRP's track_file); reason is set when the number does not
// fit in 32 bits (keepalived then keeps the last value).
func readTrackedNumber(path string) (value int64, reason string) {
	v, valid := trackfile.Read(path)
	if !valid {
		return 0, fmt.Sprintf("invalid number in %s", path)
	}
	return v, ""
}
