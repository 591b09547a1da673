package securehdr

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"
)

// CORSConfig configures [NewCORS]. Unlike most CORS libraries, the zero
// value is an error: allowed origins must be listed.
type CORSConfig struct {
	// AllowedOrigins lists origins as scheme://host[:port]. An entry may
	// hold one "*" in the host ("https://*.example.com"), or be "*" alone
	// for any origin. Origins are compared case-insensitively.
	AllowedOrigins []string
	// AllowedMethods are the methods allowed cross-origin; empty means
	// GET, HEAD and POST.
	AllowedMethods []string
	// AllowedHeaders are the request headers a preflight may ask for;
	// empty means Accept, Content-Type and X-Requested-With; "*" allows any.
	AllowedHeaders []string
	// ExposedHeaders are response headers scripts may read.
	ExposedHeaders []string
	// AllowCredentials lets browsers send cookies and read credentialed
	// responses. It requires exact origins: with "*" or a pattern any site
	// could read a user's data, so that is refused with [ErrInsecureCORS].
	AllowCredentials bool
	// MaxAge is how long browsers may cache a preflight answer; 0 means two
	// hours (the most Chromium honours). Negative disables caching.
	MaxAge time.Duration
}

// CORS is the cross-origin resource sharing middleware built by [NewCORS]
// on github.com/rs/cors. A preflight is answered without calling the next
// handler. Vary is appended to, never overwritten. It is safe for
// concurrent use.
type CORS struct {
	c *cors.Cors
}

// defaultMaxAge is Chromium's upper bound for caching a preflight.
const defaultMaxAge = 2 * time.Hour

// NewCORS validates cfg and returns the middleware. Errors match
// [ErrInvalidConfig], and [ErrInsecureCORS] too for a configuration that
// would expose credentialed responses.
func NewCORS(cfg CORSConfig) (*CORS, error) {
	if len(cfg.AllowedOrigins) == 0 {
		return nil, fmt.Errorf("%w: no allowed origins (list them, or \"*\" for a public API)", ErrInvalidConfig)
	}
	origins := make([]string, 0, len(cfg.AllowedOrigins))
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			if len(cfg.AllowedOrigins) > 1 {
				return nil, fmt.Errorf("%w: \"*\" must be the only allowed origin", ErrInvalidConfig)
			}
			if cfg.AllowCredentials {
				return nil, fmt.Errorf("%w: credentials with the wildcard origin", ErrInsecureCORS)
			}
			origins = append(origins, o)
			continue
		}
		n, pattern, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		if pattern && cfg.AllowCredentials {
			return nil, fmt.Errorf("%w: credentials with the pattern origin %q", ErrInsecureCORS, o)
		}
		origins = append(origins, n)
	}
	for _, list := range [][]string{cfg.AllowedMethods, cfg.AllowedHeaders, cfg.ExposedHeaders} {
		for _, v := range list {
			if v != "*" && !validHeaderName(v) {
				return nil, fmt.Errorf("%w: cors method or header %q is not a token", ErrInvalidConfig, v)
			}
		}
	}
	maxAge := int(defaultMaxAge / time.Second)
	switch {
	case cfg.MaxAge < 0:
		maxAge = -1
	case cfg.MaxAge > 0:
		maxAge = int(cfg.MaxAge / time.Second)
		if maxAge == 0 {
			maxAge = -1
		}
	}
	return &CORS{c: cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   cfg.AllowedMethods,
		AllowedHeaders:   cfg.AllowedHeaders,
		ExposedHeaders:   cfg.ExposedHeaders,
		AllowCredentials: cfg.AllowCredentials,
		MaxAge:           maxAge,
	})}, nil
}

// normalizeOrigin checks scheme://host[:port] with nothing after it, and
// returns it in lower case.
func normalizeOrigin(o string) (normal string, pattern bool, err error) {
	bad := func(why string) (string, bool, error) {
		return "", false, fmt.Errorf("%w: allowed origin %q: %s", ErrInvalidConfig, o, why)
	}
	if strings.EqualFold(o, "null") {
		return bad(`"null" is sent by sandboxed and file pages; allowing it allows them all`)
	}
	i := strings.Index(o, "://")
	if i <= 0 || !isScheme(o[:i]) {
		return bad("want scheme://host[:port]")
	}
	rest := o[i+3:]
	if strings.Count(o, "*") > 1 {
		return bad("at most one *")
	}
	pattern = strings.Contains(rest, "*")
	if pattern && !strings.HasPrefix(rest, "*.") {
		return bad(`a pattern must start the host, as in https://*.example.com`)
	}
	check := strings.Replace(rest, "*.", "x.", 1)
	u, perr := url.Parse(o[:i+3] + check)
	if perr != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
		strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return bad("want scheme://host[:port] with no path")
	}
	host, ok := NormalizeHost(u.Host)
	if !ok {
		return bad("invalid host")
	}
	if pattern {
		host = "*" + host[1:]
	}
	// Browsers send internationalised hosts in their ASCII form, so the
	// configured origin is compared in that form too.
	normal = strings.ToLower(o[:i]) + "://" + host
	if p := u.Port(); p != "" {
		normal += ":" + p
	}
	return normal, pattern, nil
}

// Handler answers preflight requests and adds CORS headers to the
// responses of next for allowed origins.
func (c *CORS) Handler(next http.Handler) http.Handler {
	return c.c.Handler(next)
}
