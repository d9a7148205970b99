package main

import (
	"flag"
	"fmt"
	"io"
	"os"

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

// cmdConvert prints a keepalived.conf, an ldirectord.cf or an ipvsadm
// rules file as lvsd HCL, with lvs_program = "always" so the converted file
// behaves as the original did. A header says what the source lacked: an
// ldirectord.cf and a rules file have no VRRP, a rules file no checkers.
func cmdConvert(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: lvsd convert keepalived.conf|ldirectord.cf|ipvsadm.rules")
		return 2
	}
	src, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "lvsd convert: %v\n", err)
		return 1
	}
	var l hcl.Loader
	cfg, diags := l.LoadSource(args[0], src)
	for _, d := range diags {
		fmt.Fprintln(stderr, d.String())
	}
	if cfg == nil {
		return 1
	}
	io.WriteString(stdout, convertHeader(hcl.FormatOf(args[0], src), args[0]))
	stdout.Write(hcl.ConvertToHCL(cfg))
	return 0
}

// convertHeader is the comment that starts the HCL of a file that was not
// written for a VRRP pair.
func convertHeader(format, path string) string {
	switch format {
	case "ldirectord":
		return "# Converted by lvsd from the ldirectord configuration " + path + ".\n" +
			"# ldirectord left the VIPs to another cluster manager: lvsd programs IPVS on this\n" +
			"# node (lvs_program = \"always\"). To let lvsd move the VIPs too, add a\n" +
			"# vrrp_instance whose virtual_ipaddress holds them and drop lvs_program.\n\n"
	case "ipvsadm":
		return "# Converted by lvsd from the ipvsadm rules " + path + ".\n" +
			"# A static table: no real server has a health check, so none is ever taken out.\n" +
			"# Add a checker inside each real_server block, for example\n" +
			"#   TCP_CHECK {}\n" +
			"# or HTTP_GET { url { path = \"/\" } }, and a vrrp_instance for the VIPs.\n\n"
	}
	return ""
}
