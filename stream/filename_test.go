package stream

import "testing"

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
