package hcl

import (
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// Loader reads configuration files. Its hooks default to the real file
// system and host; tests and the fuzzer replace them. A hook must be safe
// for concurrent use: a big file is read and validated on several
// goroutines at once (keepalived_parts.go, validate.go), and each may
// call Stat and UserExists.
type Loader struct {
	ReadFile  func(name string) ([]byte, error) // default os.ReadFile
	Glob      func(pattern string) ([]string, error)
	Hostname  func() (string, error)                 // for hostname()
	LookupEnv func(key string) (string, bool)        // for env()
	Stat      func(name string) (fs.FileInfo, error) // default os.Stat: scripts a keepalived.conf names
	// UserExists says whether a user is known (default os/user.Lookup):
	// keepalived runs scripts as keepalived_script when that user exists.
	UserExists func(name string) bool

	// Strict refuses what keepalived's reader runs past (the Lenient
	// warnings of a keepalived.conf): each becomes an error. HCL input has
	// none; it is always strict.
	Strict bool
	// ConfigID is keepalived's -i/--config-id for "@id" and "@^id" lines
	// in a keepalived.conf; empty means the host name up to its first dot,
	// as keepalived defaults it.
	ConfigID string

	// parts, when more than 0, is how many parts every keepalived.conf is
	// read in, whatever its size and the processors (tests of
	// keepalived_parts.go); 0 leaves it to Workers.
	parts int
	// noLiteral parses every HCL file with hclsyntax, none with
	// readLiteral (tests of decode_literal.go).
	noLiteral bool
}

// Load reads the configuration at path with the default Loader.
func Load(path string) (*Config, Diagnostics) {
	var l Loader
	return l.Load(path)
}

// Format names the configuration language of a file, chosen by its name:
// "*.hcl" is HCL, "*.hcl.json" and "*.json" HCL-JSON, "ldirectord*"
// ldirectord's ldirectord.cf, "ipvsadm*" an ipvsadm rules file
// (ipvsadm.rules, ipvsadm-save), anything else keepalived.conf (whose
// content may still show another language: see FormatOf).
func Format(path string) string {
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(path, ".json"):
		return "hcl-json"
	case strings.HasSuffix(path, ".hcl"):
		return "hcl"
	case strings.HasPrefix(base, "ldirectord"):
		return "ldirectord"
	case strings.HasPrefix(base, "ipvsadm"):
		return "ipvsadm"
	default:
		return "keepalived"
	}
}

// FormatOf is Format, and for a file its name does not place (and whose
// name does not say keepalived), the language its content shows: an
// ipvsadm rules file starts its first rule with -A or -a, an ldirectord.cf
// writes keyword=value at the start of a line (keepalived.conf never does
// either).
func FormatOf(path string, src []byte) string {
	if f := Format(path); f != "keepalived" || strings.Contains(filepath.Base(path), "keepalived") {
		return f
	}
	return sniffFormat(src)
}

// Load reads the configuration at path, follows its includes, applies
// defaults and validates it. The Config is nil when the diagnostics hold an
// error; warnings may accompany a usable Config.
func (l *Loader) Load(path string) (*Config, Diagnostics) {
	src, err := l.readFile(path)
	if err != nil {
		return nil, Diagnostics{{Severity: Error, Pos: Pos{File: path}, Summary: "cannot read configuration", Detail: err.Error()}}
	}
	return l.LoadSource(path, src)
}

// LoadSource is Load for a file whose content is already in memory;
// includes are still read through the Loader.
func (l *Loader) LoadSource(path string, src []byte) (*Config, Diagnostics) {
	var cfg *Config
	var diags Diagnostics
	format := FormatOf(path, src)
	switch format {
	case "keepalived":
		cfg, diags = l.parseKeepalived(path, src)
	case "ldirectord":
		cfg, diags = l.parseLdirectord(path, src)
	case "ipvsadm":
		cfg, diags = l.parseIPVSADM(path, src)
	default:
		cfg, diags = l.parseHCL(path, src)
	}
	if l.Strict {
		for i := range diags {
			if diags[i].Lenient {
				diags[i].Severity = Error
			}
		}
	}
	if cfg == nil {
		return nil, diags
	}
	// Validate even after reader errors so that one run reports every
	// problem; each finding names its own place.
	diags = append(diags, finalize(cfg, format == "keepalived", l.parts)...)
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, diags
}

func (l *Loader) readFile(name string) ([]byte, error) {
	if l.ReadFile != nil {
		return l.ReadFile(name)
	}
	return os.ReadFile(name)
}

func (l *Loader) glob(pattern string) ([]string, error) {
	if l.Glob != nil {
		return l.Glob(pattern)
	}
	return filepath.Glob(pattern)
}

func (l *Loader) hostname() (string, error) {
	if l.Hostname != nil {
		return l.Hostname()
	}
	return os.Hostname()
}

func (l *Loader) lookupEnv(key string) (string, bool) {
	if l.LookupEnv != nil {
		return l.LookupEnv(key)
	}
	return os.LookupEnv(key)
}

func (l *Loader) userExists(name string) bool {
	if l.UserExists != nil {
		return l.UserExists(name)
	}
	_, err := user.Lookup(name)
	return err == nil
}

func (l *Loader) stat(name string) (fs.FileInfo, error) {
	if l.Stat != nil {
		return l.Stat(name)
	}
	return os.Stat(name)
}

// configID is keepalived's config id: ConfigID, else the host name up to
// its first dot (keepalived uses uname's node name).
func (l *Loader) configID() string {
	if l.ConfigID != "" {
		return l.ConfigID
	}
	h, err := l.hostname()
	if err != nil {
		return ""
	}
	id, _, _ := strings.Cut(h, ".")
	return id
}

// sniffFormat tells the language of src by its first rule: "ipvsadm" when
// it starts with -A or -a (optionally after "ipvsadm"), "ldirectord" when
// it is keyword=value at the start of the line, else "keepalived".
func sniffFormat(src []byte) string {
	for line := range strings.Lines(string(src)) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "!") {
			continue
		}
		f := strings.Fields(t)
		if f[0] == "ipvsadm" && len(f) > 1 {
			f = f[1:]
		}
		switch f[0] {
		case "-A", "-a", "--add-service", "--add-server", "-C", "--clear":
			return "ipvsadm"
		}
		if k, _, ok := strings.Cut(line, "="); ok && k != "" && line[0] != ' ' && line[0] != '\t' &&
			strings.Trim(strings.TrimSpace(k), "abcdefghijklmnopqrstuvwxyz0123456789") == "" {
			return "ldirectord"
		}
		return "keepalived"
	}
	return "keepalived"
}
