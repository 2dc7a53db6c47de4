// Package migrations holds Storefleet's SQL migrations, embedded in the
// binary: platform/ for the control schema, tenant/ for every store's schema.
// Files are goose migrations named NNNNN_what.sql.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

//go:embed platform/*.sql tenant/*.sql shard/*.sql
var files embed.FS

// Platform returns the control schema's migrations.
func Platform() fs.FS { return sub("platform") }

// Tenant returns the migrations every store schema runs.
func Tenant() fs.FS { return sub("tenant") }

// Shard returns the migrations of every shard database's own schema (the
// outbox), applied to the control database too, which is shard 1.
func Shard() fs.FS { return sub("shard") }

// Latest returns the highest version among fsys's migrations.
func Latest(fsys fs.FS) int64 {
	names, _ := fs.Glob(fsys, "*.sql")
	var latest int64
	for _, n := range names {
		v, err := strconv.ParseInt(strings.SplitN(path.Base(n), "_", 2)[0], 10, 64)
		if err == nil && v > latest {
			latest = v
		}
	}
	return latest
}

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the embed pattern above guarantees dir exists
	}
	return f
}

// ApplyPlatform creates the platform schema if needed and applies the control
// migrations to db. Concurrent runs from several processes wait for each other
// on an advisory lock, so the fleet can run it at every start.
func ApplyPlatform(ctx context.Context, db *sql.DB) error {
	return apply(ctx, db, "platform", Platform())
}

// ApplyShard creates a shard database's outbox schema if needed and applies
// the shard migrations to db, as ApplyPlatform does.
func ApplyShard(ctx context.Context, db *sql.DB) error {
	return apply(ctx, db, "outbox", Shard())
}

// apply applies fsys's migrations to schema in db, its version table in
// that schema.
func apply(ctx context.Context, db *sql.DB, schema string, fsys fs.FS) error {
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		return fmt.Errorf("create %s schema: %w", schema, err)
	}
	store, err := database.NewStore(database.DialectPostgres, schema+".goose_db_version")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider("", db, fsys,
		goose.WithStore(store), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("%s migrations: %w", schema, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply %s migrations: %w", schema, err)
	}
	return nil
}
