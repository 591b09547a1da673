package jsonbody_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/covetgo/covet/jsonbody"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Read decodes the body or answers the client with a problem and returns
// false.
func ExampleDecoder_Read() {
	dec, err := jsonbody.New(jsonbody.WithMaxBytes(4 << 10))
	if err != nil {
		panic(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in credentials
		if !dec.Read(w, r, &in) {
			return
		}
		fmt.Fprintf(w, "hello %s\n", in.Username)
	})

	for _, body := range []string{
		`{"username":"ann","password":"pw"}`,
		`{"Username":"ann","password":"pw"}`,
		`{"username":"ann","username":"root","password":"pw"}`,
	} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 hello ann
	// 400 {"type":"about:blank","title":"Bad Request","status":400,"detail":"request body has a member that is not accepted (member names are case-sensitive)"}
	// 400 {"type":"about:blank","title":"Bad Request","status":400,"detail":"request body has member \"username\" more than once"}
}

// Decode returns errors to branch on when a handler answers in its own way.
func ExampleDecoder_Decode() {
	var dec jsonbody.Decoder // the zero Decoder has the defaults
	r := httptest.NewRequest("POST", "/login", strings.NewReader(`{"username":"ann"}`))
	r.Header.Set("Content-Type", "application/merge-patch+json")

	var in credentials
	err := dec.Decode(r, &in)
	switch {
	case errors.Is(err, jsonbody.ErrContentType):
		fmt.Println("415:", err)
	case err != nil:
		fmt.Println("400:", err)
	}
	// Output:
	// 415: jsonbody: unsupported content type: request body must be sent as application/json
}

func ExampleDecoder_Unmarshal() {
	var dec jsonbody.Decoder
	var v map[string]any
	fmt.Println(dec.Unmarshal([]byte(`{"a":{"b":1,"b":2}}`), &v))
	fmt.Println(dec.Unmarshal([]byte(`{"a":1} {"a":2}`), &v))
	// Output:
	// jsonbody: duplicate member: request body has a member more than once (at byte 12)
	// jsonbody: malformed JSON: request body has data after the JSON value (at byte 8)
}
