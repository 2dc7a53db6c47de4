// Package pg opens PostgreSQL connection pools the way Storefleet uses them:
// pgx underneath, database/sql pooling, gorm on top, no session state ever set
// on a pooled connection. It also names the driver errors the stores translate.
package pg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Pool is how large a pool may grow and how long its connections live.
type Pool struct {
	MaxConns    int32
	MaxLifetime time.Duration
}

// ParseURL parses a PostgreSQL URL into a pool config. The URL may carry
// pgx's own parameters: behind PgBouncer in transaction pooling mode (before
// 1.21) set default_query_exec_mode=exec, so no named prepared statement
// outlives a transaction.
func ParseURL(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message can echo the URL, password included; keep it out.
		return nil, errors.New("not a valid PostgreSQL URL (postgres://user:password@host:port/database?…)")
	}
	return cfg, nil
}

// DB is one database's connection pool, with gorm on top of it. Everything
// that talks to the database shares the pool, so connections (and the
// server's per-connection caches) stay warm.
type DB struct {
	Pool *pgxpool.Pool
	Gorm *gorm.DB
}

// Open opens a pool for cfg, sized by p, and checks that the server answers.
func Open(ctx context.Context, cfg *pgxpool.Config, p Pool) (*DB, error) {
	cfg = cfg.Copy()
	if p.MaxConns > 0 {
		cfg.MaxConns = p.MaxConns
	}
	if p.MaxLifetime > 0 {
		cfg.MaxConnLifetime = p.MaxLifetime
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool for %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDBFromPool(pool)}), &gorm.Config{
		SkipDefaultTransaction: true, // no implicit transaction around single writes
		Logger:                 logger.Discard,
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return &DB{Pool: pool, Gorm: db}, nil
}

// Close closes the pool.
func (d *DB) Close() {
	if sqlDB, err := d.Gorm.DB(); err == nil {
		sqlDB.Close()
	}
	d.Pool.Close()
}

// SQLState codes the stores translate.
const (
	UniqueViolation       = "23505"
	CheckViolation        = "23514"
	ForeignKeyViolation   = "23503"
	InsufficientPrivilege = "42501"
	UndefinedTable        = "42P01"
	FeatureNotSupported   = "0A000"
)

// Code returns the SQLSTATE of err's PostgreSQL error, or "".
func Code(err error) string {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.Code
	}
	return ""
}

// Constraint returns the constraint a PostgreSQL error names, or "".
func Constraint(err error) string {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		return e.ConstraintName
	}
	return ""
}

// IsCachedPlanChanged reports whether err is PostgreSQL refusing a cached
// statement whose result columns changed under it, as happens on a pooled
// connection while a migration rolls across schemas.
func IsCachedPlanChanged(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && e.Code == FeatureNotSupported && e.Message == "cached plan must not change result type"
}

// LikeEscape escapes s for use inside a LIKE or ILIKE pattern, so that its
// % and _ match themselves.
func LikeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Keyset renders the condition and order of one page of an id-ordered
// listing over column col: rows after id after, or (for a previous page)
// before id before, nearest first.
func Keyset(col string, after, before int64) (cond string, args []any, order string) {
	switch {
	case before != 0:
		return " AND " + col + " < ?", []any{before}, col + " DESC"
	case after != 0:
		return " AND " + col + " > ?", []any{after}, col
	}
	return "", nil, col
}

// TrimPage takes the rows of a Keyset query fetched with limit+1 and in id
// order, and returns the page of at most limit rows and whether more rows
// follow in the direction of travel.
func TrimPage[T any](rows []T, limit int, backward bool) ([]T, bool) {
	if len(rows) <= limit {
		return rows, false
	}
	if backward {
		return rows[len(rows)-limit:], true // the extra one is the farthest back
	}
	return rows[:limit], true
}

// Int8Array renders ids as a PostgreSQL array literal, for `= ANY (?::bigint[])`:
// gorm expands a slice argument into a list, which ANY does not take, and an
// empty list into (NULL), which NOT IN turns into "no rows".
func Int8Array(ids []int64) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte('}')
	return b.String()
}

// UUIDArray renders ids as a PostgreSQL array literal, for `= ANY (?::uuid[])`,
// for the same reasons as Int8Array.
func UUIDArray[T fmt.Stringer](ids []T) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TextArray renders ss as a PostgreSQL text array literal, each element
// quoted, for `?::text[]`.
func TextArray(ss []string) string {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = `"` + quote.Replace(s) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}
