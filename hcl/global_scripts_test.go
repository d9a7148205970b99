package hcl

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// sc is a script run as script_user's.
func sc(command string, timeout time.Duration) StartStopScript {
	return StartStopScript{Command: command, Timeout: timeout}
}

// TestStartStopScriptsReadAsKeepalivedReadsThem: global_defs'
// startup_script, shutdown_script and their timeouts with keepalived
// 2.2.7's rules and its default of 10 s; what keepalived reports is a
// lenient warning; lvsd convert writes the same model back.
func TestStartStopScriptsReadAsKeepalivedReadsThem(t *testing.T) {
	tests := []struct {
		name, global      string
		startup, shutdown StartStopScript
		warning           string
	}{
		{"none", "", sc("", 10*time.Second), sc("", 10*time.Second), ""},
		{"both with defaults, a quoted command", " startup_script /bin/true\n shutdown_script \"/bin/echo bye\"\n",
			sc("/bin/true", 10*time.Second), sc("/bin/echo bye", 10*time.Second), ""},
		{"timeouts", " startup_script \"/bin/true up\"\n startup_script_timeout 3\n shutdown_script_timeout 1000\n shutdown_script /bin/false\n",
			sc("/bin/true up", 3*time.Second), sc("/bin/false", 1000*time.Second), ""},
		{"second script ignored", " startup_script /bin/true\n startup_script /bin/false\n",
			sc("/bin/true", 10*time.Second), sc("", 10*time.Second), "startup script already specified"},
		{"script without command", " shutdown_script\n", sc("", 10*time.Second), sc("", 10*time.Second), "shutdown script missing"},
		{"timeout 0 ignored", " startup_script /bin/true\n startup_script_timeout 0\n",
			sc("/bin/true", 10*time.Second), sc("", 10*time.Second), "startup_script_timeout '0' must be in [1, 1000] - ignoring"},
		{"timeout above 1000 ignored", " shutdown_script /bin/true\n shutdown_script_timeout 1001\n",
			sc("", 10*time.Second), sc("/bin/true", 10*time.Second), "shutdown_script_timeout '1001' must be in [1, 1000] - ignoring"},
		{"user and group", " startup_script \"/bin/echo up\" nobody nogroup\n",
			StartStopScript{Command: "/bin/echo up", User: "nobody", Group: "nogroup", Timeout: 10 * time.Second}, sc("", 10*time.Second), ""},
		{"unknown user", " startup_script /bin/true nosuchuser\n", sc("", 10*time.Second), sc("", 10*time.Second), "Invalid startup script"},
		{"no user to run as", " enable_script_security\n shutdown_script /bin/true\n", sc("", 10*time.Second), sc("", 10*time.Second),
			"Unable to set default user keepalived_script for script"},
		{"timeout without value", " startup_script_timeout\n", sc("", 10*time.Second), sc("", 10*time.Second), "startup_script_timeout requires value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := kaTestLoader()
			l.UserExists = func(name string) bool { return name == "nobody" }
			cfg, diags := l.LoadSource("k.conf", []byte("global_defs {\n"+tt.global+"}\n"+kaInstance("")))
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			g := cfg.Global
			if g.StartupScript != tt.startup || g.ShutdownScript != tt.shutdown {
				t.Errorf("startup %+v, shutdown %+v; want %+v, %+v", g.StartupScript, g.ShutdownScript, tt.startup, tt.shutdown)
			}
			lenient := diags.Lenient()
			switch {
			case tt.warning == "" && len(diags) != 0:
				t.Errorf("want no diagnostic, got %v", diags)
			case tt.warning != "" && (len(lenient) != 1 || lenient[0].Summary != tt.warning):
				t.Errorf("want the lenient warning %q, got %v", tt.warning, diags)
			}
			if tt.warning == "" {
				assertConvertsBack(t, &l, cfg)
			}
		})
	}
}

// TestStartStopScriptsInHCL: the HCL attributes, spelled as keepalived's
// keywords, and the timeouts HCL refuses.
func TestStartStopScriptsInHCL(t *testing.T) {
	tests := []struct {
		name, attrs string
		want        StartStopScript // startup
		err         string
	}{
		{"default timeout", `startup_script = "/bin/true"`, sc("/bin/true", 10*time.Second), ""},
		{"timeout", "startup_script = \"/bin/true\"\n  startup_script_timeout = \"30s\"", sc("/bin/true", 30*time.Second), ""},
		{"user", "startup_script = \"/bin/true\"\n  startup_script_user = \"nobody nogroup\"",
			StartStopScript{Command: "/bin/true", User: "nobody", Group: "nogroup", Timeout: 10 * time.Second}, ""},
		{"timeout too long", `startup_script_timeout = "1001s"`, StartStopScript{}, "invalid startup_script_timeout"},
		{"timeout not whole seconds", `startup_script_timeout = "1500ms"`, StartStopScript{}, "invalid startup_script_timeout"},
		{"empty command", `startup_script = ""`, StartStopScript{}, "invalid startup_script"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("global {\n  %s\n}\n", tt.attrs)
			l := kaTestLoader()
			cfg, diags := l.LoadSource("t.hcl", []byte(src))
			if tt.err != "" {
				if cfg != nil || !strings.Contains(fmt.Sprint(diags), tt.err) {
					t.Errorf("want refused with %q, got %v", tt.err, diags)
				}
				return
			}
			if cfg == nil || cfg.Global.StartupScript != tt.want {
				t.Fatalf("got %v %v, want %+v", cfg, diags, tt.want)
			}
		})
	}
}
