package clientip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/covetgo/covet/internal/peer"
)

// ErrInvalidConfig is wrapped by every error [New] returns.
var ErrInvalidConfig = errors.New("clientip: invalid configuration")

// Headers a [Resolver] can read, for [WithHeader].
const (
	// XForwardedFor is the de facto standard header: a comma-separated
	// list of addresses, each proxy appending the address of its peer.
	XForwardedFor = "X-Forwarded-For"
	// Forwarded is RFC 7239's header: elements such as
	// for=192.0.2.60;proto=https, separated by commas, each proxy
	// appending one.
	Forwarded = "Forwarded"
)

type ctxKey struct{}

// WithAddr returns a copy of ctx carrying addr as the client address, which
// [Addr] and [AddrFromContext] then return. [Resolver.Handler] calls it; call
// it yourself only when the client address is known some other way (a
// PROXY-protocol listener, a test).
func WithAddr(ctx context.Context, addr netip.Addr) context.Context {
	return context.WithValue(ctx, ctxKey{}, addr.Unmap().WithZone(""))
}

// AddrFromContext returns the client address a [Resolver] (or [WithAddr])
// stored in ctx, and whether there is one.
func AddrFromContext(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(ctxKey{}).(netip.Addr)
	return a, ok && a.IsValid()
}

// Addr returns the client address of r: the one a [Resolver] stored in its
// context when one ran before, else the direct peer of the connection. It
// never reads a forwarded header itself. The result is invalid when no
// address can be found (a Unix socket's peer).
func Addr(r *http.Request) netip.Addr {
	if a, ok := AddrFromContext(r.Context()); ok {
		return a
	}
	return peer.Addr(r)
}

// Resolver is middleware that resolves the client address of every request
// from the trusted proxies in front of the service. A Resolver is safe for
// concurrent use; its zero value is not usable, build one with [New].
type Resolver struct {
	trusted   []netip.Prefix
	forwarded bool // read Forwarded rather than X-Forwarded-For
	header    string
}

// Option configures [New].
type Option func(*config)

type config struct {
	header string
	err    error
}

// WithHeader sets the header the proxies write the client address in:
// [XForwardedFor] (the default) or [Forwarded]. Name the one header your
// outermost proxy sets or overwrites; any other value fails [New].
func WithHeader(name string) Option {
	return func(c *config) {
		switch http.CanonicalHeaderKey(name) {
		case XForwardedFor:
			c.header = XForwardedFor
		case Forwarded:
			c.header = Forwarded
		default:
			c.err = fmt.Errorf("%w: header %q: want %q or %q", ErrInvalidConfig, name, XForwardedFor, Forwarded)
		}
	}
}

// New returns a Resolver that believes the forwarded header only when the
// request comes from one of trusted: CIDRs ("10.0.0.0/8") or single
// addresses ("192.0.2.1", "::1"). An empty list trusts nobody: every
// client is its direct peer. An entry that does not parse, or one that
// trusts every address (a /0 prefix, which would let any client choose its
// address), fails with an error wrapping [ErrInvalidConfig].
func New(trusted []string, opts ...Option) (*Resolver, error) {
	c := config{header: XForwardedFor}
	for _, o := range opts {
		if o == nil {
			continue
		}
		o(&c)
		if c.err != nil {
			return nil, c.err
		}
	}
	ps, err := peer.ParsePrefixes(trusted)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for i, p := range ps {
		if p.Bits() == 0 {
			return nil, fmt.Errorf("%w: trusted proxy %q trusts every address", ErrInvalidConfig, strings.TrimSpace(trusted[i]))
		}
	}
	return &Resolver{trusted: ps, forwarded: c.header == Forwarded, header: c.header}, nil
}

// Handler resolves the client address of each request (see [Resolver.Resolve])
// and passes next a request whose context carries it.
func (res *Resolver) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := res.Resolve(r); a.IsValid() {
			r = r.WithContext(WithAddr(r.Context(), a))
		}
		next.ServeHTTP(w, r)
	})
}

// Resolve returns the client address of r without storing it: the direct
// peer, unless that is a trusted proxy, in which case the header is walked
// from the right to the first address that is not a trusted proxy. It is
// invalid only when the peer address is.
func (res *Resolver) Resolve(r *http.Request) netip.Addr {
	a := peer.Addr(r)
	if !a.IsValid() || !res.trusts(a) {
		return a
	}
	lines := r.Header[res.header]
	if len(lines) == 0 {
		return a
	}
	var buf [16]netip.Addr
	hops := buf[:0]
	for _, line := range lines {
		if res.forwarded {
			hops = forwardedHops(line, hops)
		} else {
			hops = xffHops(line, hops)
		}
	}
	return walk(a, res.trusts, hops)
}

func (res *Resolver) trusts(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// walk returns the client address given the trusted direct peer a and the
// hops of the header in order (an invalid hop: one that holds no
// address), walking them from the right.
func walk(a netip.Addr, trusted func(netip.Addr) bool, hops []netip.Addr) netip.Addr {
	for i := len(hops) - 1; i >= 0; i-- {
		if !hops[i].IsValid() {
			// A trusted proxy wrote no address: it is as far as we can
			// see.
			return a
		}
		a = hops[i]
		if !trusted(a) {
			return a
		}
	}
	// Every hop is in a trusted network: the client is the leftmost.
	return a
}
