package catalog_test

import (
	"context"
	"testing"

	"gorm.io/gorm"
)

// BenchmarkListProducts: GET products.json?limit=250 on a store with 10,000
// products of three variants each, through the whole Admin API stack (gate,
// token, rate limit, access check, door, three queries, JSON); then the same
// for a page deep in the list, reached by its cursor.
//
// Run with: go test -run='^$' -bench=ListProducts ./modules/catalog/
func BenchmarkListProducts(b *testing.B) {
	h := appstestNew(b)
	st := h.Store("bench-catalog")
	tok := h.Token(st, "read_products")
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		for _, q := range []string{
			`INSERT INTO products (title, body_html, vendor, product_type, handle, tags, published_at)
			 SELECT 'Product ' || i, '<p>Description of product ' || i || '</p>', 'Vendor ' || (i % 50), 'Type ' || (i % 20),
			        'product-' || i, ARRAY['tag' || (i % 10), 'tag' || (i % 7)], now()
			 FROM generate_series(1, 10000) i`,
			`INSERT INTO product_options (product_id, name, position) SELECT id, 'Size', 1 FROM products`,
			`INSERT INTO variants (product_id, position, sku, price, option1)
			 SELECT p.id, s.n, 'SKU-' || p.id || '-' || s.n, 1000 + s.n * 250, (ARRAY['S', 'M', 'L'])[s.n]
			 FROM products p, generate_series(1, 3) s(n)`,
			`ANALYZE products`, `ANALYZE variants`, `ANALYZE product_options`,
		} {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	first := h.Do(st, tok, "GET", "/products.json?limit=250", "")
	if first.Status != 200 || len(first.JSON(b)["products"].([]any)) != 250 {
		b.Fatalf("GET products.json?limit=250 = %d, want 250 products", first.Status)
	}
	deep := h.Do(st, tok, "GET", "/products.json?limit=250&since_id=9000", "")
	if deep.Status != 200 {
		b.Fatalf("deep page = %d", deep.Status)
	}
	b.Run("first-page", func(b *testing.B) {
		for range b.N {
			if r := h.Do(st, tok, "GET", "/products.json?limit=250", ""); r.Status != 200 {
				b.Fatal(r.Status)
			}
		}
	})
	b.Run("deep-page", func(b *testing.B) {
		for range b.N {
			if r := h.Do(st, tok, "GET", "/products.json?limit=250&since_id=9000", ""); r.Status != 200 {
				b.Fatal(r.Status)
			}
		}
	})
	b.Run("count", func(b *testing.B) {
		for range b.N {
			if r := h.Do(st, tok, "GET", "/products/count.json", ""); r.Status != 200 {
				b.Fatal(r.Status)
			}
		}
	})
}
