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
		{"hosts and schemes", NewCSP().Set(DefaultSrc, Self, "https://cdn.example.com:443/js/", "*.example.org", "https:", "wss://*.example.net:*", "*", "blob:"), "default-src 'self' https://cdn.example.com:443/js/ *.example.org https: wss://*.example.net:* * blob:"},
		{"keywords", NewCSP().Set(ScriptSrc, Self, UnsafeEval, WasmUnsafeEval, ReportSample, UnsafeHashes, sha256Src), "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval' 'report-sample' 'unsafe-hashes' " + sha256Src},
		{"strict dynamic with hash", NewCSP().Set(ScriptSrc, sha256Src, StrictDynamic), "script-src " + sha256Src + " 'strict-dynamic'"},
		{"no-value", NewCSP().Set(UpgradeInsecureRequests), "upgrade-insecure-requests"},
		{"sandbox", NewCSP().Set(Sandbox).Set(Sandbox, "allow-scripts", "allow-forms"), "sandbox allow-scripts allow-forms"},
		{"sandbox empty", NewCSP().Set(Sandbox), "sandbox"},
		{"trusted types", NewCSP().Set(RequireTrustedTypesFor, "'script'").Set(TrustedTypes, "default", "dompurify", "'allow-duplicates'"), "require-trusted-types-for 'script'; trusted-types default dompurify 'allow-duplicates'"},
		{"add and remove", DefaultCSP().Remove(ImgSrc).Remove(ScriptSrcAttr).Remove(ChildSrc).Add(ConnectSrc, Self).Add(ConnectSrc, "https://api.example.com").Add(DefaultSrc, "data:"), "default-src 'self' data:; base-uri 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; connect-src 'self' https://api.example.com"},
		{"ancestors", NewCSP().Set(FrameAncestors, Self, "https://partner.example.com"), "frame-ancestors 'self' https://partner.example.com"},
		{"nonce from default none", NewCSP().Set(DefaultSrc, None).WithNonce().WithNonce(ScriptSrc), "default-src 'none'; script-src 'nonce-{nonce}'"},
		{"nonce replaces none", NewCSP().Set(ScriptSrc, None).WithNonce(), "script-src 'nonce-{nonce}'"},
		{"nonce no default", NewCSP().Set(ObjectSrc, None).WithNonce(StyleSrc), "object-src 'none'; style-src 'nonce-{nonce}'"},
		{"report only", NewCSP().Set(DefaultSrc, Self).ReportTo("csp-1", "https://r.example.com/r?x=1"), "default-src 'self'; report-to csp-1; report-uri https://r.example.com/r?x=1"},
		{"report alone", NewCSP().ReportTo("g_1", "/r"), "report-to g_1; report-uri /r"},
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
		{"empty", NewCSP()},
		{"zero value", &CSP{}},
		{"unquoted self", NewCSP().Set(DefaultSrc, "self")},
		{"unquoted none", NewCSP().Set(DefaultSrc, "NONE")},
		{"unquoted unsafe-inline", NewCSP().Set(ScriptSrc, "unsafe-inline")},
		{"unquoted nonce", NewCSP().Set(ScriptSrc, "nonce-abc")},
		{"unquoted hash", NewCSP().Set(ScriptSrc, "sha256-abc")},
		{"static nonce", NewCSP().Set(ScriptSrc, "'nonce-abcdefabcdefabcdef'")},
		{"semicolon", NewCSP().Set(DefaultSrc, "'self'; script-src *")},
		{"semicolon alone", NewCSP().Set(DefaultSrc, "example.com;")},
		{"comma", NewCSP().Set(DefaultSrc, "a.com,b.com")},
		{"space", NewCSP().Set(DefaultSrc, "a.com b.com")},
		{"newline", NewCSP().Set(DefaultSrc, "a.com\n")},
		{"empty source", NewCSP().Set(DefaultSrc, "")},
		{"non-ascii", NewCSP().Set(DefaultSrc, "bücher.example")},
		{"unknown keyword", NewCSP().Set(DefaultSrc, "'selff'")},
		{"unbalanced", NewCSP().Set(DefaultSrc, "'self")},
		{"lone quote", NewCSP().Set(DefaultSrc, "'")},
		{"inner quote", NewCSP().Set(DefaultSrc, "a'b.com")},
		{"bad hash", NewCSP().Set(ScriptSrc, "'sha256-abc'")},
		{"unknown directive", NewCSP().Set(Directive("script-source"), Self)},
		{"report-uri direct", NewCSP().Set(Directive("report-uri"), "/r")},
		{"no sources", NewCSP().Set(ScriptSrc)},
		{"none combined", NewCSP().Set(ScriptSrc, None, Self)},
		{"value on upgrade", NewCSP().Set(UpgradeInsecureRequests, Self)},
		{"sandbox token", NewCSP().Set(Sandbox, "allow-everything")},
		{"require tt", NewCSP().Set(RequireTrustedTypesFor, "script")},
		{"trusted types name", NewCSP().Set(TrustedTypes, "a!b")},
		{"ancestors keyword", NewCSP().Set(FrameAncestors, UnsafeInline)},
		{"ancestors hash", NewCSP().Set(FrameAncestors, sha256Src)},
		{"bad host", NewCSP().Set(DefaultSrc, "exa_mple.com")},
		{"bad port", NewCSP().Set(DefaultSrc, "example.com:http")},
		{"long port", NewCSP().Set(DefaultSrc, "example.com:123456")},
		{"empty label", NewCSP().Set(DefaultSrc, "example..com")},
		{"bad scheme", NewCSP().Set(DefaultSrc, "1http://example.com")},
		{"query", NewCSP().Set(DefaultSrc, "https://example.com/a?b")},
		{"only star dot", NewCSP().Set(DefaultSrc, "*.")},
		{"strict dynamic alone", NewCSP().Set(ScriptSrc, Self, StrictDynamic)},
		{"strict dynamic no script-src", NewCSP().Set(DefaultSrc, Self).WithStrictDynamic()},
		{"nonce on ancestors", NewCSP().Set(DefaultSrc, Self).WithNonce(FrameAncestors)},
		{"nonce on unknown", NewCSP().Set(DefaultSrc, Self).WithNonce("bogus-src")},
		{"report group", NewCSP().Set(DefaultSrc, Self).ReportTo("a b", "/r")},
		{"report group empty", NewCSP().Set(DefaultSrc, Self).ReportTo("", "/r")},
		{"report http", NewCSP().Set(DefaultSrc, Self).ReportTo("g", "http://r.example.com/")},
		{"report protocol-relative", NewCSP().Set(DefaultSrc, Self).ReportTo("g", "//r.example.com/")},
		{"report quote", NewCSP().Set(DefaultSrc, Self).ReportTo("g", `/r"x`)},
		{"report https empty host", NewCSP().Set(DefaultSrc, Self).ReportTo("g", "https:///x")},
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
	srcs := []string{Self}
	c := NewCSP().Set(DefaultSrc, srcs...)
	srcs[0] = "evil"
	m, err := New(Config{CSP: c})
	if err != nil {
		t.Fatal(err)
	}
	c.Set(DefaultSrc, "*")
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
		c := NewCSP().Set(Directive(name), a, b)
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
