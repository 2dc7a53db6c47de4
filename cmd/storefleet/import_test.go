package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
)

func TestImportExportCommands(t *testing.T) {
	url := testenv.Database(t)
	getenv := envFor(url)
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), getenv, args, &out, &errOut)
		return out.String(), err
	}
	if _, err := cli("tenant", "create", "--name", "Leaf", "--slug", "leaf", "--owner", "o@leaf.example", "--password", "correct-Horse-battery-9"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo.csv")
	os.WriteFile(demo, demoProducts, 0o600)
	out, err := cli("tenant", "import-products", "leaf", demo)
	if err != nil || !strings.Contains(out, "32 in the file, 32 created, 0 updated, 0 failed") {
		t.Fatalf("import-products of the shipped demo catalog = %q, %v; want all 32 created", out, err)
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("Handle,Title,Variant Price\nok-one,OK,1.00\nbroken,Broken,1.001\n"), 0o600)
	out, err = cli("tenant", "import-products", "leaf", bad)
	if err == nil || !strings.Contains(out, "line 3 (broken)") || !strings.Contains(out, "1 created") {
		t.Errorf("import-products with a bad row = %q, %v; want line 3 reported, the good product created, and an error", out, err)
	}

	exported := filepath.Join(dir, "out.csv")
	if _, err := cli("tenant", "export-products", "leaf", "-o", exported); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(exported)
	if !strings.HasPrefix(string(b), "Handle,Title,Body (HTML)") || !strings.Contains(string(b), "gyokuro-asahi") || !strings.Contains(string(b), "ok-one") {
		t.Errorf("export-products wrote %d bytes without the expected header and handles", len(b))
	}
	if _, err := cli("tenant", "import-products", "leaf", filepath.Join(dir, "missing.csv")); err == nil {
		t.Errorf("import-products of a missing file succeeded")
	}
}

func TestEnsureDemoIsIdempotent(t *testing.T) {
	d, err := openDeps(context.Background(), envFor(testenv.Database(t)), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.db.MigrateControl(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for range 2 {
		if err := ensureDemo(context.Background(), d, &out, &bytes.Buffer{}); err != nil {
			t.Fatalf("ensureDemo = %v", err)
		}
	}
	st, err := d.db.TenantBySlug(context.Background(), demoSlug)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := d.catalog().CountProducts(context.Background(), st, catalog.Query{})
	if n != 32 || strings.Count(out.String(), "32 created") != 1 {
		t.Errorf("after ensureDemo twice: %d products, output %q; want 32, imported once", n, out.String())
	}
	// A catalog a shopper can browse: every product pictured twice, stock on
	// most variants, some low, some sold out.
	ps, _, err := d.catalog().Products(context.Background(), st, catalog.Query{Limit: 250})
	if err != nil {
		t.Fatal(err)
	}
	stocked, soldOut := 0, 0
	for _, p := range ps {
		if len(p.Images) != 2 || p.Images[0].Width != artSize {
			t.Errorf("demo product %s has images %+v, want two %d² pictures", p.Handle, p.Images, artSize)
		}
		for _, v := range p.Variants {
			if v.InventoryQuantity > 0 {
				stocked++
			} else {
				soldOut++
			}
		}
	}
	if stocked < 3*soldOut || soldOut == 0 {
		t.Errorf("demo stock: %d variants in stock, %d sold out; want most in stock and a few sold out", stocked, soldOut)
	}
}
