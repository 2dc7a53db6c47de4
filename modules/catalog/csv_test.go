package catalog_test

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// A file in Shopify's export layout: a product with two options over four
// rows (one of them an extra image), a product without options, a draft,
// and three bad products.
const shopifyCSV = `Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value,Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Fulfillment Service,Variant Price,Variant Compare At Price,Variant Requires Shipping,Variant Taxable,Variant Barcode,Image Src,Image Position,Image Alt Text,Gift Card,SEO Title,Variant Weight Unit,Status,Variant Image
sencha,Sencha,<p>Steamed green tea</p>,Uji Farms,,Tea,"green, japanese",TRUE,Size,50 g,Grade,Daily,,,SEN-50-D,50,shopify,10,deny,manual,6.50,8.00,TRUE,TRUE,,https://cdn.example/sencha.jpg,1,,FALSE,,g,active
sencha,,,,,,,,,100 g,,Daily,,,SEN-100-D,100,shopify,5,deny,manual,12.00,,TRUE,TRUE,,,,,,,g,
sencha,,,,,,,,,100 g,,Premium,,,SEN-100-P,100,shopify,2,continue,manual,18.00,,TRUE,TRUE,4006381333931,,,,,,g,,https://cdn.example/sencha-2.jpg
sencha,,,,,,,,,,,,,,,,,,,,,,,,,https://cdn.example/sencha-2.jpg,2,Second flush,,,,
tea-scoop,Bamboo Tea Scoop,,Kyoto Crafts,,Accessory,tools,TRUE,Title,Default Title,,,,,SCOOP,20,,,deny,manual,4.00,,TRUE,TRUE,,,,,,,kg,active
winter-blend,Winter Blend,,House,,Tea,seasonal,FALSE,Title,Default Title,,,,,WB,100,,,deny,manual,9.00,,TRUE,TRUE,,,,,,,g,draft
bad-price,Bad Price,,,,,,TRUE,Title,Default Title,,,,,,,,,,,9.999,,,,,,,,,,,active
,Orphan row,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,
dup-variants,Duplicated,,,,,,TRUE,Color,Red,,,,,,,,,,,1,,,,,,,,,,,active
dup-variants,,,,,,,,,red,,,,,,,,,,,2,,,,,,,,,,,
`

// servedCatalog is a catalog service whose stores' image URLs are served
// by a real HTTP server on loopback (http://<slug>.localhost:<port>), which
// also serves any other path as a picture, standing in for a merchant's old
// image host. It returns the service and that host's base URL.
func servedCatalog(t *testing.T, h *appstest.Harness) (*catalog.Service, string) {
	var svc *catalog.Service
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if file, ok := strings.CutPrefix(r.URL.Path, "/cdn/shop/products/"); ok {
			slug, _, _ := strings.Cut(r.Host, ".")
			st, err := h.DB.TenantBySlug(r.Context(), slug)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			if err := svc.ServeImage(w, r, st, file); err != nil {
				http.Error(w, err.Error(), 500)
			}
			return
		}
		w.Write(picture(t, "jpeg", 20, 10, color.RGBA{uint8(len(r.URL.Path)), 90, 40, 255}))
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	svc = catalog.NewService(h.DB, catalog.Files{
		Bucket: testenv.Bucket(t),
		Fetch:  safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second}),
		URLs:   tenant.URLs{Scheme: "http", Domain: "localhost", Port: port},
	})
	return svc, srv.URL
}

func TestImportCSV(t *testing.T) {
	h := newHarness(t)
	st := h.Store("csv-import")
	svc, oldHost := servedCatalog(t, h)
	file := strings.ReplaceAll(shopifyCSV, "https://cdn.example", oldHost)
	ctx := context.Background()
	var progress []int
	rep, err := svc.ImportCSV(ctx, st, strings.NewReader(file), catalog.ImportOptions{Progress: func(done, total, failed int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatalf("ImportCSV = %v", err)
	}
	if rep.Products != 5 || rep.Created != 3 || len(rep.Failed) != 3 || rep.Images != 2 {
		t.Errorf("report = %+v, want 5 products, 3 created, 3 failed, 2 images", rep)
	}
	wantLines := map[int]string{8: "Variant Price \"9.999\" has more than 2 decimals", 9: "Handle is empty", 10: `variant 2: the variant "red" already exists`}
	for _, f := range rep.Failed {
		want, ok := wantLines[f.Line]
		if !ok || !strings.Contains(f.Err.Error(), want) {
			t.Errorf("failure at line %d (%s): %v; want failures at lines 8 (price), 9 (no handle), 10 (duplicate variant)", f.Line, f.Handle, f.Err)
		}
	}
	if !slices.Contains(rep.SkippedColumns, "Gift Card") || !slices.Equal(progress, []int{1, 2, 3, 4, 5}) {
		t.Errorf("skipped columns %v, progress %v; want Gift Card reported and progress per product", rep.SkippedColumns, progress)
	}

	ps, _, err := svc.Products(ctx, st, catalog.Query{Limit: 10})
	if err != nil || len(ps) != 3 {
		t.Fatalf("products after import = %d, %v; want 3", len(ps), err)
	}
	sencha := ps[0]
	var got []string
	for _, v := range sencha.Variants {
		got = append(got, v.Title()+"="+strings.TrimSpace(v.SKU))
	}
	if sencha.Title != "Sencha" || sencha.Vendor != "Uji Farms" || !slices.Equal(sencha.Tags, []string{"green", "japanese"}) ||
		len(sencha.Options) != 2 || sencha.Options[1].Name != "Grade" ||
		!slices.Equal(got, []string{"50 g / Daily=SEN-50-D", "100 g / Daily=SEN-100-D", "100 g / Premium=SEN-100-P"}) ||
		sencha.Variants[0].Price != 650 || *sencha.Variants[0].CompareAtPrice != 800 || sencha.Variants[2].InventoryPolicy != "continue" ||
		sencha.Variants[2].Barcode != "4006381333931" || sencha.Variants[0].Weight != 50 || sencha.Variants[0].WeightUnit != "g" {
		t.Errorf("imported sencha = %+v, variants %v", sencha, got)
	}
	if q := []int64{sencha.Variants[0].InventoryQuantity, sencha.Variants[1].InventoryQuantity, sencha.Variants[2].InventoryQuantity}; !slices.Equal(q, []int64{10, 5, 2}) {
		t.Errorf("imported sencha stock = %v, want the Variant Inventory Qty column: 10, 5, 2", q)
	}
	if len(sencha.Images) != 2 || sencha.Images[0].Width != 20 || sencha.Images[1].Position != 2 || *sencha.Images[1].Alt != "Second flush" {
		t.Errorf("imported sencha images = %+v, want two 20×10 pictures, the second with its alt text", sencha.Images)
	}
	if sencha.Variants[2].ImageID == nil || *sencha.Variants[2].ImageID != sencha.Images[1].ID {
		t.Errorf("variant %s image = %v, want the second image (its Variant Image)", sencha.Variants[2].Title(), sencha.Variants[2].ImageID)
	}
	if scoop := ps[1]; scoop.Options[0].Name != "Title" || scoop.Variants[0].Title() != "Default Title" || scoop.Variants[0].Weight != 0.02 {
		t.Errorf("imported scoop = %+v %+v, want the default option and 0.02 kg", scoop.Options, scoop.Variants)
	}
	if winter := ps[2]; winter.Status != "draft" || winter.PublishedAt != nil {
		t.Errorf("imported winter blend status %s published %v, want draft and unpublished", winter.Status, winter.PublishedAt)
	}

	// Again: existing handles fail unless overwriting.
	rep, _ = svc.ImportCSV(ctx, st, strings.NewReader(file), catalog.ImportOptions{})
	refused := 0
	for _, f := range rep.Failed {
		if strings.Contains(f.Err.Error(), "exists (import with --overwrite") {
			refused++
		}
	}
	if rep.Created != 0 || refused != 3 {
		t.Errorf("second import = %+v, want the 3 existing handles refused", rep)
	}
	changed := strings.Replace(file, "Bamboo Tea Scoop", "Bamboo Scoop", 1)
	rep, _ = svc.ImportCSV(ctx, st, strings.NewReader(changed), catalog.ImportOptions{Overwrite: true})
	if rep.Updated != 3 {
		t.Errorf("overwrite import = %+v, want 3 updated", rep)
	}
	if p, _ := svc.Product(ctx, st, ps[1].ID); p.Title != "Bamboo Scoop" {
		t.Errorf("overwritten title = %q", p.Title)
	}

	noPicture := "Handle,Title,Image Src\nghost,Ghost,http://127.0.0.1:1/gone.jpg\n"
	if rep, _ := svc.ImportCSV(ctx, st, strings.NewReader(noPicture), catalog.ImportOptions{}); rep.Created != 0 || len(rep.Failed) != 1 ||
		!strings.Contains(rep.Failed[0].Err.Error(), "could not be downloaded") || rep.Failed[0].Line != 2 {
		t.Errorf("import of an unreachable Image Src = %+v, want line 2 refused as not downloadable", rep)
	}
	nan := "Handle,Title,Variant Grams,Variant Price\nnan-tea,NaN Tea,NaN,1.00\n"
	if rep, _ := svc.ImportCSV(ctx, st, strings.NewReader(nan), catalog.ImportOptions{}); rep.Created != 0 || len(rep.Failed) != 1 {
		t.Errorf("import of a NaN weight = %+v, want it refused", rep)
	}
	if r := h.Do(st, h.Token(st, "read_products"), "GET", "/products.json", ""); r.Status != 200 || r.Body == "" {
		t.Errorf("product list after the NaN import = %d %q, want a readable list", r.Status, r.Body)
	}
	for _, bad := range []string{"", "Title,Price\nx,1\n", "Handle\n\"unclosed\n"} {
		if _, err := svc.ImportCSV(ctx, st, strings.NewReader(bad), catalog.ImportOptions{}); !errs.Is(err, errs.Invalid) {
			t.Errorf("ImportCSV(%q) = %v, want Invalid", bad, err)
		}
	}
}

// imageIndex is the position of image id among p's images, 0 for none.
func imageIndex(p catalog.Product, id *int64) int {
	for _, im := range p.Images {
		if id != nil && im.ID == *id {
			return im.Position
		}
	}
	return 0
}

func TestExportCSVRoundTrip(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("csv-export-a"), h.Store("csv-export-b")
	svc, oldHost := servedCatalog(t, h)
	ctx := context.Background()
	if _, err := svc.ImportCSV(ctx, a, strings.NewReader(strings.ReplaceAll(shopifyCSV, "https://cdn.example", oldHost)), catalog.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := svc.ExportCSV(ctx, a, &out)
	if err != nil || n != 3 {
		t.Fatalf("ExportCSV = %d, %v; want 3 products", n, err)
	}
	rep, err := svc.ImportCSV(ctx, b, bytes.NewReader(out.Bytes()), catalog.ImportOptions{})
	if err != nil || rep.Created != 3 || len(rep.Failed) != 0 {
		t.Fatalf("re-import of the export = %+v, %v", rep, err)
	}
	pa, _, _ := svc.Products(ctx, a, catalog.Query{Limit: 10})
	pb, _, _ := svc.Products(ctx, b, catalog.Query{Limit: 10})
	summary := func(ps []catalog.Product) []string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Handle+"|"+p.Title+"|"+p.Status+"|"+strings.Join(p.Tags, ","))
			for _, v := range p.Variants {
				s = append(s, fmt.Sprintf("  %s|%s|%s|image %d|stock %d", v.Title(), v.SKU, v.InventoryPolicy, imageIndex(p, v.ImageID), v.InventoryQuantity))
			}
			for _, im := range p.Images {
				s = append(s, fmt.Sprintf("  image %d %s %dx%d", im.Position, im.File, im.Width, im.Height))
			}
		}
		return s
	}
	if !slices.Equal(summary(pa), summary(pb)) {
		t.Errorf("export then import changed the catalog:\n%v\n%v", summary(pa), summary(pb))
	}
	for i := range pa {
		for j := range pa[i].Variants {
			va, vb := pa[i].Variants[j], pb[i].Variants[j]
			if va.Price != vb.Price || va.Weight != vb.Weight || va.WeightUnit != vb.WeightUnit {
				t.Errorf("variant %s changed: %+v vs %+v", va.Title(), va, vb)
			}
		}
	}
}

// A file saved in another encoding than UTF-8, or holding NUL characters,
// fails the products it touches with a message saying so, not with the
// database's refusal; the file's other products are imported.
func TestImportCSVRefusesUnstorableText(t *testing.T) {
	h := newHarness(t)
	st := h.Store("csv-text")
	svc, _ := servedCatalog(t, h)
	file := "Handle,Title,Variant SKU,Gift Card\n" +
		"latin,Caf\xe9,,\n" +
		"nul,Tea,A\x00B,\n" +
		"fine,Fine Tea,F-1,\xff\x00\n" // a column Storefleet does not read may hold anything
	rep, err := svc.ImportCSV(context.Background(), st, strings.NewReader(file), catalog.ImportOptions{})
	if err != nil {
		t.Fatalf("ImportCSV = %v", err)
	}
	want := map[int]string{2: "line 2: Title is not UTF-8 text", 3: "line 3: Variant SKU holds a NUL character"}
	for _, f := range rep.Failed {
		if w, ok := want[f.Line]; !ok || !strings.Contains(f.Err.Error(), w) {
			t.Errorf("ImportCSV failure at line %d: %v; want %q", f.Line, f.Err, w)
		}
	}
	if rep.Created != 1 || len(rep.Failed) != 2 {
		t.Errorf("ImportCSV report = %+v, want fine created, latin and nul failed", rep)
	}
}
