package vm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Kernel is a host kernel image the guest boots, with its module tree.
type Kernel struct {
	Version string // "6.1.0-56-amd64"
	Image   string // /boot/vmlinuz-VERSION
	Modules string // /lib/modules/VERSION
}

// guestModules names the modules the guest loads; their dependencies are
// added from modules.dep. Missing ones are left out (a kernel may build some
// in), except ip_vs, without which FindKernel fails.
func guestModules() []string {
	return []string{
		// crc32c's implementation is a soft dependency of libcrc32c
		// (modules.softdep), which busybox insmod does not follow.
		"crc32c_generic",
		"ip_vs",
		"ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
		"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_mh", "ip_vs_fo", "ip_vs_ovf",
		"veth", "bridge", "dummy",
		"ipvlan",             // use_ipvlan (scenarios/ipvlan_test.go): the build hosts' kernel has none
		"ipip", "ip6_tunnel", // IPVS tunnel (TUN) forwarding: real servers decapsulate
		"ip_vs_pe_sip",                       // persistence_engine sip
		"nft_chain_nat", "nft_nat", "nft_ct", // FULLNAT's source NAT (internal/fullnat)
		"ipv6",
		"nf_tables", // lvsd's reset guard (internal/resetguard) on a new master
	}
}

// FindKernel returns the newest kernel under boot whose module tree (under
// modules) has ip_vs and whose image this process can read. The error says
// why none fits; callers skip on it.
func FindKernel(boot, modules string) (Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(boot, "vmlinuz-*"))
	sort.Slice(images, func(i, j int) bool {
		return versionLess(versionOf(images[j]), versionOf(images[i]))
	})
	var reasons []string
	for _, img := range images {
		ver := versionOf(img)
		k := Kernel{Version: ver, Image: img, Modules: filepath.Join(modules, ver)}
		deps, err := readModulesDep(k.Modules)
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		if _, ok := deps.byName["ip_vs"]; !ok {
			reasons = append(reasons, fmt.Sprintf("%s: no ip_vs module", ver))
			continue
		}
		f, err := os.Open(img)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v (reading /boot/vmlinuz-* needs root on Debian)", ver, err))
			continue
		}
		f.Close()
		return k, nil
	}
	if len(images) == 0 {
		reasons = append(reasons, "no "+filepath.Join(boot, "vmlinuz-*")+" (apt-get install linux-image-amd64)")
	}
	return Kernel{}, errors.New("no kernel with IPVS modules: " + strings.Join(reasons, "; "))
}

func versionOf(image string) string {
	return strings.TrimPrefix(filepath.Base(image), "vmlinuz-")
}

// versionLess compares kernel versions numerically field by field
// ("6.1.0-56" < "6.1.0-112"), falling back to string order.
func versionLess(a, b string) bool {
	fa := strings.FieldsFunc(a, func(r rune) bool { return r == '.' || r == '-' })
	fb := strings.FieldsFunc(b, func(r rune) bool { return r == '.' || r == '-' })
	for i := 0; i < len(fa) && i < len(fb); i++ {
		var na, nb int
		_, ea := fmt.Sscanf(fa[i], "%d", &na)
		_, eb := fmt.Sscanf(fb[i], "%d", &nb)
		if ea == nil && eb == nil && na != nb {
			return na < nb
		}
		if fa[i] != fb[i] && (ea != nil || eb != nil) {
			return fa[i] < fb[i]
		}
	}
	return len(fa) < len(fb)
}

// moduleDeps is modules.dep: each module's path (relative to the module
// tree) and the paths of the modules it needs.
type moduleDeps struct {
	byName map[string]string   // "ip_vs" -> "kernel/net/netfilter/ipvs/ip_vs.ko"
	deps   map[string][]string // path -> dependency paths
}

func readModulesDep(dir string) (moduleDeps, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return moduleDeps{}, err
	}
	defer f.Close()
	return parseModulesDep(f)
}

func parseModulesDep(r io.Reader) (moduleDeps, error) {
	md := moduleDeps{byName: map[string]string{}, deps: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		md.byName[moduleName(mod)] = mod
		md.deps[mod] = strings.Fields(rest)
	}
	return md, sc.Err()
}

// moduleName is the name insmod and modprobe know a module file by:
// "kernel/drivers/net/veth.ko.xz" -> "veth"; dashes count as underscores.
func moduleName(p string) string {
	base := filepath.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// loadOrder returns the module paths to insmod, dependencies first, for the
// wanted module names; names the tree does not have are returned in missing.
func (md moduleDeps) loadOrder(wanted []string) (order, missing []string) {
	seen := map[string]bool{}
	var visit func(p string)
	visit = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		// modules.dep lists the full closure, deepest dependencies
		// last; like modprobe, load from the end of the list, and visit
		// each dependency's own list first so any order is valid.
		ds := md.deps[p]
		for i := len(ds) - 1; i >= 0; i-- {
			visit(ds[i])
		}
		order = append(order, p)
	}
	for _, name := range wanted {
		p, ok := md.byName[strings.ReplaceAll(name, "-", "_")]
		if !ok {
			missing = append(missing, name)
			continue
		}
		visit(p)
	}
	return order, missing
}

// readModule returns a module file's content, decompressed: busybox insmod
// may lack xz and zstd support.
func readModule(path string) ([]byte, error) {
	var tool string
	switch {
	case strings.HasSuffix(path, ".ko"):
		return os.ReadFile(path)
	case strings.HasSuffix(path, ".ko.xz"):
		tool = "xz"
	case strings.HasSuffix(path, ".ko.zst"):
		tool = "zstd"
	case strings.HasSuffix(path, ".ko.gz"):
		tool = "gzip"
	default:
		return nil, fmt.Errorf("%s: unknown module suffix", path)
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(tool, "-dc", path)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("decompressing %s with %s: %v: %s", path, tool, err, stderr.String())
	}
	return out.Bytes(), nil
}

// guestModulePath is where a module lands in the guest: same tree, plain .ko.
func guestModulePath(k Kernel, rel string) string {
	if i := strings.Index(rel, ".ko"); i >= 0 {
		rel = rel[:i+3]
	}
	return "/lib/modules/" + k.Version + "/" + rel
}
