package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/lvsd/lvsd/hcl"
)

// jsonDiagnostic is a diagnostic as `lvsd check --json` prints it.
type jsonDiagnostic struct {
	Severity string `json:"severity"`
	// Lenient: keepalived runs past it too, and reports it as a
	// configuration error (its -t exits 5); --strict refuses it.
	Lenient bool   `json:"lenient,omitempty"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Summary string `json:"summary"`
	Detail  string `json:"detail,omitempty"`
	Message string `json:"message"`
}

// checkReport is the whole output of `lvsd check --json`.
type checkReport struct {
	Valid       bool             `json:"valid"`
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
	Config      *hcl.Config      `json:"config,omitempty"`
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", defaultConfig, "configuration file")
	asJSON := fs.Bool("json", false, "print diagnostics and the resolved model as JSON")
	var loader hcl.Loader
	fs.BoolVar(&loader.Strict, "strict", false, "refuse what keepalived would run past in a keepalived.conf (its Lenient warnings)")
	fs.StringVar(&loader.ConfigID, "config-id", "", "keepalived's config id for @id lines (default: the host name up to its first dot)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 1 && !isFlagSet(fs, "f") {
		*file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lvsd check: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg, diags := loader.Load(*file)
	if *asJSON {
		rep := checkReport{Valid: !diags.HasErrors(), Diagnostics: []jsonDiagnostic{}, Config: cfg}
		for _, d := range diags {
			rep.Diagnostics = append(rep.Diagnostics, jsonDiagnostic{
				Severity: d.Severity.String(), Lenient: d.Lenient, File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column,
				Summary: d.Summary, Detail: d.Detail, Message: d.String(),
			})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "lvsd check: %v\n", err)
			return 1
		}
	} else {
		for _, d := range diags {
			fmt.Fprintln(stderr, d.String())
		}
	}
	if diags.HasErrors() {
		if !*asJSON {
			fmt.Fprintf(stderr, "%s: %d error(s)\n", *file, len(diags.Errors()))
		}
		return 1
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%s: OK (%d vrrp_instance, %d virtual_server, %d real_server)\n",
			*file, len(cfg.Instances), len(cfg.VirtualServers), countReal(cfg))
	}
	return 0
}

func countReal(cfg *hcl.Config) int {
	n := 0
	for _, vs := range cfg.VirtualServers {
		n += len(vs.RealServers)
	}
	return n
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
