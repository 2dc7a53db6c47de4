package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/inventory"
)

type productRow struct {
	ID          int64      `gorm:"column:id"`
	Title       string     `gorm:"column:title"`
	BodyHTML    string     `gorm:"column:body_html"`
	Vendor      string     `gorm:"column:vendor"`
	ProductType string     `gorm:"column:product_type"`
	Handle      string     `gorm:"column:handle"`
	Status      string     `gorm:"column:status"`
	Tags        string     `gorm:"column:tags"` // comma-separated: tags cannot hold commas
	PublishedAt *time.Time `gorm:"column:published_at"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	UpdatedAt   time.Time  `gorm:"column:updated_at"`
}

const productColumns = `p.id, p.title, p.body_html, p.vendor, p.product_type, p.handle, p.status,
	array_to_string(p.tags, ',') AS tags, p.published_at, p.created_at, p.updated_at`

func (r productRow) toProduct() Product {
	p := Product{ID: r.ID, Title: r.Title, BodyHTML: r.BodyHTML, Vendor: r.Vendor, ProductType: r.ProductType,
		Handle: r.Handle, Status: r.Status, PublishedAt: r.PublishedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Tags != "" {
		p.Tags = strings.Split(r.Tags, ",")
	}
	return p
}

type optionRow struct {
	ID        int64  `gorm:"column:id"`
	ProductID int64  `gorm:"column:product_id"`
	Name      string `gorm:"column:name"`
	Position  int    `gorm:"column:position"`
}

type variantRow struct {
	ID                  int64     `gorm:"column:id"`
	ProductID           int64     `gorm:"column:product_id"`
	Position            int       `gorm:"column:position"`
	SKU                 string    `gorm:"column:sku"`
	Barcode             string    `gorm:"column:barcode"`
	Price               int64     `gorm:"column:price"`
	CompareAtPrice      *int64    `gorm:"column:compare_at_price"`
	Option1             *string   `gorm:"column:option1"`
	Option2             *string   `gorm:"column:option2"`
	Option3             *string   `gorm:"column:option3"`
	Weight              float64   `gorm:"column:weight"`
	WeightUnit          string    `gorm:"column:weight_unit"`
	RequiresShipping    bool      `gorm:"column:requires_shipping"`
	Taxable             bool      `gorm:"column:taxable"`
	InventoryPolicy     string    `gorm:"column:inventory_policy"`
	InventoryManagement *string   `gorm:"column:inventory_management"`
	ImageID             *int64    `gorm:"column:image_id"`
	CreatedAt           time.Time `gorm:"column:created_at"`
	UpdatedAt           time.Time `gorm:"column:updated_at"`
}

const variantColumns = `id, product_id, position, sku, barcode, price, compare_at_price, option1, option2, option3,
	weight, weight_unit, requires_shipping, taxable, inventory_policy, inventory_management, image_id, created_at, updated_at`

func (r variantRow) toVariant() Variant {
	v := Variant{ID: r.ID, ProductID: r.ProductID, Position: r.Position, SKU: r.SKU, Barcode: r.Barcode,
		Price: money.Amount(r.Price), Options: [MaxOptions]*string{r.Option1, r.Option2, r.Option3},
		Weight: r.Weight, WeightUnit: r.WeightUnit, RequiresShipping: r.RequiresShipping, Taxable: r.Taxable,
		InventoryPolicy: r.InventoryPolicy, InventoryManagement: r.InventoryManagement, ImageID: r.ImageID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.CompareAtPrice != nil {
		c := money.Amount(*r.CompareAtPrice)
		v.CompareAtPrice = &c
	}
	return v
}

// findProducts loads the products q selects, with their options and
// variants, in three queries whatever the page size.
func findProducts(tx *gorm.DB, q Query) ([]Product, error) {
	where, args := q.where()
	cond, keyArgs, order := pg.Keyset("p.id", q.After, q.Before)
	where += cond
	args = append(append(args, keyArgs...), q.Limit)
	var rows []productRow
	err := tx.Raw(`SELECT `+productColumns+` FROM products p WHERE `+where+` ORDER BY `+order+` LIMIT ?`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find products: %w", err)
	}
	if q.Before != 0 {
		slices.Reverse(rows) // back into id order
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	products := make([]Product, len(rows))
	for i, r := range rows {
		ids[i], index[r.ID], products[i] = r.ID, i, r.toProduct()
	}

	var opts []optionRow
	if err := tx.Raw(`SELECT id, product_id, name, position FROM product_options WHERE product_id IN ? ORDER BY product_id, position`, ids).Scan(&opts).Error; err != nil {
		return nil, fmt.Errorf("find product options: %w", err)
	}
	for _, o := range opts {
		p := &products[index[o.ProductID]]
		p.Options = append(p.Options, Option{ID: o.ID, Name: o.Name, Position: o.Position})
	}
	var vars []variantRow
	if err := tx.Raw(`SELECT `+variantColumns+` FROM variants WHERE product_id IN ? ORDER BY product_id, position, id`, ids).Scan(&vars).Error; err != nil {
		return nil, fmt.Errorf("find variants: %w", err)
	}
	variantIDs := make([]int64, len(vars))
	for i, r := range vars {
		variantIDs[i] = r.ID
	}
	qty, err := inventory.QuantitiesIn(tx, variantIDs)
	if err != nil {
		return nil, err
	}
	for _, r := range vars {
		p := &products[index[r.ProductID]]
		v := r.toVariant()
		v.InventoryQuantity = qty[v.ID]
		p.Variants = append(p.Variants, v)
	}
	images, err := findImages(tx, ids)
	if err != nil {
		return nil, err
	}
	for i := range products {
		fillOptionValues(&products[i])
		products[i].Images = images[products[i].ID]
	}
	return products, nil
}

// fillOptionValues lists each option's values in the order variants use them.
func fillOptionValues(p *Product) {
	for k := range p.Options {
		seen := map[string]bool{}
		for _, v := range p.Variants {
			if k < MaxOptions && v.Options[k] != nil && !seen[*v.Options[k]] {
				seen[*v.Options[k]] = true
				p.Options[k].Values = append(p.Options[k].Values, *v.Options[k])
			}
		}
	}
}

// insertProduct inserts p and sets its id and handle. A derived handle that
// is taken gets the lowest free numeric suffix; a given one is refused.
func insertProduct(tx *gorm.DB, p *Product, derived bool) error {
	id, err := insertUnique(tx, p.Handle, derived, func(handle string) ([]int64, error) {
		var ids []int64
		err := tx.Raw(`INSERT INTO products (title, body_html, vendor, product_type, handle, status, tags, published_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, string_to_array(?, ','), ?, ?, ?)
			ON CONFLICT (handle) DO NOTHING RETURNING id`,
			p.Title, p.BodyHTML, p.Vendor, p.ProductType, handle, p.Status, strings.Join(p.Tags, ","), p.PublishedAt, p.CreatedAt, p.UpdatedAt).Scan(&ids).Error
		if err != nil {
			return nil, fmt.Errorf("insert product: %w", err)
		}
		if len(ids) == 1 {
			p.Handle = handle
		}
		return ids, nil
	})
	p.ID = id
	return err
}

var errHandleTaken = &errs.Error{Kind: errs.Invalid, Message: "handle has already been taken",
	Fields: map[string][]string{"handle": {"has already been taken"}}}

func updateProduct(tx *gorm.DB, p Product) error {
	err := tx.Exec(`UPDATE products SET title = ?, body_html = ?, vendor = ?, product_type = ?, handle = ?, status = ?,
		tags = string_to_array(?, ','), published_at = ?, updated_at = ? WHERE id = ?`,
		p.Title, p.BodyHTML, p.Vendor, p.ProductType, p.Handle, p.Status, strings.Join(p.Tags, ","), p.PublishedAt, p.UpdatedAt, p.ID).Error
	if pg.Code(err) == pg.UniqueViolation {
		return errHandleTaken
	}
	if err != nil {
		return fmt.Errorf("update product %d: %w", p.ID, err)
	}
	return nil
}

// writeOptions makes the product's options exactly opts.
func writeOptions(tx *gorm.DB, productID int64, opts []Option) error {
	if err := tx.Exec(`DELETE FROM product_options WHERE product_id = ? AND position > ?`, productID, len(opts)).Error; err != nil {
		return fmt.Errorf("delete product options: %w", err)
	}
	for _, o := range opts {
		err := tx.Exec(`INSERT INTO product_options (product_id, name, position) VALUES (?, ?, ?)
			ON CONFLICT (product_id, position) DO UPDATE SET name = excluded.name`, productID, o.Name, o.Position).Error
		if err != nil {
			return fmt.Errorf("write product option: %w", err)
		}
	}
	return nil
}

// writeVariants makes the product's variants exactly vs: variants in old
// that vs lacks are deleted, those with an id updated, the rest inserted.
// Each variant's inventory item follows it (created, its SKU kept in step,
// deleted), through the inventory module, in the same transaction.
func writeVariants(tx *gorm.DB, productID int64, old, vs []Variant) error {
	keep := map[int64]bool{}
	for _, v := range vs {
		keep[v.ID] = true
	}
	var gone []int64
	for _, v := range old {
		if !keep[v.ID] {
			if err := tx.Exec(`DELETE FROM variants WHERE id = ?`, v.ID).Error; err != nil {
				return fmt.Errorf("delete variant %d: %w", v.ID, err)
			}
			gone = append(gone, v.ID)
		}
	}
	if err := inventory.DeleteItemsIn(tx, gone); err != nil {
		return err
	}
	ids := make([]int64, 0, len(vs))
	skus := make(map[int64]string, len(vs))
	now := time.Now().UTC()
	for _, v := range vs {
		var cmp *int64
		if v.CompareAtPrice != nil {
			c := int64(*v.CompareAtPrice)
			cmp = &c
		}
		args := []any{v.Position, v.SKU, v.Barcode, int64(v.Price), cmp, v.Options[0], v.Options[1], v.Options[2],
			v.Weight, v.WeightUnit, v.RequiresShipping, v.Taxable, v.InventoryPolicy, v.InventoryManagement, v.ImageID, now}
		id := v.ID
		var err error
		if id != 0 {
			err = tx.Exec(`UPDATE variants SET position = ?, sku = ?, barcode = ?, price = ?, compare_at_price = ?,
				option1 = ?, option2 = ?, option3 = ?, weight = ?, weight_unit = ?, requires_shipping = ?, taxable = ?,
				inventory_policy = ?, inventory_management = ?, image_id = ?, updated_at = ? WHERE id = ? AND product_id = ?`,
				append(args, id, productID)...).Error
		} else {
			err = tx.Raw(`INSERT INTO variants (position, sku, barcode, price, compare_at_price, option1, option2, option3,
				weight, weight_unit, requires_shipping, taxable, inventory_policy, inventory_management, image_id, created_at, updated_at, product_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, append(args, now, productID)...).Scan(&id).Error
		}
		if pg.Code(err) == pg.ForeignKeyViolation {
			return &errs.Error{Kind: errs.Invalid, Message: "unknown image",
				Fields: map[string][]string{"image_id": {fmt.Sprintf("%d is not an image of this product", *v.ImageID)}}}
		}
		if err != nil {
			return fmt.Errorf("write variant: %w", err)
		}
		ids, skus[id] = append(ids, id), v.SKU
	}
	return inventory.EnsureItemsIn(tx, ids, skus)
}
