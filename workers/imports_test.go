package workers_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

const importsCSV = `Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Inventory Qty
sencha,Sencha,Size,50 g,SEN-50,8.50,12
sencha,,,100 g,SEN-100,15.00,3
matcha,Matcha,,,MAT-1,twelve,
`

// TestProductImportRunsInTheWorker: an import recorded while no worker
// runs (only its row and outbox event exist) is run by the fleet once it
// starts, with its progress and report written to the row; running it again
// changes nothing; and products/import is no partner's webhook topic.
func TestProductImportRunsInTheWorker(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "imported", Name: "Imported"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	urls := tenant.URLs{Scheme: "http", Domain: "localhost"}
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t), Fetch: safehttp.NewClient(safehttp.Options{}), URLs: urls})
	im, err := cat.StartImport(ctx, st, catalog.NewImport{FileName: "teas.csv", Data: []byte(importsCSV), Actor: "account:1"})
	if err != nil {
		t.Fatalf("StartImport = %v", err)
	}
	if im.Status != catalog.ImportPending || im.Total != 2 {
		t.Errorf("StartImport = status %s, total %d; want pending, 2", im.Status, im.Total)
	}
	if _, ok := webhooks.Topics[catalog.TopicImport]; ok {
		t.Errorf("webhooks.Topics offers %s to partners", catalog.TopicImport)
	}

	rdb := testenv.IsolatedRedis(t)
	fleet := workers.New(db, rdb, workers.Config{RelayInterval: 50 * time.Millisecond, RetryCheckInterval: 100 * time.Millisecond,
		URLs: urls, Catalog: cat}, log)
	stop := start(t, fleet)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if im, err = cat.Import(ctx, st, im.ID); err != nil {
			t.Fatalf("Import = %v", err)
		}
		if im.Finished() {
			break
		}
	}
	stop()
	if im.Status != catalog.ImportDone || im.Report == nil {
		t.Fatalf("import after the worker = %+v, want done with a report", im)
	}
	rep := *im.Report
	if rep.Products != 2 || rep.Created != 1 || len(rep.Failed) != 1 || im.Done != 2 || im.Failed != 1 || im.FinishedAt == nil {
		t.Errorf("report = %+v (done %d, failed %d); want 2 products, 1 created, 1 failed", rep, im.Done, im.Failed)
	} else if f := rep.Failed[0]; f.Line != 4 || f.Handle != "matcha" || f.Reason == "" {
		t.Errorf("failure = %+v, want line 4, matcha, with a reason", f)
	}
	ps, _, err := cat.Products(ctx, st, catalog.Query{Handles: []string{"sencha"}, Limit: 1})
	if err != nil || len(ps) != 1 || len(ps[0].Variants) != 2 || ps[0].Variants[0].InventoryQuantity != 12 {
		t.Fatalf("sencha after the import = %+v, %v; want 2 variants, 12 of the first in stock", ps, err)
	}

	// A second run (a re-sent task) leaves the finished import alone.
	if err := cat.RunImport(ctx, st, im.ID); err != nil {
		t.Fatalf("RunImport again = %v", err)
	}
	again, err := cat.Import(ctx, st, im.ID)
	if err != nil || again.Status != catalog.ImportDone || again.Report == nil || again.Report.Created != 1 {
		t.Errorf("import after a second run = %+v, %v; want it unchanged", again, err)
	}
	if n, err := cat.CountProducts(ctx, st, catalog.Query{}); err != nil || n != 1 {
		t.Errorf("CountProducts after a second run = %d, %v; want 1", n, err)
	}
}
