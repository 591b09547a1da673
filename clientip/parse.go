package clientip

import (
	"net/netip"
	"strings"
)

// xffHops appends the hops of one X-Forwarded-For line to dst, in order:
// comma-separated addresses, each optionally with a port. Empty elements
// are skipped; one that holds no address is appended as an invalid Addr.
func xffHops(line string, dst []netip.Addr) []netip.Addr {
	for line != "" {
		elem, rest, _ := strings.Cut(line, ",")
		line = rest
		elem = strings.TrimSpace(elem)
		if elem == "" {
			continue
		}
		dst = append(dst, parseNode(elem))
	}
	return dst
}

// forwardedHops appends the for= nodes of one RFC 7239 Forwarded line to
// dst, in order. Elements are separated by commas and hold
// semicolon-separated name=value pairs, a value being a token or a quoted
// string. An element without exactly one for= parameter, or whose node is
// not an address ("unknown", an obfuscated "_name"), is appended as an
// invalid Addr. A malformed line degrades to invalid hops, never to an
// address the parser made up.
func forwardedHops(line string, dst []netip.Addr) []netip.Addr {
	for line != "" {
		elem, rest := cutUnquoted(line, ',')
		line = rest
		if strings.TrimSpace(elem) == "" {
			continue
		}
		dst = append(dst, forwardedFor(elem))
	}
	return dst
}

// forwardedFor returns the address in the for= parameter of one element.
func forwardedFor(elem string) netip.Addr {
	var v string
	found := false
	for elem != "" {
		var pair string
		pair, elem = cutUnquoted(elem, ';')
		name, val, ok := strings.Cut(pair, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "for") {
			continue
		}
		if found {
			return netip.Addr{} // for= twice: which one would be true?
		}
		found, v = true, strings.TrimSpace(val)
	}
	if !found {
		return netip.Addr{}
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = unquote(v[1 : len(v)-1])
	} else if strings.ContainsAny(v, "\"\\") {
		return netip.Addr{}
	}
	return parseNode(v)
}

// cutUnquoted cuts s around the first sep outside a quoted string.
func cutUnquoted(s string, sep byte) (before, after string) {
	quoted, escaped := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unquote removes the backslash escapes of a quoted string's content.
func unquote(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseNode parses one hop: an IPv4 or IPv6 address, optionally bracketed,
// optionally with a port (RFC 7239 also allows an obfuscated "_port"). The
// result is unmapped and without a zone; invalid when s is not an address.
func parseNode(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	host := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return netip.Addr{}
		}
		return a.Unmap().WithZone("")
	}
	h, port, ok := strings.Cut(s, ":")
	if !ok || !validPort(port) {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(h)
	if err != nil || !a.Is4() {
		return netip.Addr{}
	}
	return a
}

// validPort reports whether p is a port number or an RFC 7239 obfuscated
// port ("_" followed by letters, digits, ".", "_" or "-").
func validPort(p string) bool {
	if p == "" {
		return false
	}
	if p[0] == '_' {
		for i := 1; i < len(p); i++ {
			c := p[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return len(p) > 1
	}
	if len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}
