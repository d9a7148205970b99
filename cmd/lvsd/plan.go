package main

import (
	"fmt"
	"io"
)

func cmdPlan(args []string, stdout, stderr io.Writer) int {
	_ = args
	_ = stdout
	fmt.Fprintln(stderr, "lvsd plan: not wired yet")
	return 1
}

func cmdConvert(args []string, stdout, stderr io.Writer) int {
	_ = args
	_ = stdout
	fmt.Fprintln(stderr, "lvsd convert: not wired yet")
	return 1
}

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	_ = args
	_ = stdout
	fmt.Fprintln(stderr, "lvsd status: not wired yet")
	return 1
}
