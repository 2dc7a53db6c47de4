package customers

import (
	"context"
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
		return tx.Exec(`UPDATE customers SET password_hash = ? WHERE id = ?`, hash, c.ID).Error
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
