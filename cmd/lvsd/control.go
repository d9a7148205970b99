package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/director"
)

// controlServer answers `lvsd status` on the unix control socket.
type controlServer struct {
	ln   net.Listener
	path string
	wg   sync.WaitGroup
}

// serveControl listens on the control socket, readable by root only: the
// socket is bound under a temporary name, made 0600 and only then renamed
// into place, so it is never reachable with wider permissions and the
// process umask is never touched (a umask changed while scripts start
// would be inherited by them). One request line per connection: "status",
// or "drain" and "drain --undo" (drain.go).
func serveControl(path string, d *director.Director, log *slog.Logger) (io.Closer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: another lvsd is answering there", path)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, err
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	s := &controlServer{ln: ln, path: path}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("control socket", "err", err)
				}
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				answer(c, d)
			}()
		}
	}()
	return s, nil
}

// Close stops listening, removes the socket and waits for the answers in
// flight (each bounded by its deadline).
func (s *controlServer) Close() error {
	err := s.ln.Close()
	os.Remove(s.path)
	s.wg.Wait()
	return err
}

// answer serves one control connection. The peer is untrusted input: the
// request is one short line with a deadline, and anything but a known
// command gets an error reply.
func answer(c net.Conn, d *director.Director) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 128)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	enc := json.NewEncoder(c)
	switch strings.TrimSpace(line) {
	case "status":
		// The deadline above bounds the request; the status may take
		// longer to make (its reads yield to IPVS writes and VRRP
		// hooks), so the answer gets its own time to be written once
		// it is made, instead of being lost as nothing.
		r := d.Report()
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		enc.Encode(r)
	case drainRequest, undrainRequest: // drain.go
		answerDrain(c, d, strings.TrimSpace(line) == undrainRequest)
	default:
		enc.Encode(map[string]string{"error": fmt.Sprintf("unknown request %.40q (want \"status\")", strings.TrimSpace(line))})
	}
}

// controlSocketFlags defines -socket and -f on a client command's flags
// and returns what finds the daemon's control socket once they are parsed:
// -socket, else the control_socket of -f FILE, else hcl's default.
func controlSocketFlags(fs *flag.FlagSet) func() string {
	sock := fs.String("socket", "", "control socket (default: control_socket of -f FILE, else "+hcl.DefaultControlSocket+")")
	file := fs.String("f", "", "configuration file to read control_socket from")
	return func() string {
		if *sock != "" {
			return *sock
		}
		if *file != "" {
			if cfg, _ := hcl.Load(*file); cfg != nil {
				return cfg.Global.ControlSocket
			}
		}
		return hcl.DefaultControlSocket
	}
}

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socketPath := controlSocketFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	watch := fs.Bool("watch", false, "redraw the screen in place until interrupted (watch.go)")
	interval := fs.Duration("interval", 2*time.Second, "--watch: time between frames")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *watch && (*asJSON || *interval <= 0) {
		fmt.Fprintln(stderr, "lvsd status: --watch draws the text screen (no --json) and needs --interval above 0")
		return 2
	}
	path := socketPath()
	if *watch {
		return watchStatus(path, *interval, stdout)
	}
	raw, err := queryStatus(path)
	if err != nil {
		fmt.Fprintf(stderr, "lvsd status: %v\n", err)
		return 1
	}
	if *asJSON {
		stdout.Write(raw)
		return 0
	}
	var r director.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		fmt.Fprintf(stderr, "lvsd status: bad answer from %s: %v\n", path, err)
		return 1
	}
	director.Render(stdout, r, true)
	return 0
}

func queryStatus(path string) ([]byte, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("is lvsd running? %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "status\n"); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(c, 64<<20))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("no answer from %s (the daemon closed the connection without a status)", path)
	}
	var e struct{ Error string }
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return nil, errors.New(e.Error)
	}
	return raw, nil
}
