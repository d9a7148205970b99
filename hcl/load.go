package hcl

import (
	"os"
	"path/filepath"
	"strings"
)

// Loader reads configuration files. Its hooks default to the real file
// system and host; tests and the fuzzer replace them.
type Loader struct {
	ReadFile  func(name string) ([]byte, error) // default os.ReadFile
	Glob      func(pattern string) ([]string, error)
	Hostname  func() (string, error)          // for hostname()
	LookupEnv func(key string) (string, bool) // for env()
}

// Load reads the configuration at path with the default Loader.
func Load(path string) (*Config, Diagnostics) {
	var l Loader
	return l.Load(path)
}

// Format names the configuration language of a file, chosen by its name:
// "*.hcl" is HCL, "*.hcl.json" and "*.json" HCL-JSON, anything else
// keepalived.conf.
func Format(path string) string {
	switch {
	case strings.HasSuffix(path, ".json"):
		return "hcl-json"
	case strings.HasSuffix(path, ".hcl"):
		return "hcl"
	default:
		return "keepalived"
	}
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
	if Format(path) == "keepalived" {
		cfg, diags = l.parseKeepalived(path, src)
	} else {
		cfg, diags = l.parseHCL(path, src)
	}
	if cfg == nil {
		return nil, diags
	}
	// Validate even after reader errors so that one run reports every
	// problem; each finding names its own place.
	diags = append(diags, finalize(cfg)...)
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
