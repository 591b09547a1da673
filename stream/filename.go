package stream

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safeFilename keeps the last path element of name and drops control,
// quote, backslash and path characters; it never returns "", "." or "..".
func safeFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	var b strings.Builder
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '"' || r == '/' || r == ';' || unicode.Is(unicode.Bidi_Control, r) {
			continue
		}
		b.WriteRune(r)
	}
	s := strings.TrimSpace(b.String())
	s = strings.TrimLeft(s, ".")
	if s == "" {
		return "export"
	}
	return s
}

// contentDisposition returns "attachment" with an ASCII filename fallback
// and, when the name is not plain ASCII, the RFC 6266 / RFC 8187 filename*.
func contentDisposition(name string) string {
	name = safeFilename(name)
	ascii := true
	var fb strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '%' {
			ascii = false
			fb.WriteByte('_')
			continue
		}
		fb.WriteRune(r)
	}
	v := `attachment; filename="` + fb.String() + `"`
	if ascii {
		return v
	}
	const attrChar = "!#$&+-.^_`|~"
	var enc strings.Builder
	for _, c := range []byte(name) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(attrChar, c) >= 0) {
			enc.WriteByte(c)
			continue
		}
		enc.WriteByte('%')
		enc.WriteByte("0123456789ABCDEF"[c>>4])
		enc.WriteByte("0123456789ABCDEF"[c&0xF])
	}
	return v + "; filename*=UTF-8''" + enc.String()
}
