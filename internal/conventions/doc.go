// Package conventions holds a test that reads every library package's source
// (go/parser and go/ast, standard library only) and checks the conventions
// a user learns once:
//
//   - every public package has a doc.go (internal packages and commands are
//     exempt: users do not read them);
//   - a public package with a constructor that can fail (an exported top-level
//     function named New… or Open… whose last result is an error) exports
//     ErrInvalidConfig, declared as errors.New("<package name>: invalid
//     configuration"), or with a longer tail of its path before the colon
//     ("lockout/redisstore: …") where the name alone is ambiguous;
//   - an exported sentinel named ErrInvalid… or ErrInsecure… (other than
//     ErrInvalidConfig) names a configuration mistake, so it is declared by
//     wrapping ErrInvalidConfig: fmt.Errorf("%w…", ErrInvalidConfig), or as
//     T{} of a package type whose Unwrap method returns ErrInvalidConfig, so
//     that errors.Is(err, ErrInvalidConfig) holds for it. Sentinels so named that
//     are not configuration mistakes are listed in sentinelAllowlist with
//     the reason;
//   - every Example function has an // Output: comment (so go test runs it),
//     or is listed in exampleAllowlist with the reason.
//
// The package has no code of its own.
package conventions
