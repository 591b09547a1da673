package jsonbody

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type login struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type profile struct {
	Name  string            `json:"name"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]any    `json:"attrs"`
	Raw   json.RawMessage   `json:"raw"`
	When  *time.Time        `json:"when"`
	Pets  []pet             `json:"pets"`
	Notes map[string]string `json:"notes"`
}

type pet struct {
	Kind string `json:"kind"`
	Age  int    `json:"age"`
}

func request(ct, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           error // nil: accepted
	}{
		{"plain", "application/json", `{"username":"ann","password":"pw"}`, nil},
		{"charset", "application/json; charset=UTF-8", `{"username":"ann"}`, nil},
		{"case of type", "Application/JSON", `{"username":"ann"}`, nil},
		{"escaped name", "application/json", `{"\u0075sername":"ann"}`, nil},
		{"white space", "application/json", " \t\r\n{\"username\" : \"ann\"}\n", nil},
		{"no content type", "", `{"username":"ann"}`, ErrContentType},
		{"text", "text/plain", `{"username":"ann"}`, ErrContentType},
		{"plus json", "application/merge-patch+json", `{"username":"ann"}`, ErrContentType},
		{"other charset", "application/json; charset=latin1", `{"username":"ann"}`, ErrContentType},
		{"other parameter", "application/json; v=1", `{"username":"ann"}`, ErrContentType},
		{"bad media type", "application/", `{}`, ErrContentType},
		{"capital name", "application/json", `{"Username":"ann"}`, ErrUnknownMember},
		{"long s", "application/json", `{"u\u017fername":"ann"}`, ErrUnknownMember},
		{"long s raw", "application/json", "{\"u\u017fername\":\"ann\"}", ErrUnknownMember},
		{"kelvin", "application/json", `{"username":"ann","\u212a":1}`, ErrUnknownMember},
		{"unknown", "application/json", `{"username":"ann","admin":true}`, ErrUnknownMember},
		{"duplicate", "application/json", `{"username":"ann","username":"bob"}`, ErrDuplicate},
		{"duplicate escaped", "application/json", `{"username":"ann","\u0075sername":"bob"}`, ErrDuplicate},
		{"duplicate by case", "application/json", `{"username":"ann","Username":"bob"}`, ErrUnknownMember},
		{"empty", "application/json", ``, ErrSyntax},
		{"blank", "application/json", "  \n", ErrSyntax},
		{"trailing object", "application/json", `{"username":"ann"}{}`, ErrSyntax},
		{"trailing garbage", "application/json", `{"username":"ann"} x`, ErrSyntax},
		{"truncated", "application/json", `{"username":"an`, ErrSyntax},
		{"single quotes", "application/json", `{'username':'ann'}`, ErrSyntax},
		{"trailing comma", "application/json", `{"username":"ann",}`, ErrSyntax},
		{"bad utf8", "application/json", "{\"username\":\"\xff\"}", ErrSyntax},
		{"lone surrogate", "application/json", `{"username":"\ud800"}`, ErrSyntax},
		{"reversed pair", "application/json", `{"username":"\udc00\ud800"}`, ErrSyntax},
		{"control char", "application/json", "{\"username\":\"a\tb\"}", ErrSyntax},
		{"wrong type", "application/json", `{"username":1}`, ErrValue},
		{"array", "application/json", `[]`, ErrValue},
		{"null", "application/json", `null`, nil},
	}
	var d Decoder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in login
			err := d.Decode(request(tt.ct, tt.body), &in)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decode(%q, %q) = %v; want %v", tt.ct, tt.body, err, tt.want)
			}
			if err == nil && tt.body != "null" && in.Username != "ann" {
				t.Fatalf("Decode(%q) username = %q; want ann", tt.body, in.Username)
			}
		})
	}
}

func TestDecodeNested(t *testing.T) {
	tests := []struct {
		body   string
		want   error
		detail string
	}{
		{`{"name":"a","tags":["x"],"attrs":{"k":{"deep":[1,{"a":1}]}},"raw":{"x":1},"pets":[{"kind":"cat","age":2}],"notes":{"A":"1","a":"2"}}`, nil, ""},
		{`{"attrs":{"k":1,"k":2}}`, ErrDuplicate, "request body has a member more than once"},
		{`{"attrs":{"k":{"deep":[{"a":1,"a":2}]}}}`, ErrDuplicate, ""},
		{`{"raw":{"x":1,"x":2}}`, ErrDuplicate, ""},
		{`{"pets":[{"kind":"cat","kind":"dog"}]}`, ErrDuplicate, `request body has member "pets.kind" more than once`},
		{`{"pets":[{"kind":"cat","Age":2}]}`, ErrUnknownMember, `request body has a member in "pets" that is not accepted (member names are case-sensitive)`},
		{`{"pets":[{"age":"2"}]}`, ErrValue, `member "pets.age" has the wrong type`},
		{`{"notes":{"a":1}}`, ErrValue, `member "notes" has the wrong type`},
		{`{"attrs":{"k":1},"pets":{"x":1}}`, ErrValue, `member "pets" has the wrong type`},
		{`{"when":"yesterday"}`, ErrValue, "request body has an invalid value"},
		{`{"name":"a","name":"b"}`, ErrDuplicate, `request body has member "name" more than once`},
		{`{"attrs":{"k":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}}`, ErrSyntax, "request body is nested too deeply"},
	}
	var d Decoder
	for _, tt := range tests {
		var p profile
		err := d.Unmarshal([]byte(tt.body), &p)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("Unmarshal(%.60q) = %v; want %v", tt.body, err, tt.want)
			continue
		}
		if e, ok := asType[*Error](err); ok && tt.detail != "" && e.Detail != tt.detail {
			t.Errorf("Unmarshal(%.60q) detail = %q; want %q", tt.body, e.Detail, tt.detail)
		}
	}
}

func TestDeepArrayRefused(t *testing.T) {
	var v any
	err := (&Decoder{}).Unmarshal([]byte(strings.Repeat("[", 1001)+strings.Repeat("]", 1001)), &v)
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("Unmarshal(1001 nested arrays) = %v; want ErrSyntax", err)
	}
}

func TestManyMembers(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1`)
	}
	ok := b.String() + "}"
	dup := b.String() + `,"kaa":2}`
	var d Decoder
	var m map[string]int
	if err := d.Unmarshal([]byte(ok), &m); err != nil || len(m) != 100 {
		t.Fatalf("Unmarshal(100 members) = %v, %d members; want nil, 100", err, len(m))
	}
	if err := d.Unmarshal([]byte(dup), &m); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Unmarshal(101st member repeating the first) = %v; want ErrDuplicate", err)
	}
}

type Base struct {
	ID    int    `json:"id"`
	Name  string // promoted, hidden by Outer.Name
	Dup   string
	inner int
}

type Other struct {
	Dup string // ties with Base.Dup: neither is a member
}

type Outer struct {
	Base
	*Other
	Name   string `json:"name"`
	Skip   string `json:"-"`
	Plain  int
	hidden int
}

func TestStructFields(t *testing.T) {
	_ = Outer{Base: Base{inner: 1}, hidden: 1} // unexported: never members
	var d Decoder
	for body, want := range map[string]error{
		`{"id":1,"name":"x","Plain":2}`: nil,
		`{"Name":"x"}`:                  nil, // Base.Name, as encoding/json has it
		`{"NAME":"x"}`:                  ErrUnknownMember,
		`{"Dup":"x"}`:                   ErrUnknownMember,
		`{"Skip":"x"}`:                  ErrUnknownMember,
		`{"inner":1}`:                   ErrUnknownMember,
		`{"hidden":1}`:                  ErrUnknownMember,
		`{"Base":{}}`:                   ErrUnknownMember,
		`{"plain":1}`:                   ErrUnknownMember,
	} {
		var o Outer
		err := d.Unmarshal([]byte(body), &o)
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Unmarshal(%s) = %v; want %v", body, err, want)
		}
	}
}

type tree struct {
	Value    int     `json:"value"`
	Children []*tree `json:"children"`
}

func TestRecursiveType(t *testing.T) {
	var d Decoder
	var tr tree
	if err := d.Unmarshal([]byte(`{"value":1,"children":[{"value":2,"children":[{"value":3}]}]}`), &tr); err != nil {
		t.Fatalf("Unmarshal(tree) = %v", err)
	}
	if err := d.Unmarshal([]byte(`{"children":[{"children":[{"Value":3}]}]}`), &tr); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("Unmarshal(tree with Value) = %v; want ErrUnknownMember", err)
	}
}

func TestUnmarshalNotPointer(t *testing.T) {
	var d Decoder
	var l login
	err := d.Unmarshal([]byte(`{}`), l)
	if err == nil {
		t.Fatal("Unmarshal(non-pointer) = nil; want an error")
	}
	rec := httptest.NewRecorder()
	WriteError(rec, err)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "login") {
		t.Fatalf("WriteError(programming error) = %d %s; want a bare 500", rec.Code, rec.Body)
	}
}

func TestSizeLimit(t *testing.T) {
	d, err := New(WithMaxBytes(16))
	if err != nil {
		t.Fatal(err)
	}
	var l login
	if err := d.Decode(request("application/json", `{"username":"a"}`), &l); err != nil {
		t.Fatalf("Decode(16 bytes) = %v; want nil", err)
	}
	if err := d.Decode(request("application/json", `{"username":"ab"}`), &l); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode(17 bytes) = %v; want ErrTooLarge", err)
	}
	// Unknown length: read up to the limit and one byte more.
	r := request("application/json", `{"username":"ab"}`)
	r.ContentLength = -1
	r.Body = io.NopCloser(strings.NewReader(`{"username":"ab"}` + strings.Repeat(" ", 1<<20)))
	if err := d.Decode(r, &l); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode(chunked, too large) = %v; want ErrTooLarge", err)
	}
	// A declared length over the limit is refused without reading.
	r = request("application/json", "")
	r.ContentLength = 1 << 30
	r.Body = io.NopCloser(errReader{})
	if err := d.Decode(r, &l); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode(Content-Length 1 GiB) = %v; want ErrTooLarge", err)
	}
	// A limit set by an outer http.MaxBytesReader counts too.
	r = request("application/json", `{"username":"ab"}`)
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(nil, r.Body, 4)
	if err := d.Decode(r, &l); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Decode(outer MaxBytesReader) = %v; want ErrTooLarge", err)
	}
	r = request("application/json", "")
	r.ContentLength = -1
	r.Body = io.NopCloser(errReader{})
	if err := d.Decode(r, &l); !errors.Is(err, ErrRead) {
		t.Fatalf("Decode(failing body) = %v; want ErrRead", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestNew(t *testing.T) {
	for _, opts := range [][]Option{
		{WithMaxBytes(0)},
		{WithMaxBytes(-1)},
		{WithContentTypes()},
		{WithContentTypes("application/*")},
		{WithContentTypes("application/json; charset=utf-8")},
		{WithContentTypes("json")},
	} {
		if _, err := New(opts...); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%d options) = %v; want ErrInvalidConfig", len(opts), err)
		}
	}
	d, err := New(WithContentTypes("application/json", "Application/Merge-Patch+JSON"))
	if err != nil {
		t.Fatal(err)
	}
	var l login
	for ct, want := range map[string]error{
		"application/merge-patch+json": nil,
		"application/json":             nil,
		"application/vnd.x+json":       ErrContentType,
	} {
		if err := d.Decode(request(ct, `{"username":"ann"}`), &l); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Decode(%s) = %v; want %v", ct, err, want)
		}
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		ct, body string
		status   int
		detail   string
	}{
		{"application/json", `{"username":"ann"}`, 200, ""},
		{"text/plain", `{}`, 415, "request body must be sent as application/json"},
		{"application/json", `{"username":"ann","username":"<b>"}`, 400, `request body has member "username" more than once`},
		{"application/json", `{"<script>":1}`, 400, "request body has a member that is not accepted (member names are case-sensitive)"},
		{"application/json", `{"username":"ann"` + strings.Repeat(" ", 100) + `}`, 413, "request body is larger than 64 bytes"},
	}
	d, _ := New(WithMaxBytes(64))
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		var l login
		if d.Read(rec, request(tt.ct, tt.body), &l) {
			if tt.status != 200 {
				t.Errorf("Read(%q) = true; want %d", tt.body, tt.status)
			}
			continue
		}
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != tt.status || p.Status != tt.status || p.Detail != tt.detail ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("Read(%q) = %d %s %s; want %d with detail %q", tt.body, rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.status, tt.detail)
		}
	}
}

func TestErrorText(t *testing.T) {
	var l login
	err := (&Decoder{}).Unmarshal([]byte(`{"username":"a", "username":"b"}`), &l)
	if got, want := err.Error(), `jsonbody: duplicate member: request body has member "username" more than once (at byte 17)`; got != want {
		t.Fatalf("Error() = %q; want %q", got, want)
	}
}

func BenchmarkDecode(b *testing.B) {
	body := `{"username":"ann.example","password":"correct horse battery staple"}`
	var d Decoder
	b.Run("jsonbody", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var l login
			if err := d.Decode(request("application/json", body), &l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var l login
			r := request("application/json", body)
			dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, DefaultMaxBytes))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUnmarshalLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"name":"x","pets":[`)
	for i := range 2000 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"kind":"cat","age":3}`)
	}
	sb.WriteString(`],"attrs":{"a":1,"b":[true,false,null],"c":"\u00e9t\u00e9"}}`)
	data := []byte(sb.String())
	var d Decoder
	b.Run("jsonbody", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var p profile
			if err := d.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var p profile
			if err := json.Unmarshal(data, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
