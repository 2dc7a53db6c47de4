package tenant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// Per-store backups are logical dumps of one store's schema, made and
// restored with PostgreSQL's own pg_dump and pg_restore (custom format), so
// that one store can be brought back without touching the others.

// shardURL is a libpq connection string for the database holding store t:
// pgx's own parameters are dropped, since pg_dump would refuse them.
func (d *DB) shardURL(ctx context.Context, t *Tenant) (string, error) {
	raw := d.controlURL
	var dsn string
	if err := d.control.WithContext(ctx).Raw(`SELECT dsn FROM platform.shards WHERE id = ?`, t.ShardID).Scan(&dsn).Error; err != nil {
		return "", fmt.Errorf("find shard of store %s: %w", t.Slug, err)
	}
	if dsn != "" {
		raw = dsn
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("backups need the database as a postgres:// URL")
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" ||
			k == "description_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// DumpStore writes a dump of store t's schema to w.
func (d *DB) DumpStore(ctx context.Context, t *Tenant, w io.Writer) error {
	dsn, err := d.shardURL(ctx, t)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--schema="+t.Schema, "--dbname="+dsn)
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump of store %s: %w: %s", t.Slug, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// RestoreStore replaces store t's data with the dump in r. The store is
// suspended while it runs (shoppers and partners are told so), and its
// status restored after. The old schema is kept aside until the dump is in,
// so a failed restore leaves the store as it was.
func (d *DB) RestoreStore(ctx context.Context, t *Tenant, r io.Reader) error {
	before := t.Status
	if _, err := d.SetStatus(ctx, t.ID, Suspended); err != nil {
		return err
	}
	defer d.SetStatus(context.WithoutCancel(ctx), t.ID, before)
	s, err := d.shard(ctx, t.ShardID)
	if err != nil {
		return err
	}
	dsn, err := d.shardURL(ctx, t)
	if err != nil {
		return err
	}
	aside := fmt.Sprintf("%s_restore_%d", t.Schema, time.Now().UnixNano())
	if err := s.db.WithContext(ctx).Exec(`ALTER SCHEMA ` + quoteIdent(t.Schema) + ` RENAME TO ` + quoteIdent(aside)).Error; err != nil {
		return fmt.Errorf("set store %s's data aside: %w", t.Slug, err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "pg_restore", "--exit-on-error", "--single-transaction", "--dbname="+dsn)
	cmd.Stdin, cmd.Stderr = r, &stderr
	if err := cmd.Run(); err != nil {
		// Put the old data back where it was.
		undo := s.db.WithContext(context.WithoutCancel(ctx))
		undo.Exec(`DROP SCHEMA IF EXISTS ` + quoteIdent(t.Schema) + ` CASCADE`)
		if uerr := undo.Exec(`ALTER SCHEMA ` + quoteIdent(aside) + ` RENAME TO ` + quoteIdent(t.Schema)).Error; uerr != nil {
			return fmt.Errorf("restore of store %s failed (%v: %s), and putting its data back failed too: %w; the data is in schema %s",
				t.Slug, err, strings.TrimSpace(stderr.String()), uerr, aside)
		}
		return fmt.Errorf("restore of store %s: %w: %s", t.Slug, err, strings.TrimSpace(stderr.String()))
	}
	if err := s.db.WithContext(ctx).Exec(`DROP SCHEMA ` + quoteIdent(aside) + ` CASCADE`).Error; err != nil {
		return fmt.Errorf("drop store %s's old data: %w", t.Slug, err)
	}
	// Every server drops its cached pages of the store.
	return s.db.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, StorefrontChanges, t.Schema).Error
}
