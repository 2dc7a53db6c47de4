// Package auth holds Storefleet's identity primitives: password hashing and
// strength rules, and the checks on the emails accounts sign up with.
package auth

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	passwordvalidator "github.com/wagslane/go-password-validator"

	"github.com/storefleet/storefleet/internal/errs"
)

// passwordParams are OWASP's recommended argon2id settings (19 MiB, two
// passes, one lane): about 25 ms a hash on one core of a small server.
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Password rules.
const (
	MinPasswordEntropy = 60  // bits, as go-password-validator counts them
	MaxPasswordLength  = 128 // characters; longer input is refused before hashing
)

// ValidatePassword says why a password is too weak to accept, or returns nil.
// The message is meant for the person choosing the password.
func ValidatePassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case n < 10:
		return errs.E(errs.Invalid, "password must be at least 10 characters long")
	case n > MaxPasswordLength:
		return errs.E(errs.Invalid, "password must be at most %d characters long", MaxPasswordLength)
	}
	if err := passwordvalidator.Validate(password, MinPasswordEntropy); err != nil {
		return errs.E(errs.Invalid, "password is too easy to guess: %s", strings.TrimPrefix(err.Error(), "insecure password, "))
	}
	return nil
}

// HashPassword returns the argon2id hash of password in PHC string format.
func HashPassword(password string) (string, error) {
	h, err := argon2id.CreateHash(password, passwordParams)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// CheckPassword reports whether password matches hash.
func CheckPassword(password, hash string) (bool, error) {
	if utf8.RuneCountInString(password) > MaxPasswordLength {
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return ok, nil
}

// emailDomain is a DNS name of at least two labels (IDNs in their ASCII
// form): no address literals, no label starting or ending with a hyphen.
var emailDomain = regexp.MustCompile(`^(?i)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NormalizeEmail checks that s is a bare email address (no display name) with
// a domain that has a dot, and returns it trimmed; the local part keeps its
// case, comparisons ignore it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errs.E(errs.Invalid, "email is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", errs.E(errs.Invalid, "email %q is not a valid address", s)
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	if !emailDomain.MatchString(domain) {
		return "", errs.E(errs.Invalid, "email %q has no valid domain", s)
	}
	return s, nil
}
