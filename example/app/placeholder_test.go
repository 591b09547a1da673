package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestPlaceholdersRefusedInProduction(t *testing.T) {
	tests := []struct {
		name, variable, value string
	}{
		{"angle brackets", "SECRET_KEY", "<SECRET_KEY: openssl rand -base64 48>"},
		{"change-me", "SECRET_KEY", "change-me-change-me-change-me-change-me"},
		{"CHANGEME", "ADMIN_PASSWORD", "CHANGEME"},
		{"REPLACE", "SECRET_KEY", "REPLACE-with-at-least-32-random-bytes"},
		{"example", "ADMIN_PASSWORD", "example password"},
		{"placeholder", "S3_SECRET_KEY", "s3-placeholder-key"},
		{"xxx", "S3_ACCESS_KEY", "XXXX-XXXX-XXXX"},
		{"your password", "ADMIN_PASSWORD", "your_password"},
		{"url password in brackets", "DATABASE_URL", "postgres://covet:<DATABASE_PASSWORD>@db:5432/covet?sslmode=verify-full"},
		{"url password changeme", "DATABASE_URL", "postgres://covet:changeme@db:5432/covet?sslmode=verify-full"},
		{"redis password", "REDIS_URL", "rediss://:<REDIS_PASSWORD>@redis:6379/0"},
		{"sentry template", "SENTRY_DSN", "<SENTRY_DSN>"},
		{"signing keys", "SIGNING_KEYS", "k1:" + strings.Repeat("x", 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := prodEnv(map[string]string{tt.variable: tt.value})
			if tt.variable == "SIGNING_KEYS" {
				env["SECRET_KEY"] = ""
			}
			_, err := LoadConfig(func(k string) string { return env[k] })
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("LoadConfig(%s=%q) = %v; want ErrConfig", tt.variable, tt.value, err)
			}
			if !strings.Contains(err.Error(), tt.variable+": looks like a placeholder") {
				t.Errorf("LoadConfig(%s=%q) = %v; want the variable named as a placeholder", tt.variable, tt.value, err)
			}
			if strings.Contains(err.Error(), tt.value) {
				t.Errorf("the error repeats the value: %v", err)
			}
		})
	}
}

func TestPlaceholdersNamesEachVariable(t *testing.T) {
	env := prodEnv(map[string]string{"SECRET_KEY": "<SECRET_KEY>", "ADMIN_PASSWORD": "<ADMIN_PASSWORD>",
		"S3_ACCESS_KEY": "<S3_ACCESS_KEY>", "S3_SECRET_KEY": "<S3_SECRET_KEY>"})
	_, err := LoadConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("LoadConfig accepted four placeholders")
	}
	for _, v := range []string{"SECRET_KEY", "ADMIN_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"} {
		if !strings.Contains(err.Error(), v+": looks like a placeholder") {
			t.Errorf("error does not name %s:\n%v", v, err)
		}
	}
}

func TestPlaceholdersAccepted(t *testing.T) {
	tests := []struct{ variable, value string }{
		{"ADMIN_PASSWORD", "correct horse battery staple"},
		// The host may be example.com: only the password is a secret.
		{"DATABASE_URL", "postgres://covet:s3cr3t-Pa55@db.example.com:5432/covet?sslmode=verify-full"},
		{"REDIS_URL", "rediss://:Zq9w7e5r3t1y@redis.example.com:6379/0"},
		{"SENTRY_DSN", "https://0123456789abcdef@o1.ingest.example.com/42"},
	}
	for _, tt := range tests {
		env := prodEnv(map[string]string{tt.variable: tt.value})
		if _, err := LoadConfig(func(k string) string { return env[k] }); err != nil {
			t.Errorf("LoadConfig(%s=%q) = %v; want nil", tt.variable, tt.value, err)
		}
	}
	// Not outside production: the embedded defaults and tests use anything.
	env := map[string]string{"ADMIN_PASSWORD": "changeme"}
	if _, err := LoadConfig(func(k string) string { return env[k] }); err != nil {
		t.Errorf("development: LoadConfig = %v; want nil", err)
	}
}

// TestRandomKeysNeverPlaceholders: keys made as the README says (openssl
// rand -base64 48, -hex 32) are never taken for placeholders.
func TestRandomKeysNeverPlaceholders(t *testing.T) {
	b := make([]byte, 48)
	for range 20000 {
		_, _ = rand.Read(b)
		for _, k := range []string{base64.StdEncoding.EncodeToString(b), hex.EncodeToString(b[:32])} {
			if m := placeholderMarker(k); m != "" {
				t.Fatalf("placeholderMarker(%q) = %s; want none", k, m)
			}
		}
	}
}

func FuzzPlaceholderMarker(f *testing.F) {
	for _, s := range []string{"<x>", "change-me", "CHANGEME", "xxx", "a<b", "postgres://u:<p>@h/d", "ok-value"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := placeholderMarker(s)
		if m == "" {
			return
		}
		// The marker is one of ours, never a piece of the value.
		if m != `"<…>"` && m != `"xxx"` && !placeholderWords[strings.Trim(m, `"`)] {
			t.Fatalf("placeholderMarker(%q) = %s; not a known marker", s, m)
		}
	})
}

func BenchmarkPlaceholderMarker(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		placeholderMarker("9f2c1e0b7a4d6c3e8b5a2f1d0c9e8b7a6d5c4b3a2f1e0d9c")
	}
}
