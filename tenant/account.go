package tenant

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
)

// AccountID identifies a merchant account across the fleet.
type AccountID int64

// Account is a merchant user: a person who can log in to the dashboard and
// own or work in stores.
type Account struct {
	ID        AccountID
	Email     string
	Name      string
	CreatedAt time.Time
}

// Role is what an account may do in a store.
type Role string

// The built-in roles.
const (
	RoleOwner       Role = "owner"
	RoleAdmin       Role = "admin"
	RoleStaff       Role = "staff"
	RoleFulfillment Role = "fulfillment"
	RoleViewer      Role = "viewer"
)

// Signup is a merchant signing up: a new account and its first store.
type Signup struct {
	Email     string
	Password  string
	Name      string // the person's name; optional
	StoreName string
	Slug      string // optional: derived from StoreName
	// Dashboard is the dashboard's address: when set, the email asking to
	// verify the address is queued with the account, so it cannot be lost.
	Dashboard string
}

// SignUp creates an account and a store it owns, atomically: if the store
// cannot be made, the account is not made either.
//
// Errors: Invalid (with per-field messages), Conflict (ErrEmailTaken,
// ErrSlugTaken), Unavailable (no shard has room).
func (d *DB) SignUp(ctx context.Context, s Signup) (Account, *Tenant, error) {
	f := errs.Fields{}
	email, err := auth.NormalizeEmail(s.Email)
	if err != nil {
		f.Add("email", "%s", strings.TrimPrefix(errs.MessageOf(err), "email "))
	}
	if err := auth.ValidatePassword(s.Password); err != nil {
		f.Add("password", "%s", strings.TrimPrefix(errs.MessageOf(err), "password "))
	}
	ns := NewStore{Slug: s.Slug, Name: s.StoreName, Email: email}
	if err := ns.validate(); err != nil {
		for k, v := range errs.FieldsOf(err) {
			f[k] = append(f[k], v...)
		}
	}
	if err := f.Err(); err != nil {
		return Account{}, nil, err
	}
	hash, err := auth.HashPassword(s.Password)
	if err != nil {
		return Account{}, nil, err
	}
	var acct Account
	var change rbac.Change
	t, err := d.Provision(ctx, ns, func(tx *gorm.DB, t *Tenant) error {
		var err error
		if acct, err = insertAccount(tx, email, hash, strings.TrimSpace(s.Name)); err != nil {
			return err
		}
		if s.Dashboard != "" {
			if err := queueAccountLink(tx, acct.ID, AccountEmailVerify, VerifyTTL, acct.Email, acct.Name, s.Dashboard+"/verify/"); err != nil {
				return err
			}
		}
		change, err = insertMembership(tx, acct.ID, t.ID, RoleOwner)
		return err
	})
	if err != nil {
		return Account{}, nil, err
	}
	d.publishAccess(ctx, change)
	return acct, t, nil
}

// CreateStoreFor provisions a store owned by an existing account.
//
// Errors: as Provision, and NotFound when the account does not exist.
func (d *DB) CreateStoreFor(ctx context.Context, owner AccountID, ns NewStore) (*Tenant, error) {
	var change rbac.Change
	t, err := d.Provision(ctx, ns, func(tx *gorm.DB, t *Tenant) error {
		var err error
		change, err = insertMembership(tx, owner, t.ID, RoleOwner)
		return err
	})
	if err != nil {
		return nil, err
	}
	d.publishAccess(ctx, change)
	return t, nil
}

// AccountByEmail returns the account with email, ignoring case.
//
// Errors: NotFound.
func (d *DB) AccountByEmail(ctx context.Context, email string) (Account, error) {
	var rows []accountRow
	err := d.control.WithContext(ctx).Raw(`SELECT id, email, name, created_at FROM platform.accounts WHERE lower(email) = lower(?)`, email).Scan(&rows).Error
	if err != nil {
		return Account{}, fmt.Errorf("find account: %w", err)
	}
	if len(rows) == 0 {
		return Account{}, errs.E(errs.NotFound, "no account for %s", email)
	}
	return rows[0].toAccount(), nil
}

// Member is an account's role in one store.
type Member struct {
	Tenant *Tenant
	Role   Role
}

// StoresOf lists the stores account belongs to, with its role in each.
func (d *DB) StoresOf(ctx context.Context, account AccountID) ([]Member, error) {
	var rows []struct {
		Tenant tenantRow `gorm:"embedded"`
		Role   string    `gorm:"column:role"`
	}
	err := d.control.WithContext(ctx).Raw(`
		SELECT t.id, t.slug, t.name, t.schema_name, t.db_role, t.shard_id, t.status, t.plan,
		       t.schema_version, t.created_at, t.updated_at, m.role
		FROM platform.memberships m JOIN platform.tenants t ON t.id = m.tenant_id
		WHERE m.account_id = ? ORDER BY t.id`, int64(account)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list stores of account %d: %w", account, err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		out[i] = Member{Tenant: r.Tenant.toTenant(), Role: Role(r.Role)}
	}
	return out, nil
}

type accountRow struct {
	ID        int64     `gorm:"column:id"`
	Email     string    `gorm:"column:email"`
	Name      string    `gorm:"column:name"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (r accountRow) toAccount() Account {
	return Account{ID: AccountID(r.ID), Email: r.Email, Name: r.Name, CreatedAt: r.CreatedAt}
}

func insertAccount(tx *gorm.DB, email, hash, name string) (Account, error) {
	var row accountRow
	err := tx.Raw(`INSERT INTO platform.accounts (email, password_hash, name) VALUES (?, ?, ?)
		RETURNING id, email, name, created_at`, email, hash, name).Scan(&row).Error
	if pg.Code(err) == pg.UniqueViolation {
		return Account{}, ErrEmailTaken
	}
	if err != nil {
		return Account{}, fmt.Errorf("insert account: %w", err)
	}
	return row.toAccount(), nil
}

// insertMembership gives account role in store t, and the matching access
// assignment, inside tx; the caller publishes the change after the commit.
func insertMembership(tx *gorm.DB, account AccountID, t ID, role Role) (rbac.Change, error) {
	err := tx.Exec(`INSERT INTO platform.memberships (account_id, tenant_id, role) VALUES (?, ?, ?)`, int64(account), int64(t), string(role)).Error
	if pg.Code(err) == pg.ForeignKeyViolation {
		return rbac.Change{}, errs.E(errs.NotFound, "no account %d", account)
	}
	if err != nil {
		return rbac.Change{}, fmt.Errorf("insert membership: %w", err)
	}
	r, err := rbac.Assign(tx, rbac.Account(int64(account)), rbac.Role(string(role)), rbac.Store(int64(t)))
	if err != nil {
		return rbac.Change{}, err
	}
	return rbac.Change{Added: []rbac.Rule{r}}, nil
}

// ErrNotMember is for an account that has no role in a store.
var ErrNotMember = errs.E(errs.Unauthenticated, "this account is not a member of this store")

// RoleIn returns account's role in store t.
//
// Errors: Unauthenticated (ErrNotMember).
func (d *DB) RoleIn(ctx context.Context, account AccountID, t *Tenant) (Role, error) {
	var roles []string
	err := d.control.WithContext(ctx).Raw(`SELECT role FROM platform.memberships WHERE account_id = ? AND tenant_id = ?`,
		int64(account), int64(t.ID)).Scan(&roles).Error
	if err != nil {
		return "", fmt.Errorf("find role of account %d in store %d: %w", account, t.ID, err)
	}
	if len(roles) == 0 {
		return "", ErrNotMember
	}
	return Role(roles[0]), nil
}

// CreateAccount makes a merchant account that belongs to no store yet (a
// staff member before their first role).
//
// Errors: Invalid (with per-field messages), Conflict (ErrEmailTaken).
func (d *DB) CreateAccount(ctx context.Context, email, password, name string) (Account, error) {
	f := errs.Fields{}
	email, err := auth.NormalizeEmail(email)
	if err != nil {
		f.Add("email", "%s", strings.TrimPrefix(errs.MessageOf(err), "email "))
	}
	if err := auth.ValidatePassword(password); err != nil {
		f.Add("password", "%s", strings.TrimPrefix(errs.MessageOf(err), "password "))
	}
	if err := f.Err(); err != nil {
		return Account{}, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return Account{}, err
	}
	return insertAccount(d.control.WithContext(ctx), email, hash, strings.TrimSpace(name))
}

// SetRole gives account role in store t, replacing any role it had there;
// every process's access policy follows.
//
// Errors: Invalid (an unknown role), NotFound (no such account).
func (d *DB) SetRole(ctx context.Context, account AccountID, t *Tenant, role Role) error {
	switch role {
	case RoleOwner, RoleAdmin, RoleStaff, RoleFulfillment, RoleViewer:
	default:
		return errs.E(errs.Invalid, "role must be owner, admin, staff, fulfillment or viewer")
	}
	var change rbac.Change
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM platform.memberships WHERE account_id = ? AND tenant_id = ?`, int64(account), int64(t.ID)).Error; err != nil {
			return fmt.Errorf("delete membership: %w", err)
		}
		removed, err := rbac.Unassign(tx, rbac.Account(int64(account)), rbac.Store(int64(t.ID)))
		if err != nil {
			return err
		}
		change, err = insertMembership(tx, account, t.ID, role)
		change.Removed = removed
		return err
	})
	if err != nil {
		return err
	}
	d.publishAccess(ctx, change)
	return nil
}
