package tenant

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
)

// newTestDB opens the control plane on url with a pool of maxConns.
func newTestDB(t testing.TB, url string, maxConns int) *DB {
	t.Helper()
	d, err := Open(context.Background(), url, Config{Pool: pg.Pool{MaxConns: int32(maxConns)}}, testenv.Redis(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Open(%s) = %v", url, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// provision creates a store named name with slug slug, or fails the test.
func provision(t testing.TB, d *DB, slug string) *Tenant {
	t.Helper()
	tn, err := d.Provision(context.Background(), NewStore{Slug: slug, Name: "Store " + slug}, nil)
	if err != nil {
		t.Fatalf("Provision(%q) = %v", slug, err)
	}
	return tn
}

// shopName reads the store's name through the door.
func shopName(t testing.TB, d *DB, tn *Tenant) string {
	t.Helper()
	var name string
	err := d.ReadTx(context.Background(), tn, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT name FROM shop`).Scan(&name).Error
	})
	if err != nil {
		t.Fatalf("read shop of %s: %v", tn.Slug, err)
	}
	return name
}

// sessionState reads the role and search_path of the next plain query on the
// pool's connection.
func sessionState(t testing.TB, d *DB) (user, path string) {
	t.Helper()
	row := d.control.Raw(`SELECT current_user, current_setting('search_path')`).Row()
	if err := row.Scan(&user, &path); err != nil {
		t.Fatalf("read session state: %v", err)
	}
	return user, path
}

// TestDoorIsolation runs the door's isolation guarantees directly against
// PostgreSQL and again through PgBouncer in transaction pooling mode.
func TestDoorIsolation(t *testing.T) {
	url := testenv.Database(t)
	setup := newTestDB(t, url, 4)
	a := provision(t, setup, "store-a")
	b := provision(t, setup, "store-b")
	baseUser, basePath := sessionState(t, setup)

	for _, via := range []struct{ name, url string }{
		{"direct", url},
		{"pgbouncer", testenv.ThroughPgBouncer(t, url)},
	} {
		t.Run(via.name, func(t *testing.T) {
			// One connection: every transaction below shares it, and with it
			// the driver's statement cache (on by default when direct).
			d := newTestDB(t, via.url, 1)
			ctx := context.Background()

			t.Run("same SQL, each store its own rows", func(t *testing.T) {
				for range 3 {
					for _, tn := range []*Tenant{a, b} {
						if got, want := shopName(t, d, tn), "Store "+tn.Slug; got != want {
							t.Fatalf("shop name through the door for %s = %q, want %q", tn.Slug, got, want)
						}
					}
				}
			})

			t.Run("other store's schema refused", func(t *testing.T) {
				for _, q := range []string{
					`SELECT name FROM ` + b.Schema + `.shop`,
					`UPDATE ` + b.Schema + `.shop SET name = 'stolen'`,
					`INSERT INTO ` + b.Schema + `.shop (id, name) VALUES (2, 'x')`,
					`SELECT slug FROM platform.tenants`,
					`CREATE TABLE ` + b.Schema + `.planted (id int)`,
				} {
					err := d.Tx(ctx, a, func(tx *gorm.DB) error { return tx.Exec(q).Error })
					if pg.Code(err) != pg.InsufficientPrivilege {
						t.Errorf("in %s's transaction, %q = %v, want a permission error (42501)", a.Slug, q, err)
					}
				}
				if got := shopName(t, d, b); got != "Store "+b.Slug {
					t.Errorf("store b's name = %q after a's attempts, want it unchanged", got)
				}
			})

			t.Run("no role or search_path left behind", func(t *testing.T) {
				_ = shopName(t, d, a)
				if user, path := sessionState(t, d); user != baseUser || path != basePath {
					t.Errorf("after the door closed: current_user = %q, search_path = %q; want %q, %q", user, path, baseUser, basePath)
				}
			})

			t.Run("panic rolls back and leaves the connection clean", func(t *testing.T) {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("panic inside Tx did not reach the caller")
						}
					}()
					d.Tx(ctx, a, func(tx *gorm.DB) error {
						if err := tx.Exec(`UPDATE shop SET name = 'half-written'`).Error; err != nil {
							return err
						}
						panic("handler bug")
					})
				}()
				if got := shopName(t, d, a); got != "Store "+a.Slug {
					t.Errorf("shop name after a panicking Tx = %q, want the update rolled back", got)
				}
				if user, path := sessionState(t, d); user != baseUser || path != basePath {
					t.Errorf("after a panic: current_user = %q, search_path = %q; want %q, %q", user, path, baseUser, basePath)
				}
			})

			t.Run("error rolls back", func(t *testing.T) {
				want := errors.New("validation failed")
				err := d.Tx(ctx, a, func(tx *gorm.DB) error {
					if err := tx.Exec(`UPDATE shop SET name = 'half-written'`).Error; err != nil {
						return err
					}
					return want
				})
				if !errors.Is(err, want) {
					t.Errorf("Tx returned %v, want the callback's error", err)
				}
				if got := shopName(t, d, a); got != "Store "+a.Slug {
					t.Errorf("shop name after a failed Tx = %q, want the update rolled back", got)
				}
			})

			t.Run("read-only door refuses writes", func(t *testing.T) {
				err := d.ReadTx(ctx, a, func(tx *gorm.DB) error {
					return tx.Exec(`UPDATE shop SET name = 'x'`).Error
				})
				if pg.Code(err) != "25006" { // read_only_sql_transaction
					t.Errorf("write in ReadTx = %v, want read-only error 25006", err)
				}
			})
		})
	}
}

// TestDoorDuringRollingMigration: store a has a migration store b does not
// have yet; the same queries keep working for both on one shared connection.
func TestDoorDuringRollingMigration(t *testing.T) {
	url := testenv.Database(t)
	d := newTestDB(t, url, 1)
	ctx := context.Background()
	setup := newTestDB(t, url, 4)
	a := provision(t, setup, "rolling-a")
	b := provision(t, setup, "rolling-b")

	read := func(tn *Tenant, q string) error {
		return d.ReadTx(ctx, tn, func(tx *gorm.DB) error {
			rows, err := tx.Raw(q).Rows()
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		})
	}
	// Warm the connection's statement cache with both queries for b.
	for _, q := range []string{`SELECT name, currency FROM shop`, `SELECT * FROM shop`} {
		if err := read(b, q); err != nil {
			t.Fatalf("read %q for b before the migration: %v", q, err)
		}
	}
	// The expand step of a migration, on store a only.
	if err := d.Tx(ctx, a, func(tx *gorm.DB) error {
		return tx.Exec(`ALTER TABLE shop ADD COLUMN rolling_note text NOT NULL DEFAULT ''`).Error
	}); err != nil {
		t.Fatalf("migrate store a: %v", err)
	}
	for i := range 4 {
		for _, tn := range []*Tenant{a, b} {
			for _, q := range []string{`SELECT name, currency FROM shop`, `SELECT * FROM shop`} {
				if err := read(tn, q); err != nil {
					t.Errorf("round %d: %q for %s while the migration rolls out = %v", i, q, tn.Slug, err)
				}
			}
		}
	}
}

func TestDoorRefusesNoStore(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 2)
	for _, tn := range []*Tenant{nil, {}, {ID: 5}} {
		err := d.Tx(context.Background(), tn, func(*gorm.DB) error { return nil })
		if err == nil {
			t.Errorf("Tx(%+v) = nil, want an error", tn)
		}
	}
}
