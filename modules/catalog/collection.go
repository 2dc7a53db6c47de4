package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/tenant"
)

// Errors callers test for.
var (
	ErrCollectionNotFound = errs.E(errs.NotFound, "collection not found")
	ErrCollectNotFound    = errs.E(errs.NotFound, "collect not found")
)

// SortOrders are the orders a collection can show its products in.
var SortOrders = []string{"alpha-asc", "alpha-desc", "best-selling", "created", "created-desc", "manual", "price-asc", "price-desc"}

// Collection is a merchant-curated group of products.
type Collection struct {
	ID          int64
	Title       string
	BodyHTML    string
	Handle      string
	SortOrder   string
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Collect is a product's place in a collection.
type Collect struct {
	ID           int64
	CollectionID int64
	ProductID    int64
	Position     int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CollectionInput is a collection to create, or a change to one (nil:
// unchanged, or the default on creation). Products, on creation, are added
// in order.
type CollectionInput struct {
	Title     *string
	BodyHTML  *string
	Handle    *string
	SortOrder *string
	Published *bool
	Products  []int64
}

func (in *CollectionInput) validate(creating bool) error {
	f := errs.Fields{}
	if creating && in.Title == nil {
		f.Add("title", "can't be blank")
	}
	for _, p := range []*string{in.Title, in.Handle, in.SortOrder} {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	checkText(f, "title", in.Title, true)
	if in.BodyHTML != nil && len(*in.BodyHTML) > 512*1024 {
		f.Add("body_html", "is too long (maximum is 512 KiB)")
	}
	if in.Handle != nil && *in.Handle != "" && Handleize(*in.Handle) != *in.Handle {
		f.Add("handle", "may hold only lowercase letters, digits and single hyphens (try %q)", Handleize(*in.Handle))
	}
	if in.SortOrder != nil && !slices.Contains(SortOrders, *in.SortOrder) {
		f.Add("sort_order", "must be one of %s", strings.Join(SortOrders, ", "))
	}
	if len(in.Products) > 250 {
		f.Add("collects", "may add at most 250 products at once")
	}
	return f.Err()
}

type collectionRow struct {
	ID          int64      `gorm:"column:id"`
	Title       string     `gorm:"column:title"`
	BodyHTML    string     `gorm:"column:body_html"`
	Handle      string     `gorm:"column:handle"`
	SortOrder   string     `gorm:"column:sort_order"`
	PublishedAt *time.Time `gorm:"column:published_at"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	UpdatedAt   time.Time  `gorm:"column:updated_at"`
}

const collectionColumns = `c.id, c.title, c.body_html, c.handle, c.sort_order, c.published_at, c.created_at, c.updated_at`

type collectRow struct {
	ID           int64     `gorm:"column:id"`
	CollectionID int64     `gorm:"column:collection_id"`
	ProductID    int64     `gorm:"column:product_id"`
	Position     int       `gorm:"column:position"`
	CreatedAt    time.Time `gorm:"column:created_at"`
	UpdatedAt    time.Time `gorm:"column:updated_at"`
}

const collectColumns = `id, collection_id, product_id, position, created_at, updated_at`

// CollectionQuery selects collections.
type CollectionQuery struct {
	Limit     int
	After     int64
	Before    int64
	IDs       []int64
	Handles   []string
	Title     string
	ProductID int64 // collections holding this product
	Published string
}

func (q CollectionQuery) where() (string, []any) {
	conds, args := []string{"true"}, []any{}
	add := func(c string, a ...any) { conds, args = append(conds, c), append(args, a...) }
	if len(q.IDs) > 0 {
		add("c.id IN ?", q.IDs)
	}
	if len(q.Handles) > 0 {
		add("c.handle IN ?", q.Handles)
	}
	if q.Title != "" {
		add("c.title ILIKE ?", "%"+pg.LikeEscape(q.Title)+"%")
	}
	if q.ProductID != 0 {
		add("EXISTS (SELECT 1 FROM collects k WHERE k.collection_id = c.id AND k.product_id = ?)", q.ProductID)
	}
	switch q.Published {
	case "published":
		add("c.published_at IS NOT NULL")
	case "unpublished":
		add("c.published_at IS NULL")
	}
	return strings.Join(conds, " AND "), args
}

// Collections lists store t's collections that q selects, and whether more
// follow in q's direction.
func (s *Service) Collections(ctx context.Context, t *tenant.Tenant, q CollectionQuery) ([]Collection, bool, error) {
	var rows []collectionRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := q.where()
		cond, keyArgs, order := pg.Keyset("c.id", q.After, q.Before)
		where, args = where+cond, append(args, keyArgs...)
		return tx.Raw(`SELECT `+collectionColumns+` FROM collections c WHERE `+where+` ORDER BY `+order+` LIMIT ?`, append(args, q.Limit+1)...).Scan(&rows).Error
	})
	if err != nil {
		return nil, false, fmt.Errorf("list collections: %w", err)
	}
	if q.Before != 0 {
		slices.Reverse(rows) // back into id order
	}
	rows, more := pg.TrimPage(rows, q.Limit, q.Before != 0)
	out := make([]Collection, len(rows))
	for i, r := range rows {
		out[i] = Collection(r)
	}
	return out, more, nil
}

// CountCollections counts store t's collections that q selects.
func (s *Service) CountCollections(ctx context.Context, t *tenant.Tenant, q CollectionQuery) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := q.where()
		return tx.Raw(`SELECT count(*) FROM collections c WHERE `+where, args...).Scan(&n).Error
	})
	return n, err
}

// Collection returns store t's collection id.
//
// Errors: NotFound.
func (s *Service) Collection(ctx context.Context, t *tenant.Tenant, id int64) (Collection, error) {
	cs, _, err := s.Collections(ctx, t, CollectionQuery{IDs: []int64{id}, Limit: 1})
	if err != nil {
		return Collection{}, err
	}
	if len(cs) == 0 {
		return Collection{}, ErrCollectionNotFound
	}
	return cs[0], nil
}

// CreateCollection adds a custom collection to store t, with its products.
//
// Errors: Invalid (fields, a taken handle, a product not in the store).
func (s *Service) CreateCollection(ctx context.Context, t *tenant.Tenant, in CollectionInput) (Collection, error) {
	if err := in.validate(true); err != nil {
		return Collection{}, err
	}
	var id int64
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		now := time.Now().UTC()
		c := Collection{Title: *in.Title, SortOrder: "manual"}
		if in.BodyHTML != nil {
			c.BodyHTML = *in.BodyHTML
		}
		if in.SortOrder != nil {
			c.SortOrder = *in.SortOrder
		}
		if in.Published == nil || *in.Published {
			c.PublishedAt = &now
		}
		derived := in.Handle == nil || *in.Handle == ""
		base := Handleize(c.Title)
		if !derived {
			base = *in.Handle
		}
		if base == "" {
			return errNoHandle
		}
		var err error
		id, err = insertUnique(tx, base, derived, func(handle string) ([]int64, error) {
			var ids []int64
			err := tx.Raw(`INSERT INTO collections (title, body_html, handle, sort_order, published_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (handle) DO NOTHING RETURNING id`,
				c.Title, c.BodyHTML, handle, c.SortOrder, c.PublishedAt, now, now).Scan(&ids).Error
			return ids, err
		})
		if err != nil {
			return err
		}
		for _, pid := range in.Products {
			if _, err := addCollect(tx, id, pid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Collection{}, err
	}
	return s.Collection(ctx, t, id)
}

// UpdateCollection changes store t's collection id.
//
// Errors: NotFound, Invalid.
func (s *Service) UpdateCollection(ctx context.Context, t *tenant.Tenant, id int64, in CollectionInput) (Collection, error) {
	if err := in.validate(false); err != nil {
		return Collection{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		set, args := []string{"updated_at = now()"}, []any{}
		add := func(col string, v any) { set, args = append(set, col+" = ?"), append(args, v) }
		if in.Title != nil {
			add("title", *in.Title)
		}
		if in.BodyHTML != nil {
			add("body_html", *in.BodyHTML)
		}
		if in.Handle != nil && *in.Handle != "" {
			add("handle", *in.Handle)
		}
		if in.SortOrder != nil {
			add("sort_order", *in.SortOrder)
		}
		if in.Published != nil {
			if *in.Published {
				set = append(set, "published_at = coalesce(published_at, now())")
			} else {
				set = append(set, "published_at = NULL")
			}
		}
		res := tx.Exec(`UPDATE collections SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
		if pg.Code(res.Error) == pg.UniqueViolation {
			return errHandleTaken
		}
		if res.Error != nil {
			return fmt.Errorf("update collection %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrCollectionNotFound
		}
		return nil
	})
	if err != nil {
		return Collection{}, err
	}
	return s.Collection(ctx, t, id)
}

// DeleteCollection removes store t's collection id (its products stay).
//
// Errors: NotFound.
func (s *Service) DeleteCollection(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM collections WHERE id = ?`, id)
		if res.Error != nil {
			return fmt.Errorf("delete collection %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrCollectionNotFound
		}
		return nil
	})
}

// CollectQuery selects collects.
type CollectQuery struct {
	Limit        int
	After        int64
	CollectionID int64
	ProductID    int64
}

// CountCollects counts store t's collects that q selects (its paging
// fields aside).
func (s *Service) CountCollects(ctx context.Context, t *tenant.Tenant, q CollectQuery) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := "true", []any{}
		if q.CollectionID != 0 {
			where, args = where+" AND collection_id = ?", append(args, q.CollectionID)
		}
		if q.ProductID != 0 {
			where, args = where+" AND product_id = ?", append(args, q.ProductID)
		}
		return tx.Raw(`SELECT count(*) FROM collects WHERE `+where, args...).Scan(&n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("count collects: %w", err)
	}
	return n, nil
}

// Collects lists store t's collects that q selects, by collection and
// position.
func (s *Service) Collects(ctx context.Context, t *tenant.Tenant, q CollectQuery) ([]Collect, error) {
	var rows []collectRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := "id > ?", []any{q.After}
		if q.CollectionID != 0 {
			where, args = where+" AND collection_id = ?", append(args, q.CollectionID)
		}
		if q.ProductID != 0 {
			where, args = where+" AND product_id = ?", append(args, q.ProductID)
		}
		return tx.Raw(`SELECT `+collectColumns+` FROM collects WHERE `+where+` ORDER BY id LIMIT ?`, append(args, q.Limit)...).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list collects: %w", err)
	}
	out := make([]Collect, len(rows))
	for i, r := range rows {
		out[i] = Collect(r)
	}
	return out, nil
}

// Collect returns store t's collect id.
//
// Errors: NotFound.
func (s *Service) Collect(ctx context.Context, t *tenant.Tenant, id int64) (Collect, error) {
	var rows []collectRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+collectColumns+` FROM collects WHERE id = ?`, id).Scan(&rows).Error
	})
	if err != nil {
		return Collect{}, fmt.Errorf("find collect: %w", err)
	}
	if len(rows) == 0 {
		return Collect{}, ErrCollectNotFound
	}
	return Collect(rows[0]), nil
}

// AddToCollection puts store t's product into its collection, last.
//
// Errors: Invalid (no such product or collection here, already in it).
func (s *Service) AddToCollection(ctx context.Context, t *tenant.Tenant, collectionID, productID int64) (Collect, error) {
	var c Collect
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = addCollect(tx, collectionID, productID)
		return err
	})
	return c, err
}

// RemoveCollect takes a product out of a collection.
//
// Errors: NotFound.
func (s *Service) RemoveCollect(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM collects WHERE id = ?`, id)
		if res.Error != nil {
			return fmt.Errorf("delete collect %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrCollectNotFound
		}
		return nil
	})
}

func addCollect(tx *gorm.DB, collectionID, productID int64) (Collect, error) {
	// Serialise additions to one collection, so positions do not clash.
	var ids []int64
	if err := tx.Raw(`SELECT id FROM collections WHERE id = ? FOR UPDATE`, collectionID).Scan(&ids).Error; err != nil {
		return Collect{}, fmt.Errorf("lock collection: %w", err)
	}
	if len(ids) == 0 {
		return Collect{}, &errs.Error{Kind: errs.Invalid, Message: "collection not found",
			Fields: map[string][]string{"collection_id": {"is not a collection of this store"}}}
	}
	var rows []collectRow
	err := tx.Raw(`INSERT INTO collects (collection_id, product_id, position)
		SELECT ?, p.id, coalesce((SELECT max(position) FROM collects WHERE collection_id = ?), 0) + 1
		FROM products p WHERE p.id = ?
		RETURNING `+collectColumns, collectionID, collectionID, productID).Scan(&rows).Error
	switch {
	case pg.Code(err) == pg.UniqueViolation:
		return Collect{}, &errs.Error{Kind: errs.Invalid, Message: "product is already in the collection",
			Fields: map[string][]string{"product_id": {"is already in this collection"}}}
	case err != nil:
		return Collect{}, fmt.Errorf("insert collect: %w", err)
	case len(rows) == 0:
		return Collect{}, &errs.Error{Kind: errs.Invalid, Message: "product not found",
			Fields: map[string][]string{"product_id": {fmt.Sprintf("%d is not a product of this store", productID)}}}
	}
	return Collect(rows[0]), nil
}

// insertUnique runs insert with base as the handle and, when the handle is
// derived and taken, with base-1, base-2… until one is free. insert returns
// the new id, or none when the handle was taken.
func insertUnique(tx *gorm.DB, base string, derived bool, insert func(handle string) ([]int64, error)) (int64, error) {
	for n := 0; n < 1000; n++ {
		handle := base
		if n > 0 {
			suffix := fmt.Sprintf("-%d", n)
			cut := base
			for utf8.RuneCountInString(cut)+len(suffix) > maxText {
				_, size := utf8.DecodeLastRuneInString(cut)
				cut = cut[:len(cut)-size]
			}
			handle = strings.TrimRight(cut, "-") + suffix
		}
		ids, err := insert(handle)
		if err != nil {
			return 0, err
		}
		if len(ids) == 1 {
			return ids[0], nil
		}
		if !derived {
			break
		}
	}
	return 0, errHandleTaken
}
