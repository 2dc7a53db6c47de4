package dashboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/inventory"
)

// defaultOption is the option of a product without options, as the
// catalog (and Shopify) has it.
const (
	defaultOptionName  = "Title"
	defaultOptionValue = "Default Title"
)

// productOptionForm is one option row of the product form: its name and
// its values, comma-separated, as the merchant typed them.
type productOptionForm struct {
	N            int // 1…3, for field names
	Name, Values string
}

// productVariantForm is one row of the variants table, as typed.
type productVariantForm struct {
	Key, Title                           string // Key: the option values joined, the row's identity
	Price, Compare, SKU, Barcode, Weight string
	WeightUnit, Policy                   string
	Tracked                              bool
	Err                                  string
	index                                int
}

// productForm is what the product form carries, kept as typed after an
// error.
type productForm struct {
	Title, Body, Vendor, Type, Tags, Status string
	Options                                 []productOptionForm
	Variants                                []productVariantForm
	Price                                   string // for new variants
	Errors                                  map[string][]string
}

// productStockCell is a variant's available count at a location.
type productStockCell struct {
	Field, Location string
	Value           string
	Err             string
}

// productStockRow is a variant's stock at each location.
type productStockRow struct {
	Title string
	SKU   string
	Cells []productStockCell
}

// productImage is a thumbnail of the product's pictures.
type productImage struct {
	ID       int64
	Thumb    string
	Alt      string
	Position int
}

// productPage is the product form, for a new product (ID 0) or one to edit.
type productPage struct {
	ID                 int64
	Handle             string
	Slug               string
	Currency           string
	Form               productForm
	Statuses           []string
	WeightUnits        []string
	Images             []productImage
	Stock              []productStockRow
	Locations          int
	CanWrite, CanStock bool
	keepStock          bool // show the stock as typed, after an error
	Flash, Error       string
	ImageErr, ImageAlt string
}

// productDone are the notices shown after a save, by ?done=.
var productDone = map[string]string{
	"created":       "The product is created.",
	"saved":         "The product is saved.",
	"image":         "The image is added.",
	"image-deleted": "The image is deleted.",
	"stock":         "The stock is saved.",
}

// productID is the :id of a product page; ok is false for one that cannot be.
func productID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// newProduct shows the form for a new product: one option row filled in
// with nothing, so a product without options gets one variant.
func (d *Dashboard) newProduct(c *gin.Context) {
	form := productForm{Status: catalog.StatusDraft}
	d.showProduct(c, http.StatusOK, 0, &form, nil)
}

// product shows one of the store's products: its fields, options and
// variants, pictures and stock, with the forms the role may use.
func (d *Dashboard) product(c *gin.Context) {
	id, ok := productID(c)
	if !ok {
		d.notFound(c)
		return
	}
	d.showProduct(c, http.StatusOK, id, nil, nil)
}

// showProduct renders product id's page (0: a new product) with status.
// form, when not nil, is what was typed and sent back with an error;
// otherwise the form shows the product as it is. edit, when not nil,
// adds an error of another form (a picture, the stock) to the page.
func (d *Dashboard) showProduct(c *gin.Context, status int, id int64, form *productForm, edit func(*productPage)) {
	m := memberOf(c)
	ctx := c.Request.Context()
	cur, err := d.cfg.Catalog.Currency(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := productPage{ID: id, Slug: m.Store.Slug, Currency: cur.Code, Statuses: productStatuses, WeightUnits: []string{"kg", "g", "lb", "oz"},
		Flash: productDone[c.Query("done")]}
	if edit != nil {
		edit(&page)
	}
	if page.CanWrite, err = d.Allowed(m, "products", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanStock, err = d.Allowed(m, "inventory", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	if id != 0 {
		p, err := d.cfg.Catalog.Product(ctx, m.Store, id)
		if err != nil {
			d.failErr(c, err)
			return
		}
		page.Handle = p.Handle
		if form == nil {
			f := productFormOf(p, cur)
			form = &f
		}
		for _, im := range p.Images {
			alt := ""
			if im.Alt != nil {
				alt = *im.Alt
			}
			page.Images = append(page.Images, productImage{ID: im.ID, Thumb: d.cfg.Catalog.ImageURL(m.Store, im.File) + "?width=160", Alt: alt, Position: im.Position})
		}
		if page.Stock, page.Locations, err = d.productStock(ctx, m, p, c.Request.PostForm, page.keepStock); err != nil {
			d.failErr(c, err)
			return
		}
	}
	page.Form = *form
	for len(page.Form.Options) < catalog.MaxOptions {
		page.Form.Options = append(page.Form.Options, productOptionForm{})
	}
	for i := range page.Form.Options {
		page.Form.Options[i].N = i + 1
	}
	title := "New product"
	if id != 0 {
		title = page.Form.Title
	}
	d.render(c, status, "product", title, page)
}

// productFormOf is product p as the form shows it.
func productFormOf(p catalog.Product, cur money.Currency) productForm {
	f := productForm{Title: p.Title, Body: p.BodyHTML, Vendor: p.Vendor, Type: p.ProductType, Tags: strings.Join(p.Tags, ", "), Status: p.Status}
	if !isDefaultOptions(p.Options) {
		for _, o := range p.Options {
			f.Options = append(f.Options, productOptionForm{Name: o.Name, Values: strings.Join(o.Values, ", ")})
		}
	}
	for _, v := range p.Variants {
		row := productVariantForm{Key: v.Title(), Title: v.Title(), Price: cur.Format(v.Price), SKU: v.SKU, Barcode: v.Barcode,
			Weight: strconv.FormatFloat(v.Weight, 'f', -1, 64), WeightUnit: v.WeightUnit, Policy: v.InventoryPolicy,
			Tracked: v.InventoryManagement != nil && *v.InventoryManagement != ""}
		if v.CompareAtPrice != nil {
			row.Compare = cur.Format(*v.CompareAtPrice)
		}
		if isDefaultOptions(p.Options) {
			row.Title = "Default"
		}
		f.Variants = append(f.Variants, row)
	}
	return f
}

func isDefaultOptions(os []catalog.Option) bool {
	return len(os) == 0 || (len(os) == 1 && os[0].Name == defaultOptionName && len(os[0].Values) <= 1 &&
		(len(os[0].Values) == 0 || os[0].Values[0] == defaultOptionValue))
}

// productStock is the stock table: each variant's available count at each
// of the store's locations. sent, after a refused stock form, holds what
// was typed.
func (d *Dashboard) productStock(ctx context.Context, m Member, p catalog.Product, sent url.Values, keep bool) ([]productStockRow, int, error) {
	locs, err := d.cfg.Inventory.Locations(ctx, m.Store)
	if err != nil {
		return nil, 0, err
	}
	have, err := d.levels(ctx, m, p)
	if err != nil {
		return nil, 0, err
	}
	var rows []productStockRow
	for _, v := range p.Variants {
		row := productStockRow{Title: v.Title(), SKU: v.SKU}
		if v.Title() == defaultOptionValue {
			row.Title = p.Title
		}
		for _, l := range locs {
			if !l.Active {
				continue
			}
			cell := productStockCell{Field: stockField(v.ID, l.ID), Location: l.Name, Value: strconv.FormatInt(have[[2]int64{v.ID, l.ID}], 10)}
			if keep {
				cell.Value = sent.Get(cell.Field)
				if _, err := parseStock(cell.Value); err != nil {
					cell.Err = err.Error()
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	return rows, len(locs), nil
}

// levels are what is available of p's variants, by (variant, location).
func (d *Dashboard) levels(ctx context.Context, m Member, p catalog.Product) (map[[2]int64]int64, error) {
	have := map[[2]int64]int64{}
	var ids []int64
	for _, v := range p.Variants {
		ids = append(ids, v.ID)
	}
	if len(ids) == 0 {
		return have, nil
	}
	ls, _, err := d.cfg.Inventory.Levels(ctx, m.Store, inventory.LevelQuery{ItemIDs: ids, Limit: 10_000})
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		have[[2]int64{l.ItemID, l.LocationID}] = l.Available
	}
	return have, nil
}

func stockField(variant, location int64) string { return fmt.Sprintf("stock_%d_%d", variant, location) }

func parseStock(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < -inventory.MaxAvailable || n > inventory.MaxAvailable {
		return 0, fmt.Errorf("must be a whole number from %d to %d", -inventory.MaxAvailable, inventory.MaxAvailable)
	}
	return n, nil
}

// readProductForm reads the posted product form.
func readProductForm(c *gin.Context) productForm {
	f := productForm{Title: c.PostForm("title"), Body: c.PostForm("body_html"), Vendor: c.PostForm("vendor"), Type: c.PostForm("product_type"),
		Tags: c.PostForm("tags"), Status: c.PostForm("status"), Price: c.PostForm("price"), Errors: map[string][]string{}}
	for n := 1; n <= catalog.MaxOptions; n++ {
		f.Options = append(f.Options, productOptionForm{Name: strings.TrimSpace(c.PostForm(fmt.Sprintf("option%d_name", n))),
			Values: c.PostForm(fmt.Sprintf("option%d_values", n))})
	}
	keys := c.PostFormArray("variant_key")
	col := func(name string, i int) string {
		vs := c.PostFormArray(name)
		if i < len(vs) {
			return vs[i]
		}
		return ""
	}
	tracked := map[string]bool{}
	for _, k := range c.PostFormArray("variant_tracked") {
		tracked[k] = true
	}
	for i, k := range keys {
		f.Variants = append(f.Variants, productVariantForm{Key: k, Title: k, Price: col("variant_price", i), Compare: col("variant_compare", i),
			SKU: col("variant_sku", i), Barcode: col("variant_barcode", i), Weight: col("variant_weight", i), WeightUnit: col("variant_weight_unit", i),
			Policy: col("variant_policy", i), Tracked: tracked[k], index: i})
	}
	return f
}

// splitValues splits an option's comma-separated values, each once.
func splitValues(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v != "" && !seen[strings.ToLower(v)] {
			seen[strings.ToLower(v)] = true
			out = append(out, v)
		}
	}
	return out
}

// toProductInput turns the form into the catalog's input: the options the
// merchant listed, and a variant for every combination of their values,
// the variant already there for a combination kept (by its row in the
// table), a new one priced at the form's price. existing are the
// product's variants by title (nil for a new product). Problems with what
// was typed are recorded in f.Errors.
func (f *productForm) toProductInput(cur money.Currency, existing map[string]catalog.Variant) catalog.ProductInput {
	bad := func(field, msg string) { f.Errors[field] = append(f.Errors[field], msg) }
	in := catalog.ProductInput{Title: &f.Title, BodyHTML: &f.Body, Vendor: &f.Vendor, ProductType: &f.Type, Status: &f.Status}
	tags := apps.SplitTags(f.Tags)
	in.Tags = &tags
	var names []string
	var values [][]string
	for i, o := range f.Options {
		vs := splitValues(o.Values)
		switch {
		case o.Name == "" && len(vs) == 0:
			continue
		case o.Name == "":
			bad(fmt.Sprintf("option%d_name", i+1), "Give the option a name, like Size or Color.")
		case len(vs) == 0:
			bad(fmt.Sprintf("option%d_values", i+1), "List at least one value, separated by commas.")
		}
		names = append(names, o.Name)
		values = append(values, vs)
	}
	if len(names) == 0 {
		names, values = []string{defaultOptionName}, [][]string{{defaultOptionValue}}
	}
	combos := [][]string{{}}
	for _, vs := range values {
		var next [][]string
		for _, c := range combos {
			for _, v := range vs {
				next = append(next, append(append([]string(nil), c...), v))
			}
		}
		combos = next
	}
	if len(combos) > catalog.MaxVariants {
		bad("variants", fmt.Sprintf("These options make %d variants; a product may have at most %d.", len(combos), catalog.MaxVariants))
		return in
	}
	var newPrice *money.Amount
	if strings.TrimSpace(f.Price) != "" {
		a, err := cur.Parse(f.Price)
		if err != nil {
			bad("price", "Price "+errs.MessageOf(err)+".")
		} else {
			newPrice = &a
		}
	} else if len(existing) == 0 {
		bad("price", "Give a price, like 19.99.")
	}
	rows := map[string]*productVariantForm{}
	for i := range f.Variants {
		rows[strings.ToLower(f.Variants[i].Key)] = &f.Variants[i]
	}
	var vis []catalog.VariantInput
	for _, combo := range combos {
		key := strings.Join(combo, " / ")
		vi := catalog.VariantInput{}
		for k := range combo {
			v := combo[k]
			vi.Options[k] = &v
		}
		row := rows[strings.ToLower(key)]
		if old, ok := existing[strings.ToLower(key)]; ok {
			vi.ID = old.ID
		} else if newPrice != nil {
			p := *newPrice
			vi.Price = &p
		} else if row == nil && len(f.Errors["price"]) == 0 {
			bad("price", fmt.Sprintf("Give the price of the new variants (%s), like 19.99.", key))
		}
		if _, ok := existing[strings.ToLower(key)]; !ok && row == nil {
			// A new variant counts its stock, as a merchant entering stock
			// expects (the Track stock box turns it off).
			s := "shopify"
			mgmt := &s
			vi.InventoryManagement = &mgmt
		}
		if row != nil {
			row.toVariantInput(&vi, cur, f.Errors)
		}
		vis = append(vis, vi)
	}
	in.Options, in.Variants = &names, &vis
	return in
}

// toVariantInput reads one row of the variants table into vi.
func (r *productVariantForm) toVariantInput(vi *catalog.VariantInput, cur money.Currency, errors map[string][]string) {
	bad := func(field, msg string) {
		errors[field] = append(errors[field], msg)
		if r.Err != "" {
			r.Err += " "
		}
		r.Err += msg
	}
	if a, err := cur.Parse(r.Price); err != nil {
		bad(fmt.Sprintf("variant_price_%d", r.index), fmt.Sprintf("Price of %s %s.", r.Title, errs.MessageOf(err)))
	} else {
		vi.Price = &a
	}
	if strings.TrimSpace(r.Compare) == "" {
		var none *money.Amount
		vi.CompareAtPrice = &none
	} else if a, err := cur.Parse(r.Compare); err != nil {
		bad(fmt.Sprintf("variant_compare_%d", r.index), fmt.Sprintf("Compare-at price of %s %s.", r.Title, errs.MessageOf(err)))
	} else {
		p := &a
		vi.CompareAtPrice = &p
	}
	sku, barcode := r.SKU, r.Barcode
	vi.SKU, vi.Barcode = &sku, &barcode
	if strings.TrimSpace(r.Weight) != "" {
		w, err := strconv.ParseFloat(strings.TrimSpace(r.Weight), 64)
		if err != nil {
			bad(fmt.Sprintf("variant_weight_%d", r.index), fmt.Sprintf("Weight of %s must be a number, like 0.25.", r.Title))
		} else {
			vi.Weight = &w
		}
	}
	if r.WeightUnit != "" {
		u := r.WeightUnit
		vi.WeightUnit = &u
	}
	if r.Policy != "" {
		p := r.Policy
		vi.InventoryPolicy = &p
	}
	var mgmt *string
	if r.Tracked {
		s := "shopify"
		mgmt = &s
	}
	vi.InventoryManagement = &mgmt
}

// createProduct adds a product from the form, as POST products.json does.
func (d *Dashboard) createProduct(c *gin.Context) {
	d.saveProduct(c, 0)
}

// updateProduct saves the form over product :id, as PUT products/:id.json.
func (d *Dashboard) updateProduct(c *gin.Context) {
	id, ok := productID(c)
	if !ok {
		d.notFound(c)
		return
	}
	d.saveProduct(c, id)
}

func (d *Dashboard) saveProduct(c *gin.Context, id int64) {
	m := memberOf(c)
	ctx := c.Request.Context()
	cur, err := d.cfg.Catalog.Currency(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	var existing map[string]catalog.Variant
	if id != 0 {
		p, err := d.cfg.Catalog.Product(ctx, m.Store, id)
		if err != nil {
			d.failErr(c, err)
			return
		}
		existing = map[string]catalog.Variant{}
		for _, v := range p.Variants {
			existing[strings.ToLower(v.Title())] = v
		}
	}
	form := readProductForm(c)
	in := form.toProductInput(cur, existing)
	if len(form.Errors) > 0 {
		d.showProduct(c, http.StatusUnprocessableEntity, id, &form, nil)
		return
	}
	var p catalog.Product
	done := "saved"
	if id == 0 {
		p, err = d.cfg.Catalog.CreateProduct(ctx, m.Store, in)
		done = "created"
	} else {
		p, err = d.cfg.Catalog.UpdateProduct(ctx, m.Store, id, in)
	}
	if errs.KindOf(err) == errs.Invalid {
		form.Errors = productFieldErrors(err)
		d.showProduct(c, http.StatusUnprocessableEntity, id, &form, nil)
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products/%d?done=%s", m.Store.Slug, p.ID, done))
}

// productFieldErrors are the catalog's per-field problems, under the
// form's field names, each a sentence.
func productFieldErrors(err error) map[string][]string {
	out := map[string][]string{}
	fields := errs.FieldsOf(err)
	if len(fields) == 0 {
		out["base"] = []string{errs.MessageOf(err)}
		return out
	}
	label := map[string]string{"title": "Title", "body_html": "Description", "vendor": "Vendor", "product_type": "Type", "tags": "Tags",
		"status": "Status", "handle": "Handle", "options": "Options", "variants": "Variants", "images": "Images"}
	for field, probs := range fields {
		name, ok := label[field]
		key := field
		if !ok {
			name, key = field, "base"
		}
		if field == "handle" {
			key = "title" // the handle comes from the title here
		}
		for _, p := range probs {
			out[key] = append(out[key], name+" "+p+".")
		}
	}
	return out
}

// deleteProductPage asks to confirm deleting product :id.
func (d *Dashboard) deleteProductPage(c *gin.Context) {
	m := memberOf(c)
	id, ok := productID(c)
	if !ok {
		d.notFound(c)
		return
	}
	p, err := d.cfg.Catalog.Product(c.Request.Context(), m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	d.render(c, http.StatusOK, "product_delete", "Delete "+p.Title, p)
}

// deleteProduct deletes product :id, its variants, pictures and stock, as
// DELETE products/:id.json does.
func (d *Dashboard) deleteProduct(c *gin.Context) {
	m := memberOf(c)
	id, ok := productID(c)
	if !ok {
		d.notFound(c)
		return
	}
	if err := d.cfg.Catalog.DeleteProduct(c.Request.Context(), m.Store, id); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products?done=deleted", m.Store.Slug))
}

// addProductImage uploads a picture (field file) with its alt text, as
// POST products/:id/images.json with an attachment.
func (d *Dashboard) addProductImage(c *gin.Context) {
	m := memberOf(c)
	id, ok := productID(c)
	if !ok {
		d.notFound(c)
		return
	}
	ctx := c.Request.Context()
	if _, err := d.cfg.Catalog.Product(ctx, m.Store, id); err != nil {
		d.failErr(c, err)
		return
	}
	alt := c.PostForm("alt")
	fail := func(msg string) {
		d.showProduct(c, http.StatusUnprocessableEntity, id, nil, func(p *productPage) { p.ImageErr, p.ImageAlt = msg, alt })
	}
	fh, err := c.FormFile("file")
	if err != nil {
		fail("Choose a picture to upload.")
		return
	}
	if fh.Size > catalog.MaxImageBytes {
		fail(fmt.Sprintf("The picture is larger than %d MB.", catalog.MaxImageBytes>>20))
		return
	}
	f, err := fh.Open()
	if err != nil {
		d.failErr(c, err)
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, catalog.MaxImageBytes+1))
	if err != nil {
		d.failErr(c, err)
		return
	}
	in := catalog.ImageInput{Attachment: data}
	if strings.TrimSpace(alt) != "" {
		in.Alt = &alt
	}
	_, err = d.cfg.Catalog.CreateImage(ctx, m.Store, id, in)
	if errs.KindOf(err) == errs.Invalid {
		msg := errs.MessageOf(err)
		if strings.HasPrefix(msg, "image attachment ") {
			msg = "The file " + strings.TrimPrefix(msg, "image attachment ") + "."
		}
		fail(msg)
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products/%d?done=image#images", m.Store.Slug, id))
}

// deleteProductImage removes picture :image of product :id.
func (d *Dashboard) deleteProductImage(c *gin.Context) {
	m := memberOf(c)
	id, ok := productID(c)
	image, err := strconv.ParseInt(c.Param("image"), 10, 64)
	if !ok || err != nil {
		d.notFound(c)
		return
	}
	if err := d.cfg.Catalog.DeleteImage(c.Request.Context(), m.Store, id, image); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products/%d?done=image-deleted#images", m.Store.Slug, id))
}

// setProductStock saves what is available of each of product :id's
// variants at each location, as POST inventory_levels/set.json does for
// each count that changed.
func (d *Dashboard) setProductStock(c *gin.Context) {
	m := memberOf(c)
	id, ok := productID(c)
	if !ok {
		d.notFound(c)
		return
	}
	ctx := c.Request.Context()
	p, err := d.cfg.Catalog.Product(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	locs, err := d.cfg.Inventory.Locations(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	have, err := d.levels(ctx, m, p)
	if err != nil {
		d.failErr(c, err)
		return
	}
	var changes []inventory.Change
	bad := false
	for _, v := range p.Variants {
		for _, l := range locs {
			field := stockField(v.ID, l.ID)
			s, sent := c.GetPostForm(field)
			if !l.Active || !sent {
				continue
			}
			n, err := parseStock(s)
			if err != nil {
				bad = true
				continue
			}
			if old, ok := have[[2]int64{v.ID, l.ID}]; !ok || old != n {
				changes = append(changes, inventory.Change{ItemID: v.ID, LocationID: l.ID, Quantity: n, Reason: "correction", Actor: m.actor()})
			}
		}
	}
	if bad {
		d.showProduct(c, http.StatusUnprocessableEntity, id, nil, func(p *productPage) {
			p.Error, p.keepStock = "Some counts are not whole numbers; they are marked below. Nothing was saved.", true
		})
		return
	}
	for _, ch := range changes {
		if _, err := d.cfg.Inventory.SetAvailable(ctx, m.Store, ch); err != nil {
			if errs.KindOf(err) == errs.Invalid {
				d.showProduct(c, http.StatusUnprocessableEntity, id, nil, func(p *productPage) { p.Error, p.keepStock = errs.MessageOf(err), true })
				return
			}
			d.failErr(c, err)
			return
		}
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products/%d?done=stock#stock", m.Store.Slug, id))
}
