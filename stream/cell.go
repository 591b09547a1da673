package stream

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// csvSpecial marks bytes that force a CSV cell into quotes.
var csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}

// formulaTrigger reports whether a cell starting with c may be read as a
// formula by a spreadsheet (OWASP CSV injection: = + - @ tab CR).
func formulaTrigger(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// fullwidth reports whether s starts with a fullwidth = + - @ (U+FF1D,
// U+FF0B, U+FF0D, U+FF20), which some spreadsheets normalise to ASCII.
func fullwidth(s []byte) bool {
	return len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBC && (s[2] == 0x9D || s[2] == 0x8B || s[2] == 0x8D || s[2] == 0xA0)
}

// plainNumber reports whether s is an optionally signed decimal number
// without exponent ("-12", "+3.5"), which no spreadsheet runs as a formula.
func plainNumber(s []byte) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		frac := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			frac++
		}
		if frac == 0 {
			return false
		}
		digits += frac
	}
	return digits > 0 && i == len(s)
}

// needsNeutralising reports whether the text cell s must be prefixed with a
// single quote so that a spreadsheet shows it as text.
func needsNeutralising(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	if formulaTrigger(s[0]) {
		return (s[0] != '-' && s[0] != '+') || !plainNumber(s)
	}
	return fullwidth(s)
}

// appendCSVText appends the text cell s, neutralised unless raw, quoted when
// it holds a delimiter, quote or line break, when it is empty and null is
// empty (so an empty string differs from NULL, as in COPY), or when it
// equals the NULL token.
func appendCSVText(dst, s []byte, raw bool, null string) []byte {
	neut := !raw && needsNeutralising(s)
	quote := (len(s) == 0 && null == "") || (len(s) > 0 && len(null) == len(s) && string(s) == null)
	if !quote {
		for _, c := range s {
			if csvSpecial[c] {
				quote = true
				break
			}
		}
	}
	if !quote {
		if neut {
			dst = append(dst, '\'')
		}
		return append(dst, s...)
	}
	dst = append(dst, '"')
	if neut {
		dst = append(dst, '\'')
	}
	for {
		i := indexQuote(s)
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

func indexQuote(s []byte) int {
	for i, c := range s {
		if c == '"' {
			return i
		}
	}
	return -1
}

// appendFloat writes f without exponent; NaN and infinities as PostgreSQL
// spells them.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// appendTime writes t in UTC, RFC 3339 with as many fractional digits as needed.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Control characters, quotes,
// backslashes, U+2028/U+2029 and <, >, & are escaped; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
