package stream

import (
	"net/http/httptest"
	"testing"
)

// newTestRewriter returns a csvRewriter over a recorder, with column "c"
// raw when raw is set and a flush threshold no test output reaches.
func newTestRewriter(t testing.TB, raw bool) *csvRewriter {
	t.Helper()
	opts := []Option{WithFlush(1<<30, 1<<30)}
	if raw {
		opts = append(opts, WithRawColumns("c"))
	}
	e, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(httptest.NewRecorder(), e, nil)
	return &csvRewriter{s: s, e: e}
}

func TestCopyWriterRewrites(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "a,b\n1,x\n", "a,b\n1,x\n"},
		{"formulas", "a,b\n=1,@x\n-5,-x\n", "a,b\n'=1,'@x\n-5,'-x\n"},
		{"quoted", "a\n\"=a,b\"\n\"-1\"\n\"-1\"\"\"\n\"\"\n\"\"\"\"\n", "a\n\"'=a,b\"\n\"-1\"\n\"'-1\"\"\"\n\"\"\n\"\"\"\"\n"},
		{"cr in quotes", "a\n\"\r\n=\"\n", "a\n\"'\r\n=\"\n"},
		{"empty fields", "a,b,c\n,,\n", "a,b,c\n,,\n"},
		{"fullwidth", "a\n＝1\n＄1\n\xef\xbc\n", "a\n'＝1\n＄1\n\xef\xbc\n"},
		{"quoted header", "\"x,y\",\"=z\"\n1,2\n", "\"x,y\",'=z\n1,2\n"},
		{"long number", "a\n-" + string(make1(300)) + "\n", "a\n'-" + string(make1(300)) + "\n"},
		{"number then text", "a\n\"-12\nx\"\n", "a\n\"'-12\nx\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
				cw := newTestRewriter(t, false)
				in := []byte(tt.in)
				for len(in) > 0 {
					n := min(chunk, len(in))
					if _, err := cw.Write(in[:n]); err != nil {
						t.Fatalf("chunk %d: Write: %v", chunk, err)
					}
					in = in[n:]
				}
				if got := string(cw.s.buf); got != tt.want {
					t.Fatalf("chunk %d: got %q; want %q", chunk, got, tt.want)
				}
			}
		})
	}
}

func make1(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = '1'
	}
	return b
}

func TestCopyWriterRenamesAndMalformed(t *testing.T) {
	e, err := New(WithHeader(map[string]string{"a": "Alpha"}), WithRawColumns("b"), WithFlush(1<<30, 1<<30))
	if err != nil {
		t.Fatal(err)
	}
	cw := &csvRewriter{s: newSink(httptest.NewRecorder(), e, nil), e: e}
	if _, err := cw.Write([]byte("a,b\n=1,=2\n")); err != nil {
		t.Fatal(err)
	}
	if got, want := string(cw.s.buf), "Alpha,b\n'=1,=2\n"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	e2, _ := New(WithoutHeader())
	cw = &csvRewriter{s: newSink(httptest.NewRecorder(), e2, nil), e: e2}
	if _, err := cw.Write([]byte("a\n\"x\"y\n")); err == nil {
		t.Error("malformed quoted field: no error")
	}
	cw = &csvRewriter{s: newSink(httptest.NewRecorder(), e2, nil), e: e2}
	if _, err := cw.Write([]byte("a\"b\n\"\n")); err == nil {
		t.Error("malformed header: no error")
	}
	cw = &csvRewriter{s: newSink(httptest.NewRecorder(), e2, nil), e: e2}
	if _, err := cw.Write(make([]byte, 2<<20)); err == nil {
		t.Error("oversized header: no error")
	}
}

// FuzzCSVRewrite checks the COPY rewriter on two-column rows split into
// arbitrary chunks: its output equals the cell writer's for the same values.
func FuzzCSVRewrite(f *testing.F) {
	f.Add("=1", "-2", uint8(1))
	f.Add("a,\"b\"", "\r\n", uint8(3))
	f.Add("", "－", uint8(2))
	f.Fuzz(func(t *testing.T, a, b string, chunk uint8) {
		if len(a) >= maxPending-1 || len(b) >= maxPending-1 {
			return
		}
		cw := newTestRewriter(t, false)
		in := []byte("x,y\n")
		in = appendCSVText(in, []byte(a), true, "")
		in = append(in, ',')
		in = appendCSVText(in, []byte(b), true, "")
		in = append(in, '\n')
		want := "x,y\n" + string(appendCSVText(nil, []byte(a), false, "")) + "," + string(appendCSVText(nil, []byte(b), false, "")) + "\n"
		n := int(chunk%16) + 1
		for p := in; len(p) > 0; {
			k := min(n, len(p))
			if _, err := cw.Write(p[:k]); err != nil {
				t.Fatalf("Write(%q): %v", in, err)
			}
			p = p[k:]
		}
		if got := string(cw.s.buf); got != want {
			t.Fatalf("rewrite of %q = %q; want %q", in, got, want)
		}
	})
}
