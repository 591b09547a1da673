package stream

import (
	"strings"
	"testing"
)

func TestContentDisposition(t *testing.T) {
	tests := []struct{ in, want string }{
		{"users.csv", `attachment; filename="users.csv"`},
		{"../../etc/passwd", `attachment; filename="passwd"`},
		{`C:\temp\a"b.csv`, `attachment; filename="ab.csv"`},
		{"a\r\nSet-Cookie: x=1;.csv", `attachment; filename="aSet-Cookie: x=1.csv"`},
		{"", `attachment; filename="export"`},
		{"..", `attachment; filename="export"`},
		{".hidden", `attachment; filename="hidden"`},
		{"100%.csv", `attachment; filename="100_.csv"; filename*=UTF-8''100%25.csv`},
		{"rapport é.csv", `attachment; filename="rapport _.csv"; filename*=UTF-8''rapport%20%C3%A9.csv`},
		{"a\u202egpj.exe", `attachment; filename="agpj.exe"`},
	}
	for _, tt := range tests {
		if got := contentDisposition(tt.in); got != tt.want {
			t.Errorf("contentDisposition(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzContentDisposition: whatever the name, the header value holds no
// control characters or unescaped quotes, and names no directory.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"a.csv", "../x", "a\r\nb", `q"q`, "é", "%", "\u202e", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v := contentDisposition(name)
		for _, r := range v {
			if r < 0x20 || r == 0x7f || r > 0x7e {
				t.Fatalf("contentDisposition(%q) = %q holds %U", name, v, r)
			}
		}
		fn, _, _ := strings.Cut(strings.TrimPrefix(v, `attachment; filename="`), `"`)
		if strings.ContainsAny(fn, `/\`) || fn == "" || strings.HasPrefix(fn, ".") {
			t.Fatalf("contentDisposition(%q) = %q: unsafe filename %q", name, v, fn)
		}
		if strings.Count(v, `"`) != 2 {
			t.Fatalf("contentDisposition(%q) = %q: stray quotes", name, v)
		}
	})
}
