package catalog

import (
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/pg"
)

// The shelf is the catalog as shoppers see it: active, published products
// and published collections, read inside the storefront's own transaction
// (one per page) rather than one per call.

// onShelf is the condition for a product shoppers may see.
const onShelf = `p.status = 'active' AND p.published_at IS NOT NULL AND p.published_at <= now()`

// Shelf sorts, as the storefront's sort_by parameter names them.
var ShelfSorts = []string{"manual", "best-selling", "title-ascending", "title-descending",
	"price-ascending", "price-descending", "created-ascending", "created-descending"}

// shelfSortFor maps a collection's admin sort order to its shelf sort.
var shelfSortFor = map[string]string{
	"alpha-asc": "title-ascending", "alpha-desc": "title-descending", "best-selling": "best-selling",
	"created": "created-ascending", "created-desc": "created-descending", "manual": "manual",
	"price-asc": "price-ascending", "price-desc": "price-descending",
}

// ShelfSort is the shelf sort of a collection's sort order.
func (c Collection) ShelfSort() string { return shelfSortFor[c.SortOrder] }

// Listing selects a page of the shelf.
type Listing struct {
	CollectionID int64  // 0: every product on the shelf
	Search       string // words that must each match a title, vendor, type, tag or SKU
	Sort         string // one of ShelfSorts; "" is manual in a collection, title otherwise
	Offset       int
	Limit        int
}

// where renders l's selection over products p.
func (l Listing) where() (string, []any) {
	conds, args := []string{onShelf}, []any{}
	if l.CollectionID != 0 {
		conds = append(conds, `EXISTS (SELECT 1 FROM collects k WHERE k.product_id = p.id AND k.collection_id = ?)`)
		args = append(args, l.CollectionID)
	}
	for _, w := range strings.Fields(l.Search) {
		like := "%" + pg.LikeEscape(w) + "%"
		conds = append(conds, `(p.title ILIKE ? OR p.vendor ILIKE ? OR p.product_type ILIKE ?
			OR EXISTS (SELECT 1 FROM unnest(p.tags) tag WHERE tag ILIKE ?)
			OR EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.sku ILIKE ?))`)
		args = append(args, like, like, like, like, like)
	}
	return strings.Join(conds, " AND "), args
}

// orderBy renders l's sort. Best-selling waits for orders: until then it is
// the merchant's order in a collection, the newest first elsewhere.
func (l Listing) orderBy() (string, []any) {
	minPrice := `(SELECT min(v.price) FROM variants v WHERE v.product_id = p.id)`
	manual := `(SELECT k.position FROM collects k WHERE k.product_id = p.id AND k.collection_id = ?)`
	switch l.Sort {
	case "title-ascending":
		return "lower(p.title), p.id", nil
	case "title-descending":
		return "lower(p.title) DESC, p.id DESC", nil
	case "price-ascending":
		return minPrice + ", p.id", nil
	case "price-descending":
		return minPrice + " DESC, p.id DESC", nil
	case "created-ascending":
		return "p.created_at, p.id", nil
	case "created-descending":
		return "p.created_at DESC, p.id DESC", nil
	}
	if l.CollectionID != 0 {
		return manual + ", p.id", []any{l.CollectionID}
	}
	if l.Sort == "best-selling" {
		return "p.created_at DESC, p.id DESC", nil
	}
	return "lower(p.title), p.id", nil
}

// ShelfIn returns the page of products l selects, with their variants,
// stock and images, and how many products l selects in all. tx is the
// caller's store transaction.
func ShelfIn(tx *gorm.DB, l Listing) ([]Product, int, error) {
	where, args := l.where()
	var total int
	if err := tx.Raw(`SELECT count(*) FROM products p WHERE `+where, args...).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count shelf: %w", err)
	}
	if total == 0 || l.Limit == 0 || l.Offset >= total {
		return nil, total, nil
	}
	order, orderArgs := l.orderBy()
	var ids []int64
	err := tx.Raw(`SELECT p.id FROM products p WHERE `+where+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(append(args, orderArgs...), l.Limit, l.Offset)...).Scan(&ids).Error
	if err != nil {
		return nil, 0, fmt.Errorf("list shelf: %w", err)
	}
	ps, err := productsByID(tx, ids)
	return ps, total, err
}

// productsByID loads products ids, in that order.
func productsByID(tx *gorm.DB, ids []int64) ([]Product, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ps, err := findProducts(tx, Query{IDs: ids, Limit: len(ids)})
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]Product, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	out := make([]Product, 0, len(ids))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// ShelfProductIn returns the product on the shelf with handle.
//
// Errors: NotFound (ErrProductNotFound), also for a draft or unpublished one.
func ShelfProductIn(tx *gorm.DB, handle string) (Product, error) {
	var ids []int64
	if err := tx.Raw(`SELECT p.id FROM products p WHERE p.handle = ? AND `+onShelf, handle).Scan(&ids).Error; err != nil {
		return Product{}, fmt.Errorf("find product %q: %w", handle, err)
	}
	ps, err := productsByID(tx, ids)
	if err != nil {
		return Product{}, err
	}
	if len(ps) == 0 {
		return Product{}, ErrProductNotFound
	}
	return ps[0], nil
}

// ShelfCollectionsIn lists the published collections (handles, or all when
// none are given), by title.
func ShelfCollectionsIn(tx *gorm.DB, handles ...string) ([]Collection, error) {
	where, args := "c.published_at IS NOT NULL AND c.published_at <= now()", []any{}
	if len(handles) > 0 {
		where += " AND c.handle IN ?"
		args = append(args, handles)
	}
	var rows []collectionRow
	if err := tx.Raw(`SELECT `+collectionColumns+` FROM collections c WHERE `+where+` ORDER BY lower(c.title), c.id LIMIT 250`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list shelf collections: %w", err)
	}
	out := make([]Collection, len(rows))
	for i, r := range rows {
		out[i] = Collection(r)
	}
	return out, nil
}

// ShelfVariantsIn returns the variants ids that are on the shelf, with
// their products, by variant id.
func ShelfVariantsIn(tx *gorm.DB, ids []int64) (map[int64]Product, error) {
	var pids []int64
	err := tx.Raw(`SELECT DISTINCT v.product_id FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id IN ? AND `+onShelf, ids).Scan(&pids).Error
	if err != nil {
		return nil, fmt.Errorf("find shelf variants: %w", err)
	}
	ps, err := productsByID(tx, pids)
	if err != nil {
		return nil, err
	}
	out := map[int64]Product{}
	for _, p := range ps {
		for _, v := range p.Variants {
			out[v.ID] = p
		}
	}
	return out, nil
}

// ShelfHandlesIn lists every product and collection handle on the shelf,
// for the sitemap, at most limit of each.
func ShelfHandlesIn(tx *gorm.DB, limit int) (products, collections []string, err error) {
	if err = tx.Raw(`SELECT p.handle FROM products p WHERE `+onShelf+` ORDER BY p.id LIMIT ?`, limit).Scan(&products).Error; err != nil {
		return nil, nil, fmt.Errorf("list product handles: %w", err)
	}
	if err = tx.Raw(`SELECT c.handle FROM collections c WHERE c.published_at IS NOT NULL ORDER BY c.id LIMIT ?`, limit).Scan(&collections).Error; err != nil {
		return nil, nil, fmt.Errorf("list collection handles: %w", err)
	}
	return products, collections, nil
}
