package main

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// A daemon that closes the control connection without a status (its
// answer could not be written in time) is an error of `lvsd status`, with
// or without --json: a script reading `lvsd status --json` must not take
// an empty answer and exit 0 for a status.
func TestStatusWithoutAnAnswerFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 128)
			c.Read(buf) // the request line
			c.Close()
		}
	}()
	for _, args := range [][]string{{"--socket", path, "--json"}, {"--socket", path}} {
		var stdout, stderr bytes.Buffer
		code := cmdStatus(args, &stdout, &stderr)
		if code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "no answer from "+path) {
			t.Errorf("lvsd status %q = exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, %q on stderr",
				args, code, stdout.String(), stderr.String(), "no answer from "+path)
		}
	}
}
