package health

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// tlsServer serves TLS with a leaf for 127.0.0.1 valid from notBefore to
// notAfter, signed by a fresh CA; it returns the address and the CA pool.
func tlsServer(t *testing.T, notBefore, notAfter time.Time) (string, *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: notBefore, NotAfter: notAfter,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return srv.Listener.Addr().String(), pool
}

func TestTLSCert(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	tests := []struct {
		name       string
		from, till time.Time
		untrusted  bool
		wantStatus Status
		wantErr    error
	}{
		{"valid for 60 days", now.Add(-day), now.Add(60 * day), false, StatusPass, nil},
		{"expires in 5 days", now.Add(-day), now.Add(5 * day), false, StatusWarn, ErrWarn},
		{"expired an hour ago", now.Add(-30 * day), now.Add(-time.Hour), false, StatusFail, ErrCertExpired},
		{"not valid yet", now.Add(day), now.Add(60 * day), false, StatusFail, nil},
		{"untrusted issuer", now.Add(-day), now.Add(60 * day), true, StatusFail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, pool := tlsServer(t, tt.from, tt.till)
			cfg := &tls.Config{RootCAs: pool}
			if tt.untrusted {
				cfg = nil
			}
			check, err := TLSCert(addr, 14*day, cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = check(context.Background())
			if tt.wantStatus == StatusPass && err != nil {
				t.Fatalf("check = %v; want nil", err)
			}
			if tt.wantStatus != StatusPass && err == nil {
				t.Fatalf("check = nil; want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("check = %v; want it to wrap %v", err, tt.wantErr)
			}
			if tt.wantStatus == StatusFail && errors.Is(err, ErrWarn) {
				t.Fatalf("check = %v; a failure must not wrap ErrWarn", err)
			}

			// Through a Checker: a warning keeps readiness at 200.
			c := mustNew(t, WithCheck("tls", check))
			rec := get(t, c.Readiness(), "/ready")
			wantCode := 200
			if tt.wantStatus == StatusFail {
				wantCode = 503
			}
			if rec.Code != wantCode || !strings.Contains(rec.Body.String(), `"status":"`+string(tt.wantStatus)+`"`) {
				t.Fatalf("GET /ready = %d %s; want %d and status %s", rec.Code, rec.Body, wantCode, tt.wantStatus)
			}
			if tt.wantStatus == StatusWarn {
				if v := get(t, c.Readiness(), "/ready?verbose"); !strings.Contains(v.Body.String(), "[!]tls warning") {
					t.Fatalf("verbose = %s", v.Body)
				}
			}
		})
	}
}

func TestTLSCertConfig(t *testing.T) {
	for _, tc := range []struct {
		addr string
		warn time.Duration
	}{{"example.com", time.Hour}, {"example.com:443", -time.Hour}} {
		if _, err := TLSCert(tc.addr, tc.warn, nil); err == nil {
			t.Errorf("TLSCert(%q, %v) = nil error", tc.addr, tc.warn)
		}
	}
	// Nothing listening: a plain failure, never a warning.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	check, err := TLSCert(addr, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(context.Background()); err == nil || errors.Is(err, ErrWarn) {
		t.Fatalf("check of a closed port = %v", err)
	}
}
