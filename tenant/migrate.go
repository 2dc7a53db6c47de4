package tenant

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"golang.org/x/sync/errgroup"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/migrations"
)

// MigrateControl applies the control migrations to the control database.
func (d *DB) MigrateControl(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(d.controlDB.Pool)
	defer db.Close()
	if err := migrations.ApplyPlatform(ctx, db); err != nil {
		return err
	}
	shards, err := d.Shards(ctx)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		s, err := d.shard(ctx, sh.ID)
		if err != nil {
			return err
		}
		if err := migrateShard(ctx, s.pdb); err != nil {
			return fmt.Errorf("shard %d: %w", sh.ID, err)
		}
	}
	return nil
}

// migrateShard applies the shard migrations (the outbox) to a shard's
// database.
func migrateShard(ctx context.Context, pdb *pg.DB) error {
	db := stdlib.OpenDBFromPool(pdb.Pool)
	defer db.Close()
	return migrations.ApplyShard(ctx, db)
}

// migrateStore applies the pending tenant migrations to store id's schema on
// shard s and returns the version it is at. Each migration runs in its own
// transaction bound to the store, exactly as DB.Tx binds one, so migrations
// never name a schema and tables belong to the store's role. goose's version
// table lives in the store's schema.
func migrateStore(ctx context.Context, s *shard, fsys fs.FS, id ID) (int64, error) {
	db := sql.OpenDB(boundConnector{Connector: stdlib.GetPoolConnector(s.pdb.Pool), role: id.Schema(), schema: id.Schema()})
	defer db.Close()
	db.SetMaxIdleConns(0) // hand each connection straight back to the shard's pool

	store, err := database.NewStore(database.DialectPostgres, id.Schema()+".goose_db_version")
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider("", db, fsys, goose.WithStore(store), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, fmt.Errorf("tenant migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate store %d: %w", id, err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("store %d schema version: %w", id, err)
	}
	return v, nil
}

// boundConnector opens connections whose every transaction is bound to one
// store, with the same transaction-local settings as the tenant door. It
// serves goose, which opens its transactions itself.
type boundConnector struct {
	driver.Connector
	role, schema string
}

func (c boundConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &boundConn{Conn: conn.(*stdlib.Conn), role: c.role, schema: c.schema}, nil
}

type boundConn struct {
	*stdlib.Conn
	role, schema string
}

func (c *boundConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	args := []driver.NamedValue{{Ordinal: 1, Value: c.role}, {Ordinal: 2, Value: c.schema}}
	if _, err := c.Conn.ExecContext(ctx, bindSQL, args); err != nil {
		return nil, errors.Join(fmt.Errorf("bind transaction to %s: %w", c.schema, err), tx.Rollback())
	}
	return tx, nil
}

// Progress reports how far a migration of every store has come.
type Progress struct {
	Total, Done, Failed int
}

// StoreError is one store's migration failure.
type StoreError struct {
	Store ID
	Slug  string
	Err   error
}

// MigrateReport sums up a migration of every store.
type MigrateReport struct {
	Total    int // stores in the directory
	Migrated int // stores brought to the newest version
	Skipped  int // stores already at the newest version
	Failed   []StoreError
	Elapsed  time.Duration
}

// MigrateStores brings every store's schema to the newest tenant migration,
// parallel stores at a time. Stores already at the newest version are skipped,
// so an interrupted run resumes where it stopped. One store's failure does not
// stop the others: failures are listed in the report. progress, if not nil, is
// called after each store (from several goroutines, one call at a time).
func (d *DB) MigrateStores(ctx context.Context, parallel int, progress func(Progress)) (MigrateReport, error) {
	start := time.Now()
	latest := migrations.Latest(d.migrations)
	var rep MigrateReport
	if err := d.control.WithContext(ctx).Raw(`SELECT count(*) FROM platform.tenants`).Scan(&rep.Total).Error; err != nil {
		return rep, fmt.Errorf("count stores: %w", err)
	}
	var todo []tenantRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+tenantColumns+` FROM platform.tenants WHERE schema_version < ? ORDER BY id`, latest).Scan(&todo).Error
	if err != nil {
		return rep, fmt.Errorf("list stores to migrate: %w", err)
	}
	rep.Skipped = rep.Total - len(todo)

	var mu sync.Mutex
	prog := Progress{Total: len(todo)}
	if progress != nil {
		progress(prog)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallel, 1))
	for _, row := range todo {
		g.Go(func() error {
			err := d.migrateOne(gctx, row.toTenant())
			mu.Lock()
			defer mu.Unlock()
			prog.Done++
			if err != nil {
				prog.Failed++
				rep.Failed = append(rep.Failed, StoreError{Store: ID(row.ID), Slug: row.Slug, Err: err})
			} else {
				rep.Migrated++
			}
			if progress != nil {
				progress(prog)
			}
			return nil // one store's failure must not cancel the others
		})
	}
	g.Wait()
	rep.Elapsed = time.Since(start)
	return rep, ctx.Err()
}

// migrateOne migrates one store and records its version in the directory.
func (d *DB) migrateOne(ctx context.Context, t *Tenant) error {
	s, err := d.shard(ctx, t.ShardID)
	if err != nil {
		return err
	}
	v, err := migrateStore(ctx, s, d.migrations, t.ID)
	if err != nil {
		return err
	}
	err = d.control.WithContext(ctx).Exec(`UPDATE platform.tenants SET schema_version = ?, updated_at = now() WHERE id = ?`, v, t.ID).Error
	if err != nil {
		return fmt.Errorf("record store %d schema version: %w", t.ID, err)
	}
	return nil
}
