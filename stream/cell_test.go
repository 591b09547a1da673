package stream

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppendCSVText(t *testing.T) {
	tests := []struct {
		in   string
		raw  bool
		null string
		want string
	}{
		{"plain", false, "", "plain"},
		{"", false, "", `""`},
		{"", false, "NULL", ``},
		{"NULL", false, "NULL", `"NULL"`},
		{`a "q", b`, false, "", `"a ""q"", b"`},
		{"l1\nl2", false, "", "\"l1\nl2\""},
		{"✓ é 日本", false, "", "✓ é 日本"},
		{"=1+1", false, "", "'=1+1"},
		{"=1+1", true, "", "=1+1"},
		{"+1", false, "", "+1"},
		{"-12.5", false, "", "-12.5"},
		{"-1+2", false, "", "'-1+2"},
		{"-", false, "", "'-"},
		{"-.5", false, "", "-.5"},
		{"-5.", false, "", "'-5."},
		{"@SUM(A1)", false, "", "'@SUM(A1)"},
		{"\tx", false, "", "'\tx"},
		{"\rx", false, "", "\"'\rx\""},
		{"=HYPERLINK(\"x\")", false, "", `"'=HYPERLINK(""x"")"`},
		{"＝1+1", false, "", "'＝1+1"},
		{"＠x", false, "", "'＠x"},
		{"－1", false, "", "'－1"},
		{"＋1", false, "", "'＋1"},
		{"＄1", false, "", "＄1"},
		{"a=b", false, "", "a=b"},
	}
	for _, tt := range tests {
		if got := string(appendCSVText(nil, []byte(tt.in), tt.raw, tt.null)); got != tt.want {
			t.Errorf("appendCSVText(%q, raw=%v, null=%q) = %q; want %q", tt.in, tt.raw, tt.null, got, tt.want)
		}
	}
}

func TestAppendValues(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.FixedZone("X", 3600))
	tests := []struct {
		v         any
		csv, json string
	}{
		{nil, "NULL", "null"},
		{int64(-7), "-7", "-7"},
		{1e20, "100000000000000000000", "100000000000000000000"},
		{0.000001, "0.000001", "0.000001"},
		{math.NaN(), "NaN", `"NaN"`},
		{math.Inf(1), "Infinity", `"Infinity"`},
		{math.Inf(-1), "-Infinity", `"-Infinity"`},
		{true, "true", "true"},
		{ts, "2024-01-02T02:04:05.5Z", `"2024-01-02T02:04:05.5Z"`},
		{"x<y", "x<y", `"x\u003cy"`},
		{[]byte("=b"), "'=b", `"=b"`},
		{int32(3), "3", `"3"`},
		{jsonValuer{}, "v", `"v"`},
	}
	for _, tt := range tests {
		if got := string(appendCSVValue(nil, tt.v, false, "NULL")); got != tt.csv {
			t.Errorf("appendCSVValue(%#v) = %q; want %q", tt.v, got, tt.csv)
		}
		if got := string(appendJSONValue(nil, tt.v)); got != tt.json {
			t.Errorf("appendJSONValue(%#v) = %q; want %q", tt.v, got, tt.json)
		}
	}
}

type jsonValuer struct{}

func (jsonValuer) Value() (any, error) { return "v", nil }
func (jsonValuer) String() string      { return "v" }

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\\n\r\t\x01", `"q\"b\\\n\r\t\u0001"`},
		{"<a>&", `"\u003ca\u003e\u0026"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"日本", `"日本"`},
	}
	for _, tt := range tests {
		if got := string(appendJSONString(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestPlainNumber(t *testing.T) {
	for s, want := range map[string]bool{"1": true, "-1": true, "+1.25": true, "-.5": true, ".": false, "-": false, "1e5": false, "1.": false, "": false, "1.2.3": false} {
		if got := plainNumber([]byte(s)); got != want {
			t.Errorf("plainNumber(%q) = %v; want %v", s, got, want)
		}
	}
}

// FuzzCSVCell checks the cell writer: a CSV reader gets back the value
// (with the neutralising quote when one was added), the output never starts
// with a formula character, and the COPY rewriter neutralises COPY's
// encoding of the same value to the same bytes.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "plain", "=1+1", "-12.5", "-1+2", "\"q\"", "a,b", "l\nl", "\r=", "＝x", "-\"", "+1\"\"", "\xef\xbc", "@", "\t"} {
		f.Add(s, false)
	}
	f.Add("=raw", true)
	f.Fuzz(func(t *testing.T, s string, raw bool) {
		out := appendCSVText(nil, []byte(s), raw, "")
		neut := !raw && needsNeutralising([]byte(s))
		if !raw {
			body := bytes.TrimPrefix(out, []byte{'"'})
			if len(s) > 0 && !bytes.HasPrefix(body, []byte{'\''}) && needsNeutralising(body) {
				t.Fatalf("appendCSVText(%q) = %q starts with a formula", s, out)
			}
		}
		want := s
		if neut {
			want = "'" + s
		}
		if !strings.ContainsAny(s, "\r") { // encoding/csv folds \r\n to \n
			r := csv.NewReader(bytes.NewReader(append(out, '\n')))
			r.LazyQuotes = false
			rec, err := r.Read()
			if s == "" && err == nil {
				// csv.Reader reads `""` as one empty field.
			} else if err != nil || len(rec) != 1 || rec[0] != want {
				t.Fatalf("csv reads %q back as %q, %v; want %q", out, rec, err, want)
			}
		}
		if len(s) >= maxPending-1 {
			return
		}
		cw := newTestRewriter(t, raw)
		in := append(appendCSVText([]byte("c\n"), []byte(s), true, ""), '\n')
		for i := range in { // one byte at a time: every chunk boundary
			if _, err := cw.Write(in[i : i+1]); err != nil {
				t.Fatalf("csvRewriter(%q): %v", in, err)
			}
		}
		if got, want := string(cw.s.buf), "c\n"+string(out)+"\n"; got != want {
			t.Fatalf("csvRewriter(%q) = %q; want %q", in, got, want)
		}
	})
}

func TestJSONStringValid(t *testing.T) {
	for _, s := range []string{"a\x00b", "\xed\xa0\x80", "ok ✓"} {
		out := appendJSONString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(out, &back); err != nil || !utf8.ValidString(back) {
			t.Errorf("appendJSONString(%q) = %s does not round-trip: %v", s, out, err)
		}
	}
}

func BenchmarkAppendCSVText(b *testing.B) {
	cells := [][]byte{[]byte("user123456"), []byte("someone@example.com"), []byte("=cmd"), []byte(`a "b", c`)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, c := range cells {
			buf = appendCSVText(buf, c, false, "")
		}
	}
}
