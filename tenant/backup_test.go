package tenant_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// TestRetain: a week of dailies and a month of weeklies out of two months
// of nightly backups with manual ones among them.
func TestRetain(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var list []tenant.Backup
	start := at("2026-09-01 02:00:00") // a Tuesday
	for d := range 61 {
		created := start.AddDate(0, 0, d)
		list = append(list, tenant.Backup{ID: created.Format("20060102T150405Z") + ".dump", CreatedAt: created})
	}
	// Two manual backups: one later the same day as the newest nightly
	// (it replaces it as that day's), one before an older nightly.
	list = append(list,
		tenant.Backup{ID: "20261031T100000Z-manual.dump", CreatedAt: at("2026-10-31 10:00:00"), Manual: true},
		tenant.Backup{ID: "20261028T010000Z-manual.dump", CreatedAt: at("2026-10-28 01:00:00"), Manual: true})

	tests := []struct {
		name string
		keep tenant.Retention
		want []string // kept, newest first, as "id kind"
	}{
		{"default", tenant.DefaultRetention, []string{
			"20261031T100000Z-manual.dump manual", // Sat 31 Oct: newest of the day and of ISO week 44
			"20261030T020000Z.dump daily",
			"20261029T020000Z.dump daily",
			"20261028T020000Z.dump daily", // the nightly, not the earlier manual
			"20261027T020000Z.dump daily",
			"20261026T020000Z.dump daily",  // Monday: week 44 starts
			"20261025T020000Z.dump daily",  // Sunday, newest of week 43: daily and weekly
			"20261018T020000Z.dump weekly", // newest of week 42
			"20261011T020000Z.dump weekly", // week 41
		}},
		{"two days, one week", tenant.Retention{Daily: 2, Weekly: 1}, []string{
			"20261031T100000Z-manual.dump manual",
			"20261030T020000Z.dump daily",
		}},
		{"weeklies only past the dailies", tenant.Retention{Daily: 1, Weekly: 3}, []string{
			"20261031T100000Z-manual.dump manual",
			"20261025T020000Z.dump weekly",
			"20261018T020000Z.dump weekly",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, drop := tenant.Retain(list, tt.keep)
			var got []string
			for _, b := range keep {
				got = append(got, b.ID+" "+string(b.Kind))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Retain(%d backups, %+v) kept (-want +got):\n%s", len(list), tt.keep, diff)
			}
			if len(keep)+len(drop) != len(list) {
				t.Errorf("Retain kept %d and dropped %d of %d", len(keep), len(drop), len(list))
			}
		})
	}
	if keep, drop := tenant.Retain(nil, tenant.DefaultRetention); len(keep)+len(drop) != 0 {
		t.Errorf("Retain(nil) = %v, %v", keep, drop)
	}
}

// snapshot is what a test compares of a store: its products, its orders
// and the next order number, read through the tenant door.
func snapshot(t *testing.T, db *tenant.DB, st *tenant.Tenant) string {
	t.Helper()
	var products, placed []string
	err := db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		if err := tx.Raw(`SELECT title || ':' || status FROM products ORDER BY id`).Scan(&products).Error; err != nil {
			return err
		}
		return tx.Raw(`SELECT '#' || number || ':' || email || ':' || total_price FROM orders ORDER BY id`).Scan(&placed).Error
	})
	if err != nil {
		t.Fatalf("read store %s: %v", st.Slug, err)
	}
	return fmt.Sprintf("products %s; orders %s", strings.Join(products, ","), strings.Join(placed, ","))
}

func placeOrder(t *testing.T, db *tenant.DB, st *tenant.Tenant, email string, price int64) {
	t.Helper()
	err := db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		_, err := orders.PlaceIn(tx, orders.NewOrder{Email: email, Currency: "USD", SourceName: "api",
			Lines:         []orders.NewLine{{Title: "Sencha", Quantity: 1, Price: money.Amount(price)}},
			SubtotalPrice: money.Amount(price), TotalPrice: money.Amount(price), Gateway: "manual", PaymentMethod: "Bank transfer",
			InventoryBehaviour: "bypass", Actor: "test"})
		return err
	})
	if err != nil {
		t.Fatalf("PlaceIn(%s) = %v", email, err)
	}
}

// TestBackupRestoreInPlaceAndAs backs up a store with products and orders,
// changes and deletes data, restores in place and finds the data as it
// was; restores the same backup as a new store, which gets the data, the
// plan and the owners, while the original is untouched. A dump of another
// store is refused as a restore source, and leaves no store behind.
func TestBackupRestoreInPlaceAndAs(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	owner, st, err := db.SignUp(ctx, tenant.Signup{Email: "owner@kept.example", Password: "correct-Horse-battery-9", StoreName: "Kept Tea", Slug: "kept-tea"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = db.SetPlan(ctx, st.ID, "advanced"); err != nil {
		t.Fatal(err)
	}
	other, err := db.Provision(ctx, tenant.NewStore{Slug: "other-tea", Name: "Other Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t)})
	var ids []int64
	for _, title := range []string{"Sencha", "Bancha", "Hojicha"} {
		p, err := cat.CreateProduct(ctx, st, catalog.ProductInput{Title: &title})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	for i := range 3 {
		placeOrder(t, db, st, fmt.Sprintf("shopper%d@example.com", i), int64(1000+i*250))
	}
	before := snapshot(t, db, st)
	if !strings.Contains(before, "#1003") {
		t.Fatalf("store before the backup = %s, want three orders", before)
	}

	backups := tenant.NewBackups(db, testenv.Bucket(t), tenant.DefaultRetention)
	made, err := backups.Create(ctx, st, true)
	if err != nil {
		t.Fatalf("Create = %v", err)
	}
	if made.Kind != tenant.BackupManual || made.Size == 0 || !strings.HasPrefix(made.Key, tenant.BackupPrefix(st.ID)) {
		t.Errorf("Create = %+v, want a manual backup with a size under %s", made, tenant.BackupPrefix(st.ID))
	}
	list, err := backups.List(ctx, st)
	if err != nil || len(list) != 1 || list[0].ID != made.ID || list[0].Size != made.Size {
		t.Fatalf("List = %+v, %v; want [%+v]", list, err, made)
	}
	if l, err := backups.List(ctx, other); err != nil || len(l) != 0 {
		t.Errorf("List(other store) = %+v, %v; want none", l, err)
	}
	if _, err := backups.Find(ctx, other, made.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("Find(other store, %s) = %v, want NotFound", made.ID, err)
	}
	if _, err := backups.Find(ctx, other, made.Key); !errs.Is(err, errs.NotFound) {
		t.Errorf("Find(other store, %s) = %v, want NotFound", made.Key, err)
	}

	// Change and delete.
	renamed := "Renamed"
	if _, err := cat.UpdateProduct(ctx, st, ids[0], catalog.ProductInput{Title: &renamed}); err != nil {
		t.Fatal(err)
	}
	if err := cat.DeleteProduct(ctx, st, ids[1]); err != nil {
		t.Fatal(err)
	}
	placeOrder(t, db, st, "late@example.com", 700)
	if err := db.Tx(ctx, st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE orders SET email = 'changed@example.com' WHERE number = 1001`).Error
	}); err != nil {
		t.Fatal(err)
	}
	changed := snapshot(t, db, st)
	if changed == before {
		t.Fatal("the changes did not take")
	}

	// Restore as a new store: the original keeps its changes.
	start := time.Now()
	copyOf, err := backups.RestoreAs(ctx, st, made.ID, "kept-tea-copy")
	if err != nil {
		t.Fatalf("RestoreAs = %v", err)
	}
	t.Logf("restored as a new store in %s", time.Since(start))
	if got := snapshot(t, db, copyOf); got != before {
		t.Errorf("new store from the backup holds\n%s\nwant\n%s", got, before)
	}
	if got := snapshot(t, db, st); got != changed {
		t.Errorf("original after RestoreAs holds\n%s\nwant it untouched:\n%s", got, changed)
	}
	if copyOf.Status != tenant.Active || copyOf.Plan != "advanced" || copyOf.Schema == st.Schema || copyOf.SchemaVersion != st.SchemaVersion {
		t.Errorf("new store = %+v; want active, plan advanced, its own schema, version %d", copyOf, st.SchemaVersion)
	}
	if role, err := db.RoleIn(ctx, owner.ID, copyOf); err != nil || role != tenant.RoleOwner {
		t.Errorf("RoleIn(owner, new store) = %q, %v; want owner", role, err)
	}
	// The new store's data is its own: writes there do not reach the original.
	placeOrder(t, db, copyOf, "copy@example.com", 0)
	if got := snapshot(t, db, st); got != changed {
		t.Errorf("an order in the copy reached the original: %s", got)
	}
	if _, err := cat.CreateProduct(ctx, copyOf, catalog.ProductInput{Title: &renamed}); err != nil {
		t.Errorf("CreateProduct in the new store = %v (sequences and ownership must be its own)", err)
	}
	if _, err := backups.RestoreAs(ctx, st, made.ID, "kept-tea-copy"); !errs.Is(err, errs.Conflict) {
		t.Errorf("RestoreAs onto a taken slug = %v, want Conflict", err)
	}

	// A dump of another store is not a backup of this one: refused, and the
	// store it would have made is gone again.
	var otherDump bytes.Buffer
	if err := db.DumpStore(ctx, other, &otherDump); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RestoreStoreAs(ctx, st, &otherDump, "not-made"); !errs.Is(err, errs.Invalid) {
		t.Errorf("RestoreStoreAs(a dump of another store) = %v, want Invalid", err)
	}
	if _, err := db.TenantBySlug(ctx, "not-made"); !errs.Is(err, errs.NotFound) {
		t.Errorf("after a refused RestoreStoreAs, TenantBySlug = %v, want NotFound", err)
	}
	if _, err := db.RestoreStoreAs(ctx, st, strings.NewReader("PGDMP not really"), "not-made"); err == nil {
		t.Errorf("RestoreStoreAs(a broken dump) succeeded")
	}
	if _, err := db.TenantBySlug(ctx, "not-made"); !errs.Is(err, errs.NotFound) {
		t.Errorf("after a failed RestoreStoreAs, TenantBySlug = %v, want NotFound", err)
	}

	// Restore in place: the data is as it was.
	start = time.Now()
	if err := backups.Restore(ctx, st, made.Key); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	t.Logf("restored in place in %s", time.Since(start))
	if got := snapshot(t, db, st); got != before {
		t.Errorf("after restoring, the store holds\n%s\nwant\n%s", got, before)
	}
	if got, err := db.Tenant(ctx, st.ID); err != nil || got.Status != tenant.Active {
		t.Errorf("store after restoring = %+v, %v; want active", got, err)
	}
	if got := snapshot(t, db, copyOf); !strings.Contains(got, "copy@example.com") {
		t.Errorf("restoring the original changed the copy: %s", got)
	}
	if err := backups.Restore(ctx, other, made.Key); !errs.Is(err, errs.NotFound) {
		t.Errorf("Restore(other store, this store's backup) = %v, want NotFound", err)
	}
}

// BenchmarkBackupStore times, for a store with 10,000 products of three
// variants each: a backup into the bucket, a restore in place, and a
// restore as a new store.
//
// Run with: go test -run='^$' -bench=BackupStore -benchtime=1x ./tenant/
func BenchmarkBackupStore(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(b), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(b), log)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "bench-backup", Name: "Bench Backup"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	err = db.Tx(ctx, st, func(tx *gorm.DB) error {
		for _, q := range []string{
			`INSERT INTO products (title, body_html, vendor, product_type, handle, tags, published_at)
			 SELECT 'Product ' || i, '<p>Description of product ' || i || '</p>', 'Vendor ' || (i % 50), 'Type ' || (i % 20),
			        'product-' || i, ARRAY['tag' || (i % 10), 'tag' || (i % 7)], now()
			 FROM generate_series(1, 10000) i`,
			`INSERT INTO product_options (product_id, name, position) SELECT id, 'Size', 1 FROM products`,
			`INSERT INTO variants (product_id, position, sku, price, option1)
			 SELECT p.id, s.n, 'SKU-' || p.id || '-' || s.n, 1000 + s.n * 250, (ARRAY['S', 'M', 'L'])[s.n]
			 FROM products p, generate_series(1, 3) s(n)`,
		} {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	backups := tenant.NewBackups(db, testenv.Bucket(b), tenant.DefaultRetention)
	var backupTime, restoreTime, asTime time.Duration
	var size int64
	for i := range b.N {
		start := time.Now()
		made, err := backups.Create(ctx, st, true)
		if err != nil {
			b.Fatal(err)
		}
		backupTime += time.Since(start)
		size = made.Size
		start = time.Now()
		if err := backups.Restore(ctx, st, made.ID); err != nil {
			b.Fatal(err)
		}
		restoreTime += time.Since(start)
		start = time.Now()
		if _, err := backups.RestoreAs(ctx, st, made.ID, fmt.Sprintf("bench-backup-copy-%d", i)); err != nil {
			b.Fatal(err)
		}
		asTime += time.Since(start)
		time.Sleep(time.Second) // backups are named by the second
	}
	n := float64(b.N)
	b.ReportMetric(backupTime.Seconds()/n, "backup-s")
	b.ReportMetric(restoreTime.Seconds()/n, "restore-s")
	b.ReportMetric(asTime.Seconds()/n, "restore-as-s")
	b.ReportMetric(float64(size)/1024, "dump-KiB")
}
