// Package catalog is what a store sells: products, their options (up to
// three) and variants, with prices in the store's currency as exact minor
// units. Its Admin API resources follow Shopify's REST Admin API.
package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// Errors callers test for.
var (
	ErrProductNotFound = errs.E(errs.NotFound, "product not found")
	ErrVariantNotFound = errs.E(errs.NotFound, "variant not found")
)

// Service reads and changes a store's catalog.
type Service struct {
	db    *tenant.DB
	files Files
}

// NewService returns the catalog service, keeping images in files.
func NewService(db *tenant.DB, files Files) *Service { return &Service{db: db, files: files} }

// Currency is store t's currency, in which prices are read and written.
func (s *Service) Currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var c money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = shop.CurrencyIn(tx)
		return err
	})
	return c, err
}

// CreateProduct adds a product to store t. A product without options gets
// Shopify's default option (Title: Default Title); without variants, one
// variant priced 0; without a handle, one derived from the title, made unique
// with a numeric suffix.
//
// Errors: Invalid (with per-field messages; a given handle that is taken).
func (s *Service) CreateProduct(ctx context.Context, t *tenant.Tenant, in ProductInput) (Product, error) {
	if err := in.validate(true); err != nil {
		return Product{}, err
	}
	ups, err := s.prepareAll(ctx, t, in.Images)
	if err != nil {
		return Product{}, err
	}
	var p Product
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		p = Product{Status: StatusActive, CreatedAt: now, UpdatedAt: now}
		applyProduct(&p, in, now)
		if p.Status == StatusActive && (in.Published == nil || *in.Published) {
			p.PublishedAt = &now
		}
		var inputs []VariantInput
		if in.Variants != nil {
			inputs = *in.Variants
		}
		if len(inputs) == 0 {
			inputs = []VariantInput{{}}
		}
		for i, vi := range inputs {
			v := Variant{Position: i + 1, WeightUnit: "kg", RequiresShipping: true, Taxable: true, InventoryPolicy: "deny"}
			applyVariant(&v, vi)
			p.Variants = append(p.Variants, v)
		}
		p.Options = optionsFor(in.Options, p.Variants)
		if err := checkVariants(p.Options, p.Variants); err != nil {
			return err
		}
		derived := in.Handle == nil || *in.Handle == ""
		if derived {
			p.Handle = Handleize(p.Title)
			if p.Handle == "" {
				return errNoHandle
			}
		}
		if err := insertProduct(tx, &p, derived); err != nil {
			return err
		}
		if err := writeOptions(tx, p.ID, p.Options); err != nil {
			return err
		}
		if err := writeVariants(tx, p.ID, nil, p.Variants); err != nil {
			return err
		}
		if _, err := s.writeImages(ctx, tx, t, p.ID, in.Images, ups); err != nil {
			return err
		}
		return s.emitProduct(tx, t, "products/create", p.ID)
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, t, p.ID)
}

// optionsFor returns the options a product has: the names given, or for a
// product whose variants have no option values, Shopify's default; or,
// when variants have values but no names were given, Option1…Option3.
func optionsFor(names *[]string, variants []Variant) []Option {
	if names != nil && len(*names) > 0 {
		out := make([]Option, len(*names))
		for i, n := range *names {
			out[i] = Option{Name: n, Position: i + 1}
		}
		return out
	}
	used := 0
	for _, v := range variants {
		for k := range MaxOptions {
			if v.Options[k] != nil {
				used = max(used, k+1)
			}
		}
	}
	if used == 0 && len(variants) == 1 {
		def := defaultOptionValue
		variants[0].Options[0] = &def
		return []Option{{Name: defaultOptionName, Position: 1}}
	}
	out := make([]Option, used)
	for i := range out {
		out[i] = Option{Name: fmt.Sprintf("Option%d", i+1), Position: i + 1}
	}
	return out
}

func applyProduct(p *Product, in ProductInput, now time.Time) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.Title, in.Title)
	set(&p.BodyHTML, in.BodyHTML)
	set(&p.Vendor, in.Vendor)
	set(&p.ProductType, in.ProductType)
	set(&p.Status, in.Status)
	if in.Handle != nil && *in.Handle != "" {
		p.Handle = *in.Handle
	}
	if in.Tags != nil {
		p.Tags = *in.Tags
	}
	if in.Published != nil {
		switch {
		case !*in.Published:
			p.PublishedAt = nil
		case p.PublishedAt == nil:
			p.PublishedAt = &now
		}
	}
}

func applyVariant(v *Variant, in VariantInput) {
	if in.Price != nil {
		v.Price = *in.Price
	}
	if in.CompareAtPrice != nil {
		v.CompareAtPrice = *in.CompareAtPrice
	}
	if in.SKU != nil {
		v.SKU = *in.SKU
	}
	if in.Barcode != nil {
		v.Barcode = *in.Barcode
	}
	for k, o := range in.Options {
		if o != nil {
			v.Options[k] = o
		}
	}
	if in.Weight != nil {
		v.Weight = *in.Weight
	}
	if in.WeightUnit != nil {
		v.WeightUnit = *in.WeightUnit
	}
	if in.RequiresShipping != nil {
		v.RequiresShipping = *in.RequiresShipping
	}
	if in.Taxable != nil {
		v.Taxable = *in.Taxable
	}
	if in.InventoryPolicy != nil {
		v.InventoryPolicy = *in.InventoryPolicy
	}
	if in.InventoryManagement != nil {
		v.InventoryManagement = *in.InventoryManagement
	}
	if in.ImageID != nil {
		v.ImageID = *in.ImageID
	}
}

// Product returns store t's product id with its options and variants.
//
// Errors: NotFound (ErrProductNotFound).
func (s *Service) Product(ctx context.Context, t *tenant.Tenant, id int64) (Product, error) {
	var p Product
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		ps, err := findProducts(tx, Query{IDs: []int64{id}, Limit: 1})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return ErrProductNotFound
		}
		p = ps[0]
		return nil
	})
	return p, err
}

// Query selects products. Zero fields select everything; results are in id
// order, Limit at a time after After (or before Before, for a previous page).
type Query struct {
	Limit       int
	After       int64 // since_id, or a next-page cursor
	Before      int64 // a previous-page cursor
	IDs         []int64
	Handles     []string
	Statuses    []string
	Vendor      string
	ProductType string
	Title       string // contains, ignoring case
	Search      string // the title or a variant's SKU contains it, ignoring case (the dashboard's search box)
	CreatedMin  *time.Time
	CreatedMax  *time.Time
	UpdatedMin  *time.Time
	UpdatedMax  *time.Time
	Published   string // "", "published", "unpublished" or "any"
}

// Products lists store t's products that q selects, and whether there are
// more past the page in q's direction.
func (s *Service) Products(ctx context.Context, t *tenant.Tenant, q Query) ([]Product, bool, error) {
	var ps []Product
	more := false
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		page := q
		page.Limit = q.Limit + 1
		var err error
		if ps, err = findProducts(tx, page); err != nil {
			return err
		}
		ps, more = pg.TrimPage(ps, q.Limit, q.Before != 0)
		return nil
	})
	return ps, more, err
}

// CountProducts counts store t's products that q selects (its paging fields
// are ignored).
func (s *Service) CountProducts(ctx context.Context, t *tenant.Tenant, q Query) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := q.where()
		return tx.Raw(`SELECT count(*) FROM products p WHERE `+where, args...).Scan(&n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	return n, nil
}

// UpdateProduct changes store t's product id as in says.
//
// Errors: NotFound, Invalid (with per-field messages).
func (s *Service) UpdateProduct(ctx context.Context, t *tenant.Tenant, id int64, in ProductInput) (Product, error) {
	if err := in.validate(false); err != nil {
		return Product{}, err
	}
	ups, err := s.prepareAll(ctx, t, in.Images)
	if err != nil {
		return Product{}, err
	}
	var released []string
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := lockProduct(tx, id); err != nil {
			return err
		}
		ps, err := findProducts(tx, Query{IDs: []int64{id}, Limit: 1})
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return ErrProductNotFound
		}
		p := ps[0]
		old := slices.Clone(p.Variants)
		now := time.Now().UTC()
		applyProduct(&p, in, now)
		p.UpdatedAt = now
		if in.Variants != nil {
			byID := map[int64]Variant{}
			for _, v := range p.Variants {
				byID[v.ID] = v
			}
			p.Variants = nil
			for i, vi := range *in.Variants {
				v, ok := byID[vi.ID]
				switch {
				case vi.ID != 0 && !ok:
					return &errs.Error{Kind: errs.Invalid, Message: "unknown variant",
						Fields: map[string][]string{"variants": {fmt.Sprintf("variant %d: %d is not a variant of this product", i+1, vi.ID)}}}
				case vi.ID == 0:
					v = Variant{WeightUnit: "kg", RequiresShipping: true, Taxable: true, InventoryPolicy: "deny"}
				}
				delete(byID, vi.ID)
				v.Position = i + 1
				applyVariant(&v, vi)
				p.Variants = append(p.Variants, v)
			}
		}
		if in.Options != nil {
			p.Options = optionsFor(in.Options, p.Variants)
		}
		if err := checkVariants(p.Options, p.Variants); err != nil {
			return err
		}
		if err := updateProduct(tx, p); err != nil {
			return err
		}
		if in.Options != nil {
			if err := writeOptions(tx, p.ID, p.Options); err != nil {
				return err
			}
		}
		if in.Variants != nil {
			if err := writeVariants(tx, p.ID, old, p.Variants); err != nil {
				return err
			}
		}
		if released, err = s.writeImages(ctx, tx, t, p.ID, in.Images, ups); err != nil {
			return err
		}
		return s.emitProduct(tx, t, "products/update", p.ID)
	})
	if err != nil {
		return Product{}, err
	}
	if err := s.release(ctx, t, released); err != nil {
		return Product{}, err
	}
	return s.Product(ctx, t, id)
}

// DeleteProduct removes store t's product id and its variants.
//
// Errors: NotFound.
func (s *Service) DeleteProduct(ctx context.Context, t *tenant.Tenant, id int64) error {
	var files []string
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := tx.Raw(`DELETE FROM product_images WHERE product_id = ? RETURNING file`, id).Scan(&files).Error; err != nil {
			return fmt.Errorf("delete product %d images: %w", id, err)
		}
		var variants []int64
		if err := tx.Raw(`DELETE FROM variants WHERE product_id = ? RETURNING id`, id).Scan(&variants).Error; err != nil {
			return fmt.Errorf("delete product %d variants: %w", id, err)
		}
		res := tx.Exec(`DELETE FROM products WHERE id = ?`, id)
		if res.Error != nil {
			return fmt.Errorf("delete product %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrProductNotFound
		}
		if err := inventory.DeleteItemsIn(tx, variants); err != nil {
			return err
		}
		_, err := tenant.Emit(tx, "products/delete", map[string]int64{"id": id})
		return err
	})
	if err != nil {
		return err
	}
	return s.release(ctx, t, files)
}

// emitProduct records an event of topic for product id, in tx, with the
// product as the Admin API shows it: partners' webhooks carry it.
func (s *Service) emitProduct(tx *gorm.DB, t *tenant.Tenant, topic string, id int64) error {
	ps, err := findProducts(tx, Query{IDs: []int64{id}, Limit: 1})
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return ErrProductNotFound
	}
	cur, err := shop.CurrencyIn(tx)
	if err != nil {
		return err
	}
	_, err = tenant.Emit(tx, topic, toProductJSON(ps[0], cur, s.srcFor(t)))
	return err
}

// where renders q's filters (not its paging) as SQL over products p.
func (q Query) where() (string, []any) {
	conds := []string{"true"}
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if len(q.IDs) > 0 {
		add("p.id IN ?", q.IDs)
	}
	if len(q.Handles) > 0 {
		add("p.handle IN ?", q.Handles)
	}
	if len(q.Statuses) > 0 {
		add("p.status IN ?", q.Statuses)
	}
	if q.Vendor != "" {
		add("p.vendor = ?", q.Vendor)
	}
	if q.ProductType != "" {
		add("p.product_type = ?", q.ProductType)
	}
	if q.Title != "" {
		add("p.title ILIKE ?", "%"+pg.LikeEscape(q.Title)+"%")
	}
	if q.Search != "" {
		like := "%" + pg.LikeEscape(q.Search) + "%"
		add("(p.title ILIKE ? OR EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.sku ILIKE ?))", like, like)
	}
	for _, c := range []struct {
		op string
		t  *time.Time
		f  string
	}{{">=", q.CreatedMin, "created_at"}, {"<=", q.CreatedMax, "created_at"}, {">=", q.UpdatedMin, "updated_at"}, {"<=", q.UpdatedMax, "updated_at"}} {
		if c.t != nil {
			add("p."+c.f+" "+c.op+" ?", *c.t)
		}
	}
	switch q.Published {
	case "published":
		add("p.published_at IS NOT NULL")
	case "unpublished":
		add("p.published_at IS NULL")
	}
	return strings.Join(conds, " AND "), args
}

// filters is q without its paging, as a page_info cursor carries it.
func (q Query) filters() Query {
	q.Limit, q.After, q.Before = 0, 0, 0
	return q
}

// Variant returns store t's variant id.
//
// Errors: NotFound (ErrVariantNotFound).
func (s *Service) Variant(ctx context.Context, t *tenant.Tenant, id int64) (Variant, error) {
	pid, err := s.productOf(ctx, t, id)
	if err != nil {
		return Variant{}, err
	}
	p, err := s.Product(ctx, t, pid)
	if err != nil {
		return Variant{}, err
	}
	for _, v := range p.Variants {
		if v.ID == id {
			return v, nil
		}
	}
	return Variant{}, ErrVariantNotFound
}

// productOf returns the product that variant id belongs to.
func (s *Service) productOf(ctx context.Context, t *tenant.Tenant, variantID int64) (int64, error) {
	var ids []int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT product_id FROM variants WHERE id = ?`, variantID).Scan(&ids).Error
	})
	if err != nil {
		return 0, fmt.Errorf("find variant %d: %w", variantID, err)
	}
	if len(ids) == 0 {
		return 0, ErrVariantNotFound
	}
	return ids[0], nil
}

// keepVariants is an input that keeps every variant of p as it is.
func keepVariants(p Product) []VariantInput {
	out := make([]VariantInput, len(p.Variants))
	for i, v := range p.Variants {
		out[i] = VariantInput{ID: v.ID}
	}
	return out
}

// CreateVariant adds a variant to store t's product productID, last in
// order. The product's rules hold: a value for each option, no duplicate.
//
// Errors: NotFound, Invalid.
func (s *Service) CreateVariant(ctx context.Context, t *tenant.Tenant, productID int64, in VariantInput) (Variant, error) {
	if in.ID != 0 {
		return Variant{}, &errs.Error{Kind: errs.Invalid, Message: "a new variant cannot have an id",
			Fields: map[string][]string{"variant": {"a new variant cannot have an id"}}}
	}
	p, err := s.Product(ctx, t, productID)
	if err != nil {
		return Variant{}, err
	}
	vs := append(keepVariants(p), in)
	after, err := s.UpdateProduct(ctx, t, productID, ProductInput{Variants: &vs})
	if err != nil {
		return Variant{}, err
	}
	return after.Variants[len(after.Variants)-1], nil
}

// UpdateVariant changes store t's variant id as in says.
//
// Errors: NotFound, Invalid.
func (s *Service) UpdateVariant(ctx context.Context, t *tenant.Tenant, id int64, in VariantInput) (Variant, error) {
	pid, err := s.productOf(ctx, t, id)
	if err != nil {
		return Variant{}, err
	}
	p, err := s.Product(ctx, t, pid)
	if err != nil {
		return Variant{}, err
	}
	vs := keepVariants(p)
	for i := range vs {
		if vs[i].ID == id {
			in.ID = id
			vs[i] = in
		}
	}
	after, err := s.UpdateProduct(ctx, t, pid, ProductInput{Variants: &vs})
	if err != nil {
		return Variant{}, err
	}
	for _, v := range after.Variants {
		if v.ID == id {
			return v, nil
		}
	}
	return Variant{}, ErrVariantNotFound
}

// DeleteVariant removes variant id from store t's product productID; a
// product keeps at least one variant.
//
// Errors: NotFound, Invalid (the last variant).
func (s *Service) DeleteVariant(ctx context.Context, t *tenant.Tenant, productID, id int64) error {
	p, err := s.Product(ctx, t, productID)
	if err != nil {
		return err
	}
	vs := slices.DeleteFunc(keepVariants(p), func(v VariantInput) bool { return v.ID == id })
	if len(vs) == len(p.Variants) {
		return ErrVariantNotFound
	}
	if len(vs) == 0 {
		return &errs.Error{Kind: errs.Invalid, Message: "a product needs at least one variant",
			Fields: map[string][]string{"base": {"Cannot delete the last variant of a product"}}}
	}
	_, err = s.UpdateProduct(ctx, t, productID, ProductInput{Variants: &vs})
	return err
}
