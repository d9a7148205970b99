package script

import (
	"fmt"
	"strings"
)

// split splits a command line into words the way keepalived does: white
// space separates words; '…' quotes literally; "…" quotes with \" and \\
// escapes; a backslash outside quotes escapes the next character. No shell
// is involved: $VAR, globs and redirections are plain characters.
func split(line string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   byte
		escaped bool
	)
	// Byte by byte: every special character is ASCII, so multi-byte
	// characters (and invalid UTF-8) pass through untouched.
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			cur.WriteByte(c)
			escaped = false
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '\\':
				escaped = true
			default:
				cur.WriteByte(c)
			}
		case c == '\\':
			escaped, inWord = true, true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case isSpace(c):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("command %q: unterminated %c quote", line, quote)
	}
	if escaped {
		return nil, fmt.Errorf("command %q: ends with a backslash", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// isSpace is C's isspace in the C locale, which keepalived uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
