package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/lvsd/lvsd/internal/director"
)

// cmdDrain is `lvsd drain [--undo]`: the running daemon withdraws its
// routes and keeps serving for drain_delay (director.Drain), or announces
// again (--undo). It prints the daemon's answer once the drain is over.
func cmdDrain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socketPath := controlSocketFlags(fs)
	undo := fs.Bool("undo", false, "end the drain: announce the VIPs again")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lvsd drain: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	path := socketPath()
	req := drainRequest
	if *undo {
		req = undrainRequest
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "lvsd drain: is lvsd running? %v\n", err)
		return 1
	}
	defer c.Close()
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		fmt.Fprintf(stderr, "lvsd drain: %v\n", err)
		return 1
	}
	var ans drainAnswer
	if err := json.NewDecoder(io.LimitReader(c, 1<<16)).Decode(&ans); err != nil {
		fmt.Fprintf(stderr, "lvsd drain: no answer from %s: %v\n", path, err)
		return 1
	}
	if ans.Error != "" {
		fmt.Fprintf(stderr, "lvsd drain: %s\n", ans.Error)
		return 1
	}
	fmt.Fprintln(stdout, ans.Result)
	return 0
}

// The control socket's drain requests and their answer.
const (
	drainRequest   = "drain"
	undrainRequest = "drain --undo"
)

type drainAnswer struct {
	Result string `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// answerDrain serves a drain request on the control socket: the answer
// comes when the drain is over (drain_delay), so the connection's
// deadline is moved past it.
func answerDrain(c net.Conn, d *director.Director, undo bool) {
	var msg string
	var err error
	if undo {
		msg, err = d.Undrain()
	} else {
		wait := controlDrainMargin
		if a := d.Config().Announce; a != nil {
			wait += a.DrainDelay
		}
		c.SetDeadline(time.Now().Add(wait))
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		msg, err = d.Drain(ctx)
	}
	ans := drainAnswer{Result: msg}
	if err != nil {
		ans = drainAnswer{Error: err.Error()}
	}
	json.NewEncoder(c).Encode(ans)
}

// controlDrainMargin is how long a drain may take beyond drain_delay
// (the withdrawals themselves take milliseconds).
const controlDrainMargin = 10 * time.Second
