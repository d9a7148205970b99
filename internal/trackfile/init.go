package trackfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Init is track_file's init_file [VALUE] [overwrite] at a start or a
// reload, as keepalived 2.2.7's track_file_end_handler does it: a missing
// file is written with value and a newline; an existing one is left alone
// unless overwrite is set, the process is starting (not reloading) and
// the file is a regular file. It reports whether it wrote the file. The
// file is written as keepalived's fopen_safe writes: a new file in the
// same directory, mode 0644, renamed over the path, so a reader never
// sees it half written.
func Init(path string, value int, overwrite, reload bool) (wrote bool, err error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && !overwrite:
		return false, nil
	case err == nil && !st.Mode().IsRegular():
		return false, fmt.Errorf("cannot initialise track file %s - it is not a regular file", path)
	case err == nil && reload:
		return false, nil // keepalived: "Don't overwrite a file on reload"
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return false, fmt.Errorf("unable to initialise track file %s: %w", path, err)
	}
	_, werr := tmp.WriteString(strconv.Itoa(value) + "\n")
	if cerr := tmp.Chmod(0o644); werr == nil {
		werr = cerr
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return false, fmt.Errorf("unable to initialise track file %s: %w", path, werr)
	}
	return true, nil
}
