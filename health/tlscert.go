package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrCertExpired is wrapped by the TLSCert check's error once the served
// certificate is past its NotAfter (or not yet valid).
var ErrCertExpired = errors.New("health: certificate expired")

// TLSCert returns a check that dials addr (host:port) with TLS and looks at
// the certificate chain the server presents, as a pre-deployment checklist
// does by hand with openssl s_client. It passes while every certificate is
// valid for more than warnBefore; within warnBefore of the earliest NotAfter
// its error wraps [ErrWarn], so the check reports warn and readiness stays
// up while the certificate is still good; once a certificate has expired
// the error wraps [ErrCertExpired] and the check fails.
//
// cfg may be nil. The chain is verified against cfg.RootCAs (the system
// roots when nil) and ServerName (addr's host when empty), so an untrusted
// or wrong-name certificate fails too; with cfg.InsecureSkipVerify only the
// dates are checked. The check honours its context's deadline for the dial
// and handshake. An endpoint that accepts TCP and then stalls holds the
// check for its whole timeout: register it with [WithBackground] so that
// probes never wait for it. It fails with an error at construction when addr has no
// port or warnBefore is negative (wrapping ErrInvalidConfig).
func TLSCert(addr string, warnBefore time.Duration, cfg *tls.Config) (CheckFunc, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return nil, fmt.Errorf("%w: tls check: %q is not host:port", ErrInvalidConfig, addr)
	}
	if warnBefore < 0 {
		return nil, fmt.Errorf("%w: tls check: negative warning window %v", ErrInvalidConfig, warnBefore)
	}
	var tc *tls.Config
	if cfg != nil {
		tc = cfg.Clone()
	} else {
		tc = &tls.Config{}
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	return tlsCertCheck(addr, warnBefore, tc), nil
}

func tlsCertCheck(addr string, warnBefore time.Duration, tc *tls.Config) CheckFunc {
	return func(ctx context.Context) error {
		d := tls.Dialer{Config: tc}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			var ve *tls.CertificateVerificationError
			if errors.As(err, &ve) {
				// Verification also fails for dates; say which it is.
				if t := time.Now(); len(ve.UnverifiedCertificates) > 0 && t.After(earliestNotAfter(ve.UnverifiedCertificates)) {
					return fmt.Errorf("tls %s: %w on %s", addr, ErrCertExpired, earliestNotAfter(ve.UnverifiedCertificates).UTC().Format(time.RFC3339))
				}
			}
			return fmt.Errorf("tls %s: %w", addr, err)
		}
		certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
		_ = conn.Close()
		if len(certs) == 0 {
			return fmt.Errorf("tls %s: no certificate presented", addr)
		}
		t := time.Now()
		notAfter := earliestNotAfter(certs)
		for _, c := range certs {
			if t.Before(c.NotBefore) {
				return fmt.Errorf("tls %s: %w: %q is not valid before %s", addr, ErrCertExpired, c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
			}
		}
		switch left := notAfter.Sub(t); {
		case left <= 0:
			return fmt.Errorf("tls %s: %w on %s", addr, ErrCertExpired, notAfter.UTC().Format(time.RFC3339))
		case left <= warnBefore:
			return fmt.Errorf("tls %s: %w: certificate expires on %s (in %s)", addr, ErrWarn, notAfter.UTC().Format(time.RFC3339), left.Round(time.Hour))
		}
		return nil
	}
}

func earliestNotAfter(certs []*x509.Certificate) time.Time {
	var first time.Time
	for i, c := range certs {
		if i == 0 || c.NotAfter.Before(first) {
			first = c.NotAfter
		}
	}
	return first
}
