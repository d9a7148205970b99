package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runMain(append([]string{"lvsd"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckAcceptsExamplesAndRejectsBrokenFiles(t *testing.T) {
	if code, out, errs := run("check", "-f", "../../examples/nat-pair.hcl"); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("check nat-pair = %d %q %q", code, out, errs)
	}
	broken := writeFile(t, "broken.hcl", "vrrp_instance \"V\" {\n  interface = \"eth0\"\n  virtual_router_id = 0\n}\n")
	code, _, errs := run("check", "-f", broken)
	if code != 1 || !strings.Contains(errs, "broken.hcl:3:23: error: invalid virtual_router_id") {
		t.Errorf("check broken = %d %q", code, errs)
	}
}

func TestCheckJSONCarriesDiagnosticsAndModel(t *testing.T) {
	broken := writeFile(t, "b.hcl", "global {\n  lvs_progam = \"always\"\n}\n")
	code, out, _ := run("check", "--json", "-f", broken)
	var rep struct {
		Valid       bool
		Diagnostics []struct {
			File   string
			Line   int
			Column int
			Detail string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if code != 1 || rep.Valid || len(rep.Diagnostics) != 1 || rep.Diagnostics[0].Line != 2 || !strings.Contains(rep.Diagnostics[0].Detail, `Did you mean "lvs_program"?`) {
		t.Errorf("check --json = %d %+v", code, rep)
	}
	code, out, _ = run("check", "--json", "-f", "../../examples/dr-pair.hcl")
	if code != 0 || !strings.Contains(out, `"valid": true`) || !strings.Contains(out, `"VirtualServers"`) {
		t.Errorf("check --json example = %d %s", code, out)
	}
}

func TestKeepalivedCommandLine(t *testing.T) {
	ok := writeFile(t, "keepalived.conf", "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n")
	bad := writeFile(t, "bad.conf", "vrrp_instance VI_1 {\n interface lo\n bogus_keyword 1\n virtual_router_id 51\n}\n")
	sec := writeFile(t, "sec.conf", "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n notify_master /bin/true\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n")
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--signum=RELOAD"}, 0, "1\n"},
		{[]string{"--signum=STOP"}, 0, "15\n"},
		{[]string{"--signum=DATA"}, 0, "10\n"},
		{[]string{"-t", "-f", ok}, exitOK, ""},
		{[]string{"--config-test", "--use-file=" + ok}, exitOK, ""},
		{[]string{"-nt", "-f" + bad}, exitConfigTest, ""},
		{[]string{"-t", "-f", sec}, exitConfigSecurity, ""},
		{[]string{"-Z"}, 1, ""},
	}
	for _, tt := range tests {
		code, out, errs := run(tt.args...)
		if code != tt.code || (tt.out != "" && out != tt.out) {
			t.Errorf("lvsd %v = %d %q (stderr %q); want %d %q", tt.args, code, out, errs, tt.code, tt.out)
		}
	}
	var out, errb bytes.Buffer
	if code := runMain([]string{"/usr/sbin/keepalived", "-t", "-f", bad}, &out, &errb); code != exitConfigTest || !strings.Contains(errb.String(), "bad.conf:3") {
		t.Errorf("as keepalived: %d %q", code, errb.String())
	}
}

func TestParseKeepalivedArgs(t *testing.T) {
	set, extra, err := parseKeepalivedArgs([]string{"-nlD", "-f", "/etc/k.conf", "--vrrp_pid=/run/v.pid", "-p/run/k.pid", "--all", "-S", "0"})
	if err != nil || len(extra) != 0 {
		t.Fatal(err, extra)
	}
	for k, want := range map[byte]string{'n': "", 'l': "", 'D': "", 'f': "/etc/k.conf", 'r': "/run/v.pid", 'p': "/run/k.pid", 'S': "0"} {
		if got, ok := set[k]; !ok || got != want {
			t.Errorf("-%c = %q, %v; want %q", k, got, ok, want)
		}
	}
}
