package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
)

// NewStore is what it takes to provision a store.
type NewStore struct {
	Slug  string // subdomain; derived from Name when empty
	Name  string
	Email string // the store's contact email, shown to shoppers
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ReservedSlugs are subdomains the platform keeps for itself.
var ReservedSlugs = []string{
	"about", "account", "accounts", "admin", "api", "app", "apps", "assets", "auth", "billing",
	"blog", "cdn", "checkout", "dashboard", "dev", "docs", "email", "ftp", "help", "imap", "internal",
	"login", "mail", "media", "mx", "ns", "ns1", "ns2", "ops", "partners", "platform", "pop", "root",
	"shop", "signup", "smtp", "static", "status", "store", "support", "system", "test", "web", "webmail", "www",
}

// ValidateSlug says what is wrong with slug as a store subdomain, or nil.
func ValidateSlug(slug string) error {
	switch {
	case len(slug) < 3 || len(slug) > 63:
		return errs.E(errs.Invalid, "must be 3 to 63 characters long")
	case !slugPattern.MatchString(slug):
		return errs.E(errs.Invalid, "may hold only lowercase letters, digits and single hyphens, and must not start or end with a hyphen")
	case slices.Contains(ReservedSlugs, slug):
		return errs.E(errs.Invalid, "%q is reserved", slug)
	}
	return nil
}

// SuggestSlug turns a store name into a slug candidate: accents dropped,
// lowercase, runs of anything else collapsed into single hyphens.
func SuggestSlug(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r): // a combining accent: drop it
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(unicode.ToLower(r))
		default:
			hyphen = true
		}
	}
	s := b.String()
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func (ns *NewStore) validate() error {
	ns.Name = strings.TrimSpace(ns.Name)
	ns.Slug = strings.TrimSpace(ns.Slug)
	if ns.Slug == "" {
		ns.Slug = SuggestSlug(ns.Name)
	}
	f := errs.Fields{}
	switch {
	case ns.Name == "":
		f.Add("store_name", "is required")
	case len(ns.Name) > 100:
		f.Add("store_name", "must be at most 100 characters long")
	}
	if err := ValidateSlug(ns.Slug); err != nil {
		f.Add("slug", "%s", errs.MessageOf(err))
	}
	return f.Err()
}

// Provision creates a store: its directory row, its schema on the shard
// with the most room (owned by a store role made ahead of time, see
// takeRole), its tables (the tenant migrations) and its shop row. inControl, if not nil, runs inside the control transaction once the
// store's id is known (sign-up adds the account and membership there).
//
// From the caller's view it is atomic: the directory row commits last, and if
// any step fails the schema is dropped again and the role goes back to the
// pool, so nothing is left and the slug is free.
//
// Errors: Invalid (slug, name), Conflict (ErrSlugTaken, or what inControl
// returns), Unavailable (ErrNoShardRoom).
func (d *DB) Provision(ctx context.Context, ns NewStore, inControl func(tx *gorm.DB, t *Tenant) error) (*Tenant, error) {
	if err := ns.validate(); err != nil {
		return nil, err
	}
	select {
	case d.provisioning <- struct{}{}:
		defer func() { <-d.provisioning }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var t *Tenant
	var s *shard
	created := false // the schema exists on the shard
	err := d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		shardID, err := pickShard(tx)
		if err != nil {
			return err
		}
		if s, err = d.shard(ctx, shardID); err != nil {
			return err
		}
		id, err := d.takeRole(ctx, tx, s)
		if err != nil {
			return err
		}
		if t, err = insertTenant(tx, id, ns, shardID); err != nil {
			return err
		}
		if err := d.step("tenant row"); err != nil {
			return err
		}
		if inControl != nil {
			if err := inControl(tx, t); err != nil {
				return err
			}
		}
		if err := createSchema(ctx, s, t); err != nil {
			return err
		}
		created = true
		if err := d.fillSchema(ctx, s, t, ns); err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE platform.tenants SET schema_version = ? WHERE id = ?`, t.SchemaVersion, int64(t.ID)).Error; err != nil {
			return fmt.Errorf("record store %d schema version: %w", t.ID, err)
		}
		return d.step("commit")
	})
	if err != nil {
		if created {
			// The control rollback has freed the slug and put the role back in
			// the pool; the schema must go too.
			err = errors.Join(err, dropSchema(context.WithoutCancel(ctx), s, t.ID))
		}
		return nil, err
	}
	d.changed(ctx, t)
	d.log.InfoContext(ctx, "store provisioned", "tenant", t.ID, "slug", t.Slug, "shard", t.ShardID)
	return t, nil
}

// step runs the test hook after a provisioning step.
func (d *DB) step(name string) error {
	if d.provisionHook == nil {
		return nil
	}
	return d.provisionHook(name)
}

func insertTenant(tx *gorm.DB, id ID, ns NewStore, shardID int) (*Tenant, error) {
	var row tenantRow
	err := tx.Raw(`
		INSERT INTO platform.tenants (id, slug, name, schema_name, db_role, shard_id)
		VALUES (?, ?, ?, ?, ?, ?)
		RETURNING `+tenantColumns, id, ns.Slug, ns.Name, id.Schema(), id.Schema(), shardID).Scan(&row).Error
	if pg.Code(err) == pg.UniqueViolation && pg.Constraint(err) == "tenants_slug_key" {
		return nil, ErrSlugTaken
	}
	if err != nil {
		return nil, fmt.Errorf("insert store: %w", err)
	}
	return row.toTenant(), nil
}

// createSchema creates t's schema on shard s, owned by t's role.
func createSchema(ctx context.Context, s *shard, t *Tenant) error {
	err := s.db.WithContext(ctx).Exec(`CREATE SCHEMA ` + quoteIdent(t.Schema) + ` AUTHORIZATION ` + quoteIdent(t.Role)).Error
	if err != nil {
		return fmt.Errorf("create store %d schema: %w", t.ID, err)
	}
	return nil
}

// fillSchema runs the tenant migrations in t's new schema and writes its shop
// row. It sets t.SchemaVersion.
func (d *DB) fillSchema(ctx context.Context, s *shard, t *Tenant, ns NewStore) error {
	if err := d.step("schema"); err != nil {
		return err
	}
	var err error
	if t.SchemaVersion, err = migrateStore(ctx, s, d.migrations, t.ID); err != nil {
		return err
	}
	if err := d.step("migrations"); err != nil {
		return err
	}
	return bound(ctx, s.db, t, nil, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO shop (name, email) VALUES (?, ?)`, ns.Name, ns.Email).Error; err != nil {
			return fmt.Errorf("insert shop: %w", err)
		}
		return nil
	})
}

// dropSchema removes store id's schema from shard s, if it exists.
func dropSchema(ctx context.Context, s *shard, id ID) error {
	if err := s.db.WithContext(ctx).Exec(`DROP SCHEMA IF EXISTS ` + quoteIdent(id.Schema()) + ` CASCADE`).Error; err != nil {
		return fmt.Errorf("drop store %d schema: %w", id, err)
	}
	return nil
}

// dropStore removes store id's schema and its role from shard s.
func dropStore(ctx context.Context, s *shard, id ID) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DROP SCHEMA IF EXISTS ` + quoteIdent(id.Schema()) + ` CASCADE`).Error; err != nil {
			return err
		}
		return tx.Exec(`DROP ROLE IF EXISTS ` + quoteIdent(id.Schema())).Error
	})
	if err != nil {
		return fmt.Errorf("drop store %d schema and role: %w", id, err)
	}
	return nil
}

// quoteIdent quotes a PostgreSQL identifier. Store schema and role names are
// built from numeric ids, so this is a second line of defence.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

type tenantRow struct {
	ID            int64  `gorm:"column:id"`
	Slug          string `gorm:"column:slug"`
	Name          string `gorm:"column:name"`
	SchemaName    string `gorm:"column:schema_name"`
	DBRole        string `gorm:"column:db_role"`
	ShardID       int    `gorm:"column:shard_id"`
	Status        string `gorm:"column:status"`
	Plan          string `gorm:"column:plan"`
	SchemaVersion int64  `gorm:"column:schema_version"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const tenantColumns = `id, slug, name, schema_name, db_role, shard_id, status, plan, schema_version, created_at, updated_at`

func (r tenantRow) toTenant() *Tenant {
	return &Tenant{
		ID: ID(r.ID), Slug: r.Slug, Name: r.Name, Schema: r.SchemaName, Role: r.DBRole, ShardID: r.ShardID,
		Status: Status(r.Status), Plan: r.Plan, SchemaVersion: r.SchemaVersion, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// Tenant returns the store with id.
//
// Errors: NotFound (ErrTenantNotFound).
func (d *DB) Tenant(ctx context.Context, id ID) (*Tenant, error) {
	return d.findTenant(ctx, `id = ?`, int64(id))
}

// TenantBySlug returns the store with slug.
//
// Errors: NotFound (ErrTenantNotFound).
func (d *DB) TenantBySlug(ctx context.Context, slug string) (*Tenant, error) {
	return d.findTenant(ctx, `slug = ?`, slug)
}

func (d *DB) findTenant(ctx context.Context, where string, arg any) (*Tenant, error) {
	var rows []tenantRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+tenantColumns+` FROM platform.tenants WHERE `+where, arg).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find store: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrTenantNotFound
	}
	return rows[0].toTenant(), nil
}

// Tenants lists stores by id, limit at a time after the id after.
func (d *DB) Tenants(ctx context.Context, after ID, limit int) ([]*Tenant, error) {
	var rows []tenantRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+tenantColumns+` FROM platform.tenants WHERE id > ? ORDER BY id LIMIT ?`, int64(after), limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list stores: %w", err)
	}
	out := make([]*Tenant, len(rows))
	for i, r := range rows {
		out[i] = r.toTenant()
	}
	return out, nil
}

// SetStatus suspends or resumes store id and tells every process to forget
// what it cached of the store.
//
// Errors: Invalid (status), NotFound.
func (d *DB) SetStatus(ctx context.Context, id ID, status Status) (*Tenant, error) {
	if status != Active && status != Suspended {
		return nil, errs.E(errs.Invalid, "status must be %q or %q", Active, Suspended)
	}
	var rows []tenantRow
	err := d.control.WithContext(ctx).Raw(`UPDATE platform.tenants SET status = ?, updated_at = now() WHERE id = ? RETURNING `+tenantColumns, string(status), int64(id)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("set store %d status: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, ErrTenantNotFound
	}
	t := rows[0].toTenant()
	d.changed(ctx, t)
	return t, nil
}

// Delete removes store id for good: its schema and role, its directory row
// and its memberships. The slug is free again.
//
// Errors: NotFound.
func (d *DB) Delete(ctx context.Context, id ID) error {
	t, err := d.Tenant(ctx, id)
	if err != nil {
		return err
	}
	s, err := d.shard(ctx, t.ShardID)
	if err != nil {
		return err
	}
	// The directory goes first: if dropping the schema then fails, what is
	// left is a schema nothing points to (dropped again by a retry, which
	// finds the row gone but the schema there), never a store whose schema
	// has gone.
	var change rbac.Change
	err = d.control.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM platform.tenants WHERE id = ?`, int64(id)).Error; err != nil {
			return fmt.Errorf("delete store %d: %w", id, err)
		}
		var err error
		change.Removed, err = rbac.UnassignStore(tx, rbac.Store(int64(id)))
		return err
	})
	if err != nil {
		return err
	}
	d.changed(ctx, t)
	d.publishAccess(ctx, change)
	if err := dropStore(context.WithoutCancel(ctx), s, id); err != nil {
		d.log.ErrorContext(ctx, "store deleted but its schema was not dropped", "tenant", id, "err", err)
		return err
	}
	return nil
}
