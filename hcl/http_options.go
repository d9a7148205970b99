package hcl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// HTTPVersions returns the http_protocol values of HTTP_GET and SSL_GET
// (keepalived.conf(5)): 1.0 sends no Connection header, 1.0C is 1.0 with
// "Connection: close", 1.1 sends "Connection: close" too.
func HTTPVersions() []string { return []string{"1.0", "1.0C", "1.1"} }

// keepalived's url regex is a PCRE2 pattern with options
// (regex_options, check_http.c's regex_options list). lvsd runs Go's
// regexp (RE2 syntax): the options that have an RE2 flag become that
// flag, the ones that only tune PCRE2's matcher or are Go's behaviour
// already are accepted and change nothing, and the rest are refused
// with the reason.
var (
	regexFlags = map[string]string{
		"caseless":  "i",
		"multiline": "m",
		"dotall":    "s",
		"ungreedy":  "U",
	}
	// regexNoOps change nothing in Go: optimisations and callouts, UTF-8
	// (Go's patterns are UTF-8), a $ that matches only at the very end
	// (Go's $ without multiline), the offset limit (regex_max_offset).
	regexNoOps = []string{"auto_callout", "no_auto_capture", "no_auto_possess", "no_dotstar_anchor",
		"no_start_optimize", "utf", "dollar_endonly", "use_offset_limit", "never_backslash_c"}
)

// RegexOptionNames returns every regex_options word keepalived 2.2.7
// takes, in keepalived.conf(5)'s order.
func RegexOptionNames() []string {
	return []string{"allow_empty_class", "alt_bsux", "auto_callout", "caseless", "dollar_endonly", "dotall",
		"dupnames", "extended", "firstline", "match_unset_backref", "multiline", "never_ucp", "never_utf",
		"no_auto_capture", "no_auto_possess", "no_dotstar_anchor", "no_start_optimize", "ucp", "ungreedy",
		"utf", "never_backslash_c", "alt_circumflex", "alt_verbnames", "use_offset_limit"}
}

// CompileURLRegex compiles a url's regex with its regex_options as Go
// flags.
func CompileURLRegex(pattern string, options []string) (*regexp.Regexp, error) {
	var flags string
	for _, o := range options {
		if err := checkRegexOption(o); err != nil {
			return nil, err
		}
		if f := regexFlags[o]; f != "" && !strings.Contains(flags, f) {
			flags += f
		}
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	return regexp.Compile(pattern)
}

func checkRegexOption(o string) error {
	switch {
	case regexFlags[o] != "", slices.Contains(regexNoOps, o):
		return nil
	case slices.Contains(RegexOptionNames(), o):
		return fmt.Errorf("regex option %s has no equivalent in Go's regexp (RE2 syntax), which lvsd uses", o)
	}
	return fmt.Errorf("unknown regex option %q: want one of %s", o, strings.Join(RegexOptionNames(), " "))
}
