package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
)

// Scopes are what an API token can be allowed; write_X includes read_X.
var Scopes = []string{
	"read_products", "write_products",
	"read_inventory", "write_inventory",
	"read_customers", "write_customers",
	"read_orders", "write_orders",
	"read_fulfillments", "write_fulfillments",
	"read_themes", "write_themes",
	"read_content", "write_content",
	"read_discounts", "write_discounts",
	"read_price_rules", "write_price_rules", // Shopify's names for discounts
	"read_shipping", "write_shipping",
}

// tokenPrefix starts every token, so that a leaked one is recognisable (and
// secret scanners can be taught to find it).
const tokenPrefix = "sfat_"

// Token is an API access token of a store ("custom app"): a name, scopes,
// and a secret shown once at creation.
type Token struct {
	ID         int64
	Store      ID
	Name       string
	Prefix     string // the secret's first characters, to tell tokens apart
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Subject is the token's name in the access policy.
func (t Token) Subject() string { return rbac.Token(t.ID) }

// ErrBadToken is what a missing, unknown, revoked or other store's token gets,
// in the words Shopify's API uses.
var ErrBadToken = errs.E(errs.Unauthenticated, "[API] Invalid API key or access token (unrecognized login or wrong password)")

type tokenRow struct {
	ID         int64      `gorm:"column:id"`
	TenantID   int64      `gorm:"column:tenant_id"`
	Name       string     `gorm:"column:name"`
	Prefix     string     `gorm:"column:token_prefix"`
	Scopes     string     `gorm:"column:scopes"` // comma-separated
	CreatedAt  time.Time  `gorm:"column:created_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

const tokenColumns = `id, tenant_id, name, token_prefix, array_to_string(scopes, ',') AS scopes, created_at, last_used_at, revoked_at`

func (r tokenRow) toToken() Token {
	return Token{ID: r.ID, Store: ID(r.TenantID), Name: r.Name, Prefix: r.Prefix, Scopes: strings.Split(r.Scopes, ","),
		CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
}

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ParseScopes splits a comma-separated scope list and checks every scope.
//
// Errors: Invalid, naming the unknown scopes.
func ParseScopes(list string) ([]string, error) {
	var scopes, unknown []string
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
		case slices.Contains(Scopes, s):
			scopes = append(scopes, s)
		default:
			unknown = append(unknown, s)
		}
	}
	if len(unknown) > 0 {
		return nil, &errs.Error{Kind: errs.Invalid, Message: "unknown scopes: " + strings.Join(unknown, ", "),
			Fields: map[string][]string{"scopes": {"has unknown scopes " + strings.Join(unknown, ", ") + "; known: " + strings.Join(Scopes, ", ")}}}
	}
	if len(scopes) == 0 {
		return nil, &errs.Error{Kind: errs.Invalid, Message: "a token needs at least one scope",
			Fields: map[string][]string{"scopes": {"needs at least one of " + strings.Join(Scopes, ", ")}}}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes), nil
}

// CreateToken makes an API token for store t and returns it with its secret,
// which is not kept: it cannot be shown again.
//
// Errors: Invalid (name, scopes).
func (d *DB) CreateToken(ctx context.Context, t *Tenant, name string, scopes []string) (Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Token{}, "", &errs.Error{Kind: errs.Invalid, Message: "name must be 1 to 100 characters",
			Fields: map[string][]string{"name": {"must be 1 to 100 characters"}}}
	}
	scopes, err := ParseScopes(strings.Join(scopes, ","))
	if err != nil {
		return Token{}, "", err
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	secret := tokenPrefix + hex.EncodeToString(b)

	var tok Token
	var change rbac.Change
	err = d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row tokenRow
		err := tx.Raw(`INSERT INTO platform.api_tokens (tenant_id, name, token_hash, token_prefix, scopes)
			VALUES (?, ?, ?, ?, string_to_array(?, ',')) RETURNING `+tokenColumns,
			int64(t.ID), name, hashToken(secret), secret[:len(tokenPrefix)+6], strings.Join(scopes, ",")).Scan(&row).Error
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		tok = row.toToken()
		for _, s := range scopes {
			r, err := rbac.Assign(tx, tok.Subject(), rbac.Scope(s), rbac.Store(int64(t.ID)))
			if err != nil {
				return err
			}
			change.Added = append(change.Added, r)
		}
		return nil
	})
	if err != nil {
		return Token{}, "", err
	}
	d.publishAccess(ctx, change)
	return tok, secret, nil
}

// Tokens lists store t's tokens, newest first, revoked ones included.
func (d *DB) Tokens(ctx context.Context, t *Tenant) ([]Token, error) {
	var rows []tokenRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+tokenColumns+` FROM platform.api_tokens WHERE tenant_id = ? ORDER BY id DESC`, int64(t.ID)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.toToken()
	}
	return out, nil
}

// RevokeToken revokes store t's token id; it stops working at once in every
// process.
//
// Errors: NotFound (no such token in this store).
func (d *DB) RevokeToken(ctx context.Context, t *Tenant, id int64) error {
	var change rbac.Change
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE platform.api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = ? AND tenant_id = ?`, id, int64(t.ID))
		if res.Error != nil {
			return fmt.Errorf("revoke token: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errs.E(errs.NotFound, "no token %d in this store", id)
		}
		var err error
		change.Removed, err = rbac.Unassign(tx, rbac.Token(id), rbac.Store(int64(t.ID)))
		return err
	})
	if err != nil {
		return err
	}
	d.publishAccess(ctx, change)
	return nil
}

// Authenticate returns store t's live token whose secret this is.
//
// Errors: Unauthenticated (ErrBadToken) for a missing, unknown or revoked
// token, or one of another store: all look the same to the caller.
func (d *DB) Authenticate(ctx context.Context, t *Tenant, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return Token{}, ErrBadToken
	}
	var rows []tokenRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+tokenColumns+` FROM platform.api_tokens
		WHERE token_hash = ? AND tenant_id = ? AND revoked_at IS NULL`, hashToken(secret), int64(t.ID)).Scan(&rows).Error
	if err != nil {
		return Token{}, fmt.Errorf("authenticate token: %w", err)
	}
	if len(rows) == 0 {
		return Token{}, ErrBadToken
	}
	tok := rows[0].toToken()
	if tok.LastUsedAt == nil || time.Since(*tok.LastUsedAt) > time.Minute {
		// At most once a minute per token, so busy tokens do not write on every call.
		d.control.WithContext(ctx).Exec(`UPDATE platform.api_tokens SET last_used_at = now() WHERE id = ?`, tok.ID)
	}
	return tok, nil
}

// SigningSecret returns the secret webhooks to token's app are signed with,
// for store t. A revoked token's is not returned.
//
// Errors: NotFound.
func (d *DB) SigningSecret(ctx context.Context, t *Tenant, token int64) (string, error) {
	var secrets []string
	err := d.control.WithContext(ctx).Raw(`SELECT signing_secret FROM platform.api_tokens
		WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL`, token, int64(t.ID)).Scan(&secrets).Error
	if err != nil {
		return "", fmt.Errorf("find signing secret: %w", err)
	}
	if len(secrets) == 0 {
		return "", errs.E(errs.NotFound, "token not found")
	}
	return secrets[0], nil
}
