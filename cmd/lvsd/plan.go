package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
)

// cmdPlan prints the IPVS operations that would bring the live table to the
// configuration, as if this director were MASTER of every instance and every
// real server passed its checks, like `terraform plan`. It changes nothing.
func cmdPlan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", defaultConfig, "configuration file")
	netns := fs.String("netns", "", "network namespace path whose IPVS table to read (default: this one)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, diags := hcl.Load(*file)
	for _, d := range diags {
		fmt.Fprintln(stderr, d.String())
	}
	if cfg == nil {
		return 1
	}
	k, err := lvs.OpenKernel(*netns)
	if err != nil {
		fmt.Fprintf(stderr, "lvsd plan: IPVS: %v\n", err)
		return 1
	}
	current, err := k.Table()
	if err != nil {
		fmt.Fprintf(stderr, "lvsd plan: reading the IPVS table: %v\n", err)
		return 1
	}
	ops, foreign := lvs.PlanConfig(cfg, current)
	if err := lvs.WritePlan(stdout, ops, foreign); err != nil {
		fmt.Fprintf(stderr, "lvsd plan: %v\n", err)
		return 1
	}
	return 0
}

// cmdConvert prints a keepalived.conf as lvsd HCL, with lvs_program =
// "always" so the converted file behaves as keepalived did.
func cmdConvert(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: lvsd convert keepalived.conf")
		return 2
	}
	cfg, diags := hcl.Load(args[0])
	for _, d := range diags {
		fmt.Fprintln(stderr, d.String())
	}
	if cfg == nil {
		return 1
	}
	stdout.Write(hcl.ConvertToHCL(cfg))
	return 0
}
