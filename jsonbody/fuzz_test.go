package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzUnmarshal holds the strict pass to encoding/json: whatever it accepts
// is valid JSON that encoding/json decodes to the same value, and whatever
// valid UTF-8 JSON it refuses is refused for a reason encoding/json does not
// check (a duplicate, a lone surrogate, depth, an unknown or differently
// cased name).
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"username":"ann","password":"pw"}`, `{"Username":"ann"}`, `{"u\u017fername":"x"}`,
		`{"a":{"b":[1,2,{"c":null}]},"a":1}`, `[1,2.5e3,-0,"\ud83d\ude00"]`, `"\ud800"`, `{"username":"a"}{}`,
		`{"username":"\u00e9","password":""}`, "\xff", `{"x":1,"X":2}`, ` 1 `, `tru`, `{"username":1}`,
	} {
		f.Add([]byte(s))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		err := d.Unmarshal(data, &v)
		valid := json.Valid(data)
		if err == nil {
			if !valid {
				t.Fatalf("Unmarshal(%q) = nil; encoding/json says it is not JSON", data)
			}
			var w any
			if err := json.Unmarshal(data, &w); err != nil || !reflect.DeepEqual(v, w) {
				t.Fatalf("Unmarshal(%q) = %#v; encoding/json gives %#v, %v", data, v, w, err)
			}
		} else {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrDuplicate) {
				t.Fatalf("Unmarshal(%q) into any = %v; want ErrSyntax or ErrDuplicate", data, err)
			}
			if valid && utf8.Valid(data) && errors.Is(err, ErrSyntax) {
				if e, _ := asType[*Error](err); e.Detail != "request body has a lone surrogate escape" && e.Detail != "request body is nested too deeply" {
					t.Fatalf("Unmarshal(%q) = %v; encoding/json finds it valid", data, err)
				}
			}
		}

		var l login
		err = d.Unmarshal(data, &l)
		if err == nil {
			var w login
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&w); err != nil || w != l {
				t.Fatalf("Unmarshal(%q) = %+v; encoding/json gives %+v, %v", data, l, w, err)
			}
		} else if _, ok := asType[*Error](err); !ok {
			t.Fatalf("Unmarshal(%q) into a struct = %v; want an *Error", data, err)
		}
	})
}
