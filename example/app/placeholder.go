package app

import (
	"net/url"
	"strings"
)

// secretVars are the variables that carry a secret. In production none of
// them may hold a template's placeholder: a deployment that forgot to fill
// one in must not start with a guessable key or password.
var secretVars = []string{
	"SECRET_KEY", "SIGNING_KEYS", "ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL", "REDIS_SECURITY_URL",
	"S3_ACCESS_KEY", "S3_SECRET_KEY", "SENTRY_DSN",
}

// placeholderWords are the words templates and tutorials put where a secret
// belongs. They are matched as whole words (split at anything but letters
// and digits, two neighbours joined too, so "change-me" is "changeme"), never
// as substrings: a random key that happens to contain "todo" is not refused.
// A value made of x's alone ("xxx", "xxxx-xxxx") is a placeholder too.
var placeholderWords = map[string]bool{
	"changeme": true, "changeit": true, "replace": true, "replaceme": true, "placeholder": true,
	"example": true, "todo": true, "fixme": true, "dummy": true, "sample": true,
	"yourpassword": true, "yoursecret": true, "yourkey": true, "secretkey": true,
}

// placeholders refuses, in production, every secret variable whose secret
// part looks like a placeholder. The problem names the variable and the
// marker found, never the value.
func (e *envReader) placeholders(c *Config) {
	if !c.Production() {
		return
	}
	for _, name := range secretVars {
		v := strings.TrimSpace(e.getenv(name))
		if v == "" {
			continue
		}
		for _, part := range secretParts(name, v) {
			if m := placeholderMarker(part); m != "" {
				e.bad(name, "looks like a placeholder (%s): fill in the real value; production never accepts a template's", m)
				break
			}
		}
	}
}

// secretParts returns the parts of v that are secret: each key of
// SIGNING_KEYS (id:secret, comma- or space-separated), the password of a
// database or Redis URL, the key of a Sentry DSN, the whole value otherwise.
func secretParts(name, v string) []string {
	if name != "SIGNING_KEYS" {
		return []string{secretPart(name, v)}
	}
	var parts []string
	for _, kv := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		_, secret, _ := strings.Cut(kv, ":")
		parts = append(parts, secret)
	}
	return parts
}

// secretPart returns the secret part of a single value. A URL that does
// not parse is checked whole (a template's "postgres://u:<PASSWORD>@h/db"
// does not).
func secretPart(name, v string) string {
	switch name {
	case "DATABASE_URL", "REDIS_URL", "REDIS_SECURITY_URL", "SENTRY_DSN":
		u, err := url.Parse(v)
		if err != nil || u.User == nil {
			if strings.ContainsAny(v, "<>") {
				return v
			}
			return ""
		}
		if name == "SENTRY_DSN" {
			return u.User.Username()
		}
		p, _ := u.User.Password()
		if q := u.Query().Get("password"); p == "" && q != "" {
			p = q
		}
		return p
	}
	return v
}

// placeholderMarker returns how s looks like a placeholder ("<…>" or the
// word found), or "" when it does not.
func placeholderMarker(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 && strings.IndexByte(s[i:], '>') > 1 {
		return `"<…>"`
	}
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9')
	})
	for i, w := range words {
		if placeholderWords[w] {
			return `"` + w + `"`
		}
		if i > 0 && placeholderWords[words[i-1]+w] {
			return `"` + words[i-1] + w + `"`
		}
	}
	if all := strings.Join(words, ""); len(all) >= 3 && strings.Trim(all, "x") == "" {
		return `"xxx"`
	}
	return ""
}
