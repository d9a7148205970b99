package main

import (
	"os"
	"strings"
	"testing"
)

// kaInstanceOn is an instance on an interface every host has.
func kaInstanceOn(extra string) string {
	return "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.1\n }\n" + extra + "}\n"
}

// TestConfigTestReturnsKeepalivedsExitCodes: the statuses keepalived 2.2.7's
// -t returns on the same files (measured; integration/keepalived_diff_test.go
// compares them on the whole corpus).
func TestConfigTestReturnsKeepalivedsExitCodes(t *testing.T) {
	insecure := writeFile(t, "chk.sh", "#!/bin/sh\nexit 0\n")
	if err := os.Chmod(insecure, 0o777); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  string
		args []string
		code int
		says string
	}{
		{"clean", kaInstanceOn(""), nil, exitOK, ""},
		{"unknown keyword runs, exits 5", kaInstanceOn(" vrrp_unknown_thing 3\n"), nil, exitConfigTest, "Unknown keyword 'vrrp_unknown_thing'"},
		{"auth_pass cut, exits 5", kaInstanceOn(" authentication {\n  auth_type PASS\n  auth_pass 1234567890\n }\n"), nil, exitConfigTest, "Truncating auth_pass to 8 characters"},
		{"stray brace, exits 5", kaInstanceOn("") + "}\n", nil, exitConfigTest, "Extra '}' found"},
		{"missing include, exits 0", "include /nonexistent/lvsd-test/*.conf\n" + kaInstanceOn(""), nil, exitOK, "Config files missing"},
		{"extra value, exits 0", kaInstanceOn(" priority 100 200\n"), nil, exitOK, ""},
		{"missing vrrp_script disabled, exits 5", "vrrp_script chk {\n script /nonexistent/chk.sh\n}\n" + kaInstanceOn(" track_script {\n  chk\n }\n"), nil, exitConfigTest,
			"Disabling track script chk since not found/accessible"},
		{"notify script that exists, without script security, exits 6", kaInstanceOn(" notify_master /bin/true\n"), nil, exitConfigSecurity, "SECURITY VIOLATION"},
		{"security wins over errors", kaInstanceOn(" notify_master /bin/true\n bogus 1\n"), nil, exitConfigSecurity, "SECURITY VIOLATION"},
		{"a script run as another user counts too, exits 6", "global_defs {\n script_user nobody\n}\nvrrp_script chk {\n script /bin/true\n}\n" + kaInstanceOn(" track_script {\n  chk\n }\n"), nil,
			exitConfigSecurity, "SECURITY VIOLATION"},
		{"notify script that does not exist is not counted", kaInstanceOn(" notify_master /nonexistent/notify.sh\n"), nil, exitOK, ""},
		{"interface that does not exist, exits 5", strings.Replace(kaInstanceOn(""), "interface lo", "interface lvsdnosuch0", 1), nil, exitConfigTest,
			"Non-existent interface specified in configuration"},
		{"tracked interface that does not exist, exits 5", kaInstanceOn(" track_interface {\n  lvsdnosuch0\n }\n"), nil, exitConfigTest,
			"(VI_1) tracked interface lvsdnosuch0 doesn't exist"},
		{"a script enable_script_security refuses is disabled, exits 5", "global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script chk {\n script " + insecure + "\n}\n" +
			kaInstanceOn(" track_script {\n  chk\n }\n"), nil, exitConfigTest, "Disabling track script chk due to insecure"},
		{"a keyword without its value stops keepalived, exits 2", kaInstanceOn(" garp_master_delay\n"), nil, exitConfigStop, "is missing a parameter"},
		{"--strict refuses what keepalived runs past", kaInstanceOn(" vrrp_unknown_thing 3\n"), []string{"--strict"}, exitConfigTest, "error: Unknown keyword 'vrrp_unknown_thing'"},
		{"-i chooses @id lines", kaInstanceOn("@lb2 bogus 1\n"), []string{"-i", "lb1"}, exitOK, ""},
		{"--config-id chooses @id lines", kaInstanceOn("@lb2 bogus 1\n"), []string{"--config-id=lb2"}, exitConfigTest, "Unknown keyword 'bogus'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "keepalived.conf", tt.src)
			code, _, errs := run(append([]string{"-t", "-f", file}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.says) {
				t.Errorf("-t = %d, want %d with %q; stderr:\n%s", code, tt.code, tt.says, errs)
			}
		})
	}
}

func TestCheckStrictNamesEveryProblem(t *testing.T) {
	file := writeFile(t, "keepalived.conf", kaInstanceOn(" priority high\n bogus 1\n")+"}\n")
	if code, _, errs := run("check", "-f", file); code != 0 {
		t.Errorf("lenient check = %d, want 0 (warnings only):\n%s", code, errs)
	}
	code, _, errs := run("check", "--strict", "-f", file)
	for _, want := range []string{`error: invalid priority "high"`, "error: Unknown keyword 'bogus'", "error: Extra '}' found", "3 error(s)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("check --strict: missing %q in\n%s", want, errs)
		}
	}
	if code != 1 {
		t.Errorf("check --strict = %d, want 1", code)
	}
}
