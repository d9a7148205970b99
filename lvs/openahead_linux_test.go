package lvs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// The table is opened ahead before the configuration that asks for IPVS
// is read: even when its caller asks for keepalived's module load, the
// Opening loads nothing and fails, and the caller opens as before.
func TestOpenAheadLoadsNoModule(t *testing.T) {
	if _, err := os.Stat(procIPVS); err == nil {
		t.Skip("this kernel has IPVS loaded: nothing to load")
	}
	ranInPath := fakeModprobe(t)
	dir := t.TempDir()
	note := filepath.Join(dir, "ran")
	modprobe := filepath.Join(dir, "modprobe")
	if err := os.WriteFile(modprobe, []byte("#!/bin/sh\necho \"$@\" > "+note+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	k, _, _, err := OpenAhead(KernelOptions{LoadModule: true, Modprobe: modprobe}).Wait()
	if err == nil {
		k.Close()
		t.Fatal("opened IPVS ahead on a kernel without it")
	}
	if _, err := os.Stat(note); !errors.Is(err, fs.ErrNotExist) || ranInPath() {
		t.Fatal("opening IPVS ahead ran modprobe")
	}
}
