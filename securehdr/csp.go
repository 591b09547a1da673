package securehdr

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Source is one source expression of a Content-Security-Policy directive:
// a quoted keyword such as [Self] or "'unsafe-inline'", a quoted hash
// ("'sha256-…'"), a scheme ("https:", "data:") or a host
// ("https://cdn.example.com", "*.example.com"). Keywords and hashes keep
// their single quotes; hosts and schemes have none. A policy is checked
// when it is compiled, so a keyword missing its quotes, such as self, is
// an error at construction rather than a policy that silently allows a
// host named "self".
type Source string

// The two keyword sources of the default policy. Other keywords are
// written out ("'unsafe-inline'", "'wasm-unsafe-eval'"); 'strict-dynamic'
// comes with [CSP.WithStrictDynamic] and nonces with [CSP.WithNonce].
const (
	// Self allows the page's own origin.
	Self Source = "'self'"
	// None allows nothing; it cannot be combined with other sources.
	None Source = "'none'"
)

const strictDynamic Source = "'strict-dynamic'"

type directiveKind uint8

const (
	kindSources      directiveKind = iota // a source list
	kindAncestors                         // frame-ancestors: no script keywords
	kindNoValue                           // upgrade-insecure-requests
	kindSandbox                           // sandbox tokens
	kindRequireTT                         // 'script'
	kindTrustedTypes                      // policy names
)

// directiveKinds lists the directives of CSP Level 3 that a policy may
// hold; any other name fails validation.
var directiveKinds = map[string]directiveKind{
	"default-src": kindSources, "script-src": kindSources, "script-src-elem": kindSources,
	"script-src-attr": kindSources, "style-src": kindSources, "style-src-elem": kindSources,
	"style-src-attr": kindSources, "img-src": kindSources, "font-src": kindSources,
	"connect-src": kindSources, "media-src": kindSources, "object-src": kindSources,
	"frame-src": kindSources, "child-src": kindSources, "worker-src": kindSources,
	"manifest-src": kindSources, "base-uri": kindSources, "form-action": kindSources,
	"frame-ancestors":           kindAncestors,
	"sandbox":                   kindSandbox,
	"upgrade-insecure-requests": kindNoValue,
	"require-trusted-types-for": kindRequireTT,
	"trusted-types":             kindTrustedTypes,
}

// keywords are the quoted keyword sources of a source list, without quotes.
var keywords = map[string]bool{
	"self": true, "none": true, "unsafe-inline": true, "unsafe-eval": true,
	"unsafe-hashes": true, "strict-dynamic": true, "report-sample": true,
	"wasm-unsafe-eval": true, "inline-speculation-rules": true, "unsafe-allow-redirects": true,
}

var sandboxTokens = map[string]bool{
	"allow-downloads": true, "allow-forms": true, "allow-modals": true,
	"allow-orientation-lock": true, "allow-pointer-lock": true, "allow-popups": true,
	"allow-popups-to-escape-sandbox": true, "allow-presentation": true,
	"allow-same-origin": true, "allow-scripts": true, "allow-top-navigation": true,
	"allow-top-navigation-by-user-activation":  true,
	"allow-top-navigation-to-custom-protocols": true,
	"allow-storage-access-by-user-activation":  true,
}

// CSP builds a Content-Security-Policy. Directives are named as in the
// specification ("script-src", "frame-ancestors"); only those of CSP
// Level 3 are accepted. Methods record the policy and return the receiver
// for chaining; nothing is checked until the policy is compiled by [New]
// or [CSP.Validate], which reject it as a whole with an error wrapping
// [ErrInvalidCSP]. The zero value is an empty policy, ready to use:
// new(CSP).Set("default-src", Self) starts one from nothing, and
// [DefaultCSP] from the default. A CSP is not safe for concurrent use
// while being built; [New] takes a copy, so later changes do not affect a
// running middleware.
type CSP struct {
	dirs          []cspDirective
	nonceIn       []string
	strictDynamic bool
	reportOnly    bool
	reportGroup   string
	reportURL     string
}

type cspDirective struct {
	name    string
	sources []string
}

// DefaultCSP returns the policy [New] uses when none is given:
//
//	default-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none';
//	form-action 'self'; img-src 'self' data:; script-src-attr 'none'
//
// Everything loads from the page's own origin, plugins and framing are off,
// forms post only to the origin, and inline event handlers never run.
func DefaultCSP() *CSP {
	return new(CSP).
		Set("default-src", Self).
		Set("base-uri", Self).
		Set("object-src", None).
		Set("frame-ancestors", None).
		Set("form-action", Self).
		Set("img-src", Self, "data:").
		Set("script-src-attr", None)
}

func (c *CSP) find(directive string) int {
	for i := range c.dirs {
		if c.dirs[i].name == directive {
			return i
		}
	}
	return -1
}

// Set replaces the sources of directive, adding the directive if absent.
func (c *CSP) Set(directive string, sources ...Source) *CSP {
	src := make([]string, len(sources))
	for i, s := range sources {
		src[i] = string(s)
	}
	if i := c.find(directive); i >= 0 {
		c.dirs[i].sources = src
		return c
	}
	c.dirs = append(c.dirs, cspDirective{name: directive, sources: src})
	return c
}

// Add appends sources to directive, adding the directive if absent.
func (c *CSP) Add(directive string, sources ...Source) *CSP {
	i := c.find(directive)
	if i < 0 {
		return c.Set(directive, sources...)
	}
	for _, s := range sources {
		c.dirs[i].sources = append(c.dirs[i].sources, string(s))
	}
	return c
}

// Remove deletes directive from the policy.
func (c *CSP) Remove(directive string) *CSP {
	if i := c.find(directive); i >= 0 {
		c.dirs = append(c.dirs[:i:i], c.dirs[i+1:]...)
	}
	return c
}

// WithNonce adds a fresh per-request nonce source to each directive given,
// or to script-src when none is given. A directive missing from the policy
// is created from default-src's sources, so adding a nonce never loosens
// the policy. The nonce (16 random bytes, base64url) is stored in the
// request context; templates read it with [NonceFromContext].
func (c *CSP) WithNonce(directives ...string) *CSP {
	if len(directives) == 0 {
		directives = []string{"script-src"}
	}
	for _, d := range directives {
		if !contains(c.nonceIn, d) {
			c.nonceIn = append(c.nonceIn, d)
		}
	}
	return c
}

// WithStrictDynamic adds 'strict-dynamic' to script-src: scripts trusted by
// nonce or hash may load further scripts, and host allow-lists are ignored
// by browsers that understand it. It needs a nonce or hash in script-src.
func (c *CSP) WithStrictDynamic() *CSP {
	c.strictDynamic = true
	return c
}

// ReportOnly sends the policy as Content-Security-Policy-Report-Only:
// violations are reported but nothing is blocked.
func (c *CSP) ReportOnly() *CSP {
	c.reportOnly = true
	return c
}

// ReportTo sends violation reports to url. It adds the directives
// "report-to group" (Reporting API) and "report-uri url" (browsers without
// it), and the middleware sends a Reporting-Endpoints header naming the
// group. url is an absolute https URL or a path starting with "/".
func (c *CSP) ReportTo(group, url string) *CSP {
	c.reportGroup, c.reportURL = group, url
	return c
}

// Validate reports whether the policy compiles, with an error wrapping
// [ErrInvalidCSP] naming the first problem.
func (c *CSP) Validate() error {
	_, err := c.compile()
	return err
}

// String returns the policy header value; a nonce appears as
// 'nonce-{nonce}'. It returns "" for an invalid policy.
func (c *CSP) String() string {
	p, err := c.compile()
	if err != nil {
		return ""
	}
	return strings.Join(p.parts, "{nonce}")
}

// compiledCSP is the validated header, split around the nonce placeholders
// so a request only concatenates.
type compiledCSP struct {
	key       string   // Content-Security-Policy[-Report-Only]
	parts     []string // value = parts[0] + nonce + parts[1] + ...
	size      int      // total length of parts
	endpoints string   // Reporting-Endpoints value, or ""
}

func (p *compiledCSP) nonced() bool { return len(p.parts) > 1 }

func cspErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidCSP}, a...)...)
}

const noncePlaceholder = "\x00"

// directives is the working copy of a policy's directives while it is
// compiled.
type directives []cspDirective

func (ds directives) index(name string) int {
	for i := range ds {
		if ds[i].name == name {
			return i
		}
	}
	return -1
}

// compile validates the policy and renders its header value.
func (c *CSP) compile() (*compiledCSP, error) {
	dirs := make(directives, 0, len(c.dirs)+2)
	for _, d := range c.dirs {
		if err := validateDirective(d); err != nil {
			return nil, err
		}
		dirs = append(dirs, cspDirective{name: d.name, sources: append([]string(nil), d.sources...)})
	}
	dirs, err := dirs.withNonces(c.nonceIn)
	if err != nil {
		return nil, err
	}
	if err := dirs.checkStrictDynamic(c.strictDynamic); err != nil {
		return nil, err
	}
	p := &compiledCSP{key: cspKey}
	if c.reportOnly {
		p.key = cspReportOnlyKey
	}
	value := dirs.render()
	if c.reportGroup != "" || c.reportURL != "" {
		if err := validateReport(c.reportGroup, c.reportURL); err != nil {
			return nil, err
		}
		if value != "" {
			value += "; "
		}
		value += "report-to " + c.reportGroup + "; report-uri " + c.reportURL
		p.endpoints = c.reportGroup + `="` + c.reportURL + `"`
	}
	if value == "" {
		return nil, cspErr("the policy has no directives")
	}
	p.parts = strings.Split(value, noncePlaceholder)
	for _, s := range p.parts {
		p.size += len(s)
	}
	return p, nil
}

// withNonces adds the nonce placeholder to each directive named, creating
// it from default-src's sources when absent; 'none' makes way for it.
func (ds directives) withNonces(names []string) (directives, error) {
	for _, d := range names {
		if k, ok := directiveKinds[d]; !ok || k != kindSources {
			return nil, cspErr("a nonce cannot be added to %q", d)
		}
		i := ds.index(d)
		if i < 0 {
			var base []string
			if j := ds.index("default-src"); j >= 0 {
				base = ds[j].sources
			}
			ds = append(ds, cspDirective{name: d, sources: base})
			i = len(ds) - 1
		}
		src := ds[i].sources[:0:0]
		for _, s := range ds[i].sources {
			if s != string(None) {
				src = append(src, s)
			}
		}
		ds[i].sources = append(src, noncePlaceholder)
	}
	return ds, nil
}

// checkStrictDynamic adds 'strict-dynamic' to script-src when asked, and
// refuses it wherever script-src has neither a nonce nor a hash to start
// trust from: such a policy runs no script at all.
func (ds directives) checkStrictDynamic(add bool) error {
	i := ds.index("script-src")
	if add {
		if i < 0 {
			return cspErr("'strict-dynamic' needs script-src with a nonce or hash")
		}
		if !contains(ds[i].sources, string(strictDynamic)) {
			ds[i].sources = append(ds[i].sources, string(strictDynamic))
		}
	}
	if i < 0 || !contains(ds[i].sources, string(strictDynamic)) {
		return nil
	}
	for _, s := range ds[i].sources {
		if s == noncePlaceholder || isHashSource(s) {
			return nil
		}
	}
	return cspErr("'strict-dynamic' in script-src needs a nonce or hash, or no script runs")
}

// render writes the directives as a header value, with the nonce
// placeholder where each nonce goes.
func (ds directives) render() string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.name)
		for _, s := range d.sources {
			b.WriteByte(' ')
			if s == noncePlaceholder {
				b.WriteString("'nonce-" + noncePlaceholder + "'")
				continue
			}
			b.WriteString(s)
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func validateDirective(d cspDirective) error {
	kind, ok := directiveKinds[d.name]
	if !ok {
		if d.name == "report-to" || d.name == "report-uri" {
			return cspErr("set %s with ReportTo", d.name)
		}
		return cspErr("unknown directive %q", d.name)
	}
	for _, s := range d.sources {
		if !printableToken(s) {
			return cspErr("%s: source %q is empty or holds a space, ';', ',', quote or control character", d.name, s)
		}
	}
	switch kind {
	case kindNoValue:
		if len(d.sources) > 0 {
			return cspErr("%s takes no value", d.name)
		}
		return nil
	case kindSandbox:
		for _, s := range d.sources {
			if !sandboxTokens[s] {
				return cspErr("sandbox: unknown token %q", s)
			}
		}
		return nil
	case kindRequireTT:
		if len(d.sources) != 1 || d.sources[0] != "'script'" {
			return cspErr("%s takes exactly 'script'", d.name)
		}
		return nil
	case kindTrustedTypes:
		for _, s := range d.sources {
			if s == "'none'" || s == "'allow-duplicates'" || s == "*" {
				continue
			}
			if !policyName(s) {
				return cspErr("trusted-types: invalid policy name %q", s)
			}
		}
		return nil
	}
	if len(d.sources) == 0 {
		return cspErr("%s needs at least one source (use 'none' to allow nothing)", d.name)
	}
	for _, s := range d.sources {
		if err := validateSource(d.name, kind, s); err != nil {
			return err
		}
	}
	if len(d.sources) > 1 && contains(d.sources, string(None)) {
		return cspErr("%s: 'none' cannot be combined with other sources", d.name)
	}
	return nil
}

// printableToken reports whether s is non-empty visible ASCII without the
// characters that would split or end a directive or the header.
func printableToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= ' ' || ch >= 0x7f || ch == ';' || ch == ',' || ch == '"' {
			return false
		}
	}
	return true
}

func validateSource(d string, kind directiveKind, s string) error {
	if s[0] == '\'' {
		if len(s) < 3 || s[len(s)-1] != '\'' {
			return cspErr("%s: unbalanced quote in %q", d, s)
		}
		inner := s[1 : len(s)-1]
		switch {
		case strings.HasPrefix(inner, "nonce-"):
			return cspErr("%s: static nonce %q; use WithNonce for a per-request nonce", d, s)
		case isHashSource(s):
			if kind == kindAncestors {
				return cspErr("%s: hashes are not allowed", d)
			}
			return nil
		case !keywords[inner]:
			return cspErr("%s: unknown keyword %q", d, s)
		case kind == kindAncestors && inner != "self" && inner != "none":
			return cspErr("%s: %q is not allowed", d, s)
		}
		return nil
	}
	lower := strings.ToLower(s)
	if keywords[lower] || strings.HasPrefix(lower, "nonce-") || hashPrefix(lower) != "" {
		return cspErr("%s: keyword %q must be single-quoted", d, s)
	}
	if strings.ContainsRune(s, '\'') {
		return cspErr("%s: misplaced quote in %q", d, s)
	}
	if isSchemeSource(s) || isHostSource(s) {
		return nil
	}
	return cspErr("%s: %q is neither a scheme nor a host source", d, s)
}

func hashPrefix(s string) string {
	for _, p := range [...]string{"sha256-", "sha384-", "sha512-"} {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return ""
}

var hashSizes = map[string]int{"sha256-": 32, "sha384-": 48, "sha512-": 64}

// isHashSource reports whether s is a quoted hash source whose base64 value
// decodes to the digest size of its algorithm.
func isHashSource(s string) bool {
	if len(s) < 3 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return false
	}
	inner := s[1 : len(s)-1]
	p := hashPrefix(inner)
	if p == "" {
		return false
	}
	v := inner[len(p):]
	for _, enc := range [...]*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == hashSizes[p] {
			return true
		}
	}
	return false
}

func isAlpha(ch byte) bool { return ch|0x20 >= 'a' && ch|0x20 <= 'z' }
func isDigit(ch byte) bool { return ch >= '0' && ch <= '9' }

// isScheme reports whether s is a URL scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		ch := s[i]
		if !isAlpha(ch) && !isDigit(ch) && ch != '+' && ch != '-' && ch != '.' {
			return false
		}
	}
	return true
}

func isSchemeSource(s string) bool {
	return len(s) > 1 && s[len(s)-1] == ':' && isScheme(s[:len(s)-1])
}

// isHostSource checks [ scheme "://" ] host [ ":" port ] [ path ], where
// host is "*", or an optional "*." then dot-separated labels of letters,
// digits and "-".
func isHostSource(s string) bool {
	if i := strings.Index(s, "://"); i >= 0 {
		if !isScheme(s[:i]) {
			return false
		}
		s = s[i+3:]
	}
	path := ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, path = s[:i], s[i:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		port := s[i+1:]
		s = s[:i]
		if port != "*" && (port == "" || len(port) > 5 || strings.TrimLeft(port, "0123456789") != "") {
			return false
		}
	}
	if strings.ContainsAny(path, "?#") {
		return false
	}
	if s == "*" {
		return true
	}
	s = strings.TrimPrefix(s, "*.")
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !isAlpha(ch) && !isDigit(ch) && ch != '-' {
				return false
			}
		}
	}
	return true
}

func policyName(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !isAlpha(ch) && !isDigit(ch) && !strings.ContainsRune("-#=_/@.%", rune(ch)) {
			return false
		}
	}
	return s != ""
}

func validateReport(group, url string) error {
	if group == "" || !policyToken(group) {
		return cspErr("report group %q must be letters, digits, '-' or '_'", group)
	}
	if !printableToken(url) || strings.ContainsRune(url, '\'') {
		return cspErr("report url %q holds a space, ';', ',', quote or control character", url)
	}
	switch {
	case strings.HasPrefix(url, "https://") && len(url) > len("https://") && url[len("https://")] != '/':
	case strings.HasPrefix(url, "/") && !strings.HasPrefix(url, "//"):
	default:
		return cspErr("report url %q must be an absolute https URL or a path starting with /", url)
	}
	return nil
}

func policyToken(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !isAlpha(ch) && !isDigit(ch) && ch != '-' && ch != '_' {
			return false
		}
	}
	return true
}
