package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/lvsd/lvsd/internal/director"
)

// clearScreen moves the cursor home and clears the terminal (ANSI), so each
// frame replaces the last in place.
const clearScreen = "\x1b[H\x1b[2J"

// watchStatus is `lvsd status --watch`: the status screen redrawn in place
// every interval until SIGINT or SIGTERM, like `watch ipvsadm -Ln` with
// health and VRRP state. A daemon that stops answering (a restart) shows as
// an error in the frame; the watch goes on.
func watchStatus(path string, interval time.Duration, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return watchFrames(ctx, path, interval, stdout)
}

// watchFrames draws frames until ctx ends.
func watchFrames(ctx context.Context, path string, interval time.Duration, stdout io.Writer) int {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var frame bytes.Buffer
		frame.WriteString(clearScreen)
		fmt.Fprintf(&frame, "every %s: lvsd status --watch (%s)    %s\n\n", interval, path, time.Now().Format("15:04:05"))
		raw, err := queryStatus(path)
		var r director.Report
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil {
			fmt.Fprintf(&frame, "lvsd status: %v\n", err)
		} else {
			director.Render(&frame, r, true)
		}
		if _, err := frame.WriteTo(stdout); err != nil {
			return 1
		}
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}
