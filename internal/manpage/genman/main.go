// Command genman writes lvsd's manual pages (internal/manpage.Pages) from
// the Markdown in docs/: `make man` and `go generate ./internal/manpage`
// run it.
//
//	go run ./internal/manpage/genman -docs docs -out docs/man
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lvsd/lvsd/internal/manpage"
)

func main() {
	docs := flag.String("docs", "docs", "directory holding the Markdown sources")
	out := flag.String("out", "docs/man", "directory the pages are written to")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
	for _, p := range manpage.Pages() {
		md, err := os.ReadFile(filepath.Join(*docs, p.Source))
		if err != nil {
			fmt.Fprintln(os.Stderr, "genman:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(*out, p.File()), []byte(manpage.Render(string(md), p)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genman:", err)
			os.Exit(1)
		}
	}
}
