package checks

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestFileCheckFollowsKeepalivedsTrackFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weight")
	for _, tc := range []struct {
		name     string
		content  *string // nil: no file
		weight   int
		reverse  bool
		ok       bool
		setWeigh int // Result.Weight
	}{
		{"weight 0, the file holds 0", str("0\n"), 0, false, true, -1},
		{"weight 0, the file holds 3", str("3\n"), 0, false, false, -1},
		{"weight 0 reverse, the file holds 0", str("0"), 0, true, false, -1},
		{"weight 0, no file is 0", nil, 0, false, true, -1},
		{"the number times the weight adds to the real server's", str("5"), 2, false, true, 20},
		{"reverse subtracts it", str("5"), 2, true, true, 0},
		{"-254 or less fails", str("-127"), 2, false, false, -1},
		{"hex, as strtol reads it", str("0x10 trailing"), 1, false, true, 26},
		{"octal, as strtol reads it", str("010"), 1, false, true, 18},
		{"not a number is 0", str("up"), 1, false, true, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(path)
			if tc.content != nil {
				if err := os.WriteFile(path, []byte(*tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f := &fileProber{path: path, weight: tc.weight, reverse: tc.reverse, base: 10}
			r := f.probe(context.Background())
			if r.OK != tc.ok || r.Weight != tc.setWeigh || r.Reason == "" {
				t.Errorf("got ok=%t weight %d (%q), want ok=%t weight %d", r.OK, r.Weight, r.Reason, tc.ok, tc.setWeigh)
			}
		})
	}
}

func TestFileCheckKeepsTheLastValueOfAnInvalidNumber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	f := &fileProber{path: path, weight: 1, base: 1}
	os.WriteFile(path, []byte("4"), 0o644)
	f.probe(context.Background())
	os.WriteFile(path, []byte("99999999999"), 0o644)
	if r := f.probe(context.Background()); r.Weight != 5 {
		t.Errorf("weight %d after an invalid number, want 5 (the last valid value kept)", r.Weight)
	}
}

func str(s string) *string { return &s }

// FuzzReadTrackedNumber: any file content reads as a 32-bit number or
// is reported invalid; never a panic.
func FuzzReadTrackedNumber(f *testing.F) {
	for _, s := range []string{"0", "-12", " 0x1f\n", "010", "+", "0x", "4294967296", "junk"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		path := filepath.Join(dir, "n")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Skip()
		}
		v, reason := readTrackedNumber(path)
		if reason == "" && (v < -1<<31 || v > 1<<31) {
			t.Fatalf("%q read as %d", content, v)
		}
	})
}
