// Package tenant is Storefleet's control plane: the stores (tenants), the
// merchant accounts that own them, the shards their schemas live on, host
// resolution, provisioning, migration fan-out, and the one door to a store's
// data, DB.Tx.
//
// Every store has its own PostgreSQL schema t_<id> and its own NOLOGIN role of
// the same name that owns that schema and nothing else. DB.Tx runs each unit of
// tenant work in a transaction that first sets, transaction-locally, both the
// role and the search_path to the store, so a query that strays into another
// store's schema is refused by the database itself. Nothing ever sets a role or
// a search_path at session level: pooled connections (and PgBouncer's, in
// transaction mode) are shared by all stores.
package tenant

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/migrations"
)

// ID identifies a store across the fleet.
type ID int64

// ParseID parses a store id as written by String.
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.E(errs.Invalid, "%q is not a store id", s)
	}
	return ID(n), nil
}

func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// Schema is the name of the store's PostgreSQL schema, and of its role.
func (id ID) Schema() string { return "t_" + id.String() }

// Status says whether a store serves its shoppers.
type Status string

// The statuses a store can be in.
const (
	Active    Status = "active"
	Suspended Status = "suspended"
)

// Tenant is a store as the control plane knows it.
type Tenant struct {
	ID            ID
	Slug          string
	Name          string
	Schema        string // PostgreSQL schema holding the store's data
	Role          string // PostgreSQL role the store's transactions run as
	ShardID       int
	Status        Status
	Plan          string
	SchemaVersion int64 // newest tenant migration applied
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Errors callers test for.
var (
	ErrTenantNotFound = errs.E(errs.NotFound, "store not found")
	ErrSuspended      = errs.E(errs.Forbidden, "this store is suspended")
	ErrSlugTaken      = &errs.Error{Kind: errs.Conflict, Message: "slug is already taken", Fields: map[string][]string{"slug": {"is already taken"}}}
	ErrEmailTaken     = &errs.Error{Kind: errs.Conflict, Message: "email already has an account", Fields: map[string][]string{"email": {"already has an account"}}}
	ErrNoShardRoom    = errs.E(errs.Unavailable, "no shard has room for a new store")
)

// Config tunes the control plane.
type Config struct {
	// Pool sizes every pool: the control database's and each shard's.
	Pool pg.Pool
	// Migrations are the tenant migrations; nil means those of package
	// migrations. `storefleet bench` adds one of its own to time a migration
	// reaching every store.
	Migrations fs.FS
}

// DB is the control plane's handle: the control database, a pool per shard
// (opened on first use), and the tenant door. It is safe for concurrent use.
type DB struct {
	controlURL string   // the control database, for tools that connect on their own (pg_dump)
	controlDB  *pg.DB   // the control database's pool
	control    *gorm.DB // controlDB's gorm
	cfg        Config
	rdb        *redis.Client // announces store changes to the fleet; may be nil
	access     *rbac.Enforcer
	log        *slog.Logger

	mu     sync.Mutex
	shards map[int]*shard

	plans planCache
	roles roleStores // store roles to ids, for the outbox relay

	// provisioning admits one provisioning at a time in this process. A
	// provisioning holds a control connection in its transaction while it
	// waits for the shard's directory row, and needs two more to finish; let
	// as many wait as the pool has connections and none can finish.
	// Provisioning is serialised per shard by that row lock anyway.
	provisioning chan struct{}

	// migrations are the tenant migrations; tests swap in a set with one more.
	migrations fs.FS

	// provisionHook, when set (by tests), runs after each provisioning step
	// and may fail it, to prove that a failure midway leaves nothing behind.
	provisionHook func(step string) error
}

// Open connects to the control database at url. Changes to stores are
// announced on rdb, so that every process's Resolver forgets them.
func Open(ctx context.Context, url string, cfg Config, rdb *redis.Client, log *slog.Logger) (*DB, error) {
	poolCfg, err := pg.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("control database: %w", err)
	}
	control, err := pg.Open(ctx, poolCfg, cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("control database: %w", err)
	}
	d := &DB{controlURL: url, controlDB: control, control: control.Gorm, cfg: cfg, rdb: rdb, log: log,
		shards: map[int]*shard{}, migrations: migrations.Tenant(), provisioning: make(chan struct{}, 1)}
	if cfg.Migrations != nil {
		d.migrations = cfg.Migrations
	}
	return d, nil
}

// Access returns the access policy, loading it on first use (the control
// migrations must have run). Staff and API tokens are both checked by it.
func (d *DB) Access() (*rbac.Enforcer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.access == nil {
		e, err := rbac.New(d.control, d.rdb, d.log)
		if err != nil {
			return nil, err
		}
		d.access = e
	}
	return d.access, nil
}

// publishAccess applies a committed access change here and announces it to
// the fleet; a failure is logged, and the periodic reload catches up.
func (d *DB) publishAccess(ctx context.Context, c rbac.Change) {
	e, err := d.Access()
	if err == nil {
		err = e.Publish(ctx, c)
	}
	if err != nil {
		d.log.WarnContext(ctx, "access change not announced; processes catch up at their next reload", "err", err)
	}
}

// Close closes every pool.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, s := range d.shards {
		if s.pdb != d.controlDB {
			s.pdb.Close()
		}
		delete(d.shards, id)
	}
	d.controlDB.Close()
	return nil
}

// Ping checks that the control database answers.
func (d *DB) Ping(ctx context.Context) error {
	return d.controlDB.Pool.Ping(ctx)
}

type ctxKey struct{}

// NewContext returns ctx carrying the store a request is for. Only host
// resolution and the worker's task middleware call it: a store never comes
// from a request's body or query.
func NewContext(ctx context.Context, t *Tenant) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// FromContext returns the store ctx carries, or nil.
func FromContext(ctx context.Context) *Tenant {
	t, _ := ctx.Value(ctxKey{}).(*Tenant)
	return t
}
