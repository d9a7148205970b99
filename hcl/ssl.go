package hcl

// SSLClient is keepalived's top-level SSL block (check_ssl.c): what every
// SSL_GET presents and trusts. Certificate and Key are the client
// certificate (PEM; Key may be in Certificate's file, as OpenSSL allows),
// Password decrypts a PEM-encrypted key, CA is the PEM file of the CAs
// the real servers' certificates are verified against. finalize copies
// them onto every SSL_GET checker (HTTPCheck.CertFile, KeyFile,
// KeyPassword; CAFile with VerifyTLS) that does not set its own.
type SSLClient struct {
	Password    string
	CA          string
	Certificate string
	Key         string
	Pos         Pos
	Positions   Positions
}

// sslBlock reads keepalived's top-level SSL block.
func (r *kaReader) sslBlock(n *kaNode) {
	if !r.block(n) {
		return
	}
	s := &SSLClient{Pos: n.pos, Positions: NewPositions()}
	for _, c := range n.block {
		var dst *string
		switch c.name {
		case "password":
			dst = &s.Password
		case "ca":
			dst = &s.CA
		case "certificate":
			dst = &s.Certificate
		case "key":
			dst = &s.Key
		default:
			r.unknown(c, "SSL")
			continue
		}
		if v, ok := r.one(c); ok {
			*dst = v
			s.Positions.Set(c.name, c.pos)
		}
	}
	r.cfg.SSL = s
}

// sslBlock reads the HCL SSL block: password, ca, certificate, key.
func (d *decoder) sslBlock(b *block) {
	s := &SSLClient{Pos: b.def, Positions: b.pos}
	b.str("password", &s.Password)
	b.str("ca", &s.CA)
	b.str("certificate", &s.Certificate)
	b.str("key", &s.Key)
	d.cfg.SSL = s
}

// applySSL gives every SSL_GET the SSL block's certificate, key and CA
// where it sets none of its own.
func (v *validator) applySSL() {
	s := v.cfg.SSL
	if s == nil {
		return
	}
	if s.Key != "" && s.Certificate == "" {
		v.diags.errorf(s.Positions.Where("key", s.Pos), "SSL key without certificate", "set certificate too (the key may be in the certificate's file)")
	}
	for i := range v.cfg.VirtualServers {
		for j := range v.cfg.VirtualServers[i].RealServers {
			rs := &v.cfg.VirtualServers[i].RealServers[j]
			for k := range rs.Checkers {
				c := &rs.Checkers[k]
				h := c.HTTP() // each checker's own (cloneCheckers)
				if c.Kind != CheckSSL || h == nil {
					continue
				}
				if h.CertFile == "" && s.Certificate != "" {
					h.CertFile, h.KeyFile, h.KeyPassword = s.Certificate, s.Key, s.Password
					if h.KeyFile == "" {
						h.KeyFile = h.CertFile
					}
				}
				if h.CAFile == "" && s.CA != "" {
					h.CAFile, h.VerifyTLS = s.CA, true
				}
			}
		}
	}
}

// convertSSL writes the SSL block back.
func convertSSL(root *hclBody, s *SSLClient) {
	if s == nil {
		return
	}
	root.newline()
	b := root.block("SSL", nil)
	setStr(b, "password", s.Password)
	setStr(b, "ca", s.CA)
	setStr(b, "certificate", s.Certificate)
	setStr(b, "key", s.Key)
}
