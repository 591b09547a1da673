package securehdr

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Every configuration error of the package matches ErrInvalidConfig, the
// narrower sentinels included.
func TestSentinelsWrapInvalidConfig(t *testing.T) {
	for _, err := range []error{ErrInvalidCSP, ErrInsecureCORS} {
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("errors.Is(%v, ErrInvalidConfig) = false; want true", err)
		}
		if !strings.HasPrefix(err.Error(), "securehdr: ") {
			t.Errorf("%q lacks the package prefix", err)
		}
	}
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"csp validate", func() error { return new(CSP).Set("script-src", "self").Validate() }, ErrInvalidCSP},
		{"csp in New", func() error { _, err := New(Config{CSP: new(CSP).Set("nope-src", Self)}); return err }, ErrInvalidCSP},
		{"cors credentials wildcard", func() error {
			_, err := NewCORS(CORSConfig{AllowedOrigins: []string{"*"}, AllowCredentials: true})
			return err
		}, ErrInsecureCORS},
		{"cors no origins", func() error { _, err := NewCORS(CORSConfig{}); return err }, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%s: err = %v; want it to match %v and ErrInvalidConfig", tt.name, err, tt.want)
			}
		})
	}
}

// A setting that would have no effect fails construction and names itself.
func TestSettingsThatDoNotApply(t *testing.T) {
	handler := func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusTeapot) }
	tests := []struct {
		name  string
		cfg   Config
		names string // "" means New must succeed
	}{
		{"hsts while omitted", Config{HSTS: HSTS{MaxAge: time.Hour}, Omit: []string{hstsKey}}, "Config.HSTS"},
		{"hsts preload while omitted", Config{HSTS: HSTS{MaxAge: 2 * year, Preload: true}, Omit: []string{"strict-transport-security"}}, "Config.HSTS"},
		{"zero hsts while omitted", Config{Omit: []string{hstsKey}}, ""},
		{"error handler without checks", Config{ErrorHandler: handler}, "Config.ErrorHandler"},
		{"error handler with only exempt paths", Config{ErrorHandler: handler, ExemptPaths: []string{"/healthz"}}, "Config.ErrorHandler"},
		{"error handler with hosts", Config{ErrorHandler: handler, AllowedHosts: []string{"example.com"}}, ""},
		{"error handler with redirect", Config{ErrorHandler: handler, RedirectHTTPS: true}, ""},
		{"redirect host without redirect", Config{RedirectHost: "example.com"}, "RedirectHost"},
		{"csp while omitted", Config{CSP: DefaultCSP(), Omit: []string{cspKey}}, "Config.CSP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.names == "" && err != nil:
				t.Errorf("New(%s) = %v; want no error", tt.name, err)
			case tt.names != "" && (!errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.names)):
				t.Errorf("New(%s) = %v; want ErrInvalidConfig naming %s", tt.name, err, tt.names)
			}
		})
	}
}

// securehdr takes no interface dependency: its only pluggable parts are a
// *CSP and an ErrorHandler func, whose nil values, typed or not, are the
// documented defaults.
func TestNilDependenciesAreDefaults(t *testing.T) {
	var policy *CSP
	var onError ErrorHandler
	h, err := New(Config{CSP: policy, ErrorHandler: onError, AllowedHosts: []string{"example.com"}})
	if err != nil {
		t.Fatalf("New with nil CSP and ErrorHandler = %v; want defaults", err)
	}
	w := httptest.NewRecorder()
	h.Handler(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "http://attacker.test/", nil))
	if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("refusal = %d %q; want DefaultErrorHandler's 400 problem+json", w.Code, w.Header().Get("Content-Type"))
	}
	if got, want := w.Header().Get(cspKey), DefaultCSP().String(); got != want {
		t.Errorf("CSP = %q; want DefaultCSP %q", got, want)
	}
}
