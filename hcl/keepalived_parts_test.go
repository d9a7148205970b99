package hcl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// partsLoader is a Loader that touches nothing outside the test and reads
// every keepalived.conf in parts parts.
func partsLoader(parts int) *Loader {
	return &Loader{
		ReadFile:   func(string) ([]byte, error) { return nil, errors.New("the test reads no file") },
		Glob:       func(string) ([]string, error) { return nil, nil },
		Hostname:   func() (string, error) { return "parts", nil },
		LookupEnv:  func(string) (string, bool) { return "", false },
		Stat:       func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
		UserExists: func(string) bool { return false },
		parts:      parts,
	}
}

// requirePartsReadAsOne loads src in one go and in 2, 3 and 4 parts and
// fails unless every read gives the same model and the same diagnostics
// in the same order.
func requirePartsReadAsOne(t *testing.T, src []byte) {
	t.Helper()
	wantCfg, wantDiags := partsLoader(1).LoadSource("/etc/keepalived/keepalived.conf", src)
	for _, parts := range []int{2, 3, 4} {
		cfg, diags := partsLoader(parts).LoadSource("/etc/keepalived/keepalived.conf", src)
		if !reflect.DeepEqual(diags, wantDiags) {
			t.Fatalf("in %d parts, the diagnostics are\n%v\nwant (one go)\n%v", parts, diags, wantDiags)
		}
		if !reflect.DeepEqual(cfg, wantCfg) {
			t.Fatalf("in %d parts, the model differs from one go's", parts)
		}
	}
}

// partsConf is a keepalived.conf of services services of reals real
// servers each, with something of every kind before them and, in the
// services, what keepalived warns about: each diagnostic has its place
// in the file.
func partsConf(services, reals int) []byte {
	var b strings.Builder
	b.WriteString(`global_defs {
    router_id parts
    lvs_timeouts tcp 900
}
vrrp_script chk {
    script "/bin/true"
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        198.18.0.1/16
    }
    track_script {
        chk
    }
}
virtual_server_group G1 {
    198.19.0.1 80
    198.19.0.2 80
}
`)
	for s := range services {
		fmt.Fprintf(&b, "virtual_server 198.18.%d.%d 80 {\n", s/250, s%250+1)
		if s%7 != 3 {
			b.WriteString("    protocol TCP\n")
		}
		fmt.Fprintf(&b, "    delay_loop %d\n    lb_algo wrr\n    lb_kind NAT\n", s%9+1)
		if s%11 == 5 {
			b.WriteString("    unknown_keyword 1\n    quorum 1000\n")
		}
		if s%13 == 6 {
			b.WriteString("    sorry_server 10.255.0.1 8080\n    persistence_timeout\n")
		}
		for r := range reals {
			fmt.Fprintf(&b, "    real_server 10.%d.%d.%d 8080 {\n        weight %d\n", s/250, s%250, r+1, (s+r)%100)
			switch (s + r) % 17 {
			case 1:
				b.WriteString("        TCP_CHECK {\n            connect_timeout 3\n            connect_port 9000\n        }\n")
			case 2:
				b.WriteString("        MISC_CHECK {\n            misc_path \"/usr/local/bin/missing check\"\n        }\n")
			case 3:
				b.WriteString("        inhibit_on_failure {\n        }\n") // '{' keepalived ignores
			case 4:
				b.WriteString("        notify_up \"/bin/echo up\n") // unmatched quote
			case 5:
				b.WriteString("        HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n        }\n")
			}
			b.WriteString("    }\n")
		}
		if s%19 == 8 {
			fmt.Fprintf(&b, "    real_server 10.%d.%d.1 8080 {\n        weight 2\n    }\n", s/250, s%250) // a duplicate
		}
		b.WriteString("}\n")
		if s%23 == 9 {
			b.WriteString("}\n") // Extra '}'
		}
	}
	b.WriteString("virtual_server group G1 {\n    protocol TCP\n    lb_algo rr\n    lb_kind DR\n    real_server 10.200.0.1 80 {\n    }\n}\n")
	return []byte(b.String())
}

func TestKeepalivedInPartsReadsAsInOneGo(t *testing.T) {
	src := partsConf(200, 5)
	// The read is cut, and in parts that each end at the top level: the
	// comparison below is of a read in parts, not of two reads in one go.
	cuts := kaCuts(src, 4)
	if len(cuts) != 3 {
		t.Fatalf("%d cuts in a file of 200 services, want 3", len(cuts))
	}
	if _, _, ok := partsLoader(4).kaReadInParts("/etc/keepalived/keepalived.conf", src, cuts, "parts"); !ok {
		t.Fatal("a part of a well-formed file did not end at the top level")
	}
	requirePartsReadAsOne(t, src)
}

// A cut that falls inside a block (the read in one go is at depth 1
// there) is found by the part before it, and the file is read in one go.
func TestKeepalivedCutInsideABlockReadsInOneGo(t *testing.T) {
	// The spoiled service is more than half the file, so the file is cut
	// at the one after it.
	var first strings.Builder
	first.WriteString("virtual_server 192.0.2.1 80 {\n    protocol TCP\n")
	for r := range 300 {
		fmt.Fprintf(&first, "    real_server 10.0.%d.%d 80 {\n        weight 1\n    }\n", r/250, r%250+1)
	}
	first.WriteString("    real_server 10.1.0.1 80 {\n        TCP_CHECK {\n            connect_port 81\n        }\n    }\n}\n")
	for name, spoil := range map[string]func(string) string{
		"the service's } missing": func(s string) string { return strings.TrimSuffix(s, "}\n") },
		"a real server's } missing": func(s string) string {
			return strings.Replace(s, "        }\n    }\n}\n", "        }\n}\n", 1)
		},
		"a checker's } missing": func(s string) string {
			return strings.Replace(s, "            connect_port 81\n        }\n", "            connect_port 81\n", 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			src := []byte(string(partsConf(3, 2)) + spoil(first.String()) + "virtual_server 192.0.2.2 80 {\n    real_server 10.2.0.1 80 {\n    }\n}\n")
			cuts := kaCuts(src, 2)
			if len(cuts) != 1 || !strings.HasPrefix(string(src[cuts[0]:]), "virtual_server 192.0.2.2 ") {
				t.Fatalf("cut at %v, want the first service after the spoiled one", cuts)
			}
			if _, _, ok := partsLoader(2).kaReadInParts("/etc/keepalived/keepalived.conf", src, cuts, "parts"); ok {
				t.Fatal("the part before a cut inside a block ended at the top level")
			}
			requirePartsReadAsOne(t, src)
		})
	}
}

// A file with a line that depends on another is never cut.
func TestKeepalivedWithDependentLinesIsNotCut(t *testing.T) {
	src := string(partsConf(40, 2))
	for name, line := range map[string]string{
		"a definition":     "$PORT=80\n",
		"a repetition":     "~SEQ(i, 1, 2) vrrp_script s$i {\n",
		"a continued line": "global_defs {\\\n}\n",
		"an include":       "include /etc/keepalived/conf.d/*.conf\n",
	} {
		t.Run(name, func(t *testing.T) {
			if cuts := kaCuts([]byte(line+src), 4); cuts != nil {
				t.Fatalf("cut at %v", cuts)
			}
		})
	}
}

// Every keepalived.conf of the corpus reads the same in parts.
func TestKeepalivedCorpusInPartsReadsAsInOneGo(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(kaCorpus, "*.conf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v, %d files", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			requirePartsReadAsOne(t, src)
		})
	}
}

// FuzzKeepalivedInPartsReadsAsInOneGo: whatever the text, a read in parts
// gives what a read in one go gives.
func FuzzKeepalivedInPartsReadsAsInOneGo(f *testing.F) {
	f.Add(partsConf(6, 2))
	f.Add([]byte("virtual_server 1.2.3.4 80 {\n real_server 1.2.3.5 80 {\nvirtual_server 1.2.3.6 80 {\n}\n}\n"))
	f.Add([]byte("virtual_server 1.2.3.4 80\n{\nvirtual_server 1.2.3.6 80 { weight 1 {\n}\n"))
	f.Add([]byte("vrrp_instance A {\n}\nvirtual_server 1.2.3.4 80 {\n}\n}\nvirtual_server \"1.2.3.6 80 {\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		requirePartsReadAsOne(t, src)
	})
}

// An HCL file's virtual servers, validated in runs, give what one run
// gives (validate.go virtualServers).
func TestHCLServicesValidatedInRunsAsInOne(t *testing.T) {
	cfg, diags := partsLoader(1).LoadSource("/etc/keepalived/keepalived.conf", partsConf(100, 3))
	if cfg == nil {
		t.Fatal(diags)
	}
	// A real server of the wrong family in the first service and the
	// last, and two services with one address: validation's own
	// findings, in the first run and the last.
	wrong := func(addr string) string {
		return fmt.Sprintf("virtual_server %q {\n  protocol = \"TCP\"\n  real_server \"[2001:db8::1]:80\" {}\n}\n", addr)
	}
	src := []byte(wrong("192.0.2.1:80") + string(ConvertToHCL(cfg)) + wrong("198.18.0.1:80"))
	wantCfg, wantDiags := partsLoader(1).LoadSource("/etc/lvsd/lvsd.hcl", src)
	if errs := wantDiags.Errors(); len(errs) < 3 || errs[0].Pos.Line != 3 {
		t.Fatalf("want the family findings and the duplicate, the first at line 3, got %v", wantDiags)
	}
	for _, parts := range []int{2, 3, 4} {
		cfg, diags := partsLoader(parts).LoadSource("/etc/lvsd/lvsd.hcl", src)
		if !reflect.DeepEqual(diags, wantDiags) || !reflect.DeepEqual(cfg, wantCfg) {
			t.Fatalf("in %d runs, the diagnostics are\n%v\nwant (one run)\n%v", parts, diags, wantDiags)
		}
	}
}
