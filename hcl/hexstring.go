package hcl

import "fmt"

// ParseHexString reads keepalived's HEX_STR (utils.c read_hex_str(), used
// by UDP_CHECK's payload and require_reply): hex digits, two to an octet,
// with spaces and tabs between groups; a group of odd length ends with a
// one-digit octet ("Ab12f 3 456" is AB 12 0F 03 45 06). With wildcard, x
// or X stands for a nibble whose value does not matter: its bits are set
// in mask (nil when no wildcard was written).
func ParseHexString(s string, wildcard bool) (data, mask []byte, err error) {
	wild := false
	i := 0
	next := func() (byte, byte, bool) {
		c := s[i]
		i++
		switch {
		case c >= '0' && c <= '9':
			return c - '0', 0, true
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10, 0, true
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10, 0, true
		case wildcard && (c == 'x' || c == 'X'):
			return 0, 0x0f, true
		}
		return 0, 0, false
	}
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			break
		}
		at := i
		v, m, ok := next()
		if !ok {
			return nil, nil, fmt.Errorf("%q: %q at %d is not a hex digit", s, s[at], at)
		}
		if i < len(s) && s[i] != ' ' && s[i] != '\t' {
			at = i
			lo, lm, ok := next()
			if !ok {
				return nil, nil, fmt.Errorf("%q: %q at %d is not a hex digit", s, s[at], at)
			}
			v, m = v<<4|lo, m<<4|lm
		}
		wild = wild || m != 0
		data = append(data, v)
		mask = append(mask, m)
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("%q holds no hex digit", s)
	}
	if !wild {
		mask = nil
	}
	return data, mask, nil
}
