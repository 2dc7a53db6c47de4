package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// productPNG is a small picture to upload.
func productPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{R: uint8(x * 30), G: 120, B: uint8(y * 30), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// productIDFrom reads the product id from a redirect to its page.
func productIDFrom(t *testing.T, loc, slug string) int64 {
	t.Helper()
	rest, ok := strings.CutPrefix(loc, "/store/"+slug+"/products/")
	if !ok {
		t.Fatalf("redirect to %q, want a product page", loc)
	}
	rest, _, _ = strings.Cut(rest, "?")
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil {
		t.Fatalf("redirect to %q: %v", loc, err)
	}
	return id
}

// productVariantForm is the form of p's variants as the page sends it,
// with prices.
func productVariantsForm(p catalog.Product, prices ...string) url.Values {
	form := url.Values{"title": {p.Title}, "status": {p.Status}}
	for k, o := range p.Options {
		form.Set(fmt.Sprintf("option%d_name", k+1), o.Name)
		form.Set(fmt.Sprintf("option%d_values", k+1), strings.Join(o.Values, ", "))
	}
	for i, v := range p.Variants {
		form.Add("variant_key", v.Title())
		form.Add("variant_price", prices[i])
		form.Add("variant_compare", "")
		form.Add("variant_sku", v.SKU)
		form.Add("variant_barcode", "")
		form.Add("variant_weight", "0.1")
		form.Add("variant_weight_unit", "kg")
		form.Add("variant_policy", "deny")
		form.Add("variant_tracked", v.Title())
	}
	return form
}

// TestProductCreateEditImagesStock: the owner creates a product with two
// values of an option (two variants at the given price), edits the
// variants' prices, sets their stock, uploads and deletes a picture, and
// deletes the product after confirming; bad input is a 422 with the
// message and nothing changed.
func TestProductCreateEditImagesStock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acct, st := f.owner("product-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/product-shop/products"

	if r := b.get(base + "/new"); r.status != http.StatusOK || !strings.Contains(r.body, "Create product") {
		t.Fatalf("GET %s/new = %d, want the form", base, r.status)
	}
	// A bad price: 422, what was typed kept, nothing created.
	r := b.post(base+"/new", url.Values{"title": {"Sencha"}, "status": {"active"}, "option1_name": {"Size"}, "option1_values": {"50 g, 100 g"}, "price": {"cheap"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Price must be a decimal amount") || !strings.Contains(r.body, `value="50 g, 100 g"`) {
		t.Fatalf("POST new with a bad price = %d %.600s, want 422 naming the price, the values kept", r.status, r.body)
	}
	if n, _ := f.catalog.CountProducts(ctx, st, catalog.Query{}); n != 0 {
		t.Fatalf("after a refused create, %d products, want 0", n)
	}
	b.last = r.body
	r = b.post(base+"/new", url.Values{"title": {"Sencha"}, "body_html": {"<p>Green</p>"}, "vendor": {"Uji"}, "tags": {"green, japan"},
		"status": {"active"}, "option1_name": {"Size"}, "option1_values": {"50 g, 100 g"}, "price": {"8.50"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST new = %d %.600s, want 303", r.status, r.body)
	}
	id := productIDFrom(t, r.header.Get("Location"), "product-shop")
	p, err := f.catalog.Product(ctx, st, id)
	if err != nil || len(p.Variants) != 2 || p.Variants[0].Price != 850 || p.Variants[1].Title() != "100 g" || p.Vendor != "Uji" || len(p.Tags) != 2 {
		t.Fatalf("created product = %+v, %v; want 2 variants at 8.50", p, err)
	}
	if r := b.get(r.header.Get("Location")); !strings.Contains(r.body, "The product is created.") || !strings.Contains(r.body, "100 g") {
		t.Errorf("product page after create lacks the notice or the variants")
	}

	// Edit the prices.
	r = b.post(fmt.Sprintf("%s/%d", base, id), productVariantsForm(p, "8.50", "15.00"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST product = %d %.600s, want 303", r.status, r.body)
	}
	p, _ = f.catalog.Product(ctx, st, id)
	if p.Variants[1].Price != money.Amount(1500) || p.Variants[1].InventoryManagement == nil {
		t.Errorf("after the edit, 100 g = %+v, want 15.00 and tracked", p.Variants[1])
	}
	// A bad variant price: 422 with the message, nothing changed.
	b.get(fmt.Sprintf("%s/%d", base, id))
	r = b.post(fmt.Sprintf("%s/%d", base, id), productVariantsForm(p, "9.00", "fifteen"))
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Price of 100 g must be a decimal amount") || !strings.Contains(r.body, `value="fifteen"`) {
		t.Errorf("POST product with a bad price = %d %.600s, want 422 naming it, the value kept", r.status, r.body)
	}
	if after, _ := f.catalog.Product(ctx, st, id); after.Variants[0].Price != 850 || after.Variants[1].Price != 1500 {
		t.Errorf("after a refused edit, prices %d and %d, want unchanged", after.Variants[0].Price, after.Variants[1].Price)
	}
	// A blank title: 422.
	b.get(fmt.Sprintf("%s/%d", base, id))
	bad := productVariantsForm(p, "8.50", "15.00")
	bad.Set("title", " ")
	if r := b.post(fmt.Sprintf("%s/%d", base, id), bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Title can&#39;t be blank") {
		t.Errorf("POST product with a blank title = %d, want 422 saying so", r.status)
	}

	// Stock at the store's location.
	locs, err := inventory.NewService(f.db).Locations(ctx, st)
	if err != nil || len(locs) == 0 {
		t.Fatalf("Locations = %v, %v", locs, err)
	}
	stock := func(a, b string) url.Values {
		return url.Values{
			fmt.Sprintf("stock_%d_%d", p.Variants[0].ID, locs[0].ID): {a},
			fmt.Sprintf("stock_%d_%d", p.Variants[1].ID, locs[0].ID): {b},
		}
	}
	b.get(fmt.Sprintf("%s/%d", base, id))
	if r := b.post(fmt.Sprintf("%s/%d/stock", base, id), stock("12", "many")); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "must be a whole number") {
		t.Errorf("POST stock with a bad count = %d, want 422", r.status)
	}
	if r := b.post(fmt.Sprintf("%s/%d/stock", base, id), stock("12", "3")); r.status != http.StatusSeeOther {
		t.Fatalf("POST stock = %d %.400s, want 303", r.status, r.body)
	}
	p, _ = f.catalog.Product(ctx, st, id)
	if p.Variants[0].InventoryQuantity != 12 || p.Variants[1].InventoryQuantity != 3 {
		t.Errorf("stock = %d, %d; want 12, 3", p.Variants[0].InventoryQuantity, p.Variants[1].InventoryQuantity)
	}

	// Pictures.
	b.get(fmt.Sprintf("%s/%d", base, id))
	if r := b.upload(fmt.Sprintf("%s/%d/images", base, id), url.Values{"alt": {"A tin"}}, "file", "notes.txt", []byte("not a picture")); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "is not a PNG, JPEG, GIF or WebP image") {
		t.Errorf("upload of a text file = %d %.400s, want 422 saying it is not a picture", r.status, r.body)
	}
	r = b.upload(fmt.Sprintf("%s/%d/images", base, id), url.Values{"alt": {"A tin"}}, "file", "tin.png", productPNG(t))
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload = %d %.400s, want 303", r.status, r.body)
	}
	p, _ = f.catalog.Product(ctx, st, id)
	if len(p.Images) != 1 || p.Images[0].Alt == nil || *p.Images[0].Alt != "A tin" {
		t.Fatalf("images = %+v, want one with its alt text", p.Images)
	}
	if r := b.get(fmt.Sprintf("%s/%d", base, id)); !strings.Contains(r.body, `alt="A tin"`) {
		t.Errorf("the product page shows no thumbnail")
	}
	if r := b.post(fmt.Sprintf("%s/%d/images/%d/delete", base, id, p.Images[0].ID), url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("delete image = %d, want 303", r.status)
	}
	if n, _ := f.catalog.CountImages(ctx, st, id); n != 0 {
		t.Errorf("after delete, %d images", n)
	}

	// Delete, after confirming.
	if r := b.get(fmt.Sprintf("%s/%d/delete", base, id)); r.status != http.StatusOK || !strings.Contains(r.body, "Delete Sencha?") {
		t.Errorf("GET delete = %d, want the confirmation", r.status)
	}
	r = b.post(fmt.Sprintf("%s/%d/delete", base, id), url.Values{})
	if r.status != http.StatusSeeOther {
		t.Errorf("POST delete = %d, want 303", r.status)
	}
	if list := b.get(r.header.Get("Location")); !strings.Contains(list.body, "The product is deleted.") {
		t.Errorf("the products list after a delete (%s) has no notice", r.header.Get("Location"))
	}
	if _, err := f.catalog.Product(ctx, st, id); err == nil {
		t.Errorf("the product is still there after delete")
	}
}

// TestProductAccess: a viewer sees a product but every post is refused;
// another store's product is not found under this store; a post without
// the page's token is refused.
func TestProductAccess(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	owner, st := f.owner("guarded-shop")
	_, other := f.owner("other-shop")
	p := f.product(st, "Oolong")
	// Ids are per store: the other store's product gets an id this store
	// does not have.
	f.product(other, "Earl Grey")
	f.product(other, "Assam")
	theirs := f.product(other, "Rooibos")
	base := "/store/guarded-shop/products"

	viewer := f.browser()
	viewer.mustLogin(f.staff(st, tenant.RoleViewer).Email)
	if r := viewer.get(fmt.Sprintf("%s/%d", base, p.ID)); r.status != http.StatusOK || strings.Contains(r.body, "Save product") {
		t.Errorf("viewer GET product = %d, want 200 without a save button", r.status)
	}
	if r := viewer.get(base + "/new"); r.status != http.StatusForbidden {
		t.Errorf("viewer GET new = %d, want 403", r.status)
	}
	viewer.get(fmt.Sprintf("%s/%d", base, p.ID))
	for _, path := range []string{base + "/new", fmt.Sprintf("%s/%d", base, p.ID), fmt.Sprintf("%s/%d/delete", base, p.ID),
		fmt.Sprintf("%s/%d/stock", base, p.ID), base + "/import"} {
		if r := viewer.post(path, url.Values{"title": {"Hacked"}, "price": {"1.00"}}); r.status != http.StatusForbidden {
			t.Errorf("viewer POST %s = %d, want 403", path, r.status)
		}
	}
	if got, err := f.catalog.Product(ctx, st, p.ID); err != nil || got.Title != "Oolong" {
		t.Errorf("after a viewer's posts, product = %q, %v; want Oolong unchanged", got.Title, err)
	}

	b := f.browser()
	b.mustLogin(owner.Email)
	for _, path := range []string{fmt.Sprintf("%s/%d", base, theirs.ID), fmt.Sprintf("%s/%d/delete", base, theirs.ID)} {
		if r := b.get(path); r.status != http.StatusNotFound || strings.Contains(r.body, "Rooibos") {
			t.Errorf("GET another store's product %s = %d, want 404 without it", path, r.status)
		}
	}
	b.get(fmt.Sprintf("%s/%d", base, p.ID))
	if r := b.post(fmt.Sprintf("%s/%d/delete", base, theirs.ID), url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("POST delete of another store's product = %d, want 404", r.status)
	}
	if r := b.post(fmt.Sprintf("%s/%d", base, theirs.ID), url.Values{"title": {"Mine"}, "price": {"1.00"}}); r.status != http.StatusNotFound {
		t.Errorf("POST another store's product = %d, want 404", r.status)
	}
	if got, err := f.catalog.Product(ctx, other, theirs.ID); err != nil || got.Title != "Rooibos" {
		t.Errorf("the other store's product = %q, %v; want Rooibos unchanged", got.Title, err)
	}
	if r := b.do(http.MethodPost, fmt.Sprintf("%s/%d", base, p.ID), url.Values{"title": {"No token"}, "price": {"1.00"}}); r.status != http.StatusForbidden {
		t.Errorf("POST product without a token = %d, want 403", r.status)
	}
}

// TestProductExportImport: the export is a CSV download the import takes
// back; the import is recorded, runs (here through RunImport, as the
// worker does), and its page shows the progress, then the report.
func TestProductExportImport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acct, st := f.owner("csv-shop")
	p := f.product(st, "Genmaicha")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/csv-shop/products"

	r := b.get(base + "/export")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(r.body, "Handle,Title") || !strings.Contains(r.body, p.Handle) {
		t.Fatalf("GET export = %d %q %.300s, want a CSV attachment with the product", r.status, r.header.Get("Content-Disposition"), r.body)
	}
	exported := []byte(r.body)
	if err := f.catalog.DeleteProduct(ctx, st, p.ID); err != nil {
		t.Fatal(err)
	}

	b.get(base + "/import")
	if r := b.upload(base+"/import", url.Values{}, "file", "bad.csv", []byte("Name,Price\nx,1\n")); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "no Handle column") {
		t.Errorf("import of a CSV without Handle = %d %.400s, want 422 saying so", r.status, r.body)
	}
	b.get(base + "/import")
	r = b.upload(base+"/import", url.Values{"overwrite": {"1"}}, "file", "products.csv", exported)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), base+"/imports/") {
		t.Fatalf("import = %d %s %.400s, want 303 to its page", r.status, r.header.Get("Location"), r.body)
	}
	page := r.header.Get("Location")
	id, _ := strconv.ParseInt(strings.TrimPrefix(page, base+"/imports/"), 10, 64)
	if r := b.get(page); r.status != http.StatusOK || !strings.Contains(r.body, "<progress") || !strings.Contains(r.body, `hx-trigger="every 1s"`) || !strings.Contains(r.body, "Reload") {
		t.Errorf("import page before the worker = %d %.600s, want a polling progress bar", r.status, r.body)
	}
	if err := f.catalog.RunImport(ctx, st, id); err != nil {
		t.Fatalf("RunImport = %v", err)
	}
	r = b.do(http.MethodGet, page, nil, "HX-Request", "true")
	if r.status != http.StatusOK || strings.Contains(r.body, "<html") || strings.Contains(r.body, "hx-trigger") || !strings.Contains(r.body, "1 created, 0 updated, 0 failed") {
		t.Errorf("import fragment after the run = %d %.600s, want the report, no more polling", r.status, r.body)
	}
	if ps, _, err := f.catalog.Products(ctx, st, catalog.Query{Handles: []string{p.Handle}, Limit: 1}); err != nil || len(ps) != 1 || ps[0].Title != "Genmaicha" {
		t.Errorf("after the import, products = %+v, %v; want Genmaicha back", ps, err)
	}
	if r := b.get(base + "/import"); !strings.Contains(r.body, "products.csv") || !strings.Contains(r.body, "1 created") {
		t.Errorf("the import page does not list the finished import")
	}

	// Another store's import is not found here.
	_, other := f.owner("csv-other")
	var theirs catalog.Import
	for range 3 { // ids are per store: one this store does not have
		var err error
		if theirs, err = f.catalog.StartImport(ctx, other, catalog.NewImport{FileName: "x.csv", Data: exported, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.get(fmt.Sprintf("%s/imports/%d", base, theirs.ID)); r.status != http.StatusNotFound {
		t.Errorf("GET another store's import = %d, want 404", r.status)
	}
	viewer := f.browser()
	viewer.mustLogin(f.staff(st, tenant.RoleViewer).Email)
	if r := viewer.get(base + "/import"); r.status != http.StatusOK || strings.Contains(r.body, `type="file"`) {
		t.Errorf("viewer GET import = %d, want the list without the form", r.status)
	}
}
