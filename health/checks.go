package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/covetgo/covet/internal/typednil"
)

// ErrStatus is wrapped by the HTTP check's error when the dependency answers
// with a status other than the expected ones.
var ErrStatus = errors.New("health: unexpected status")

// Pinger is what SQLPing needs: *sql.DB, *sql.Conn and *sqlx.DB have it.
// Other clients need no interface of their own: a CheckFunc is one line,
// such as func(ctx context.Context) error { return rdb.Ping(ctx).Err() } for
// go-redis, so this package links no client library.
type Pinger interface {
	PingContext(ctx context.Context) error
}

// SQLPing returns a check that pings db (a *sql.DB or *sqlx.DB). A ping
// reuses an idle pooled connection when there is one, so it costs one round
// trip at most. It fails with an error wrapping ErrInvalidConfig when db is
// nil, including a nil *sql.DB in the interface.
func SQLPing(db Pinger) (CheckFunc, error) {
	if typednil.Is(db) {
		return nil, fmt.Errorf("%w: SQLPing: nil db", ErrInvalidConfig)
	}
	return func(ctx context.Context) error {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("sql ping: %w", err)
		}
		return nil
	}, nil
}

// HTTPGet returns a check that GETs rawURL and passes when the status is one
// of want (any 2xx when want is empty). Redirects are not followed: a 3xx is
// a status like any other. client nil means a client with the default
// transport; its timeout is left to the check's. At most 64 KiB of the body
// is read, so that the connection can be reused. The error text names the
// URL without its password.
//
// It fails with an error when rawURL is not an absolute http or https URL or
// a wanted status is not a valid HTTP status.
func HTTPGet(client *http.Client, rawURL string, want ...int) (CheckFunc, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: http check: %w", ErrInvalidConfig, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: http check: %q is not an absolute http(s) URL", ErrInvalidConfig, u.Redacted())
	}
	for _, s := range want {
		if s < 100 || s > 599 {
			return nil, fmt.Errorf("%w: http check: %d is not an HTTP status", ErrInvalidConfig, s)
		}
	}
	if client == nil {
		client = &http.Client{}
	}
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	want = append([]int(nil), want...)
	target, shown := u.String(), u.Redacted()
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return fmt.Errorf("GET %s: %w", shown, err)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its text repeats the URL, maybe with a password
			}
			return fmt.Errorf("GET %s: %w", shown, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if !statusWanted(resp.StatusCode, want) {
			return fmt.Errorf("GET %s: %w %d", shown, ErrStatus, resp.StatusCode)
		}
		return nil
	}, nil
}

func statusWanted(code int, want []int) bool {
	if len(want) == 0 {
		return code >= 200 && code < 300
	}
	for _, w := range want {
		if code == w {
			return true
		}
	}
	return false
}
