// Package manpage renders lvsd's manual pages from the Markdown pages in
// docs/, so the man pages and the documentation are one source and never
// drift apart.
//
//   - pages.go: the pages lvsd ships (lvsd(8) from docs/lvsd.md,
//     lvsd.hcl(5) from docs/configuration.md) and where they are written.
//   - roff.go: the Markdown subset docs/ uses (headings, paragraphs, tables,
//     lists, code blocks, inline code, bold and links) rendered as man(7)
//     roff.
//   - genman/: the program `make man` and `go generate` run to write
//     docs/man/.
//
// The package never reads or writes files itself: genman and the tests do.
// The tests render every page again and fail when docs/man/ is stale, and
// render the result with man(1) as a user would.
package manpage

//go:generate go run ./genman -docs ../../docs -out ../../docs/man
