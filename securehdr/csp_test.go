package securehdr

import (
	"errors"
	"strings"
	"testing"
)

const sha256Src = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"

func TestCSPValid(t *testing.T) {
	tests := []struct {
		name string
		csp  *CSP
		want string
	}{
		{"default", DefaultCSP(), "default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; img-src 'self' data:; script-src-attr 'none'"},
		{"hosts and schemes", new(CSP).Set("default-src", Self, "https://cdn.example.com:443/js/", "*.example.org", "https:", "wss://*.example.net:*", "*", "blob:"), "default-src 'self' https://cdn.example.com:443/js/ *.example.org https: wss://*.example.net:* * blob:"},
		{"keywords", new(CSP).Set("script-src", Self, "'unsafe-eval'", "'wasm-unsafe-eval'", "'report-sample'", "'unsafe-hashes'", sha256Src), "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval' 'report-sample' 'unsafe-hashes' " + sha256Src},
		{"strict dynamic with hash", new(CSP).Set("script-src", sha256Src, "'strict-dynamic'"), "script-src " + sha256Src + " 'strict-dynamic'"},
		{"no-value", new(CSP).Set("upgrade-insecure-requests"), "upgrade-insecure-requests"},
		{"sandbox", new(CSP).Set("sandbox").Set("sandbox", "allow-scripts", "allow-forms"), "sandbox allow-scripts allow-forms"},
		{"sandbox empty", new(CSP).Set("sandbox"), "sandbox"},
		{"trusted types", new(CSP).Set("require-trusted-types-for", "'script'").Set("trusted-types", "default", "dompurify", "'allow-duplicates'"), "require-trusted-types-for 'script'; trusted-types default dompurify 'allow-duplicates'"},
		{"add and remove", DefaultCSP().Remove("img-src").Remove("script-src-attr").Remove("child-src").Add("connect-src", Self).Add("connect-src", "https://api.example.com").Add("default-src", "data:"), "default-src 'self' data:; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; connect-src 'self' https://api.example.com"},
		{"ancestors", new(CSP).Set("frame-ancestors", Self, "https://partner.example.com"), "frame-ancestors 'self' https://partner.example.com"},
		{"nonce from default none", new(CSP).Set("default-src", None).WithNonce().WithNonce("script-src"), "default-src 'none'; script-src 'nonce-{nonce}'"},
		{"nonce replaces none", new(CSP).Set("script-src", None).WithNonce(), "script-src 'nonce-{nonce}'"},
		{"nonce no default", new(CSP).Set("object-src", None).WithNonce("style-src"), "object-src 'none'; style-src 'nonce-{nonce}'"},
		{"report only", new(CSP).Set("default-src", Self).ReportTo("csp-1", "https://r.example.com/r?x=1"), "default-src 'self'; report-to csp-1; report-uri https://r.example.com/r?x=1"},
		{"report alone", new(CSP).ReportTo("g_1", "/r"), "report-to g_1; report-uri /r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.csp.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got := tt.csp.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestCSPInvalid(t *testing.T) {
	tests := []struct {
		name string
		csp  *CSP
	}{
		{"zero value", &CSP{}},
		{"unquoted self", new(CSP).Set("default-src", "self")},
		{"unquoted none", new(CSP).Set("default-src", "NONE")},
		{"unquoted unsafe-inline", new(CSP).Set("script-src", "unsafe-inline")},
		{"unquoted nonce", new(CSP).Set("script-src", "nonce-abc")},
		{"unquoted hash", new(CSP).Set("script-src", "sha256-abc")},
		{"static nonce", new(CSP).Set("script-src", "'nonce-abcdefabcdefabcdef'")},
		{"semicolon", new(CSP).Set("default-src", "'self'; script-src *")},
		{"semicolon alone", new(CSP).Set("default-src", "example.com;")},
		{"comma", new(CSP).Set("default-src", "a.com,b.com")},
		{"space", new(CSP).Set("default-src", "a.com b.com")},
		{"newline", new(CSP).Set("default-src", "a.com\n")},
		{"empty source", new(CSP).Set("default-src", "")},
		{"non-ascii", new(CSP).Set("default-src", "bücher.example")},
		{"unknown keyword", new(CSP).Set("default-src", "'selff'")},
		{"unbalanced", new(CSP).Set("default-src", "'self")},
		{"lone quote", new(CSP).Set("default-src", "'")},
		{"inner quote", new(CSP).Set("default-src", "a'b.com")},
		{"bad hash", new(CSP).Set("script-src", "'sha256-abc'")},
		{"unknown directive", new(CSP).Set("script-source", Self)},
		{"report-uri direct", new(CSP).Set("report-uri", "/r")},
		{"no sources", new(CSP).Set("script-src")},
		{"none combined", new(CSP).Set("script-src", None, Self)},
		{"value on upgrade", new(CSP).Set("upgrade-insecure-requests", Self)},
		{"sandbox token", new(CSP).Set("sandbox", "allow-everything")},
		{"require tt", new(CSP).Set("require-trusted-types-for", "script")},
		{"trusted types name", new(CSP).Set("trusted-types", "a!b")},
		{"ancestors keyword", new(CSP).Set("frame-ancestors", "'unsafe-inline'")},
		{"ancestors hash", new(CSP).Set("frame-ancestors", sha256Src)},
		{"bad host", new(CSP).Set("default-src", "exa_mple.com")},
		{"bad port", new(CSP).Set("default-src", "example.com:http")},
		{"long port", new(CSP).Set("default-src", "example.com:123456")},
		{"empty label", new(CSP).Set("default-src", "example..com")},
		{"bad scheme", new(CSP).Set("default-src", "1http://example.com")},
		{"query", new(CSP).Set("default-src", "https://example.com/a?b")},
		{"only star dot", new(CSP).Set("default-src", "*.")},
		{"strict dynamic alone", new(CSP).Set("script-src", Self, "'strict-dynamic'")},
		{"strict dynamic no script-src", new(CSP).Set("default-src", Self).WithStrictDynamic()},
		{"nonce on ancestors", new(CSP).Set("default-src", Self).WithNonce("frame-ancestors")},
		{"nonce on unknown", new(CSP).Set("default-src", Self).WithNonce("bogus-src")},
		{"report group", new(CSP).Set("default-src", Self).ReportTo("a b", "/r")},
		{"report group empty", new(CSP).Set("default-src", Self).ReportTo("", "/r")},
		{"report http", new(CSP).Set("default-src", Self).ReportTo("g", "http://r.example.com/")},
		{"report protocol-relative", new(CSP).Set("default-src", Self).ReportTo("g", "//r.example.com/")},
		{"report quote", new(CSP).Set("default-src", Self).ReportTo("g", `/r"x`)},
		{"report https empty host", new(CSP).Set("default-src", Self).ReportTo("g", "https:///x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.csp.Validate()
			if !errors.Is(err, ErrInvalidCSP) {
				t.Fatalf("Validate() = %v; want ErrInvalidCSP", err)
			}
			if !strings.HasPrefix(err.Error(), "securehdr: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if s := tt.csp.String(); s != "" {
				t.Errorf("String() = %q for an invalid policy", s)
			}
		})
	}
}

func TestCSPBuilderIsolation(t *testing.T) {
	srcs := []Source{Self}
	c := new(CSP).Set("default-src", srcs...)
	srcs[0] = "evil"
	m, err := New(Config{CSP: c})
	if err != nil {
		t.Fatal(err)
	}
	c.Set("default-src", "*")
	if got := m.static[0][1]; got != "default-src 'self'" {
		t.Errorf("compiled policy changed with the builder: %q", got)
	}
}

// FuzzCSP builds a policy from arbitrary directive names and sources. A
// policy that validates must produce a header whose directives split back
// into exactly what was given: no source can smuggle a directive or a new
// header line.
func FuzzCSP(f *testing.F) {
	f.Add("default-src", "'self'", "https://a.example.com")
	f.Add("script-src", "self", "x;y")
	f.Add("img-src", "data:", "*.example.com:*")
	f.Add("frame-ancestors", "'none'", "a,b")
	f.Add("sandbox", "allow-scripts", "allow-forms")
	f.Add("script-src", sha256Src, "'strict-dynamic'")
	f.Add("report-to", "g", "\r\nX: y")
	f.Add("style-src", "'nonce-abc'", "https://x/y z")
	f.Fuzz(func(t *testing.T, name, a, b string) {
		c := new(CSP).Set(name, Source(a), Source(b))
		if err := c.Validate(); err != nil {
			if !errors.Is(err, ErrInvalidCSP) {
				t.Fatalf("error %v does not wrap ErrInvalidCSP", err)
			}
			return
		}
		v := c.String()
		for i := 0; i < len(v); i++ {
			if v[i] < ' ' || v[i] >= 0x7f || v[i] == ',' {
				t.Fatalf("header %q holds byte %q", v, v[i])
			}
		}
		parts := strings.Split(v, "; ")
		if len(parts) != 1 {
			t.Fatalf("one directive became %d: %q", len(parts), v)
		}
		fields := strings.Fields(parts[0])
		if fields[0] != name {
			t.Fatalf("directive %q became %q", name, fields[0])
		}
		if len(fields) != 3 || fields[1] != a || fields[2] != b {
			t.Fatalf("sources %q %q became %q", a, b, fields[1:])
		}
	})
}

// FuzzCSPReport checks that a report group and URL that validate can
// neither end the Reporting-Endpoints string nor split the policy.
func FuzzCSPReport(f *testing.F) {
	f.Add("csp", "https://r.example.com/csp", true)
	f.Add("g", "/r\"; x", false)
	f.Add("a,b", "/r", true)
	f.Add("g", "https://r.example.com/a;b", false)
	f.Fuzz(func(t *testing.T, group, url string, nonce bool) {
		c := DefaultCSP().ReportTo(group, url)
		if nonce {
			c.WithNonce().WithStrictDynamic()
		}
		p, err := c.compile()
		if err != nil {
			if !errors.Is(err, ErrInvalidCSP) {
				t.Fatalf("error %v does not wrap ErrInvalidCSP", err)
			}
			return
		}
		if strings.Count(p.endpoints, `"`) != 2 || !strings.HasSuffix(p.endpoints, `"`) || strings.ContainsAny(p.endpoints, ",;\r\n") {
			t.Fatalf("Reporting-Endpoints %q for group %q url %q", p.endpoints, group, url)
		}
		v := strings.Join(p.parts, "N")
		want := 8 // seven directives, report-to, report-uri
		if nonce {
			want++ // script-src
		}
		if strings.Count(v, ";") != want || strings.ContainsAny(v, ",\r\n\x00") {
			t.Fatalf("policy %q for group %q url %q", v, group, url)
		}
		if nonce != (len(p.parts) == 2) {
			t.Fatalf("policy parts %q with nonce=%v", p.parts, nonce)
		}
	})
}
