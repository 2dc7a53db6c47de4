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

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// csvColumns are the columns of Shopify's product CSV that Storefleet reads
// and writes, in Shopify's order.
var csvColumns = []string{
	"Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published",
	"Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
	"Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Policy", "Variant Fulfillment Service",
	"Variant Price", "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable", "Variant Barcode",
	"Image Src", "Variant Weight Unit", "Status",
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
	SkippedImages  int // image rows and columns: images come with image support
	SkippedColumns []string
}

// ImportOptions tune an import.
type ImportOptions struct {
	Overwrite bool                          // update products whose handle exists, instead of failing them
	Progress  func(done, total, failed int) // called after each product
}

// csvProduct is one product's rows.
type csvProduct struct {
	line   int
	handle string
	rows   []map[string]string
	lines  []int
}

// ImportCSV creates store t's products from Shopify's product CSV. Rows are
// grouped by Handle: the first row of a handle carries the product, every
// row may carry a variant. A product with a bad row fails alone; the rest
// are imported. A file that cannot be read at all is an error.
//
// Errors: Invalid (no Handle column, unreadable CSV).
func (s *Service) ImportCSV(ctx context.Context, t *tenant.Tenant, r io.Reader, opt ImportOptions) (ImportReport, error) {
	var rep ImportReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return rep, errs.E(errs.Invalid, "the file is not a CSV with a header row: %v", err)
	}
	index := map[string]int{}
	for i, h := range header {
		index[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if _, ok := index["handle"]; !ok {
		return rep, errs.E(errs.Invalid, "the file has no Handle column: is it Shopify's product CSV?")
	}
	known := map[string]bool{}
	for _, c := range csvColumns {
		known[strings.ToLower(c)] = true
	}
	for _, h := range header {
		if !known[strings.ToLower(strings.TrimSpace(h))] && strings.TrimSpace(h) != "" {
			rep.SkippedColumns = append(rep.SkippedColumns, strings.TrimSpace(h))
		}
	}

	var order []*csvProduct
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
			return rep, errs.E(errs.Invalid, "line %d is not valid CSV: %v", line, err)
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
			rep.Failed = append(rep.Failed, RowError{Line: line, Err: errors.New("the Handle is empty")})
			continue
		}
		p := byHandle[h]
		if p == nil {
			p = &csvProduct{line: line, handle: h}
			byHandle[h] = p
			order = append(order, p)
		}
		p.rows = append(p.rows, row)
		p.lines = append(p.lines, line)
	}
	rep.Products = len(order)

	cur, err := s.Currency(ctx, t)
	if err != nil {
		return rep, err
	}
	for i, p := range order {
		created, images, err := s.importProduct(ctx, t, cur, p, opt.Overwrite)
		rep.SkippedImages += images
		switch {
		case err != nil:
			rep.Failed = append(rep.Failed, RowError{Line: p.line, Handle: p.handle, Err: readable(err)})
		case created:
			rep.Created++
		default:
			rep.Updated++
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(order), len(rep.Failed))
		}
	}
	return rep, nil
}

// importProduct makes (or, with overwrite, replaces) one product.
func (s *Service) importProduct(ctx context.Context, t *tenant.Tenant, cur money.Currency, p *csvProduct, overwrite bool) (created bool, images int, err error) {
	first := p.rows[0]
	handle := p.handle
	in := ProductInput{Handle: &handle}
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
			return false, 0, fmt.Errorf("line %d: Published %q must be TRUE or FALSE", p.lines[0], v)
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
		if row["image src"] != "" {
			images++
		}
		if !hasVariant(row) {
			continue
		}
		vi, verr := csvVariant(row, cur, len(names))
		if verr != nil {
			return false, images, fmt.Errorf("line %d: %w", p.lines[i], verr)
		}
		variants = append(variants, vi)
	}
	if len(variants) > 0 {
		in.Variants = &variants
	}

	existing, err := s.productByHandle(ctx, t, handle)
	switch {
	case err == nil && !overwrite:
		return false, images, fmt.Errorf("a product with handle %q exists (import with --overwrite to replace it)", handle)
	case err == nil:
		if in.Variants == nil {
			in.Variants = &[]VariantInput{{}}
		}
		_, err = s.UpdateProduct(ctx, t, existing, in)
		return false, images, err
	case !errors.Is(err, ErrProductNotFound):
		return false, images, err
	}
	_, err = s.CreateProduct(ctx, t, in)
	return err == nil, images, err
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
			for i, v := range p.Variants {
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

func slicesIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	panic("no CSV column " + s)
}
