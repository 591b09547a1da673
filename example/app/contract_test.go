package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"pgregory.net/rapid"

	"github.com/covetgo/covet/testenv"
)

// The contract test starts the service, sends generated valid and invalid
// requests for every operation of openapi.yaml and checks every answer
// against the document with kin-openapi's validator (status, headers,
// body), plus properties no schema can state: what is created can be read,
// a refresh token is good once, a logout revokes, the pages of the list
// walk every user once, a username is never taken for another through
// Unicode case mapping, routing comes before authentication.

func TestContractEmbedded(t *testing.T) {
	runContract(t, startServer(t, contractTestEnv(t)))
}

func TestContractPostgresRedis(t *testing.T) {
	pg := testenv.NewPostgres(t)
	rd := testenv.NewRedis(t)
	env := contractTestEnv(t)
	env["DATABASE_URL"] = pg.URL
	env["REDIS_URL"] = rd.URL
	env["APP_NAME"] = strings.TrimSuffix(rd.Prefix, ":")
	s := startServer(t, env)
	if s.app.db.DriverName() != "pgx" || s.app.rdb == nil {
		t.Fatalf("service uses %s, redis=%v; want PostgreSQL and Redis", s.app.db.DriverName(), s.app.rdb != nil)
	}
	runContract(t, s)
}

func contractTestEnv(t *testing.T) map[string]string {
	env := baseEnv(t)
	env["SEED_USERS"] = "30"
	// The limits are the subject of other tests; here they must not turn
	// a generated request into a 429 (which would still be checked).
	env["LOGIN_RATE_LIMIT"] = "100000/minute"
	return env
}

// loadDocument parses and validates the embedded document.
func loadDocument(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatalf("loading openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// tb is what the checks need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
}

type contract struct {
	t      *testing.T
	s      *server
	doc    *openapi3.T
	router routers.Router
	reqID  atomic.Int64

	admin string // the admin's access token
	user  string // a user's (not an admin) access token

	// The model: every user the service holds, by id, and the password
	// of those the test created.
	users     map[int64]user
	passwords map[int64]string
	hashes    int            // password hashes the generated requests may still cost
	failures  map[string]int // failed logins by account
}

func runContract(t *testing.T, s *server) {
	doc := loadDocument(t)
	doc.Servers = openapi3.Servers{{URL: s.base}}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{t: t, s: s, doc: doc, router: router, users: map[int64]user{}, passwords: map[int64]string{}, failures: map[string]int{}, hashes: 24}
	c.admin = c.login(t, s.admin, s.adminPW)
	c.user = c.login(t, "user_1", "")
	for _, u := range c.walk(t, c.admin, 500) {
		c.users[u.ID] = u
	}
	if len(c.users) != 31 {
		t.Fatalf("the service holds %d users; want 30 seeded and the admin", len(c.users))
	}

	t.Run("document", c.servesDocument)
	t.Run("bodies", func(t *testing.T) { rapid.Check(t, c.bodyProperty) })
	t.Run("usernames", func(t *testing.T) { rapid.Check(t, c.usernameProperty) })
	t.Run("routing", func(t *testing.T) { rapid.Check(t, c.routingProperty) })
	t.Run("probes and export", func(t *testing.T) { rapid.Check(t, c.probeProperty) })
	t.Run("stateful", func(t *testing.T) { rapid.Check(t, c.statefulProperty) })
}

// exchange sends a request, checks the request against the document when
// valid is set (the generator's own check), and checks the answer against
// the document always: the operation's declared statuses, headers and
// bodies, or for a path or method the document does not list, the
// NotFound and MethodNotAllowed responses.
func (c *contract) exchange(t tb, method, path string, hdr map[string]string, body []byte, valid bool) resp {
	t.Helper()
	id := "contract-" + strconv.FormatInt(c.reqID.Add(1), 10)
	newReq := func() *http.Request {
		var rd io.Reader = http.NoBody
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, c.s.base+path, rd)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		req.Header.Set("X-Request-ID", id)
		return req
	}
	req := newReq()
	route, params, routeErr := c.router.FindRoute(req)
	var in *openapi3filter.RequestValidationInput
	if routeErr == nil {
		in = &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		if valid {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Fatalf("generated %s %s %q is not valid per the document: %v", method, path, body, err)
			}
		}
	} else if valid {
		t.Fatalf("generated %s %s is not an operation of the document: %v", method, path, routeErr)
	}
	res, err := client.Do(newReq())
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	data, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	r := resp{status: res.StatusCode, header: res.Header, body: data}
	what := fmt.Sprintf("%s %s %.200q → %d %.300s", method, path, body, r.status, r.body)
	// A well-formed X-Request-ID is kept, so an answer with another one
	// belongs to another request (a cache replaying a stored header).
	if got := r.header.Get("X-Request-ID"); got != id {
		t.Errorf("%s: X-Request-ID %q; want the request's own %q (X-Cache %q)", what, got, id, r.header.Get("X-Cache"))
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
		if r.header.Get(h) == "" {
			t.Errorf("%s: no %s header", what, h)
		}
	}
	if r.status >= 400 && (r.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/") || !strings.HasSuffix(strings.Split(r.header.Get("Content-Type"), ";")[0], "+json")) {
		t.Errorf("%s: an error answered with Content-Type %q, Cache-Control %q", what, r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
	}
	if in == nil {
		c.checkUnrouted(t, method, what, r)
		return r
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s: the answer does not match the document: %v", what, err)
	}
	return r
}

// checkUnrouted checks an answer to a path or method the document does not
// list against its NotFound and MethodNotAllowed responses.
func (c *contract) checkUnrouted(t tb, method, what string, r resp) {
	t.Helper()
	var name string
	switch r.status {
	case http.StatusNotFound:
		name = "NotFound"
	case http.StatusMethodNotAllowed:
		name = "MethodNotAllowed"
	default:
		t.Fatalf("%s: a path or method the document does not list answered %d; want 404 or 405", what, r.status)
	}
	spec := c.doc.Components.Responses[name].Value
	for h, ref := range spec.Headers {
		v := r.header.Get(h)
		if v == "" {
			if ref.Value.Required {
				t.Fatalf("%s: no %s header", what, h)
			}
			continue
		}
		if err := ref.Value.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("%s: header %s: %v", what, h, err)
		}
	}
	if method == http.MethodHead {
		if len(r.body) != 0 {
			t.Fatalf("%s: a body for HEAD", what)
		}
		return
	}
	var body any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s: body: %v", what, err)
	}
	if err := spec.Content.Get("application/problem+json").Schema.Value.VisitJSON(body, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("%s: body: %v", what, err)
	}
}

func bearer(token string) map[string]string {
	if token == "" {
		return map[string]string{}
	}
	return map[string]string{"Authorization": "Bearer " + token}
}

func jsonHeaders(token string) map[string]string {
	h := bearer(token)
	h["Content-Type"] = "application/json"
	return h
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// login logs in and returns the access token. With no password (a seeded
// user, whose password is random), it first sets one in the store.
func (c *contract) login(t tb, username, password string) string {
	t.Helper()
	if password == "" {
		password = "Brick-Lamp-Horse-Tulip"
		hash, err := c.s.app.hasher.Hash(password)
		if err != nil {
			t.Fatalf("hash: %v", err)
		}
		id, _, _, err := c.s.app.users.Credentials(context.Background(), username)
		if err != nil {
			t.Fatalf("%s: %v", username, err)
		}
		if err := c.s.app.users.SetPasswordHash(context.Background(), id, hash); err != nil {
			t.Fatalf("%s: %v", username, err)
		}
	}
	return c.session(t, username, password).AccessToken
}

func (c *contract) session(t tb, username, password string) tokenSet {
	t.Helper()
	r := c.exchange(t, "POST", "/auth/login", jsonHeaders(""), mustJSON(map[string]string{"username": username, "password": password}), true)
	if r.status != http.StatusOK {
		t.Fatalf("login %s = %d %s; want 200", username, r.status, r.body)
	}
	var set tokenSet
	if err := json.Unmarshal(r.body, &set); err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return set
}

// walk follows next_after from the first page to the last and returns
// every user in order, checking the order, that no user comes twice and
// that only the last page lacks next_after.
func (c *contract) walk(t tb, token string, limit int) []user {
	t.Helper()
	var all []user
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("the list did not end after 1000 pages")
		}
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if after > 0 {
			q.Set("after", strconv.FormatInt(after, 10))
		}
		r := c.exchange(t, "GET", "/api/v1/users?"+q.Encode(), bearer(token), nil, true)
		if r.status != http.StatusOK {
			t.Fatalf("list page after %d = %d %s", after, r.status, r.body)
		}
		var page struct {
			Users     []user `json:"users"`
			NextAfter *int64 `json:"next_after"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, u := range page.Users {
			if u.ID <= after {
				t.Fatalf("list after %d holds user %d: out of order or repeated", after, u.ID)
			}
			after = u.ID
		}
		all = append(all, page.Users...)
		if len(page.Users) > limit {
			t.Fatalf("a page of limit %d holds %d users", limit, len(page.Users))
		}
		if page.NextAfter == nil {
			if len(page.Users) == limit {
				t.Fatalf("a full page (limit %d) has no next_after", limit)
			}
			return all
		}
		if len(page.Users) != limit || *page.NextAfter != after {
			t.Fatalf("page of %d (limit %d) has next_after %d; last id %d", len(page.Users), limit, *page.NextAfter, after)
		}
	}
}

// servesDocument checks GET /openapi.yaml: the embedded bytes, an ETag and
// a 304 for it.
func (c *contract) servesDocument(t *testing.T) {
	r := c.exchange(t, "GET", "/openapi.yaml", nil, nil, true)
	if r.status != 200 || !bytes.Equal(r.body, openAPIDocument) || r.header.Get("ETag") == "" {
		t.Fatalf("GET /openapi.yaml = %d, %d bytes, ETag %q; want 200, the document, an ETag", r.status, len(r.body), r.header.Get("ETag"))
	}
	r = c.exchange(t, "GET", "/openapi.yaml", map[string]string{"If-None-Match": r.header.Get("ETag")}, nil, true)
	if r.status != http.StatusNotModified {
		t.Fatalf("GET /openapi.yaml with its ETag = %d; want 304", r.status)
	}
}

// Generators.

var genPassword = rapid.Just("Brick-Lamp-Horse-Tulip") // no digit or underscore: never holds a username

// genUsername draws a valid username: ASCII, at least one digit and an
// underscore, so that no password the test uses contains it.
var genUsername = rapid.Custom(func(t *rapid.T) string {
	return rapid.StringMatching(`[A-Za-z]{1,8}_[0-9]{1,6}[A-Za-z0-9_]{0,6}`).Draw(t, "username")
})

// confusables are characters that Unicode case mapping or folding takes to
// ASCII (or that look like it): none may pass as a username's letter.
var confusables = []string{
	"\u212A",  // KELVIN SIGN: lower case is k
	"\u017F",  // LATIN SMALL LETTER LONG S: folds to s
	"\u0131",  // LATIN SMALL LETTER DOTLESS I: upper case is I
	"\u0130",  // LATIN CAPITAL LETTER I WITH DOT ABOVE: lower case is i + U+0307
	"\uFF41",  // FULLWIDTH LATIN SMALL LETTER A
	"\uFF21",  // FULLWIDTH LATIN CAPITAL LETTER A
	"\uFF10",  // FULLWIDTH DIGIT ZERO
	"a\u0301", // a + COMBINING ACUTE ACCENT
	"e\u0308", // e + COMBINING DIAERESIS
	"\u0430",  // CYRILLIC SMALL LETTER A
	"\u00A0",  // NO-BREAK SPACE (TrimSpace would drop it)
	" ",
	"-",
	"\x00",
}

// genBadUsername draws a username that must be refused: a valid one with a
// confusable put in, or one of the wrong length.
var genBadUsername = rapid.Custom(func(t *rapid.T) string {
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		return rapid.StringMatching(`[a-z]{0,2}`).Draw(t, "short")
	case 1:
		return strings.Repeat("a", 51)
	}
	u := genUsername.Draw(t, "base")
	at := rapid.IntRange(0, len(u)).Draw(t, "at")
	conf := rapid.SampledFrom(confusables).Draw(t, "confusable")
	if rapid.Bool().Draw(t, "replace") && at < len(u) {
		return u[:at] + conf + u[at+1:]
	}
	return u[:at] + conf + u[at:]
})

// asciiFold is what Unicode-aware lower-casing would make of a bad
// username: if it names an existing user, the service must still refuse it
// as invalid (422), not as taken (409), and never log in as that user.
func asciiFold(s string) string { return strings.ToLower(s) }

func (c *contract) newUserBody(t *rapid.T) (map[string]any, string) {
	u := genUsername.Draw(t, "username")
	return map[string]any{
		"username": u,
		"email":    strings.ToLower(u) + "@example.org",
		"bio":      rapid.StringN(0, 40, -1).Draw(t, "bio"),
		"password": genPassword.Draw(t, "password"),
	}, u
}

// bodyProperty: a body that is not exactly the document a route takes is
// refused before anything else happens, with 400, 413 or 415.
func (c *contract) bodyProperty(t *rapid.T) {
	type target struct {
		path  string
		token string
		body  map[string]any
	}
	nu, _ := c.newUserBody(t)
	tg := rapid.SampledFrom([]target{
		{"/api/v1/users", c.admin, nu},
		{"/auth/login", "", map[string]any{"username": "admin", "password": "x"}},
		{"/auth/refresh", "", map[string]any{"refresh_token": "x"}},
		{"/auth/logout", "", map[string]any{"refresh_token": "x"}},
	}).Draw(t, "target")
	names := slices.Sorted(mapsKeys(tg.body))
	name := rapid.SampledFrom(names).Draw(t, "member")
	var members []string
	for _, n := range names {
		members = append(members, strconv.Quote(n)+":"+string(mustJSON(tg.body[n])))
	}
	obj := func(ms []string) []byte { return []byte("{" + strings.Join(ms, ",") + "}") }
	hdr := jsonHeaders(tg.token)
	var body []byte
	want := http.StatusBadRequest
	switch mut := rapid.IntRange(0, 12).Draw(t, "mutation"); mut {
	case 0: // a member name in another case
		i := slices.Index(names, name)
		members[i] = strconv.Quote(strings.ToUpper(name[:1])+name[1:]) + ":" + string(mustJSON(tg.body[name]))
		body = obj(members)
	case 1: // LONG S for an s, or KELVIN SIGN for a k, in a member name
		i := slices.Index(names, name)
		n := strings.Replace(strings.Replace(name, "s", "\u017F", 1), "k", "\u212A", 1)
		if n == name {
			n = name + "\u017F"
		}
		members[i] = strconv.Quote(n) + ":" + string(mustJSON(tg.body[name]))
		body = obj(members)
	case 2: // a repeated member, last one "winning" in lenient parsers
		body = obj(append(members, strconv.Quote(name)+`:"admin"`))
	case 3: // a repeated member differing only in case
		body = obj(append(members, strconv.Quote(strings.ToUpper(name))+`:"admin"`))
	case 4: // an unknown member
		body = obj(append(members, `"role":"admin"`))
	case 5: // data after the object
		body = append(obj(members), rapid.SampledFrom([]string{" {}", "x", "[]", ` {"role":"admin"}`}).Draw(t, "trailer")...)
	case 6: // a member of the wrong type
		i := slices.Index(names, name)
		members[i] = strconv.Quote(name) + ":" + rapid.SampledFrom([]string{"1", "true", "[]", "{}"}).Draw(t, "value")
		body = obj(members)
	case 7: // truncated
		full := obj(members)
		body = full[:rapid.IntRange(1, len(full)-1).Draw(t, "cut")]
	case 8: // invalid UTF-8 or a lone surrogate in a string
		i := slices.Index(names, name)
		members[i] = strconv.Quote(name) + ":" + rapid.SampledFrom([]string{"\"a\xffb\"", `"a\ud800b"`}).Draw(t, "string")
		body = obj(members)
	case 9: // not the top-level value the route takes
		body = []byte(rapid.SampledFrom([]string{"[]", `"x"`, "1"}).Draw(t, "top"))
	case 10: // an unsupported media type
		body = obj(members)
		hdr["Content-Type"] = rapid.SampledFrom([]string{"text/plain", "application/merge-patch+json",
			"application/vnd.covet+json", "application/json; charset=latin1", "application/x-www-form-urlencoded"}).Draw(t, "type")
		want = http.StatusUnsupportedMediaType
	case 11: // no Content-Type
		body = obj(members)
		delete(hdr, "Content-Type")
		want = http.StatusUnsupportedMediaType
	case 12: // too large
		body = obj(append(members, `"pad":"`+strings.Repeat("x", maxBodyBytes)+`"`))
		want = http.StatusRequestEntityTooLarge
	}
	r := c.exchange(t, "POST", tg.path, hdr, body, false)
	if r.status != want {
		t.Fatalf("POST %s %.120q = %d %s; want %d", tg.path, body, r.status, r.body, want)
	}
	if want == http.StatusBadRequest && strings.Contains(string(r.body), "admin") {
		t.Fatalf("POST %s: the problem repeats a value the client sent: %s", tg.path, r.body)
	}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// usernameProperty: a username with anything but ASCII letters, digits and
// underscores, or of the wrong length, is refused with 422 naming the
// field, on creation and on login, even when Unicode case mapping would
// make it an existing user's name.
func (c *contract) usernameProperty(t *rapid.T) {
	bad := genBadUsername.Draw(t, "username")
	if rapid.Bool().Draw(t, "login") {
		r := c.exchange(t, "POST", "/auth/login", jsonHeaders(""), mustJSON(map[string]string{"username": bad, "password": "Brick-Lamp-Horse-Tulip"}), false)
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("login as %q (folds to %q) = %d %s; want 422", bad, asciiFold(bad), r.status, r.body)
		}
		return
	}
	r := c.exchange(t, "POST", "/api/v1/users", jsonHeaders(c.admin), mustJSON(map[string]string{
		"username": bad, "email": "bad_" + strconv.FormatInt(c.reqID.Load(), 10) + "@example.org", "bio": "", "password": "Brick-Lamp-Horse-Tulip"}), false)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("create %q = %d %s; want 422", bad, r.status, r.body)
	}
	var p problemBody
	_ = json.Unmarshal(r.body, &p)
	if len(p.Errors) == 0 || p.Errors[0].Field != "username" {
		t.Fatalf("create %q = %s; want a 422 naming username", bad, r.body)
	}
}

// probeProperty: the probes answer every check by name (404 for another),
// plain or verbose, and the export holds every user once.
func (c *contract) probeProperty(t *rapid.T) {
	checks := []string{"database", "schema"}
	if c.s.app.rdb != nil {
		checks = append(checks, "redis")
	}
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		r := c.exchange(t, "GET", "/health", nil, nil, true)
		if r.status != 200 || !strings.Contains(string(r.body), `"status":"pass"`) {
			t.Fatalf("GET /health = %d %s", r.status, r.body)
		}
	case 1:
		q := rapid.SampledFrom([]string{"", "?verbose", "?exclude=" + rapid.SampledFrom(checks).Draw(t, "exclude")}).Draw(t, "query")
		if r := c.exchange(t, "GET", "/ready"+q, nil, nil, true); r.status != 200 {
			t.Fatalf("GET /ready%s = %d %s", q, r.status, r.body)
		}
	case 2:
		name := rapid.OneOf(rapid.SampledFrom(checks), rapid.StringMatching(`[a-z]{1,10}`)).Draw(t, "check")
		want := http.StatusNotFound
		if slices.Contains(checks, name) {
			want = http.StatusOK
		} else if name == "redis" || name == "tls" {
			t.Skip("a check of the other mode")
		}
		if r := c.exchange(t, "GET", "/ready/"+name, nil, nil, true); r.status != want {
			t.Fatalf("GET /ready/%s = %d %s; want %d", name, r.status, r.body, want)
		}
	case 3:
		r := c.exchange(t, "GET", "/export/users.csv", bearer(c.admin), nil, true)
		records, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if r.status != 200 || err != nil || len(records) != len(c.users)+1 {
			t.Fatalf("GET /export/users.csv = %d with %d records (%v); want 200 with a header and %d users", r.status, len(records), err, len(c.users))
		}
		seen := map[string]bool{}
		for _, rec := range records[1:] {
			if seen[rec[0]] {
				t.Fatalf("the export holds user %s twice", rec[0])
			}
			seen[rec[0]] = true
		}
	}
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// routingProperty: routing comes before authentication. A path that is
// not a route answers 404, a route with another method 405 with Allow,
// whatever the token; a route with its own method and no token or a bad
// one 401 with WWW-Authenticate, and a user's token on an admin route 403.
func (c *contract) routingProperty(t *rapid.T) {
	token := rapid.SampledFrom([]string{"", "not.a.token", c.user, c.admin}).Draw(t, "token")
	switch rapid.IntRange(0, 2).Draw(t, "kind") {
	case 0: // not a route
		prefix := rapid.SampledFrom([]string{"/api/v1/", "/api/", "/export/", "/auth/", "/api/v1/users/1/", "/"}).Draw(t, "prefix")
		path := prefix + rapid.StringMatching(`[a-z0-9._-]{1,12}`).Draw(t, "rest")
		if c.isRoute(path) {
			t.Skip("drew a route")
		}
		method := rapid.SampledFrom(methods).Draw(t, "method")
		r := c.exchange(t, method, path, bearer(token), nil, false)
		if r.status != http.StatusNotFound {
			t.Fatalf("%s %s = %d; want 404", method, path, r.status)
		}
	case 1: // a route, another method
		path := rapid.SampledFrom([]string{"/api/v1/users", "/api/v1/users/1", "/export/users.csv", "/auth/login", "/auth/refresh", "/auth/logout", "/openapi.yaml"}).Draw(t, "path")
		allowed := c.methodsOf(path)
		var others []string
		for _, m := range methods {
			if !slices.Contains(allowed, m) {
				others = append(others, m)
			}
		}
		method := rapid.SampledFrom(others).Draw(t, "method")
		r := c.exchange(t, method, path, bearer(token), nil, false)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != strings.Join(allowed, ", ") {
			t.Fatalf("%s %s = %d, Allow %q; want 405, Allow %q", method, path, r.status, r.header.Get("Allow"), strings.Join(allowed, ", "))
		}
	case 2: // a route: the token decides
		op := rapid.SampledFrom([]struct{ method, path string }{
			{"GET", "/api/v1/users"}, {"GET", "/api/v1/users/2"}, {"GET", "/export/users.csv"}, {"POST", "/api/v1/users"},
		}).Draw(t, "operation")
		if token == c.admin || (token == c.user && op.method == "GET" && op.path != "/export/users.csv") {
			t.Skip("a token that gets in")
		}
		h := jsonHeaders(token)
		r := c.exchange(t, op.method, op.path, h, []byte(`{}`), false)
		wantStatus, wantAuth := http.StatusUnauthorized, "Bearer"
		switch token {
		case "not.a.token":
			wantAuth = `Bearer error="invalid_token"`
		case c.user:
			wantStatus, wantAuth = http.StatusForbidden, `Bearer error="insufficient_scope"`
		}
		if r.status != wantStatus || r.header.Get("WWW-Authenticate") != wantAuth {
			t.Fatalf("%s %s = %d, WWW-Authenticate %q; want %d, %q", op.method, op.path, r.status, r.header.Get("WWW-Authenticate"), wantStatus, wantAuth)
		}
	}
}

// isRoute reports whether path is one of the document's paths.
func (c *contract) isRoute(path string) bool {
	req, _ := http.NewRequest("GET", c.s.base+path, nil)
	for _, m := range []string{"GET", "POST"} {
		req.Method = m
		if _, _, err := c.router.FindRoute(req); err == nil {
			return true
		}
	}
	return false
}

// methodsOf lists the methods the document gives path, HEAD with GET, in
// the service's Allow order.
func (c *contract) methodsOf(path string) []string {
	var out []string
	for _, m := range methods {
		look := m
		if m == "HEAD" {
			look = "GET"
		}
		req, _ := http.NewRequest(look, c.s.base+path, nil)
		if _, _, err := c.router.FindRoute(req); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// statefulProperty runs a drawn sequence of actions against the running
// service and a model of its users.
func (c *contract) statefulProperty(t *rapid.T) {
	actions := map[string]func(*rapid.T){
		"create": c.actCreate,
		"get":    c.actGet,
		"walk":   c.actWalk,
		"query":  c.actBadQuery,
		"session": func(t *rapid.T) {
			c.actSession(t)
		},
		"wrong password": c.actWrongPassword,
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range actions {
			if !yield(k) {
				return
			}
		}
	})
	for range rapid.IntRange(1, 4).Draw(t, "steps") {
		actions[rapid.SampledFrom(names).Draw(t, "action")](t)
	}
}

// spend takes one from the budget of password hashes, so that the
// generated logins and creations keep the test's time bounded.
func (c *contract) spend() bool {
	if c.hashes == 0 {
		return false
	}
	c.hashes--
	return true
}

// actCreate: a new user is created (201, Location) and reads back the
// same, in full for the admin and in part for another user; a username
// taken in any ASCII case answers 409.
func (c *contract) actCreate(t *rapid.T) {
	if !c.spend() {
		return
	}
	body, name := c.newUserBody(t)
	taken := false
	for _, u := range c.users {
		if u.Username == strings.ToLower(name) {
			taken = true
		}
	}
	r := c.exchange(t, "POST", "/api/v1/users", jsonHeaders(c.admin), mustJSON(body), true)
	bio := body["bio"].(string)
	if strings.ContainsRune(bio, 0) {
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("create with NUL in bio = %d %s; want 422", r.status, r.body)
		}
		return
	}
	if taken {
		if r.status != http.StatusConflict {
			t.Fatalf("create %q (taken) = %d %s; want 409", name, r.status, r.body)
		}
		return
	}
	if r.status != http.StatusCreated {
		t.Fatalf("create %q = %d %s; want 201", name, r.status, r.body)
	}
	var u user
	if err := json.Unmarshal(r.body, &u); err != nil {
		t.Fatal(err)
	}
	if u.Username != strings.ToLower(name) || u.Email != body["email"] || u.Bio != bio || u.Status != "active" {
		t.Fatalf("created %+v from %v", u, body)
	}
	loc := r.header.Get("Location")
	if loc != "/api/v1/users/"+strconv.FormatInt(u.ID, 10) {
		t.Fatalf("Location %q for user %d", loc, u.ID)
	}
	c.users[u.ID] = u
	c.passwords[u.ID] = body["password"].(string)

	got := c.exchange(t, "GET", loc, bearer(c.admin), nil, true)
	var back user
	if got.status != 200 || json.Unmarshal(got.body, &back) != nil || !back.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GET %s = %d %s; want %+v", loc, got.status, got.body, u)
	}
	back.CreatedAt = u.CreatedAt
	if back != u {
		t.Fatalf("GET %s = %+v; want %+v", loc, back, u)
	}
	pub := c.exchange(t, "GET", loc, bearer(c.user), nil, true)
	if pub.status != 200 || strings.Contains(string(pub.body), `"email"`) {
		t.Fatalf("GET %s as another user = %d %s; want the public fields", loc, pub.status, pub.body)
	}
	// Another ASCII case of the same name is taken.
	again := maps.Clone(body)
	again["username"] = strings.ToUpper(name)
	again["email"] = "other_" + strings.ToLower(name) + "@example.org"
	if r := c.exchange(t, "POST", "/api/v1/users", jsonHeaders(c.admin), mustJSON(again), true); r.status != http.StatusConflict {
		t.Fatalf("create %q after %q = %d %s; want 409", again["username"], name, r.status, r.body)
	}
}

// actGet: every known user reads back as the model holds it; an id past
// the last, or not a number, is 404.
func (c *contract) actGet(t *rapid.T) {
	maxID := int64(0)
	ids := make([]int64, 0, len(c.users))
	for id := range c.users {
		ids = append(ids, id)
		maxID = max(maxID, id)
	}
	slices.Sort(ids)
	id := rapid.SampledFrom(ids).Draw(t, "id")
	r := c.exchange(t, "GET", "/api/v1/users/"+strconv.FormatInt(id, 10), bearer(c.admin), nil, true)
	var u user
	if r.status != 200 || json.Unmarshal(r.body, &u) != nil || u.ID != id || u.Username != c.users[id].Username {
		t.Fatalf("GET user %d = %d %s; want %+v", id, r.status, r.body, c.users[id])
	}
	missing := rapid.SampledFrom([]string{strconv.FormatInt(maxID+1+rapid.Int64Range(0, 1000).Draw(t, "past"), 10), "0", "-1", "abc", "1e3", "99999999999999999999"}).Draw(t, "missing")
	if r := c.exchange(t, "GET", "/api/v1/users/"+missing, bearer(c.user), nil, true); r.status != http.StatusNotFound {
		t.Fatalf("GET user %s = %d %s; want 404", missing, r.status, r.body)
	}
}

// actWalk: the pages walk every user exactly once, in id order, for any
// page size, as an admin or a user; the cache never serves a page from
// before the latest creation.
func (c *contract) actWalk(t *rapid.T) {
	limit := rapid.IntRange(2, 60).Draw(t, "limit")
	token := rapid.SampledFrom([]string{c.admin, c.user}).Draw(t, "as")
	for range rapid.IntRange(1, 2).Draw(t, "times") { // twice: the second from the cache
		got := c.walk(t, token, limit)
		if len(got) != len(c.users) {
			t.Fatalf("the pages (limit %d) hold %d users; the service has %d", limit, len(got), len(c.users))
		}
		for _, u := range got {
			m, ok := c.users[u.ID]
			if !ok || m.Username != u.Username {
				t.Fatalf("the pages hold user %d %q; the model has %q", u.ID, u.Username, m.Username)
			}
		}
	}
}

// actBadQuery: a limit or after that is not acceptable is 422 naming it.
func (c *contract) actBadQuery(t *rapid.T) {
	param := rapid.SampledFrom([]string{"limit", "after"}).Draw(t, "param")
	bad := map[string][]string{
		"limit": {"0", "501", "-1", "x", "1.5", "", "99999999999999999999"},
		"after": {"-1", "x", "1.5", "99999999999999999999"},
	}[param]
	v := rapid.SampledFrom(bad).Draw(t, "value")
	r := c.exchange(t, "GET", "/api/v1/users?"+param+"="+url.QueryEscape(v), bearer(c.user), nil, false)
	if v == "" { // an empty value is the default
		if r.status != 200 {
			t.Fatalf("GET /api/v1/users?%s= = %d %s; want 200", param, r.status, r.body)
		}
		return
	}
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"field":"`+param+`"`) {
		t.Fatalf("GET /api/v1/users?%s=%s = %d %s; want 422 naming %s", param, v, r.status, r.body, param)
	}
}

// actSession: a created user logs in (in any ASCII case); its refresh
// token is good once (a reuse revokes the family); logout revokes the
// refresh token and the access token.
func (c *contract) actSession(t *rapid.T) {
	var ids []int64
	for id := range c.passwords {
		ids = append(ids, id)
	}
	if len(ids) == 0 || !c.spend() {
		return
	}
	slices.Sort(ids)
	id := rapid.SampledFrom(ids).Draw(t, "user")
	name := c.users[id].Username
	if rapid.Bool().Draw(t, "upper") {
		name = strings.ToUpper(name)
	}
	set := c.session(t, name, c.passwords[id])
	refresh := func(tok string) resp {
		return c.exchange(t, "POST", "/auth/refresh", jsonHeaders(""), mustJSON(map[string]string{"refresh_token": tok}), true)
	}
	r := refresh(set.RefreshToken)
	if r.status != 200 {
		t.Fatalf("refresh = %d %s; want 200", r.status, r.body)
	}
	var next tokenSet
	_ = json.Unmarshal(r.body, &next)
	if next.RefreshToken == set.RefreshToken {
		t.Fatalf("refresh returned the same refresh token")
	}
	if rapid.Bool().Draw(t, "reuse") {
		// The spent token again: refused, and the family with it.
		if r := refresh(set.RefreshToken); r.status != http.StatusUnauthorized {
			t.Fatalf("reused refresh token = %d %s; want 401", r.status, r.body)
		}
		if r := refresh(next.RefreshToken); r.status != http.StatusUnauthorized {
			t.Fatalf("refresh token of a revoked family = %d %s; want 401", r.status, r.body)
		}
		return
	}
	if r := c.exchange(t, "GET", "/api/v1/users/"+strconv.FormatInt(id, 10), bearer(next.AccessToken), nil, true); r.status != 200 {
		t.Fatalf("own record with a fresh token = %d %s", r.status, r.body)
	}
	h := jsonHeaders(next.AccessToken)
	if r := c.exchange(t, "POST", "/auth/logout", h, mustJSON(map[string]string{"refresh_token": next.RefreshToken}), true); r.status != http.StatusNoContent {
		t.Fatalf("logout = %d %s; want 204", r.status, r.body)
	}
	if r := refresh(next.RefreshToken); r.status != http.StatusUnauthorized {
		t.Fatalf("refresh after logout = %d %s; want 401", r.status, r.body)
	}
	r = c.exchange(t, "GET", "/api/v1/users/"+strconv.FormatInt(id, 10), bearer(next.AccessToken), nil, true)
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Fatalf("access token after logout = %d, WWW-Authenticate %q; want 401 invalid_token", r.status, r.header.Get("WWW-Authenticate"))
	}
}

// actWrongPassword: a wrong password, or a user that does not exist, is
// 401 with WWW-Authenticate: Bearer, the same answer for both.
func (c *contract) actWrongPassword(t *rapid.T) {
	if !c.spend() {
		return
	}
	name := genUsername.Draw(t, "username") + "_nobody"
	if len(name) > 50 {
		name = name[:50]
	}
	r := c.exchange(t, "POST", "/auth/login", jsonHeaders(""), mustJSON(map[string]string{"username": name, "password": "wrong-" + name}), true)
	key := strings.ToLower(name)
	c.failures[key]++
	if c.failures[key] > 5 { // locked after five failures
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("login as %s after five failures = %d %s; want 429 with Retry-After", name, r.status, r.body)
		}
		return
	}
	if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != "Bearer" {
		t.Fatalf("login as %s with a wrong password = %d, WWW-Authenticate %q; want 401, Bearer", name, r.status, r.header.Get("WWW-Authenticate"))
	}
}

// TestOpenAPIDocument checks the document on its own: valid OpenAPI 3.1,
// every operation answers problem+json for its errors, and every response
// names X-Request-ID.
func TestOpenAPIDocument(t *testing.T) {
	doc := loadDocument(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.yaml is OpenAPI %s; want 3.1", doc.OpenAPI)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				if _, ok := ref.Value.Headers["X-Request-ID"]; !ok {
					t.Errorf("%s %s %s: no X-Request-ID header", method, path, code)
				}
				if code >= "400" && ref.Value.Content.Get("application/problem+json") == nil && ref.Value.Content.Get("application/health+json") == nil {
					t.Errorf("%s %s %s: not application/problem+json", method, path, code)
				}
			}
		}
	}
}

// TestREADMEAgreesWithDocument checks the README's route table against the
// document: the same routes, and every status a row names is one the
// document gives that route.
func TestREADMEAgreesWithDocument(t *testing.T) {
	doc := loadDocument(t)
	readme, err := readREADME()
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(readme, "\n## Routes\n")
	if !ok {
		t.Fatal("README.md has no ## Routes section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	routeRE := regexp.MustCompile("`(GET|POST|PUT|PATCH|DELETE) (/[^ `?]*)[^`]*`")
	statusRE := regexp.MustCompile(`\b([1-5][0-9][0-9])\b`)
	inREADME := map[string]bool{}
	for line := range strings.SplitSeq(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.SplitN(line, "|", 4)
		var ops []*openapi3.Operation
		for _, m := range routeRE.FindAllStringSubmatch(cells[1], -1) {
			key := m[1] + " " + m[2]
			inREADME[key] = true
			item := doc.Paths.Value(m[2])
			if item == nil || item.GetOperation(m[1]) == nil {
				t.Errorf("README route %s is not in openapi.yaml", key)
				continue
			}
			ops = append(ops, item.GetOperation(m[1]))
		}
		for _, s := range statusRE.FindAllString(cells[2], -1) {
			if !slices.ContainsFunc(ops, func(op *openapi3.Operation) bool { return op.Responses.Value(s) != nil }) {
				t.Errorf("README says %s for %s; openapi.yaml does not list it", s, strings.TrimSpace(cells[1]))
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !inREADME[method+" "+path] {
				t.Errorf("openapi.yaml operation %s %s is not in the README's route table", method, path)
			}
		}
	}
	if !utf8.ValidString(readme) {
		t.Error("README.md is not UTF-8")
	}
}

func readREADME() (string, error) {
	data, err := os.ReadFile("../README.md")
	return string(data), err
}
