package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/storefleet/storefleet/internal/errs"
)

func TestSessions(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	s, err := NewSessions(key, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, sess, err := s.Issue(42)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Check(tok)
	if err != nil || got.Account != 42 || got.ID != sess.ID || got.ID == "" {
		t.Fatalf("Check(Issue(42)) = %+v, %v; want account 42, session %s", got, err, sess.ID)
	}
	if _, other, _ := s.Issue(42); other.ID == sess.ID {
		t.Errorf("two sessions share id %s", sess.ID)
	}

	// Expired: a clock past the lifetime refuses it.
	later := *s
	later.now = func() time.Time { return time.Now().Add(16 * time.Minute) }
	// Another key, alg none, a different algorithm, tampering, garbage.
	otherKey, _ := NewSessions([]byte(strings.Repeat("x", 32)), time.Minute)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Issuer: "storefleet", Subject: "account:42",
		ID: "x", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.RegisteredClaims{Issuer: "storefleet", Subject: "account:42",
		ID: "x", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString(key)
	noExpiry, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "storefleet", Subject: "account:42", ID: "x"}).SignedString(key)
	badSubject, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "storefleet", Subject: "token:42",
		ID: "x", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}).SignedString(key)
	otherTok, _, _ := otherKey.Issue(42)
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2]
	for name, check := range map[string]func() error{
		"expired":     func() error { _, err := later.Check(tok); return err },
		"other key":   func() error { _, err := s.Check(otherTok); return err },
		"alg none":    func() error { _, err := s.Check(none); return err },
		"HS512":       func() error { _, err := s.Check(hs512); return err },
		"no expiry":   func() error { _, err := s.Check(noExpiry); return err },
		"bad subject": func() error { _, err := s.Check(badSubject); return err },
		"tampered":    func() error { _, err := s.Check(tampered); return err },
		"garbage":     func() error { _, err := s.Check("not.a.jwt"); return err },
		"empty":       func() error { _, err := s.Check(""); return err },
	} {
		if err := check(); !errs.Is(err, errs.Unauthenticated) {
			t.Errorf("Check(%s) = %v, want Unauthenticated", name, err)
		}
	}
	if _, err := NewSessions([]byte("short"), time.Minute); err == nil {
		t.Errorf("NewSessions(5-byte key) = nil error, want a refusal")
	}
}
