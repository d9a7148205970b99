package hcl

// parseKeepalived reads keepalived.conf syntax into a defaulted Config.
func (l *Loader) parseKeepalived(path string, src []byte) (*Config, Diagnostics) {
	_ = src
	return nil, Diagnostics{{Severity: Error, Pos: Pos{File: path}, Summary: "keepalived.conf is not read yet"}}
}
