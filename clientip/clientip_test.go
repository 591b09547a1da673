package clientip

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		opts    []Option
	}{
		{"bad cidr", []string{"10.0.0.0/33"}, nil},
		{"not an address", []string{"proxy.local"}, nil},
		{"trusts everyone v4", []string{"0.0.0.0/0"}, nil},
		{"trusts everyone v6", []string{"10.0.0.0/8", "::/0"}, nil},
		{"unknown header", nil, []Option{WithHeader("X-Real-IP")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.trusted, tt.opts...); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("New(%q) = %v; want ErrInvalidConfig", tt.trusted, err)
			}
		})
	}
	if _, err := New(nil, nil, WithHeader("forwarded")); err != nil {
		t.Errorf("New(nil, nil, WithHeader(forwarded)) = %v; want nil (a nil option is ignored)", err)
	}
}

func TestResolveXFF(t *testing.T) {
	res, err := New([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no proxy, header ignored", "198.51.100.7:4000", []string{"203.0.113.1"}, "198.51.100.7"},
		{"trusted peer, no header", "10.0.0.1:4000", nil, "10.0.0.1"},
		{"one hop", "10.0.0.1:4000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"spoofed left part", "10.0.0.1:4000", []string{"1.1.1.1, 203.0.113.1"}, "203.0.113.1"},
		{"chain of proxies", "10.0.0.1:4000", []string{"1.1.1.1, 203.0.113.1, 10.2.3.4"}, "203.0.113.1"},
		{"several lines", "10.0.0.1:4000", []string{"1.1.1.1, 203.0.113.1", "10.2.3.4"}, "203.0.113.1"},
		{"all trusted", "10.0.0.1:4000", []string{"10.9.9.9, 10.2.3.4"}, "10.9.9.9"},
		{"port and brackets", "10.0.0.1:4000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"v4 with port", "10.0.0.1:4000", []string{"203.0.113.1:5555"}, "203.0.113.1"},
		{"mapped", "[::ffff:10.0.0.1]:4000", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
		{"zone dropped", "10.0.0.1:4000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"v6 proxy", "[2001:db8:ffff::2]:1", []string{"2001:db8::9"}, "2001:db8::9"},
		{"unknown from trusted proxy", "10.0.0.1:4000", []string{"1.1.1.1, unknown"}, "10.0.0.1"},
		{"garbage behind a trusted hop", "10.0.0.1:4000", []string{"junk, 10.2.3.4"}, "10.2.3.4"},
		{"empty elements", "10.0.0.1:4000", []string{" , 203.0.113.1 ,, "}, "203.0.113.1"},
		{"bad port", "10.0.0.1:4000", []string{"203.0.113.1:http"}, "10.0.0.1"},
		{"unix socket", "@", []string{"203.0.113.1"}, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("Forwarded", "for=192.0.2.99") // never read by this Resolver
			if got := res.Resolve(r).String(); got != tt.want {
				t.Errorf("Resolve(%s, XFF %q) = %s; want %s", tt.remote, tt.xff, got, tt.want)
			}
		})
	}
}

func TestResolveForwarded(t *testing.T) {
	res, err := New([]string{"10.0.0.0/8"}, WithHeader(Forwarded))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fwd  []string
		want string
	}{
		{"one element", []string{"for=203.0.113.1;proto=https"}, "203.0.113.1"},
		{"case and spaces", []string{"Proto=https; FOR = 203.0.113.1 "}, "203.0.113.1"},
		{"quoted v6 with port", []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"obfuscated port", []string{`for="203.0.113.1:_abc"`}, "203.0.113.1"},
		{"chain", []string{"for=1.1.1.1, for=203.0.113.1;by=10.0.0.1, for=10.3.3.3"}, "203.0.113.1"},
		{"several lines", []string{"for=1.1.1.1, for=203.0.113.1", "for=10.3.3.3"}, "203.0.113.1"},
		{"comma inside quotes", []string{`for=1.1.1.1;x="a, for=9.9.9.9", for=203.0.113.1`}, "203.0.113.1"},
		{"escaped quote", []string{`for=1.1.1.1;x="a\", for=9.9.9.9", for=203.0.113.1`}, "203.0.113.1"},
		{"unknown", []string{"for=1.1.1.1, for=unknown"}, "10.0.0.1"},
		{"obfuscated node", []string{"for=1.1.1.1, for=_hidden"}, "10.0.0.1"},
		{"no for", []string{"for=1.1.1.1, proto=https"}, "10.0.0.1"},
		{"for twice", []string{"for=1.1.1.1, for=203.0.113.1;for=198.51.100.1"}, "10.0.0.1"},
		{"unbalanced quote eats the element", []string{`for="1.1.1.1, for=203.0.113.1`}, "10.0.0.1"},
		{"stray quote", []string{`for=1.1.1.1", for=203.0.113.1`}, "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "10.0.0.1:4000"
			for _, v := range tt.fwd {
				r.Header.Add("Forwarded", v)
			}
			r.Header.Set("X-Forwarded-For", "192.0.2.99") // never read by this Resolver
			if got := res.Resolve(r).String(); got != tt.want {
				t.Errorf("Resolve(Forwarded %q) = %s; want %s", tt.fwd, got, tt.want)
			}
		})
	}
}

func TestHandlerAndAddr(t *testing.T) {
	res, err := New([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.4")
	if got := Addr(r).String(); got != "10.0.0.1" {
		t.Errorf("Addr without a Resolver = %s; want the peer (headers are not read)", got)
	}
	if _, ok := AddrFromContext(r.Context()); ok {
		t.Error("AddrFromContext without a Resolver reports an address")
	}
	var seen netip.Addr
	var inCtx bool
	res.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = Addr(r)
		_, inCtx = AddrFromContext(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), r)
	if seen.String() != "198.51.100.4" || !inCtx {
		t.Errorf("Addr behind Handler = %s (in context: %v); want 198.51.100.4 from the context", seen, inCtx)
	}
	ctx := WithAddr(context.Background(), netip.MustParseAddr("::ffff:192.0.2.1"))
	if a, _ := AddrFromContext(ctx); a.String() != "192.0.2.1" {
		t.Errorf("WithAddr(mapped) then AddrFromContext = %s; want 192.0.2.1", a)
	}
}

// checkHop is the invariant of every parsed hop: invalid, or an unmapped
// address without a zone.
func checkHop(t *testing.T, in string, a netip.Addr) {
	t.Helper()
	if a.IsValid() && (a.Is4In6() || a.Zone() != "") {
		t.Errorf("hop of %q = %s; want unmapped, without zone", in, a)
	}
}

func FuzzXFF(f *testing.F) {
	for _, s := range []string{"203.0.113.1", "1.1.1.1, 10.0.0.2", "[2001:db8::1]:80, unknown", " , ,", "fe80::1%eth0", "::ffff:1.2.3.4:80"} {
		f.Add(s)
	}
	res, err := New([]string{"10.0.0.0/8"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		hops := xffHops(line, nil)
		for _, h := range hops {
			checkHop(t, line, h)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("X-Forwarded-For", line)
		got := res.Resolve(r)
		if !got.IsValid() {
			t.Fatalf("Resolve(XFF %q) is invalid; want at least the peer", line)
		}
		if got != netip.MustParseAddr("10.0.0.1") && !contains(hops, got) {
			t.Fatalf("Resolve(XFF %q) = %s: neither the peer nor a hop", line, got)
		}
	})
}

func FuzzForwarded(f *testing.F) {
	for _, s := range []string{`for=203.0.113.1;proto=https`, `for="[2001:db8::1]:4711", for=unknown`, `for="a\"b", by=x`, `for=1.1.1.1;for=2.2.2.2`, `"`, `for=_x;;,`} {
		f.Add(s)
	}
	res, err := New([]string{"10.0.0.0/8"}, WithHeader(Forwarded))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		hops := forwardedHops(line, nil)
		for _, h := range hops {
			checkHop(t, line, h)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("Forwarded", line)
		got := res.Resolve(r)
		if !got.IsValid() {
			t.Fatalf("Resolve(Forwarded %q) is invalid; want at least the peer", line)
		}
		if got != netip.MustParseAddr("10.0.0.1") && !contains(hops, got) {
			t.Fatalf("Resolve(Forwarded %q) = %s: neither the peer nor a hop", line, got)
		}
	})
}

func contains(hops []netip.Addr, a netip.Addr) bool {
	for _, h := range hops {
		if h == a {
			return true
		}
	}
	return false
}

func BenchmarkResolve(b *testing.B) {
	for _, bc := range []struct{ name, header, value string }{
		{"xff", XForwardedFor, "198.51.100.1, 203.0.113.1, 10.0.0.2"},
		{"forwarded", Forwarded, "for=198.51.100.1, for=203.0.113.1;proto=https, for=10.0.0.2"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			res, err := New([]string{"10.0.0.0/8"}, WithHeader(bc.header))
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "10.0.0.1:4000"
			r.Header.Set(bc.header, bc.value)
			b.ReportAllocs()
			for b.Loop() {
				if !res.Resolve(r).IsValid() {
					b.Fatal("invalid")
				}
			}
		})
	}
}
