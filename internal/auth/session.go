package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/storefleet/storefleet/internal/errs"
)

// Sessions issues and checks staff session tokens: short-lived JWTs signed
// with HMAC-SHA256 under a key every server of the fleet shares, so any of
// them can check a session without a lookup. The dashboard keeps one in a
// cookie; API clients may send one as a Bearer token.
type Sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// MinSessionKey is the shortest key Sessions accepts.
const MinSessionKey = 32

const issuer = "storefleet"

// ErrBadSession is for a session token that is malformed, forged or expired.
var ErrBadSession = errs.E(errs.Unauthenticated, "the session is invalid or has expired; log in again")

// NewSessions returns sessions signed with key, valid for ttl.
func NewSessions(key []byte, ttl time.Duration) (*Sessions, error) {
	if len(key) < MinSessionKey {
		return nil, fmt.Errorf("session key must be at least %d bytes, is %d", MinSessionKey, len(key))
	}
	if ttl <= 0 {
		return nil, errors.New("session lifetime must be positive")
	}
	return &Sessions{key: key, ttl: ttl, now: time.Now}, nil
}

// Session is a checked session: whose, which one, until when.
type Session struct {
	Account int64
	ID      string // unique per session, for revocation and audit
	Expires time.Time
}

// Issue signs a new session for account.
func (s *Sessions) Issue(account int64) (string, Session, error) {
	id := make([]byte, 16)
	rand.Read(id)
	now := s.now()
	sess := Session{Account: account, ID: hex.EncodeToString(id), Expires: now.Add(s.ttl).Truncate(time.Second)}
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   "account:" + strconv.FormatInt(account, 10),
		ID:        sess.ID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(sess.Expires),
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		return "", Session{}, fmt.Errorf("sign session: %w", err)
	}
	return tok, sess, nil
}

// Check verifies token and returns its session.
//
// Errors: Unauthenticated (ErrBadSession) for anything but a valid,
// unexpired token signed with our key.
func (s *Sessions) Check(token string) (Session, error) {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(s.now))
	if err != nil {
		return Session{}, ErrBadSession
	}
	id, ok := strings.CutPrefix(claims.Subject, "account:")
	account, perr := strconv.ParseInt(id, 10, 64)
	if !ok || perr != nil || account <= 0 || claims.ID == "" {
		return Session{}, ErrBadSession
	}
	return Session{Account: account, ID: claims.ID, Expires: claims.ExpiresAt.Time}, nil
}
