package tenant

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
)

// bindSQL binds a transaction to a store in one round trip: its role (so the
// database checks every statement against the store's own privileges) and its
// search_path (so unqualified names mean the store's tables). The third
// argument of set_config makes both transaction-local: they end with the
// transaction, whichever way it ends.
const bindSQL = "SELECT set_config('role', $1, true), set_config('search_path', $2, true)"

// Tx runs fn in a transaction bound to store t: the role and search_path are
// set transaction-locally first, so the database itself refuses another
// store's rows. It commits when fn returns nil and rolls back when fn returns
// an error or panics (the panic goes on). Do not call Tx from inside fn: a
// service method owns its transaction, and helpers it calls take the tx.
//
// If the transaction fails because a cached statement's result type changed
// under it (a tenant migration rolling out on shared pooled connections), fn
// is run once more in a fresh transaction; pgx has dropped the stale
// statement by then.
func (d *DB) Tx(ctx context.Context, t *Tenant, fn func(tx *gorm.DB) error) error {
	return d.door(ctx, t, nil, fn)
}

// ReadTx is Tx in a read-only transaction, for work that only reads (the
// storefront's pages): a write inside it fails.
func (d *DB) ReadTx(ctx context.Context, t *Tenant, fn func(tx *gorm.DB) error) error {
	return d.door(ctx, t, &sql.TxOptions{ReadOnly: true}, fn)
}

func (d *DB) door(ctx context.Context, t *Tenant, opts *sql.TxOptions, fn func(tx *gorm.DB) error) error {
	if t == nil || t.ID <= 0 || t.Role == "" || t.Schema == "" {
		return errs.E(errs.Internal, "tenant door opened without a store")
	}
	s, err := d.shard(ctx, t.ShardID)
	if err != nil {
		return err
	}
	err = bound(ctx, s.db, t, opts, fn)
	if pg.IsCachedPlanChanged(err) {
		err = bound(ctx, s.db, t, opts, fn)
	}
	return err
}

// bound runs fn in a transaction on db bound to t.
func bound(ctx context.Context, db *gorm.DB, t *Tenant, opts *sql.TxOptions, fn func(tx *gorm.DB) error) (err error) {
	tx := db.WithContext(ctx).Begin(opts)
	if tx.Error != nil {
		return fmt.Errorf("begin store %d transaction: %w", t.ID, tx.Error)
	}
	committed := false
	defer func() {
		if !committed {
			// The error of fn (or the panic) is what matters; a failed rollback
			// only means the connection is gone, and the pool drops it.
			tx.Rollback()
		}
	}()
	if err := tx.Exec(bindSQL, t.Role, t.Schema).Error; err != nil {
		return fmt.Errorf("bind transaction to store %d: %w", t.ID, err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit().Error; err != nil {
		return fmt.Errorf("commit store %d transaction: %w", t.ID, err)
	}
	return nil
}
