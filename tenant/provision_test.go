package tenant

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/migrations"
)

// leftovers counts what a store id has in the cluster: its directory row,
// its schema on shard s, its role, and its place in the role pool.
func leftovers(t testing.TB, d *DB, s *shard, id ID) (rows, schemas, roles, pooled int) {
	t.Helper()
	ctx := context.Background()
	d.control.WithContext(ctx).Raw(`SELECT count(*) FROM platform.tenants WHERE id = ?`, int64(id)).Scan(&rows)
	s.db.WithContext(ctx).Raw(`SELECT count(*) FROM pg_namespace WHERE nspname = ?`, id.Schema()).Scan(&schemas)
	s.db.WithContext(ctx).Raw(`SELECT count(*) FROM pg_roles WHERE rolname = ?`, id.Schema()).Scan(&roles)
	d.control.WithContext(ctx).Raw(`SELECT count(*) FROM platform.role_pool WHERE tenant_id = ?`, int64(id)).Scan(&pooled)
	return rows, schemas, roles, pooled
}

// poolIDs lists the store ids waiting in the role pool.
func poolIDs(t testing.TB, d *DB) []int64 {
	t.Helper()
	var ids []int64
	if err := d.control.Raw(`SELECT tenant_id FROM platform.role_pool ORDER BY tenant_id`).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestProvision(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	tn, err := d.Provision(ctx, NewStore{Name: "Acme Tea", Email: "hello@acme.example"}, nil)
	if err != nil {
		t.Fatalf("Provision(Acme Tea) = %v", err)
	}
	if tn.Slug != "acme-tea" || tn.Schema != tn.ID.Schema() || tn.Role != tn.ID.Schema() || tn.Status != Active {
		t.Errorf("Provision(Acme Tea) = %+v, want slug acme-tea, schema and role %s, active", tn, tn.ID.Schema())
	}
	if want := migrations.Latest(migrations.Tenant()); tn.SchemaVersion != want {
		t.Errorf("new store's schema version = %d, want %d", tn.SchemaVersion, want)
	}
	got, err := d.TenantBySlug(ctx, "acme-tea")
	if err != nil || got.ID != tn.ID || got.SchemaVersion != tn.SchemaVersion {
		t.Errorf("TenantBySlug(acme-tea) = %+v, %v; want the new store", got, err)
	}
	if name := shopName(t, d, tn); name != "Acme Tea" {
		t.Errorf("shop name = %q, want Acme Tea", name)
	}
	var owner string
	d.control.Raw(`SELECT tableowner FROM pg_tables WHERE schemaname = ? AND tablename = 'shop'`, tn.Schema).Scan(&owner)
	if owner != tn.Role {
		t.Errorf("shop table owned by %q, want the store's role %q", owner, tn.Role)
	}
}

func TestProvisionFailureLeavesNothing(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	s, err := d.shard(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	provision(t, d, "fills-the-pool") // so the pool exists before the failures
	for _, step := range []string{"tenant row", "schema", "migrations", "commit"} {
		t.Run(step, func(t *testing.T) {
			pool := poolIDs(t, d)
			claimed := ID(pool[0]) // the role the next store would take
			injected := errors.New("injected failure")
			d.provisionHook = func(at string) error {
				if at == step {
					return injected
				}
				return nil
			}
			_, err := d.Provision(ctx, NewStore{Slug: "doomed", Name: "Doomed"}, nil)
			d.provisionHook = nil
			if !errors.Is(err, injected) {
				t.Fatalf("Provision with a failure after %q = %v, want the injected error", step, err)
			}
			// No row, no schema; the role is back in the pool, unused.
			if rows, schemas, roles, pooled := leftovers(t, d, s, claimed); rows+schemas != 0 || roles != 1 || pooled != 1 {
				t.Errorf("after a failure at %q: store %d has %d rows, %d schemas, %d roles, %d pool entries; want 0, 0, 1, 1",
					step, claimed, rows, schemas, roles, pooled)
			}
			if got := poolIDs(t, d); !slices.Equal(got, pool) {
				t.Errorf("role pool after a failure at %q = %v, want it as before: %v", step, got, pool)
			}
			// The slug is free again.
			tn := provision(t, d, "doomed")
			if err := d.Delete(ctx, tn.ID); err != nil {
				t.Fatalf("Delete(%d) = %v", tn.ID, err)
			}
		})
	}
}

func TestProvisionRefusesBadInput(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	provision(t, d, "taken")
	for _, tc := range []struct {
		ns    NewStore
		kind  errs.Kind
		field string
	}{
		{NewStore{Slug: "ab", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "-abc", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "abc-", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "a--b", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "Abc", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "www", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "app", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "a_b_c", Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: string(make([]byte, 64)), Name: "X"}, errs.Invalid, "slug"},
		{NewStore{Slug: "fine-slug", Name: "  "}, errs.Invalid, "store_name"},
		{NewStore{Name: "!!!"}, errs.Invalid, "slug"},
		{NewStore{Slug: "taken", Name: "X"}, errs.Conflict, "slug"},
	} {
		var before int
		d.control.Raw(`SELECT count(*) FROM platform.tenants`).Scan(&before)
		_, err := d.Provision(ctx, tc.ns, nil)
		if errs.KindOf(err) != tc.kind || len(errs.FieldsOf(err)[tc.field]) == 0 {
			t.Errorf("Provision(%+v) = %v, want kind %q naming field %q", tc.ns, err, tc.kind, tc.field)
		}
		var after int
		d.control.Raw(`SELECT count(*) FROM platform.tenants`).Scan(&after)
		if after != before {
			t.Errorf("Provision(%+v) failed but the store count went from %d to %d", tc.ns, before, after)
		}
	}
}

func TestProvisionSameSlugConcurrently(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 8)
	var wg sync.WaitGroup
	results := make([]error, 4)
	for i := range results {
		wg.Go(func() {
			_, results[i] = d.Provision(context.Background(), NewStore{Slug: "race", Name: "Race"}, nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrSlugTaken):
			t.Errorf("concurrent Provision(race) = %v, want nil or ErrSlugTaken", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent Provision(race) succeeded, want exactly 1", won, len(results))
	}
}

func TestSuggestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Acme Tea":           "acme-tea",
		"  Crème Brûlée Co ": "creme-brulee-co",
		"Tom & Jerry's":      "tom-jerry-s",
		"日本茶":                "",
		"a--b__c":            "a-b-c",
	} {
		if got := SuggestSlug(in); got != want {
			t.Errorf("SuggestSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecondShard(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	first := provision(t, d, "on-main")
	sh, err := d.AddShard(ctx, "second", testenv.EmptyDatabase(t), 100)
	if err != nil {
		t.Fatalf("AddShard = %v", err)
	}
	if err := d.SetShard(ctx, 1, 5000, "closed"); err != nil {
		t.Fatalf("SetShard(1, closed) = %v", err)
	}
	second := provision(t, d, "on-second")
	if first.ShardID != 1 || second.ShardID != sh.ID {
		t.Fatalf("stores went to shards %d and %d, want 1 and %d", first.ShardID, second.ShardID, sh.ID)
	}
	if got := shopName(t, d, second); got != "Store on-second" {
		t.Errorf("shop name on shard 2 = %q", got)
	}
	// The door on shard 2 refuses shard 1's schemas as it does its own.
	err = d.Tx(ctx, second, func(tx *gorm.DB) error {
		return tx.Exec(`SELECT name FROM ` + first.Schema + `.shop`).Error
	})
	if err == nil {
		t.Errorf("store on shard 2 read store on shard 1's schema: want an error")
	}
	// Full shards take no more stores.
	if err := d.SetShard(ctx, sh.ID, 1, "open"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Provision(ctx, NewStore{Slug: "no-room", Name: "No room"}, nil); !errors.Is(err, ErrNoShardRoom) {
		t.Errorf("Provision with every shard full or closed = %v, want ErrNoShardRoom", err)
	}
	shards, err := d.Shards(ctx)
	if err != nil || len(shards) != 2 || shards[0].Stores != 1 || shards[1].Stores != 1 {
		t.Errorf("Shards() = %+v, %v; want two shards with one store each", shards, err)
	}
	if err := d.Delete(ctx, second.ID); err != nil {
		t.Fatalf("Delete(store on shard 2) = %v", err)
	}
	s, _ := d.shard(ctx, sh.ID)
	if rows, schemas, roles, pooled := leftovers(t, d, s, second.ID); rows+schemas+roles+pooled != 0 {
		t.Errorf("Delete left %d rows, %d schemas, %d roles, %d pool entries", rows, schemas, roles, pooled)
	}
}

// withExtraMigration returns the tenant migrations plus one more.
func withExtraMigration(t testing.TB, sql string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	fs.WalkDir(migrations.Tenant(), ".", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := fs.ReadFile(migrations.Tenant(), p)
			m[p] = &fstest.MapFile{Data: b}
		}
		return nil
	})
	next := migrations.Latest(migrations.Tenant()) + 1
	m[fmt.Sprintf("%05d_extra.sql", next)] = &fstest.MapFile{Data: []byte(sql)}
	return m
}

func TestMigrateStores(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 8)
	ctx := context.Background()
	var stores []*Tenant
	for i := range 5 {
		stores = append(stores, provision(t, d, fmt.Sprintf("m-%d", i)))
	}
	// Sabotage one store: it already has the table the migration creates.
	bad := stores[2]
	if err := d.Tx(ctx, bad, func(tx *gorm.DB) error { return tx.Exec(`CREATE TABLE notes (id int)`).Error }); err != nil {
		t.Fatal(err)
	}
	d.migrations = withExtraMigration(t, "-- +goose Up\nCREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);\n-- +goose Down\nDROP TABLE notes;\n")
	latest := migrations.Latest(d.migrations)

	var calls []Progress
	rep, err := d.MigrateStores(ctx, 3, func(p Progress) { calls = append(calls, p) })
	if err != nil {
		t.Fatalf("MigrateStores = %v", err)
	}
	if rep.Total != 5 || rep.Migrated != 4 || rep.Skipped != 0 || len(rep.Failed) != 1 || rep.Failed[0].Store != bad.ID {
		t.Errorf("MigrateStores report = %+v, want 5 total, 4 migrated, 1 failed (store %d)", rep, bad.ID)
	}
	if last := calls[len(calls)-1]; last != (Progress{Total: 5, Done: 5, Failed: 1}) || len(calls) != 6 {
		t.Errorf("progress calls = %+v, want 6 ending in {5 5 1}", calls)
	}
	for _, tn := range stores {
		got, _ := d.Tenant(ctx, tn.ID)
		want := latest
		if tn.ID == bad.ID {
			want = latest - 1
		}
		if got.SchemaVersion != want {
			t.Errorf("store %s at version %d after migration, want %d", tn.Slug, got.SchemaVersion, want)
		}
	}

	// Fix the broken store; a second run migrates it and skips the rest.
	d.Tx(ctx, bad, func(tx *gorm.DB) error { return tx.Exec(`DROP TABLE notes`).Error })
	rep, err = d.MigrateStores(ctx, 3, nil)
	if err != nil || rep.Migrated != 1 || rep.Skipped != 4 || len(rep.Failed) != 0 {
		t.Errorf("second MigrateStores = %+v, %v; want 1 migrated, 4 skipped", rep, err)
	}
	// The new table belongs to each store and works through the door.
	for _, tn := range stores {
		err := d.Tx(ctx, tn, func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO notes (id, body) VALUES (1, 'hi')`).Error })
		if err != nil {
			t.Errorf("insert into the migrated table for %s: %v", tn.Slug, err)
		}
	}
	// A store provisioned now gets the new migration from the start.
	if tn := provision(t, d, "m-new"); tn.SchemaVersion != latest {
		t.Errorf("store provisioned after the migration at version %d, want %d", tn.SchemaVersion, latest)
	}
}

func TestTenantMigrationsAreTransactional(t *testing.T) {
	names, _ := fs.Glob(migrations.Tenant(), "*.sql")
	for _, n := range names {
		b, _ := fs.ReadFile(migrations.Tenant(), n)
		if strings.Contains(strings.ToUpper(string(b)), "+GOOSE NO TRANSACTION") {
			t.Errorf("%s runs outside a transaction; tenant migrations must run inside the store's bound transaction", n)
		}
	}
}
