package catalog

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// csvColumns are the columns of Shopify's product CSV that Storefleet reads
// and writes, in Shopify's order.
var csvColumns = []string{
	"Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published",
	"Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
	"Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy", "Variant Fulfillment Service",
	"Variant Price", "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable", "Variant Barcode",
	"Image Src", "Image Position", "Image Alt Text", "Variant Image", "Variant Weight Unit", "Status",
}

// RowError is a product of an import that could not be made, by the line of
// the file it starts on.
type RowError struct {
	Line   int
	Handle string
	Err    error
}

// ImportReport sums up an import.
type ImportReport struct {
	Products       int // products in the file
	Created        int
	Updated        int
	Failed         []RowError
	Images         int // images of the products created or updated
	SkippedColumns []string
}

// ImportOptions tune an import.
type ImportOptions struct {
	Overwrite bool                          // update products whose handle exists, instead of failing them
	Actor     string                        // who imports, for the stock adjustments' history
	Progress  func(done, total, failed int) // called after each product
}

// csvProduct is one product's rows.
type csvProduct struct {
	line   int
	handle string
	rows   []map[string]string
	lines  []int
	alts   map[string]string // Image Alt Text by Image Src
}

// ImportCSV creates store t's products from Shopify's product CSV. Rows are
// grouped by Handle: the first row of a handle carries the product, every
// row may carry a variant. A product with a bad row fails alone; the rest
// are imported. A file that cannot be read at all is an error.
//
// Errors: Invalid (no Handle column, unreadable CSV).
func (s *Service) ImportCSV(ctx context.Context, t *tenant.Tenant, r io.Reader, opt ImportOptions) (ImportReport, error) {
	var rep ImportReport
	order, failed, skipped, err := parseCSV(r)
	rep.Failed, rep.SkippedColumns = failed, skipped
	if err != nil {
		return rep, err
	}
	rep.Products = len(order)

	cur, err := s.Currency(ctx, t)
	if err != nil {
		return rep, err
	}
	for i, p := range order {
		created, images, err := s.importProduct(ctx, t, cur, p, opt)
		switch {
		case err != nil:
			rep.Failed = append(rep.Failed, RowError{Line: p.line, Handle: p.handle, Err: readable(err)})
		case created:
			rep.Created++
			rep.Images += images
		default:
			rep.Updated++
			rep.Images += images
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(order), len(rep.Failed))
		}
	}
	return rep, nil
}

// parseCSV reads Shopify's product CSV and groups its rows by Handle, in the
// order handles first appear. A row without a Handle fails alone (failed);
// skippedColumns are the header's columns Storefleet does not read. Only a
// file that cannot be read fails as a whole; what was read before the
// unreadable line is returned with the error.
//
// Errors: Invalid (no header row, no Handle column, text that is not CSV).
func parseCSV(r io.Reader) (products []*csvProduct, failed []RowError, skippedColumns []string, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, nil, nil, errs.E(errs.Invalid, "the file is not a CSV with a header row: %v", err)
	}
	index := map[string]int{}
	for i, h := range header {
		index[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if _, ok := index["handle"]; !ok {
		return nil, nil, nil, errs.E(errs.Invalid, "the file has no Handle column: is it Shopify's product CSV?")
	}
	known := map[string]bool{}
	for _, c := range csvColumns {
		known[strings.ToLower(c)] = true
	}
	for _, h := range header {
		if !known[strings.ToLower(strings.TrimSpace(h))] && strings.TrimSpace(h) != "" {
			skippedColumns = append(skippedColumns, strings.TrimSpace(h))
		}
	}

	byHandle := map[string]*csvProduct{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			if pe, ok := errors.AsType[*csv.ParseError](err); ok {
				line = pe.StartLine
			}
			return products, failed, skippedColumns, errs.E(errs.Invalid, "line %d is not valid CSV: %v", line, err)
		}
		line, _ := cr.FieldPos(0)
		row := map[string]string{}
		for name, i := range index {
			if i < len(rec) {
				row[name] = strings.TrimSpace(rec[i])
			}
		}
		h := row["handle"]
		if h == "" {
			failed = append(failed, RowError{Line: line, Err: errors.New("the Handle is empty")})
			continue
		}
		p := byHandle[h]
		if p == nil {
			p = &csvProduct{line: line, handle: h}
			byHandle[h] = p
			products = append(products, p)
		}
		p.rows = append(p.rows, row)
		p.lines = append(p.lines, line)
	}
	return products, failed, skippedColumns, nil
}

// importProduct makes (or, with overwrite, replaces) one product.
func (s *Service) importProduct(ctx context.Context, t *tenant.Tenant, cur money.Currency, p *csvProduct, opt ImportOptions) (created bool, images int, err error) {
	overwrite := opt.Overwrite
	handle := p.handle
	in, variantImages, stock, err := p.input(cur)
	if err != nil {
		return false, 0, err
	}

	var pr Product
	existing, err := s.productByHandle(ctx, t, handle)
	switch {
	case err == nil && !overwrite:
		return false, 0, fmt.Errorf("a product with handle %q exists (import with --overwrite to replace it)", handle)
	case err == nil:
		if in.Variants == nil {
			in.Variants = &[]VariantInput{{}}
		}
		pr, err = s.UpdateProduct(ctx, t, existing, in)
	case errors.Is(err, ErrProductNotFound):
		pr, err = s.CreateProduct(ctx, t, in)
		created = err == nil
	}
	if err != nil {
		return false, 0, err
	}
	// Variant Image: show each image on the variants that name it.
	pics := *in.Images
	shows := map[int64][]int64{}
	for i, src := range variantImages {
		k := slices.IndexFunc(pics, func(im ImageInput) bool { return im.Src == src })
		if src != "" && k < len(pr.Images) && i < len(pr.Variants) {
			shows[pr.Images[k].ID] = append(shows[pr.Images[k].ID], pr.Variants[i].ID)
		}
	}
	for id, vs := range shows {
		if _, err := s.UpdateImage(ctx, t, pr.ID, id, ImageInput{VariantIDs: &vs}); err != nil {
			return created, len(pr.Images), err
		}
	}
	// Variant Inventory Qty: what is available at the store's first
	// location, as Shopify's import puts it.
	return created, len(pr.Images), s.importStock(ctx, t, pr, stock, opt.Actor)
}

// input builds the product p's rows describe, with prices in cur, without
// reading the store: its fields from the first row, a variant from each row
// that has one, and its images (Image Src in Image Position order, then the
// variants' own pictures), always given so that an overwrite replaces the
// options and pictures too. variantImages (the Variant Image src) and stock
// (the Variant Inventory Qty; nil to leave alone) are by variant. The input
// is not validated yet.
//
// Errors: plain errors naming the line and column.
func (p *csvProduct) input(cur money.Currency) (in ProductInput, variantImages []string, stock []*int64, err error) {
	if err := p.checkText(); err != nil {
		return ProductInput{}, nil, nil, err
	}
	first := p.rows[0]
	handle := p.handle
	in = ProductInput{Handle: &handle}
	set := func(dst **string, col string) {
		if v, ok := first[col]; ok && v != "" {
			*dst = &v
		}
	}
	set(&in.Title, "title")
	set(&in.BodyHTML, "body (html)")
	set(&in.Vendor, "vendor")
	set(&in.ProductType, "type")
	if v := first["tags"]; v != "" {
		tags := apps.SplitTags(v)
		in.Tags = &tags
	}
	if v := first["status"]; v != "" {
		st := strings.ToLower(v)
		in.Status = &st
	}
	if v := first["published"]; v != "" {
		b, perr := parseBool(v)
		if perr != nil {
			return ProductInput{}, nil, nil, fmt.Errorf("line %d: Published %q must be TRUE or FALSE", p.lines[0], v)
		}
		in.Published = &b
	}
	var names []string
	for k := 1; k <= MaxOptions; k++ {
		if n := first[fmt.Sprintf("option%d name", k)]; n != "" {
			names = append(names, n)
		}
	}
	// Shopify's export of a product without options says Title / Default Title.
	if len(names) == 1 && names[0] == defaultOptionName {
		names = nil
	}
	// Always given, even empty: an overwrite rebuilds the options too.
	in.Options = &names

	var variants []VariantInput
	for i, row := range p.rows {
		if !hasVariant(row) {
			continue
		}
		vi, verr := csvVariant(row, cur, len(names))
		if verr != nil {
			return ProductInput{}, nil, nil, fmt.Errorf("line %d: %w", p.lines[i], verr)
		}
		var qty *int64
		if v := row["variant inventory qty"]; v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < -inventory.MaxAvailable || n > inventory.MaxAvailable {
				return ProductInput{}, nil, nil, fmt.Errorf("line %d: Variant Inventory Qty %q must be a whole number", p.lines[i], v)
			}
			qty = &n
		}
		variants = append(variants, vi)
		variantImages = append(variantImages, row["variant image"])
		stock = append(stock, qty)
	}
	if len(variants) > 0 {
		in.Variants = &variants
	}
	srcs, err := csvImages(p)
	if err != nil {
		return ProductInput{}, nil, nil, err
	}
	for _, src := range variantImages { // a variant's own picture is one of the product's
		if src != "" && !slices.Contains(srcs, src) {
			srcs = append(srcs, src)
		}
	}
	pics := make([]ImageInput, len(srcs))
	for i, src := range srcs {
		pics[i] = ImageInput{Src: src}
		if alt := p.alts[src]; alt != "" {
			pics[i].Alt = &alt
		}
	}
	in.Images = &pics // always given: an overwrite replaces the pictures too
	return in, variantImages, stock, nil
}

// checkText refuses a product whose rows hold, in a column Storefleet reads,
// text PostgreSQL cannot store: bytes that are not UTF-8 (a file saved in
// another encoding), or NUL characters.
func (p *csvProduct) checkText() error {
	for i, row := range p.rows {
		for _, col := range csvColumns {
			v := row[strings.ToLower(col)]
			switch {
			case !utf8.ValidString(v):
				return fmt.Errorf("line %d: %s is not UTF-8 text (save the file as UTF-8)", p.lines[i], col)
			case strings.ContainsRune(v, 0):
				return fmt.Errorf("line %d: %s holds a NUL character", p.lines[i], col)
			}
		}
	}
	return nil
}

// importStock sets what is available of p's variants at store t's first
// active location, from stock (by variant; nil leaves a variant alone).
func (s *Service) importStock(ctx context.Context, t *tenant.Tenant, p Product, stock []*int64, actor string) error {
	if !slices.ContainsFunc(stock, func(q *int64) bool { return q != nil }) {
		return nil
	}
	if actor == "" {
		actor = "import"
	}
	inv := inventory.NewService(s.db)
	locs, err := inv.Locations(ctx, t)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(locs, func(l inventory.Location) bool { return l.Active })
	if i < 0 {
		return errors.New("the store has no active location to hold the Variant Inventory Qty")
	}
	for k, q := range stock {
		if q == nil || k >= len(p.Variants) {
			continue
		}
		ch := inventory.Change{ItemID: p.Variants[k].ID, LocationID: locs[i].ID, Quantity: *q, Reason: "received", Actor: actor}
		if _, err := inv.SetAvailable(ctx, t, ch); err != nil {
			return err
		}
	}
	return nil
}

// csvImages lists a product's Image Src values in Image Position order
// (rows without a position keep file order, after those with one), each
// once, and records their Image Alt Text in p.alts.
func csvImages(p *csvProduct) ([]string, error) {
	type pic struct {
		src string
		pos int
	}
	var pics []pic
	p.alts = map[string]string{}
	for i, row := range p.rows {
		src := row["image src"]
		if src == "" {
			continue
		}
		pos := 1 << 30
		if v := row["image position"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("line %d: Image Position %q must be a whole number from 1", p.lines[i], v)
			}
			pos = n
		}
		if _, seen := p.alts[src]; seen {
			continue
		}
		p.alts[src] = row["image alt text"]
		pics = append(pics, pic{src, pos})
	}
	slices.SortStableFunc(pics, func(a, b pic) int { return a.pos - b.pos })
	out := make([]string, len(pics))
	for i, pc := range pics {
		out[i] = pc.src
	}
	return out, nil
}

// readable turns a service error into a sentence for an import report:
// its safe message and its per-field problems, without the kind.
func readable(err error) error {
	if errs.KindOf(err) == errs.Internal {
		return err
	}
	var parts []string
	for _, probs := range errs.FieldsOf(err) {
		parts = append(parts, probs...)
	}
	if len(parts) == 0 {
		return errors.New(errs.MessageOf(err))
	}
	slices.Sort(parts)
	return errors.New(strings.Join(parts, "; "))
}

func hasVariant(row map[string]string) bool {
	for _, c := range []string{"option1 value", "variant sku", "variant price", "variant barcode"} {
		if row[c] != "" {
			return true
		}
	}
	return false
}

func csvVariant(row map[string]string, cur money.Currency, options int) (VariantInput, error) {
	var vi VariantInput
	for k := range options {
		if v := row[fmt.Sprintf("option%d value", k+1)]; v != "" {
			vi.Options[k] = &v
		}
	}
	if options == 0 && row["option1 value"] != "" && row["option1 value"] != defaultOptionValue {
		v := row["option1 value"]
		vi.Options[0] = &v
	}
	if v := row["variant sku"]; v != "" {
		vi.SKU = &v
	}
	if v := row["variant barcode"]; v != "" {
		vi.Barcode = &v
	}
	if v := row["variant price"]; v != "" {
		a, err := cur.Parse(v)
		if err != nil {
			return vi, fmt.Errorf("Variant Price %q %s", v, errs.MessageOf(err))
		}
		vi.Price = &a
	}
	if v := row["variant compare at price"]; v != "" {
		a, err := cur.Parse(v)
		if err != nil {
			return vi, fmt.Errorf("Variant Compare At Price %q %s", v, errs.MessageOf(err))
		}
		p := &a
		vi.CompareAtPrice = &p
	}
	if v := row["variant grams"]; v != "" {
		g, err := strconv.ParseFloat(v, 64)
		if err != nil || g < 0 {
			return vi, fmt.Errorf("Variant Grams %q must be a number of grams", v)
		}
		unit := strings.ToLower(row["variant weight unit"])
		if _, ok := gramsPer[unit]; !ok {
			unit = "g"
		}
		w := g / gramsPer[unit]
		vi.Weight, vi.WeightUnit = &w, &unit
	}
	if v := row["variant inventory policy"]; v != "" {
		p := strings.ToLower(v)
		vi.InventoryPolicy = &p
	}
	if v := strings.ToLower(row["variant inventory tracker"]); v != "" {
		m := &v
		vi.InventoryManagement = &m
	}
	for col, dst := range map[string]**bool{"variant requires shipping": &vi.RequiresShipping, "variant taxable": &vi.Taxable} {
		if v := row[col]; v != "" {
			b, err := parseBool(v)
			if err != nil {
				return vi, fmt.Errorf("%q in %s must be TRUE or FALSE", v, col)
			}
			*dst = &b
		}
	}
	return vi, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// productByHandle returns the id of store t's product with handle.
func (s *Service) productByHandle(ctx context.Context, t *tenant.Tenant, handle string) (int64, error) {
	var ps []Product
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		ps, err = findProducts(tx, Query{Handles: []string{handle}, Limit: 1})
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(ps) == 0 {
		return 0, ErrProductNotFound
	}
	return ps[0].ID, nil
}

// ExportCSV writes store t's products as Shopify's product CSV: one row per
// variant, the product's fields on its first row.
func (s *Service) ExportCSV(ctx context.Context, t *tenant.Tenant, w io.Writer) (int, error) {
	cur, err := s.Currency(ctx, t)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return 0, err
	}
	n := 0
	for after := int64(0); ; {
		ps, _, err := s.Products(ctx, t, Query{After: after, Limit: 250})
		if err != nil {
			return n, err
		}
		for _, p := range ps {
			srcOf := map[int64]string{}
			for _, im := range p.Images {
				srcOf[im.ID] = s.ImageURL(t, im.File)
			}
			// One row per variant, then rows for the images beyond them, as
			// Shopify's export has it.
			for i := range max(len(p.Variants), len(p.Images)) {
				row := make([]string, len(csvColumns))
				put := func(col, val string) { row[slicesIndex(csvColumns, col)] = val }
				put("Handle", p.Handle)
				if i == 0 {
					put("Title", p.Title)
					put("Body (HTML)", p.BodyHTML)
					put("Vendor", p.Vendor)
					put("Type", p.ProductType)
					put("Tags", strings.Join(p.Tags, ", "))
					put("Published", strings.ToUpper(strconv.FormatBool(p.PublishedAt != nil)))
					put("Status", p.Status)
					for k, o := range p.Options {
						put(fmt.Sprintf("Option%d Name", k+1), o.Name)
					}
				}
				if i < len(p.Images) {
					im := p.Images[i]
					put("Image Src", srcOf[im.ID])
					put("Image Position", strconv.Itoa(im.Position))
					if im.Alt != nil {
						put("Image Alt Text", *im.Alt)
					}
				}
				if i < len(p.Variants) {
					putVariant(put, p.Variants[i], cur, srcOf)
				}
				if err := cw.Write(row); err != nil {
					return n, err
				}
			}
			n++
		}
		if len(ps) < 250 {
			break
		}
		after = ps[len(ps)-1].ID
	}
	cw.Flush()
	return n, cw.Error()
}

// putVariant fills a CSV row's variant columns.
func putVariant(put func(col, val string), v Variant, cur money.Currency, srcOf map[int64]string) {
	for k, o := range v.Options {
		if o != nil {
			put(fmt.Sprintf("Option%d Value", k+1), *o)
		}
	}
	put("Variant SKU", v.SKU)
	put("Variant Grams", strconv.FormatInt(int64(v.Weight*gramsPer[v.WeightUnit]+0.5), 10))
	if v.InventoryManagement != nil {
		put("Variant Inventory Tracker", *v.InventoryManagement)
	}
	put("Variant Inventory Qty", strconv.FormatInt(v.InventoryQuantity, 10))
	put("Variant Inventory Policy", v.InventoryPolicy)
	put("Variant Fulfillment Service", "manual")
	put("Variant Price", cur.Format(v.Price))
	if v.CompareAtPrice != nil {
		put("Variant Compare At Price", cur.Format(*v.CompareAtPrice))
	}
	put("Variant Requires Shipping", strings.ToUpper(strconv.FormatBool(v.RequiresShipping)))
	put("Variant Taxable", strings.ToUpper(strconv.FormatBool(v.Taxable)))
	put("Variant Barcode", v.Barcode)
	put("Variant Weight Unit", v.WeightUnit)
	if v.ImageID != nil {
		put("Variant Image", srcOf[*v.ImageID])
	}
}

func slicesIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	panic("no CSV column " + s)
}
