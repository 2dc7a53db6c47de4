package customers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// Customer account emails beyond the password reset: the verification
// link sent on every sign-up (proving the customer owns the email), and the
// invitation a merchant sends (send_invite), whose link lets the customer
// choose a password and so activate an account the store made for them.
// Both links carry a one-use token kept by its SHA-256; both emails leave
// through the store's outbox, as events only the job fleet reads (they are
// not webhook topics).

// Event topics; internal, never offered to partner webhooks.
const (
	TopicVerification = "customers/verification"
	TopicInvite       = "customers/invite"
)

// How long the links work.
const (
	VerificationTTL = 7 * 24 * time.Hour
	InviteTTL       = 7 * 24 * time.Hour
)

// AccountEmail is the payload of the verification and invitation events:
// whom to write to, and the link's path on the store's host
// ("/account/verify/12/<token>"), which the job fleet puts after the
// store's address.
type AccountEmail struct {
	CustomerID    int64  `json:"customer_id"`
	Email         string `json:"email"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	Path          string `json:"path"`
	ExpiresAt     string `json:"expires_at"`
	Subject       string `json:"subject,omitempty"`        // an invitation's own subject
	CustomMessage string `json:"custom_message,omitempty"` // an invitation's message from the merchant
}

// Invite is Shopify's customer_invite: the email an invitation sends. To
// is the customer's email (the only address accepted: the link proves the
// email it reaches); Subject, when set, replaces the template's; From is
// the store's email, in answers.
type Invite struct {
	To            string
	From          string
	Subject       string
	CustomMessage string
}

// Limits of an invitation's texts.
const maxInviteMessage = 5000

var (
	errVerifyLink = &errs.Error{Kind: errs.Invalid, Message: "This verification link has expired or was already used.",
		Fields: map[string][]string{"form": {"This verification link has expired or was already used."}}}
	errActivationLink = &errs.Error{Kind: errs.Invalid, Message: "This invitation link has expired or was already used.",
		Fields: map[string][]string{"form": {"This invitation link has expired or was already used. Ask the store for a new invitation, or log in if you already set a password."}}}
)

// newLinkToken returns a random token and its SHA-256.
func newLinkToken() (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	raw := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(raw))
	return raw, sum[:]
}

// emitVerification gives customer c a verification token and emits the
// email carrying its link, inside tx (the transaction that made the
// account).
func emitVerification(tx *gorm.DB, c Customer) error {
	raw, sum := newLinkToken()
	expires := time.Now().Add(VerificationTTL).UTC()
	if err := tx.Exec(`UPDATE customers SET verify_token_hash = ?, verify_expires_at = ? WHERE id = ?`, sum, expires, c.ID).Error; err != nil {
		return fmt.Errorf("store verification token: %w", err)
	}
	_, err := tenant.Emit(tx, TopicVerification, AccountEmail{CustomerID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
		Path: fmt.Sprintf("/account/verify/%d/%s", c.ID, raw), ExpiresAt: expires.Format(time.RFC3339)})
	return err
}

// checkLinkToken says whether token matches the live token in columns
// hashCol and expiresCol of customer id, locking the row when lock is set.
func checkLinkToken(tx *gorm.DB, id int64, token, hashCol, expiresCol string, lock bool, bad error) error {
	var rows []struct {
		Hash    []byte     `gorm:"column:hash"`
		Expires *time.Time `gorm:"column:expires"`
	}
	q := `SELECT ` + hashCol + ` AS hash, ` + expiresCol + ` AS expires FROM customers WHERE id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	if err := tx.Raw(q, id).Scan(&rows).Error; err != nil {
		return fmt.Errorf("find link token: %w", err)
	}
	sum := sha256.Sum256([]byte(token))
	if len(rows) == 0 || rows[0].Expires == nil || time.Now().After(*rows[0].Expires) || subtle.ConstantTimeCompare(rows[0].Hash, sum[:]) != 1 {
		return bad
	}
	return nil
}

// VerifyEmail spends store t's customer id's verification token and marks
// their email verified.
//
// Errors: Invalid (the link is expired, used, or not theirs).
func (s *Service) VerifyEmail(ctx context.Context, t *tenant.Tenant, id int64, token string) (Customer, error) {
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := checkLinkToken(tx, id, token, "verify_token_hash", "verify_expires_at", true, errVerifyLink); err != nil {
			return err
		}
		return tx.Exec(`UPDATE customers SET verified_email = true, verify_token_hash = NULL, verify_expires_at = NULL, updated_at = now() WHERE id = ?`, id).Error
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, t, id)
}

// EmailVerified says whether store t's customer id has proved their email
// (Shopify's verified_email).
//
// Errors: NotFound (ErrCustomerNotFound).
func (s *Service) EmailVerified(ctx context.Context, t *tenant.Tenant, id int64) (bool, error) {
	var v []bool
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT verified_email FROM customers WHERE id = ?`, id).Scan(&v).Error
	})
	if err != nil {
		return false, fmt.Errorf("find customer: %w", err)
	}
	if len(v) == 0 {
		return false, ErrCustomerNotFound
	}
	return v[0], nil
}

// SendInvite emails store t's customer id an invitation to activate their
// account: a link, valid for InviteTTL, where they choose a password. The
// customer's state becomes "invited"; an earlier invitation's link stops
// working. It returns the invitation as sent.
//
// Errors: NotFound (ErrCustomerNotFound); Invalid (a customer without an
// email or with an enabled account, a "to" that is not the customer's
// email, a subject or message too long).
func (s *Service) SendInvite(ctx context.Context, t *tenant.Tenant, id int64, in Invite) (Invite, error) {
	f := errs.Fields{}
	in.Subject = strings.Join(strings.Fields(in.Subject), " ") // one line
	if utf8.RuneCountInString(in.Subject) > maxText {
		f.Add("subject", "is too long (maximum is %d characters)", maxText)
	}
	in.CustomMessage = strings.TrimSpace(in.CustomMessage)
	if utf8.RuneCountInString(in.CustomMessage) > maxInviteMessage {
		f.Add("custom_message", "is too long (maximum is %d characters)", maxInviteMessage)
	}
	in.To = strings.TrimSpace(in.To)
	if err := f.Err(); err != nil {
		return Invite{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockCustomer(tx, id, time.Now().UTC()); err != nil {
			return err
		}
		c, err := findCustomer(tx, id)
		if err != nil {
			return err
		}
		if c.Email == "" {
			return &errs.Error{Kind: errs.Invalid, Message: "customer has no email",
				Fields: map[string][]string{"customer": {"has no email address; add one before sending an invitation"}}}
		}
		if c.State == StateEnabled {
			return &errs.Error{Kind: errs.Invalid, Message: "customer account is already enabled",
				Fields: map[string][]string{"customer": {"already has an active account; they can reset their password from the login page"}}}
		}
		if in.To != "" {
			to, err := auth.NormalizeEmail(in.To)
			if err != nil || !strings.EqualFold(to, c.Email) {
				return &errs.Error{Kind: errs.Invalid, Message: "to must be the customer's email",
					Fields: map[string][]string{"to": {fmt.Sprintf("must be the customer's email (%s); change the customer's email first to invite another address", c.Email)}}}
			}
		}
		in.To = c.Email
		sh, err := shop.ShopIn(tx)
		if err != nil {
			return err
		}
		in.From = sh.Email
		return emitInvite(tx, c, in.Subject, in.CustomMessage)
	})
	if err != nil {
		return Invite{}, err
	}
	return in, nil
}

// CheckActivation says whether token is store t's customer id's live
// invitation token.
//
// Errors: Invalid (expired, used, or not theirs).
func (s *Service) CheckActivation(ctx context.Context, t *tenant.Tenant, id int64, token string) error {
	return s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return checkLinkToken(tx, id, token, "activation_token_hash", "activation_expires_at", false, errActivationLink)
	})
}

// Activate sets store t's customer id's password with a live invitation
// token, which then stops working: the account is enabled and its email
// verified (the invitation reached it).
//
// Errors: Invalid (the link, or a short password).
func (s *Service) Activate(ctx context.Context, t *tenant.Tenant, id int64, token, password string) (Customer, error) {
	if utf8.RuneCountInString(password) < MinPasswordLength || len(password) > 1024 {
		return Customer{}, &errs.Error{Kind: errs.Invalid, Message: "password is too short",
			Fields: map[string][]string{"password": {fmt.Sprintf("must be at least %d characters", MinPasswordLength)}}}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return Customer{}, err
	}
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := checkLinkToken(tx, id, token, "activation_token_hash", "activation_expires_at", true, errActivationLink); err != nil {
			return err
		}
		return tx.Exec(`UPDATE customers SET password_hash = ?, state = ?, verified_email = true, activation_token_hash = NULL,
			activation_expires_at = NULL, verify_token_hash = NULL, verify_expires_at = NULL, updated_at = now() WHERE id = ?`,
			hash, StateEnabled, id).Error
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, t, id)
}

// --- Admin API: send_invite ----------------------------------------------------

type inviteJSON struct {
	To            string   `json:"to"`
	From          string   `json:"from"`
	Subject       *string  `json:"subject"`
	CustomMessage *string  `json:"custom_message"`
	Bcc           []string `json:"bcc"`
}

// sendInvite is POST customers/{id}/send_invite.json; its body,
// {"customer_invite": {"to", "subject", "custom_message"}}, is optional.
func (s *Service) sendInvite(c *gin.Context) error {
	id, err := apps.FileID(c.Param("file"), ErrCustomerNotFound)
	if err != nil {
		return err
	}
	var req struct {
		To            string `json:"to"`
		Subject       string `json:"subject"`
		CustomMessage string `json:"custom_message"`
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
	if err != nil {
		return errs.E(errs.Malformed, "could not read the request body")
	}
	if t := bytes.TrimSpace(body); len(t) > 0 && !bytes.Equal(t, []byte("{}")) {
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		if err := apps.DecodeEnvelope(c, "customer_invite", &req); err != nil {
			return err
		}
	}
	inv, err := s.SendInvite(c.Request.Context(), apps.PrincipalOf(c).Store, id,
		Invite{To: req.To, Subject: req.Subject, CustomMessage: req.CustomMessage})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"customer_invite": inviteJSON{To: inv.To, From: inv.From, Subject: orNull(inv.Subject),
		CustomMessage: orNull(inv.CustomMessage), Bcc: []string{}}})
	return nil
}
