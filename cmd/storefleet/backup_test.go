package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// TestBackupAndRestore backs a store up, changes and deletes its data,
// restores, and finds the data as it was; the store serves again, and a
// broken dump leaves it untouched.
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
}
