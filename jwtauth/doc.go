// Package jwtauth issues and checks the tokens of a browser or API login:
// short-lived signed access tokens, rotating opaque refresh tokens and a CSRF
// token bound into the access token. It is built on [golang-jwt] v5 and
// writes no JWS code of its own. Password hashing, the password policy and
// the login check in front of the tokens are in the subpackage
// [github.com/covetgo/covet/jwtauth/password].
//
// # Keys
//
// A [KeyRing] holds the current key, which signs, and previous keys, which
// still verify, so keys rotate without logging anyone out. Each key has an ID
// (the kid header picks it) and a pinned algorithm: HS256 by default
// ([HS256Key], secrets of at least 32 bytes) or EdDSA ([EdDSAKey]). A token
// whose alg differs from its key's, whose kid is unknown, or that carries
// jku, jwk, x5u, x5c or crit headers is refused; so is alg "none".
//
// # Access tokens
//
// [Auth.Issue] fills [Claims]: subject, username, roles, jti,
// iat, exp (15 minutes by default), iss and aud when configured, typ
// "access" and the CSRF binding. [Auth.Verify] caps the size, then parses
// into the concrete claims type with a parser built once, requires exp,
// refuses future nbf and iat beyond the leeway (30 s, at most 60 s), wrong
// iss or aud, and any typ other than "access". Embed Claims in your own
// struct for custom claims and build the Auth with it: New[MyClaims](ring).
//
// # Verified-token cache
//
// Verifying a token means decoding two JSON objects and an HMAC or Ed25519
// check, most of the middleware's cost; yet a client sends the same access
// token with every request for its lifetime. [Auth.Verify] therefore
// remembers the claims of tokens that passed full verification, keyed by the
// SHA-256 of the exact token string, and a token seen again skips the
// signature check and the decoding. It is on by default
// (4096 entries by default; [WithVerifiedCache] resizes it or, with 0,
// turns it off), because nothing a cache hit skips can change its answer:
//
//   - The signature, header and claims are a pure function of the token's
//     bytes, the key ring and the Auth's settings. Settings are fixed at
//     [New]; [Auth.SetKeyRing] replaces the cache with an empty one, so a
//     token of a removed key is refused at once.
//   - What depends on time is checked on every hit: exp, nbf and iat against
//     the clock with the same leeway as the parser (a token out of its
//     window is dropped and re-verified, which gives the precise error), and
//     the claims type's own Validate method when it has one.
//   - Revocation is checked on every request, hit or not: the [Denylist] is
//     consulted exactly as without the cache.
//   - Only tokens that verified are stored, so forged or malformed tokens
//     cannot fill it; only tokens this Auth signed or accepts can. The bound
//     holds whatever arrives: a full shard drops an entry at random.
//   - Keys are digests, so the cache holds no bearer credentials, costs 32
//     bytes of key per entry whatever the token size, and a lookup compares
//     digests rather than secret token bytes.
//
// Each call gets its own copy of the claims struct; its slices (Audience,
// Roles) are shared with other requests presenting the same token and must
// be treated as read-only, as claims should be anyway.
//
// # Refresh tokens
//
// Refresh tokens are opaque random values ("family.secret"); the server
// keeps only their SHA-256, grouped in families, one per login. Every
// [Auth.Refresh] spends the token and returns a new set; presenting a spent
// token again is the signature of theft and revokes the whole family
// ([ErrRefreshReused]). [MemoryStore] serves one instance and tests; the
// Store of [github.com/covetgo/covet/jwtauth/redisstore] is shared and
// atomic, also on Redis Cluster. It lives in its own package so that a
// program that does not use it does not link go-redis.
//
// # Revocation
//
// With a [Denylist] configured, [Auth.Revoke] refuses one access token until
// it expires (by jti) and [Auth.RevokeAll] logs a user out everywhere (a
// per-user "not before" that also stops its refresh families).
//
// # Outages
//
// A store that cannot answer returns an error matching
// [ErrStoreUnavailable] (redisstore bounds every call and shares covet's
// circuit breaker, so an outage costs one timeout per cooldown). Refresh
// fails closed: [Auth.Refresh] returns the error and the caller answers 503
// with Retry-After (a refresh token is never accepted twice, even when a
// rotation's answer was lost: the retry finds it spent and revokes the
// family). The denylist fails closed too (the middleware answers 503 with
// Retry-After) unless [WithDenylistFailOpen] trades honouring recently
// revoked tokens for serving through the outage. That choice is an option
// of [New], not of the store, because it covers access tokens only:
// [Auth.Refresh] never fails open, or a user logged out everywhere could
// obtain tokens that outlive the outage.
//
// Stores hold security state: a revocation a store forgets is a token that
// works again. The redisstore package overview says what Redis must be
// configured with (maxmemory-policy noeviction) and what eviction and
// failover cost.
//
// # Testing
//
// [WithClock] gives an Auth, and a MemoryStore, a clock of the test's own,
// so that expiry and rotation are tested by moving it rather than by
// sleeping; inside a [testing/synctest] bubble time.Now is already fake and
// no clock is needed.
//
// # Middleware
//
// [Auth.Handler] takes the token from Authorization: Bearer or from the
// access cookie and puts the claims in the context ([ClaimsFromContext],
// [CustomClaimsFromContext]). A refusal is a 401 with an RFC 9457 problem
// body and WWW-Authenticate: Bearer error="invalid_token", which never says
// why the token failed. [Auth.Optional] lets anonymous requests through;
// [Auth.RequireRole] checks roles.
//
// # Login, refresh and logout endpoints
//
// [Auth.LoginHandler], [Auth.RefreshHandler] and [Auth.LogoutHandler] are
// ready http.Handlers for the three endpoints every token service has. The
// account lookup and the password check are the caller's ([CheckFunc];
// jwtauth/password's Login does both); the rest is here: strict JSON bodies
// (through package [github.com/covetgo/covet/jsonbody]: exact member
// names, no duplicates, no unknown members, nothing after the object),
// Cache-Control: no-store on every token response, RFC 9457 problems with
// WWW-Authenticate: Bearer on 401 (error="invalid_token" for a refresh
// token that is not valid), 429 with Retry-After for a locked account (an
// error with the one method of [LockedOut], as password's LockedError has,
// so that neither jwtauth nor password imports ratelimit/lockout), refresh
// rotation with reuse detection and a logout that revokes both tokens. With
// cookies the tokens travel in them and cross-origin browser requests are
// refused.
//
// # CSRF
//
// Cookies are sent by the browser on cross-site requests, bearer headers are
// not, so only cookie-authenticated requests are checked: cross-origin
// browser requests are refused ([net/http.CrossOriginProtection]: the
// Sec-Fetch-Site header, else Origin against Host), and unsafe methods must
// send the CSRF token in X-CSRF-Token, compared in constant time with the
// hash bound into the signed access token (signed double submit).
// [Auth.SetCookies] sets __Host- cookies: HttpOnly, Secure, SameSite.
//
// Built with -tags purego (or covet_purego), the package uses no unsafe.
//
// [golang-jwt]: https://pkg.go.dev/github.com/golang-jwt/jwt/v5
package jwtauth
