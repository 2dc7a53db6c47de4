package tenant

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/migrations"
)

// migrationsUpTo returns the tenant migrations numbered up to n.
func migrationsUpTo(t testing.TB, n string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	names, _ := fs.Glob(migrations.Tenant(), "*.sql")
	for _, name := range names {
		if strings.Compare(name[:5], n) <= 0 {
			b, _ := fs.ReadFile(migrations.Tenant(), name)
			m[name] = &fstest.MapFile{Data: b}
		}
	}
	return m
}

// TestUpgradeKeepsData provisions a store with the first tenant migrations
// only (an older release), gives it a product, then migrates it to the
// newest: the data stays, and variants made before inventory existed get
// their inventory items.
func TestUpgradeKeepsData(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	d.migrations = migrationsUpTo(t, "00005")
	old := provision(t, d, "old-release")
	err := d.Tx(ctx, old, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO products (id, title, handle) VALUES (1, 'Old Tea', 'old-tea')`).Error; err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO variants (id, product_id, position, price, sku) VALUES (7, 1, 1, 500, 'OLD-7')`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	d.migrations = migrations.Tenant()
	rep, err := d.MigrateStores(ctx, 2, nil)
	if err != nil || rep.Migrated != 1 || len(rep.Failed) != 0 {
		t.Fatalf("MigrateStores = %+v, %v; want the old store migrated", rep, err)
	}
	var sku string
	var titles int
	err = d.ReadTx(ctx, old, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT sku FROM inventory_items WHERE id = 7`).Scan(&sku).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT count(*) FROM products WHERE title = 'Old Tea'`).Scan(&titles).Error
	})
	if err != nil || sku != "OLD-7" || titles != 1 {
		t.Errorf("after the upgrade: item sku %q, products %d, %v; want OLD-7 and the product kept", sku, titles, err)
	}
}
