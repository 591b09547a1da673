// Package password hashes and checks the passwords behind a login: argon2id
// hashing that also verifies bcrypt, a policy for new passwords, and a login
// check that hides which accounts exist and consults a lockout. It is apart
// from jwtauth so that a service issuing tokens for another identity
// provider does not link it, and one checking passwords for sessions need
// not take tokens.
//
// # Hashing
//
// [Hasher] hashes with argon2id (OWASP's 19 MiB, 2 passes, 1 lane) into PHC
// strings and verifies argon2id and bcrypt hashes, answering whether a hash
// should be upgraded. Passwords over bcrypt's 72-byte limit never match a
// bcrypt hash instead of being truncated.
//
// Each argon2id hash allocates its memory parameter, so a Hasher runs at
// most [WithMemoryBudget] / memory hashes at once (half of GOMEMLIMIT when
// set, else [DefaultMemoryBudget]). [Hasher.HashContext],
// [Hasher.VerifyContext] and [Login.Authenticate] wait for a slot only as
// long as their context allows, then return [ErrBusy], to be answered with
// 503 and Retry-After. A burst of logins queues instead of exhausting memory.
//
// # Policy
//
// [Policy] checks new passwords: at least 12 and at most 128 characters, not
// a common password; character class rules exist but are off by default, as
// NIST SP 800-63B advises. Every refusal wraps [ErrPolicy] and one reason
// ([ErrTooShort], [ErrTooLong], [ErrCommon], [ErrClasses]).
//
// # Login
//
// [Login] runs a dummy hash for unknown accounts so timing does not reveal
// which exist, and consults a [Lockout] after too many failures; the
// Lockout of covet's ratelimit/lockout satisfies that interface without
// either package importing the other. While an account is locked it returns
// a [*LockedError], whose LockedUntil method is the one jwtauth's login
// handler looks for (jwtauth.LockedOut) to answer 429 with Retry-After, so
// Login.Authenticate plugs into jwtauth.Auth.LoginHandler as it is.
package password
