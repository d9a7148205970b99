package hcl

import (
	"fmt"
	"strings"
)

// Severity of a diagnostic.
type Severity int

const (
	// Error makes the configuration unusable.
	Error Severity = iota
	// Warning is reported and the configuration is still used.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one finding about a configuration, with its place.
type Diagnostic struct {
	Severity Severity `json:"-"`
	Pos      Pos      `json:"-"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	// Lenient marks a warning about a keepalived.conf that keepalived
	// 2.2.7 reports as a configuration error and runs past (its
	// report_config_error()): lvsd runs past it the same way, keepalived's
	// -t exits 5 on it, and Loader.Strict makes it an error.
	Lenient bool `json:"-"`
}

// String renders "FILE:LINE:COL: error: summary; detail".
func (d Diagnostic) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", d.Pos, d.Severity, d.Summary)
	if d.Detail != "" {
		b.WriteString("; ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Diagnostics is a list of findings; it is an error when it holds an Error.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an Error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the Error diagnostics.
func (ds Diagnostics) Errors() Diagnostics {
	return ds.where(func(d Diagnostic) bool { return d.Severity == Error })
}

// Warnings returns only the Warning diagnostics.
func (ds Diagnostics) Warnings() Diagnostics {
	return ds.where(func(d Diagnostic) bool { return d.Severity == Warning })
}

// where returns the diagnostics keep accepts, in their order (nil for none).
func (ds Diagnostics) where(keep func(Diagnostic) bool) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// Error joins the diagnostics one per line, so Diagnostics can be returned
// as an error.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func (ds *Diagnostics) errorf(pos Pos, summary, detailFormat string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Error, Pos: pos, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...)})
}

// lenientf records a Lenient warning.
func (ds *Diagnostics) lenientf(pos Pos, summary, detailFormat string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Warning, Pos: pos, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Lenient: true})
}

// Lenient returns the Lenient warnings.
func (ds Diagnostics) Lenient() Diagnostics {
	return ds.where(func(d Diagnostic) bool { return d.Lenient && d.Severity == Warning })
}

func (ds *Diagnostics) warnf(pos Pos, summary, detailFormat string, args ...any) {
	*ds = append(*ds, Diagnostic{Severity: Warning, Pos: pos, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...)})
}
