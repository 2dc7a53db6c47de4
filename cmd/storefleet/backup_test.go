package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// TestBackupAndRestore backs a store up, changes and deletes its data,
// restores, and finds the data as it was; the store serves again, and a
// broken dump leaves it untouched. The same backup restored --as a new
// store serves its data there and leaves the original as it is.
func TestBackupAndRestore(t *testing.T) {
	dbURL := testenv.Database(t)
	s := startServer(t, dbURL)
	ctx := context.Background()
	st, err := s.deps.db.Provision(ctx, tenant.NewStore{Slug: "kept-tea", Name: "Kept Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := s.deps.catalog()
	var ids []int64
	for _, title := range []string{"Sencha", "Bancha", "Hojicha"} {
		p, err := cat.CreateProduct(ctx, st, catalog.ProductInput{Title: &title})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	titles := func() string {
		ps, _, err := cat.Products(ctx, st, catalog.Query{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Title)
		}
		return strings.Join(out, ",")
	}
	before := titles()

	var out, errOut bytes.Buffer
	if err := run(ctx, envFor(dbURL), []string{"tenant", "backup", "kept-tea"}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant backup = %v (%s)", err, errOut.String())
	}
	key := strings.Fields(out.String())[5] // backed up store "kept-tea" as <key> in …
	out.Reset()
	if err := run(ctx, envFor(dbURL), []string{"tenant", "backups", "kept-tea"}, &out, &errOut); err != nil || !strings.Contains(out.String(), key) {
		t.Fatalf("storefleet tenant backups = %v\n%s\nwant %s listed", err, out.String(), key)
	}

	// Change and delete.
	renamed := "Renamed"
	if _, err := cat.UpdateProduct(ctx, st, ids[0], catalog.ProductInput{Title: &renamed}); err != nil {
		t.Fatal(err)
	}
	if err := cat.DeleteProduct(ctx, st, ids[1]); err != nil {
		t.Fatal(err)
	}
	if titles() == before {
		t.Fatal("the changes did not take")
	}

	// Another store's backup is refused; a broken dump changes nothing.
	if err := run(ctx, envFor(dbURL), []string{"tenant", "restore", "kept-tea", "--from", "backups/1/x.dump"}, &out, &errOut); err == nil {
		t.Errorf("restoring another store's backup key succeeded")
	}
	broken := t.TempDir() + "/broken.dump"
	if err := os.WriteFile(broken, []byte("PGDMP not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, envFor(dbURL), []string{"tenant", "restore", "kept-tea", "--from", broken}, &out, &errOut); err == nil {
		t.Errorf("restoring a broken dump succeeded")
	}
	if got := titles(); !strings.Contains(got, "Renamed") {
		t.Fatalf("after a failed restore the store holds %s, want its data untouched", got)
	}

	out.Reset()
	if err := run(ctx, envFor(dbURL), []string{"tenant", "restore", "kept-tea", "--from", key}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant restore = %v (%s)", err, errOut.String())
	}
	if got := titles(); got != before {
		t.Errorf("after restoring, products = %s, want %s", got, before)
	}
	got, err := s.deps.db.Tenant(ctx, st.ID)
	if err != nil || got.Status != tenant.Active {
		t.Errorf("store after restoring = %+v, %v; want active again", got, err)
	}
	if r := s.do(t, "GET", "kept-tea.localhost", "/products/bancha", ""); r.status != 200 || !strings.Contains(r.body, "Bancha") {
		t.Errorf("GET the restored product = %d", r.status)
	}

	// The same backup, by its file name, as a new store: the original is
	// left as it is now.
	if _, err := cat.UpdateProduct(ctx, st, ids[2], catalog.ProductInput{Title: &renamed}); err != nil {
		t.Fatal(err)
	}
	now := titles()
	out.Reset()
	id := key[strings.LastIndex(key, "/")+1:]
	if err := run(ctx, envFor(dbURL), []string{"tenant", "restore", "kept-tea", "--from", id, "--as", "kept-tea-copy"}, &out, &errOut); err != nil {
		t.Fatalf("storefleet tenant restore --as = %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), `as new store "kept-tea-copy"`) {
		t.Errorf("storefleet tenant restore --as said %q", out.String())
	}
	if got := titles(); got != now {
		t.Errorf("after restore --as, the original holds %s, want %s", got, now)
	}
	copyOf, err := s.deps.db.TenantBySlug(ctx, "kept-tea-copy")
	if err != nil || copyOf.Status != tenant.Active {
		t.Fatalf("the new store = %+v, %v; want it active", copyOf, err)
	}
	if r := s.do(t, "GET", "kept-tea-copy.localhost", "/products/bancha", ""); r.status != 200 || !strings.Contains(r.body, "Bancha") {
		t.Errorf("GET a product of the new store = %d", r.status)
	}
	if err := run(ctx, envFor(dbURL), []string{"tenant", "restore", "kept-tea", "--from", id, "--as", "kept-tea-copy"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "taken") {
		t.Errorf("restore --as onto a taken slug = %v, want it refused as taken", err)
	}
	if err := run(ctx, envFor(dbURL), []string{"tenant", "restore", "kept-tea", "--from", "20200101T000000Z.dump"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "no backup") {
		t.Errorf("restore from a backup that does not exist = %v, want it named", err)
	}
}

// TestBackupsAPI: a store's owners and admins list its backups; viewers,
// apps, and another store's owner do not.
func TestBackupsAPI(t *testing.T) {
	bucket := testenv.Bucket(t)
	var backups *tenant.Backups
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		backups = tenant.NewBackups(db, bucket, tenant.DefaultRetention)
		return []apps.Resource{backupsAPI{backups}}
	})
	ctx := context.Background()
	a, b := h.Store("backed-a"), h.Store("backed-b")
	madeA, err := backups.Create(ctx, a, true)
	if err != nil {
		t.Fatal(err)
	}
	madeB, err := backups.Create(ctx, b, true)
	if err != nil {
		t.Fatal(err)
	}
	ownerA, ownerB := h.Staff(a, tenant.RoleOwner), h.Staff(b, tenant.RoleOwner)

	for _, caller := range []struct {
		name, token string
	}{{"owner", ownerA}, {"admin", h.Staff(a, tenant.RoleAdmin)}} {
		r := h.Do(a, caller.token, "GET", "/backups.json", "")
		if r.Status != 200 {
			t.Fatalf("GET backups.json as %s = %d %s", caller.name, r.Status, r.Body)
		}
		var got struct {
			Backups []struct {
				ID        string    `json:"id"`
				CreatedAt time.Time `json:"created_at"`
				Size      int64     `json:"size"`
				Kind      string    `json:"kind"`
			} `json:"backups"`
		}
		if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Backups) != 1 || got.Backups[0].ID != madeA.ID || got.Backups[0].Size != madeA.Size ||
			got.Backups[0].Kind != "manual" || !got.Backups[0].CreatedAt.Equal(madeA.CreatedAt) {
			t.Errorf("GET backups.json as %s = %s, want only %+v", caller.name, r.Body, madeA)
		}
	}
	if r := h.Do(b, ownerB, "GET", "/backups.json", ""); r.Status != 200 || !strings.Contains(r.Body, madeB.ID) {
		t.Errorf("GET backups.json as store B's owner = %d %s", r.Status, r.Body)
	}

	// Store A's owner on store B's host, a viewer, a staff member, an app
	// with every scope it can have: refused, and nothing of the backups.
	for _, caller := range []struct {
		name  string
		store *tenant.Tenant
		token string
	}{
		{"store A's owner on store B", b, ownerA},
		{"a viewer", a, h.Staff(a, tenant.RoleViewer)},
		{"a staff member", a, h.Staff(a, tenant.RoleStaff)},
		{"an app", a, h.Token(a, "read_products", "read_orders", "read_customers")},
	} {
		r := h.Do(caller.store, caller.token, "GET", "/backups.json", "")
		if r.Status != 401 && r.Status != 403 && r.Status != 404 {
			t.Errorf("GET backups.json as %s = %d, want 401, 403 or 404", caller.name, r.Status)
		}
		if strings.Contains(r.Body, ".dump") {
			t.Errorf("GET backups.json as %s showed backups: %s", caller.name, r.Body)
		}
	}
}
