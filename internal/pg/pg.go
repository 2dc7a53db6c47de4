// Package pg opens PostgreSQL connection pools the way Storefleet uses them:
// pgx underneath, database/sql pooling, gorm on top, no session state ever set
// on a pooled connection. It also names the driver errors the stores translate.
package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Pool is how large a pool may grow and how long its connections live.
type Pool struct {
	MaxConns    int
	MaxIdle     int
	MaxLifetime time.Duration
}

// ParseURL parses a PostgreSQL URL into a pgx connection config. The URL may
// carry pgx's own parameters: behind PgBouncer in transaction pooling mode
// (before 1.21) set default_query_exec_mode=exec, so no named prepared
// statement outlives a transaction.
func ParseURL(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message can echo the URL, password included; keep it out.
		return nil, errors.New("not a valid PostgreSQL URL (postgres://user:password@host:port/database?…)")
	}
	return cfg, nil
}

// Open opens a pool for cfg and checks that the server answers.
func Open(ctx context.Context, cfg *pgx.ConnConfig, p Pool) (*gorm.DB, error) {
	sqlDB := stdlib.OpenDB(*cfg)
	sqlDB.SetMaxOpenConns(p.MaxConns)
	sqlDB.SetMaxIdleConns(p.MaxIdle)
	sqlDB.SetConnMaxLifetime(p.MaxLifetime)
	db, err := Gorm(sqlDB)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	return db, nil
}

// Gorm wraps an open *sql.DB in gorm, configured for explicit SQL: no
// implicit transactions around single writes, no logging of every statement.
func Gorm(sqlDB *sql.DB) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), &gorm.Config{
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		TranslateError:         false,
	})
	if err != nil {
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	return db, nil
}

// Close closes the pool under db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
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
