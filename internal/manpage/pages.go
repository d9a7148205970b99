package manpage

// Page is one manual page and the Markdown file it is rendered from.
type Page struct {
	// Source is the Markdown file under docs/, e.g. "configuration.md".
	Source string
	// Name and Section make the page's title and its file name
	// (Name.Section), e.g. "lvsd.hcl" and "5".
	Name, Section string
	// Summary is the NAME line's text after the dash.
	Summary string
	// Manual is the centre of the header line, e.g. "File Formats".
	Manual string
	// SeeAlso is appended as the SEE ALSO section unless Source has one.
	SeeAlso []string
}

// File is the page's file name, e.g. "lvsd.hcl.5".
func (p Page) File() string { return p.Name + "." + p.Section }

// Pages are the manual pages lvsd ships.
func Pages() []Page {
	return []Page{
		{
			Source: "lvsd.md", Name: "lvsd", Section: "8",
			Summary: "LVS director: VRRPv2, IPVS and health checks in one daemon (keepalived replacement)",
			Manual:  "System Manager's Manual",
		},
		{
			Source: "configuration.md", Name: "lvsd.hcl", Section: "5",
			Summary: "lvsd configuration file",
			Manual:  "File Formats",
			SeeAlso: []string{"lvsd(8)", "keepalived.conf(5)", "ipvsadm(8)"},
		},
	}
}
