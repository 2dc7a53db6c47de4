// Package testenv gives tests the real services they run against: a fresh
// PostgreSQL database per test, cloned from a migrated template; the same
// database through PgBouncer in transaction pooling mode; and Redis. The
// services are the ones deploy/local/services.sh starts (make test does); a
// test that cannot reach them fails, it never skips.
package testenv

import (
	"github.com/storefleet/storefleet/internal/blob"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/migrations"
)

// Defaults match deploy/local/services.sh.
const (
	defaultDatabaseURL  = "postgres://storefleet@127.0.0.1:54329/storefleet?sslmode=disable"
	defaultRedisURL     = "redis://127.0.0.1:63799/0"
	defaultPgBouncerURL = "postgres://storefleet@127.0.0.1:64329/storefleet?sslmode=disable&default_query_exec_mode=exec"
)

const hint = "start the local services with `make services` (make test does it)"

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// DatabaseURL is the URL of the cluster's main database (for admin work).
func DatabaseURL() string { return getenv("DATABASE_URL", defaultDatabaseURL) }

// RedisURL is the URL of the test Redis.
func RedisURL() string { return getenv("REDIS_URL", defaultRedisURL) }

// tenantIDBlock is how many store ids each test database may hand out; each
// database starts at a random block, so the cluster-wide store roles of test
// databases running side by side never clash.
const tenantIDBlock = 1_000_000

// Database creates a fresh database with the control schema migrated, and
// returns its URL. The database, and the store roles made in it, are dropped
// when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	admin := openAdmin(t)
	tpl := template(t, admin)
	name := newName("sf_test")
	if _, err := admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + tpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u := withDatabase(DatabaseURL(), name)
	base := randomBlock()
	db := open(t, u)
	if _, err := db.Exec(fmt.Sprintf(`ALTER TABLE platform.tenants ALTER COLUMN id RESTART WITH %d`, base)); err != nil {
		t.Fatalf("set store id range: %v", err)
	}
	db.Close()
	t.Cleanup(func() {
		dropDatabase(t, admin, name)
		dropRoles(t, admin, base)
		admin.Close()
	})
	return u
}

// EmptyDatabase creates a fresh database with nothing in it (a second shard,
// say) and returns its URL; it is dropped when the test ends. Store roles
// made on it belong to the cluster and are dropped with Database's.
func EmptyDatabase(t testing.TB) string {
	t.Helper()
	admin := openAdmin(t)
	name := newName("sf_shard")
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		dropDatabase(t, admin, name)
		admin.Close()
	})
	return withDatabase(DatabaseURL(), name)
}

// ThroughPgBouncer returns dbURL's database as reached through PgBouncer in
// transaction pooling mode, with pgx set to send no named prepared
// statements (PgBouncer before 1.21 cannot carry them across transactions).
func ThroughPgBouncer(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("parse %s: %v", dbURL, err)
	}
	b, err := url.Parse(getenv("PGBOUNCER_URL", defaultPgBouncerURL))
	if err != nil {
		t.Fatalf("parse PGBOUNCER_URL: %v", err)
	}
	b.Path = u.Path
	db := open(t, b.String())
	if err := db.Ping(); err != nil {
		t.Fatalf("PgBouncer at %s does not answer (%v); %s", b.Host, err, hint)
	}
	db.Close()
	return b.String()
}

// Redis returns a client for the test Redis, closed when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("parse REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %s does not answer (%v); %s", opt.Addr, err, hint)
	}
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// SQL opens database URL u for a test to look at or arrange rows the
// code under test has no door to (a token's age, say); closed at cleanup.
func SQL(t testing.TB, u string) *sql.DB {
	t.Helper()
	db := open(t, u)
	t.Cleanup(func() { db.Close() })
	return db
}

func open(t testing.TB, u string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	return stdlib.OpenDB(*cfg)
}

func openAdmin(t testing.TB) *sql.DB {
	t.Helper()
	db := open(t, withDatabase(DatabaseURL(), "postgres"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL does not answer (%v); %s", err, hint)
	}
	return db
}

// template returns the name of a database with the control migrations
// applied, creating it if needed. Its name carries a hash of the migrations,
// so a changed migration makes a new template.
func template(t testing.TB, admin *sql.DB) string {
	t.Helper()
	h := sha256.New()
	for _, fsys := range []fs.FS{migrations.Platform(), migrations.Shard()} {
		fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := fs.ReadFile(fsys, path)
				h.Write([]byte(path))
				h.Write(b)
			}
			return nil
		})
	}
	name := "sf_template_" + hex.EncodeToString(h.Sum(nil))[:12]

	ctx := context.Background()
	conn, err := admin.Conn(ctx) // the advisory lock belongs to one session
	if err != nil {
		t.Fatalf("template: %v", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727201)`); err != nil {
		t.Fatalf("template lock: %v", err)
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock(727201)`)

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatalf("template: %v", err)
	}
	if exists {
		return name
	}
	building := name + "_new"
	conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building)
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building); err != nil {
		t.Fatalf("create template: %v", err)
	}
	db := open(t, withDatabase(DatabaseURL(), building))
	err = migrations.ApplyPlatform(ctx, db)
	if err == nil {
		err = migrations.ApplyShard(ctx, db) // the control database is shard 1
	}
	db.Close()
	if err != nil {
		t.Fatalf("migrate template: %v", err)
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		t.Fatalf("rename template: %v", err)
	}
	return name
}

func dropDatabase(t testing.TB, admin *sql.DB, name string) {
	var err error
	for range 5 { // a backend may be exiting as we drop
		if _, err = admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("drop test database %s: %v", name, err)
}

// dropRoles drops the store roles in the id block starting at base.
func dropRoles(t testing.TB, admin *sql.DB, base int64) {
	rows, err := admin.Query(`SELECT rolname FROM pg_roles WHERE rolname ~ '^t_[0-9]+$'
		AND substring(rolname FROM 3)::bigint >= $1 AND substring(rolname FROM 3)::bigint < $2`, base, base+tenantIDBlock)
	if err != nil {
		t.Errorf("list test roles: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		// A role may still own objects in a shard database dropped after this.
		if _, err := admin.Exec(`DROP ROLE IF EXISTS "` + n + `"`); err != nil && !strings.Contains(err.Error(), "depend") {
			t.Errorf("drop test role %s: %v", n, err)
		}
	}
}

func withDatabase(u, name string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + name
	return p.String()
}

func newName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func randomBlock() int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(9_000_000))
	return (n.Int64() + 1) * tenantIDBlock
}

// Bucket opens a blob bucket in a folder of t's own, removed when t ends.
func Bucket(t testing.TB) *blob.Bucket {
	t.Helper()
	b, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatalf("blob.Open = %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// IsolatedRedis returns a client of a Redis database (1 to 14; 15 is
// storefleet bench's) that no other
// test holds, emptied, for tests whose keys are not their own to name (the
// asynq queues). The database is leased in database 0 and released, empty,
// when t ends.
func IsolatedRedis(t testing.TB) *redis.Client {
	t.Helper()
	lease := Redis(t)
	opt, _ := redis.ParseURL(RedisURL())
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for n := 1; n <= 14; n++ {
			key := fmt.Sprintf("testenv:redis-db:%d", n)
			ok, err := lease.SetNX(ctx, key, "held", 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("lease a Redis database: %v", err)
			}
			if !ok {
				continue
			}
			o := *opt
			o.DB = n
			rdb := redis.NewClient(&o)
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("empty Redis database %d: %v", n, err)
			}
			t.Cleanup(func() {
				rdb.FlushDB(context.Background())
				rdb.Close()
				lease.Del(context.Background(), key)
			})
			return rdb
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no Redis database free for 30 s: more than 14 tests hold one")
	return nil
}
