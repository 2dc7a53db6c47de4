package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
)

// ErrBadLogin is for a wrong email or password; it does not say which.
var ErrBadLogin = errs.E(errs.Unauthenticated, "the email or password is not right")

// ErrRefreshRefused is for a refresh token that is unknown, expired,
// revoked, or already used.
var ErrRefreshRefused = errs.E(errs.Unauthenticated, "your session has ended; log in again")

// dummyHash is checked against when an email has no account, so that a
// login takes as long whether or not the account exists.
var dummyHash = func() string {
	h, err := auth.HashPassword("not anyone's password, only for timing")
	if err != nil {
		panic(err)
	}
	return h
}()

// LogIn returns the account with email (ignoring case) if password
// is its password.
//
// Errors: Unauthenticated (ErrBadLogin).
func (d *DB) LogIn(ctx context.Context, email, password string) (Account, error) {
	var rows []struct {
		ID           int64     `gorm:"column:id"`
		Email        string    `gorm:"column:email"`
		Name         string    `gorm:"column:name"`
		CreatedAt    time.Time `gorm:"column:created_at"`
		PasswordHash string    `gorm:"column:password_hash"`
	}
	err := d.control.WithContext(ctx).Raw(`SELECT id, email, name, created_at, password_hash FROM platform.accounts
		WHERE lower(email) = lower(?)`, email).Scan(&rows).Error
	if err != nil {
		return Account{}, fmt.Errorf("find account: %w", err)
	}
	hash := dummyHash
	if len(rows) == 1 {
		hash = rows[0].PasswordHash
	}
	ok, err := auth.CheckPassword(password, hash)
	if err != nil {
		return Account{}, err
	}
	if !ok || len(rows) != 1 {
		return Account{}, ErrBadLogin
	}
	r := rows[0]
	return accountRow{ID: r.ID, Email: r.Email, Name: r.Name, CreatedAt: r.CreatedAt}.toAccount(), nil
}

// Account returns account id.
//
// Errors: NotFound.
func (d *DB) Account(ctx context.Context, id AccountID) (Account, error) {
	var rows []accountRow
	err := d.control.WithContext(ctx).Raw(`SELECT id, email, name, created_at FROM platform.accounts WHERE id = ?`, int64(id)).Scan(&rows).Error
	if err != nil {
		return Account{}, fmt.Errorf("find account: %w", err)
	}
	if len(rows) == 0 {
		return Account{}, errs.E(errs.NotFound, "account not found")
	}
	return rows[0].toAccount(), nil
}

// refreshHash is the hex SHA-256 of a refresh token, as SQL decodes it to
// bytea (decode(?, 'hex')).
func refreshHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// IssueRefresh starts a session of account that lasts ttl unless renewed:
// it returns the refresh token, shown once and kept only as its hash.
func (d *DB) IssueRefresh(ctx context.Context, account AccountID, ttl time.Duration) (string, time.Time, error) {
	return issueRefreshIn(d.control.WithContext(ctx), account, ttl)
}

func issueRefreshIn(tx *gorm.DB, account AccountID, ttl time.Duration) (string, time.Time, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	expires := time.Now().Add(ttl).UTC().Truncate(time.Second)
	err := tx.Exec(`INSERT INTO platform.refresh_tokens (hash, account_id, expires_at) VALUES (decode(?, 'hex'), ?, ?)`,
		refreshHash(token), int64(account), expires).Error
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue refresh token: %w", err)
	}
	return token, expires, nil
}

// RefreshReuseGrace is how soon after its use a refresh token may be
// presented again and still be honoured: two tabs (or a page's parallel
// requests) whose access token ran out at the same moment race to renew
// it, and the loser presents the token the winner just spent. Within the
// grace it gets a session of its own; later, a spent token is a stolen copy.
const RefreshReuseGrace = 10 * time.Second

// UseRefresh spends refresh token and returns its account with the token
// that replaces it, valid for ttl. A token used before (more than
// RefreshReuseGrace ago) is a stolen copy or a replay: every session of its
// account is ended.
//
// Errors: Unauthenticated (ErrRefreshRefused).
func (d *DB) UseRefresh(ctx context.Context, token string, ttl time.Duration) (AccountID, string, time.Time, error) {
	var account AccountID
	var next string
	var expires time.Time
	var reused bool
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			AccountID int64      `gorm:"column:account_id"`
			ExpiresAt time.Time  `gorm:"column:expires_at"`
			UsedAt    *time.Time `gorm:"column:used_at"`
			RevokedAt *time.Time `gorm:"column:revoked_at"`
		}
		if err := tx.Raw(`SELECT account_id, expires_at, used_at, revoked_at FROM platform.refresh_tokens WHERE hash = decode(?, 'hex') FOR UPDATE`,
			refreshHash(token)).Scan(&rows).Error; err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		if len(rows) == 0 || rows[0].RevokedAt != nil || time.Now().After(rows[0].ExpiresAt) {
			return ErrRefreshRefused
		}
		account = AccountID(rows[0].AccountID)
		switch used := rows[0].UsedAt; {
		case used != nil && time.Since(*used) > RefreshReuseGrace:
			reused = true
			return nil
		case used == nil:
			if err := tx.Exec(`UPDATE platform.refresh_tokens SET used_at = now() WHERE hash = decode(?, 'hex')`, refreshHash(token)).Error; err != nil {
				return fmt.Errorf("spend refresh token: %w", err)
			}
		}
		var err error
		next, expires, err = issueRefreshIn(tx, account, ttl)
		return err
	})
	if err != nil {
		return 0, "", time.Time{}, err
	}
	if reused {
		if err := d.EndSessions(ctx, account); err != nil {
			return 0, "", time.Time{}, err
		}
		return 0, "", time.Time{}, ErrRefreshRefused
	}
	return account, next, expires, nil
}

// RevokeRefresh ends the session of refresh token (logging out). An
// unknown token is not an error.
func (d *DB) RevokeRefresh(ctx context.Context, token string) error {
	err := d.control.WithContext(ctx).Exec(`UPDATE platform.refresh_tokens SET revoked_at = now() WHERE hash = decode(?, 'hex') AND revoked_at IS NULL`,
		refreshHash(token)).Error
	if err != nil {
		return fmt.Errorf("revoke refresh token: %w", err)
	}
	return nil
}

// EndSessions ends every session of account: its refresh tokens stop
// working (its access tokens run out within their short lifetime).
func (d *DB) EndSessions(ctx context.Context, account AccountID) error {
	err := d.control.WithContext(ctx).Exec(`UPDATE platform.refresh_tokens SET revoked_at = now() WHERE account_id = ? AND revoked_at IS NULL`,
		int64(account)).Error
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}
