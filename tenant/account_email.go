package tenant

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
)

// Merchant account emails: the link that verifies an account's email after
// sign-up, and the link that resets a forgotten password. Each link holds a
// one-use token kept only by its SHA-256 (platform.account_tokens). The
// email is written in the transaction that makes its token, to a small
// platform outbox (platform.account_emails), not to a store's outbox
// (outbox.events belongs to stores: a trigger stamps each event with its
// store's role). The job fleet's relay loop moves pending rows to the queue
// under their own id (RelayAccountEmails) and the email worker sends each
// one once (DeliverAccountEmail): a Redis outage delays these emails and
// loses none.

// The kinds of account email, and the purposes of their tokens.
const (
	AccountEmailVerify = "verify_email"
	AccountEmailReset  = "password_reset"
)

// How long the links work.
const (
	VerifyTTL = 7 * 24 * time.Hour
	ResetTTL  = time.Hour
)

// ErrAccountLink is for a verification or reset link that is unknown,
// expired or already used.
var ErrAccountLink = &errs.Error{Kind: errs.Invalid, Message: "This link has expired or was already used.",
	Fields: map[string][]string{"form": {"This link has expired or was already used. Ask for a new one."}}}

// AccountEmail is one email to a merchant account, waiting in the platform
// outbox or sent.
type AccountEmail struct {
	ID        uuid.UUID // the task id and the Message-ID of the email
	Account   AccountID
	Kind      string // AccountEmailVerify or AccountEmailReset
	ToEmail   string
	ToName    string
	URL       string // the link; "" once sent
	CreatedAt time.Time
	SentAt    *time.Time
}

type accountEmailRow struct {
	ID        uuid.UUID  `gorm:"column:id"`
	AccountID int64      `gorm:"column:account_id"`
	Kind      string     `gorm:"column:kind"`
	ToEmail   string     `gorm:"column:to_email"`
	ToName    string     `gorm:"column:to_name"`
	URL       string     `gorm:"column:url"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	SentAt    *time.Time `gorm:"column:sent_at"`
}

const accountEmailColumns = `id, account_id, kind, to_email, to_name, url, created_at, sent_at`

func (r accountEmailRow) toAccountEmail() AccountEmail {
	return AccountEmail{ID: r.ID, Account: AccountID(r.AccountID), Kind: r.Kind, ToEmail: r.ToEmail, ToName: r.ToName,
		URL: r.URL, CreatedAt: r.CreatedAt, SentAt: r.SentAt}
}

// StartVerification emails account a link to verify its email, valid for
// VerifyTTL; dashboard is the dashboard's address the link starts with
// ("https://app.example.com"). An account already verified gets nothing.
//
// Errors: NotFound (no such account).
func (d *DB) StartVerification(ctx context.Context, account AccountID, dashboard string) error {
	return d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			Email    string     `gorm:"column:email"`
			Name     string     `gorm:"column:name"`
			Verified *time.Time `gorm:"column:email_verified_at"`
		}
		if err := tx.Raw(`SELECT email, name, email_verified_at FROM platform.accounts WHERE id = ? FOR UPDATE`, int64(account)).Scan(&rows).Error; err != nil {
			return fmt.Errorf("find account: %w", err)
		}
		if len(rows) == 0 {
			return errs.E(errs.NotFound, "account not found")
		}
		if rows[0].Verified != nil {
			return nil
		}
		return queueAccountLink(tx, account, AccountEmailVerify, VerifyTTL, rows[0].Email, rows[0].Name, dashboard+"/verify/")
	})
}

// EmailVerified says whether account has proved its email.
//
// Errors: NotFound.
func (d *DB) EmailVerified(ctx context.Context, account AccountID) (bool, error) {
	var rows []struct {
		Verified *time.Time `gorm:"column:email_verified_at"`
	}
	if err := d.control.WithContext(ctx).Raw(`SELECT email_verified_at FROM platform.accounts WHERE id = ?`, int64(account)).Scan(&rows).Error; err != nil {
		return false, fmt.Errorf("find account: %w", err)
	}
	if len(rows) == 0 {
		return false, errs.E(errs.NotFound, "account not found")
	}
	return rows[0].Verified != nil, nil
}

// VerifyEmail spends a verification token and marks its account's email
// verified.
//
// Errors: Invalid (ErrAccountLink).
func (d *DB) VerifyEmail(ctx context.Context, token string) (AccountID, error) {
	var account AccountID
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if account, err = spendAccountToken(tx, AccountEmailVerify, token); err != nil {
			return err
		}
		return markVerified(tx, account)
	})
	return account, err
}

// StartPasswordReset emails the account with email (ignoring case) a link
// to choose a new password, valid for ResetTTL; dashboard is the address
// the link starts with. An email without an account gets nothing, and the
// caller cannot tell: the answer must not reveal who has an account.
func (d *DB) StartPasswordReset(ctx context.Context, email, dashboard string) error {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > 320 {
		return nil
	}
	return d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []accountRow
		if err := tx.Raw(`SELECT id, email, name, created_at FROM platform.accounts WHERE lower(email) = lower(?)`, email).Scan(&rows).Error; err != nil {
			return fmt.Errorf("find account: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		return queueAccountLink(tx, AccountID(rows[0].ID), AccountEmailReset, ResetTTL, rows[0].Email, rows[0].Name, dashboard+"/password/reset/")
	})
}

// CheckPasswordReset says whether token is a live reset token.
//
// Errors: Invalid (ErrAccountLink).
func (d *DB) CheckPasswordReset(ctx context.Context, token string) error {
	var n int64
	err := d.control.WithContext(ctx).Raw(`SELECT count(*) FROM platform.account_tokens
		WHERE hash = decode(?, 'hex') AND purpose = ? AND used_at IS NULL AND expires_at > now()`, refreshHash(token), AccountEmailReset).Scan(&n).Error
	if err != nil {
		return fmt.Errorf("find reset token: %w", err)
	}
	if n == 0 {
		return ErrAccountLink
	}
	return nil
}

// ResetPassword sets the password of the account of a live reset token,
// which then stops working, and ends every session of the account: whoever
// knew the old password is logged out. The email is verified too (the link
// reached it).
//
// Errors: Invalid (ErrAccountLink; a weak password, on field "password").
func (d *DB) ResetPassword(ctx context.Context, token, password string) (AccountID, error) {
	if err := auth.ValidatePassword(password); err != nil {
		f := errs.Fields{}
		f.Add("password", "%s", strings.TrimPrefix(errs.MessageOf(err), "password "))
		return 0, f.Err()
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return 0, err
	}
	var account AccountID
	err = d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if account, err = spendAccountToken(tx, AccountEmailReset, token); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE platform.accounts SET password_hash = ?, updated_at = now() WHERE id = ?`, hash, int64(account)).Error; err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		// Older reset links stop working with the password they were for.
		if err := tx.Exec(`UPDATE platform.account_tokens SET used_at = now() WHERE account_id = ? AND purpose = ? AND used_at IS NULL`,
			int64(account), AccountEmailReset).Error; err != nil {
			return fmt.Errorf("spend other reset tokens: %w", err)
		}
		if err := tx.Exec(`UPDATE platform.refresh_tokens SET revoked_at = now() WHERE account_id = ? AND revoked_at IS NULL`, int64(account)).Error; err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return markVerified(tx, account)
	})
	return account, err
}

// RelayAccountEmails hands the pending emails of the platform outbox to
// send, oldest first, at most batch, and marks each one relayed once send
// has returned nil for it; a failed send stops the batch, and the rest are
// offered again on the next pass. Several relays may run at once (SKIP
// LOCKED). It returns how many were relayed. The job fleet's relay loop
// calls it beside RelayEvents.
func (d *DB) RelayAccountEmails(ctx context.Context, batch int, send func(context.Context, AccountEmail) error) (int, error) {
	relayed := 0
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []accountEmailRow
		if err := tx.Raw(`SELECT `+accountEmailColumns+` FROM platform.account_emails WHERE relayed_at IS NULL
			ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED`, batch).Scan(&rows).Error; err != nil {
			return fmt.Errorf("claim account emails: %w", err)
		}
		var done []uuid.UUID
		for _, r := range rows {
			if err := send(ctx, r.toAccountEmail()); err != nil {
				d.log.WarnContext(ctx, "account emails: relay failed; will retry", "err", err)
				break
			}
			done = append(done, r.ID)
		}
		if len(done) == 0 {
			return nil
		}
		if err := tx.Exec(`UPDATE platform.account_emails SET relayed_at = now() WHERE id = ANY (?::uuid[])`, pg.UUIDArray(done)).Error; err != nil {
			return fmt.Errorf("mark account emails relayed: %w", err)
		}
		relayed = len(done)
		return nil
	})
	return relayed, err
}

// DeliverAccountEmail sends the account email id with send, once: an email
// already sent is not sent again (a task run twice), and while send runs
// the row is locked, so two runs at once send it once. Once sent, the row
// forgets its link.
//
// Errors: NotFound (no such email, e.g. its account was deleted), and
// send's error as it is.
func (d *DB) DeliverAccountEmail(ctx context.Context, id uuid.UUID, send func(context.Context, AccountEmail) error) error {
	return d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []accountEmailRow
		if err := tx.Raw(`SELECT `+accountEmailColumns+` FROM platform.account_emails WHERE id = ? FOR UPDATE`, id).Scan(&rows).Error; err != nil {
			return fmt.Errorf("find account email: %w", err)
		}
		if len(rows) == 0 {
			return errs.E(errs.NotFound, "account email not found")
		}
		if rows[0].SentAt != nil {
			return nil
		}
		if err := send(ctx, rows[0].toAccountEmail()); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE platform.account_emails SET sent_at = now(), url = '' WHERE id = ?`, id).Error; err != nil {
			return fmt.Errorf("mark account email sent: %w", err)
		}
		return nil
	})
}

// queueAccountLink makes a token of purpose for account, valid for ttl,
// and writes the email carrying its link (base + token) to the platform
// outbox, inside tx; the relay is woken on commit.
func queueAccountLink(tx *gorm.DB, account AccountID, purpose string, ttl time.Duration, email, name, base string) error {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	expires := time.Now().Add(ttl).UTC()
	if err := tx.Exec(`INSERT INTO platform.account_tokens (hash, account_id, purpose, expires_at) VALUES (decode(?, 'hex'), ?, ?, ?)`,
		refreshHash(token), int64(account), purpose, expires).Error; err != nil {
		return fmt.Errorf("store %s token: %w", purpose, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if err := tx.Exec(`INSERT INTO platform.account_emails (id, account_id, kind, to_email, to_name, url) VALUES (?, ?, ?, ?, ?, ?)`,
		id, int64(account), purpose, email, name, base+token).Error; err != nil {
		return fmt.Errorf("queue %s email: %w", purpose, err)
	}
	// Where the control database is a shard too, the relay wakes at once;
	// elsewhere its timer finds the row.
	if err := tx.Exec(`SELECT pg_notify(?, '')`, OutboxWake).Error; err != nil {
		return fmt.Errorf("wake the relay: %w", err)
	}
	return nil
}

// spendAccountToken marks a live token of purpose used and returns its
// account.
func spendAccountToken(tx *gorm.DB, purpose, token string) (AccountID, error) {
	if token == "" || len(token) > 100 {
		return 0, ErrAccountLink
	}
	var ids []int64
	err := tx.Raw(`UPDATE platform.account_tokens SET used_at = now()
		WHERE hash = decode(?, 'hex') AND purpose = ? AND used_at IS NULL AND expires_at > now() RETURNING account_id`,
		refreshHash(token), purpose).Scan(&ids).Error
	if err != nil {
		return 0, fmt.Errorf("spend %s token: %w", purpose, err)
	}
	if len(ids) == 0 {
		return 0, ErrAccountLink
	}
	return AccountID(ids[0]), nil
}

// MarkEmailVerified records account's email as verified without a link:
// for an address known good another way (the development demo's owner).
func (d *DB) MarkEmailVerified(ctx context.Context, account AccountID) error {
	return markVerified(d.control.WithContext(ctx), account)
}

func markVerified(tx *gorm.DB, account AccountID) error {
	if err := tx.Exec(`UPDATE platform.accounts SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now() WHERE id = ?`,
		int64(account)).Error; err != nil {
		return fmt.Errorf("mark email verified: %w", err)
	}
	return nil
}
