package customers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Customer accounts: shoppers who register on a store's storefront, log in,
// and see their orders. An account is a customer with a password and the
// state "enabled".

// MinPasswordLength is the shortest customer password accepted.
const MinPasswordLength = 8

// ErrBadLogin is for a wrong email or password, without saying which.
var ErrBadLogin = errs.E(errs.Unauthenticated, "Incorrect email or password.")

// Register makes store t's customer account for email.
//
// Errors: Invalid (with per-field messages: a bad email, a short password,
// an email that already has an account or a customer record).
func (s *Service) Register(ctx context.Context, t *tenant.Tenant, email, password, first, last string) (Customer, error) {
	f := errs.Fields{}
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		f.Add("email", "%s", strings.TrimPrefix(errs.MessageOf(err), "email "))
	}
	if utf8.RuneCountInString(password) < MinPasswordLength || len(password) > 1024 {
		f.Add("password", "must be at least %d characters", MinPasswordLength)
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if utf8.RuneCountInString(first) > 255 || utf8.RuneCountInString(last) > 255 {
		f.Add("name", "is too long (maximum is 255 characters)")
	}
	if err := f.Err(); err != nil {
		return Customer{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return Customer{}, err
	}
	var c Customer
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		c = Customer{Email: norm, FirstName: first, LastName: last, State: "enabled", CreatedAt: time.Now().UTC()}
		c.UpdatedAt = c.CreatedAt
		if err := insertCustomer(tx, &c); err != nil {
			if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) {
				// A customer with this email exists, with an account or from
				// an order: claiming it takes an emailed invitation.
				return &errs.Error{Kind: errs.Invalid, Message: "email has already been taken",
					Fields: map[string][]string{"email": {"already has an account with this store; log in instead"}}}
			}
			return err
		}
		if err := tx.Exec(`UPDATE customers SET password_hash = ? WHERE id = ?`, hash, c.ID).Error; err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		// Every sign-up is sent a link proving the email (verification.go).
		return emitVerification(tx, c)
	})
	return c, err
}

// Login checks a customer's email and password in store t.
//
// Errors: Unauthenticated (ErrBadLogin) for any mismatch, and for
// customers without an enabled account.
func (s *Service) Login(ctx context.Context, t *tenant.Tenant, email, password string) (Customer, error) {
	norm, err := auth.NormalizeEmail(email)
	if err != nil || password == "" || len(password) > 1024 {
		return Customer{}, ErrBadLogin
	}
	var rows []struct {
		ID   int64  `gorm:"column:id"`
		Hash string `gorm:"column:password_hash"`
	}
	err = s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT id, password_hash FROM customers WHERE lower(email) = lower(?) AND state = 'enabled' AND password_hash <> ''`, norm).Scan(&rows).Error
	})
	if err != nil {
		return Customer{}, fmt.Errorf("find customer account: %w", err)
	}
	if len(rows) == 0 {
		auth.CheckPassword(password, dummyHash) // take as long as a real check
		return Customer{}, ErrBadLogin
	}
	ok, err := auth.CheckPassword(password, rows[0].Hash)
	if err != nil {
		return Customer{}, err
	}
	if !ok {
		return Customer{}, ErrBadLogin
	}
	return s.Customer(ctx, t, rows[0].ID)
}

// dummyHash is checked against when there is no account, so that a wrong
// email costs as much time as a wrong password.
var dummyHash = func() string {
	h, err := auth.HashPassword("no such account, no such password")
	if err != nil {
		panic(err)
	}
	return h
}()

// CustomerIn returns the customer id of the store whose transaction tx is,
// with addresses, for the storefront's pages.
//
// Errors: NotFound.
func CustomerIn(tx *gorm.DB, id int64) (Customer, error) {
	return findCustomer(tx, id)
}

// ResetTTL is how long a password reset link works.
const ResetTTL = time.Hour

// TopicPasswordReset is the event a reset request emits; the job fleet
// emails its link.
const TopicPasswordReset = "customers/password_reset"

// ResetEmail is the password reset event's payload.
type ResetEmail struct {
	CustomerID int64  `json:"customer_id"`
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	URL        string `json:"url"`
	ExpiresAt  string `json:"expires_at"`
}

// StartReset emails store t's customer with email a link to choose a new
// password, valid for ResetTTL, through the outbox; storeURL is the store's
// address the link starts with. An email without an account gets nothing,
// and the caller cannot tell: the answer must not reveal who has an account.
func (s *Service) StartReset(ctx context.Context, t *tenant.Tenant, email, storeURL string) error {
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		return nil
	}
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var rows []struct {
			ID        int64  `gorm:"column:id"`
			Email     string `gorm:"column:email"`
			FirstName string `gorm:"column:first_name"`
		}
		err := tx.Raw(`SELECT id, email, first_name FROM customers WHERE lower(email) = lower(?) AND state = 'enabled' AND password_hash <> ''`, norm).Scan(&rows).Error
		if err != nil || len(rows) == 0 {
			return err
		}
		token := make([]byte, 32)
		rand.Read(token)
		raw := hex.EncodeToString(token)
		sum := sha256.Sum256([]byte(raw))
		expires := time.Now().Add(ResetTTL).UTC()
		if err := tx.Exec(`UPDATE customers SET reset_token_hash = ?, reset_expires_at = ? WHERE id = ?`, sum[:], expires, rows[0].ID).Error; err != nil {
			return fmt.Errorf("store reset token: %w", err)
		}
		_, err = tenant.Emit(tx, TopicPasswordReset, ResetEmail{CustomerID: rows[0].ID, Email: rows[0].Email, FirstName: rows[0].FirstName,
			URL: fmt.Sprintf("%s/account/reset/%d/%s", storeURL, rows[0].ID, raw), ExpiresAt: expires.Format(time.RFC3339)})
		return err
	})
}

var errResetLink = &errs.Error{Kind: errs.Invalid, Message: "This password reset link has expired or was already used.",
	Fields: map[string][]string{"form": {"This password reset link has expired or was already used. Ask for a new one from the login page."}}}

// CheckReset says whether token is store t's customer id's live reset token.
//
// Errors: Invalid (expired, used, or not theirs).
func (s *Service) CheckReset(ctx context.Context, t *tenant.Tenant, id int64, token string) error {
	return s.db.ReadTx(ctx, t, func(tx *gorm.DB) error { return checkReset(tx, id, token) })
}

func checkReset(tx *gorm.DB, id int64, token string) error {
	var rows []struct {
		Hash    []byte     `gorm:"column:reset_token_hash"`
		Expires *time.Time `gorm:"column:reset_expires_at"`
	}
	if err := tx.Raw(`SELECT reset_token_hash, reset_expires_at FROM customers WHERE id = ? AND state = 'enabled'`, id).Scan(&rows).Error; err != nil {
		return fmt.Errorf("find reset token: %w", err)
	}
	sum := sha256.Sum256([]byte(token))
	if len(rows) == 0 || rows[0].Expires == nil || time.Now().After(*rows[0].Expires) || subtle.ConstantTimeCompare(rows[0].Hash, sum[:]) != 1 {
		return errResetLink
	}
	return nil
}

// Reset sets store t's customer id's password with a live reset token,
// which then stops working.
//
// Errors: Invalid (the link, or a short password).
func (s *Service) Reset(ctx context.Context, t *tenant.Tenant, id int64, token, password string) (Customer, error) {
	if utf8.RuneCountInString(password) < MinPasswordLength || len(password) > 1024 {
		return Customer{}, &errs.Error{Kind: errs.Invalid, Message: "password is too short",
			Fields: map[string][]string{"password": {fmt.Sprintf("must be at least %d characters", MinPasswordLength)}}}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return Customer{}, err
	}
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT 1 FROM customers WHERE id = ? FOR UPDATE`, id).Error; err != nil {
			return fmt.Errorf("lock customer: %w", err)
		}
		if err := checkReset(tx, id, token); err != nil {
			return err
		}
		return tx.Exec(`UPDATE customers SET password_hash = ?, reset_token_hash = NULL, reset_expires_at = NULL, updated_at = now() WHERE id = ?`, hash, id).Error
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, t, id)
}
