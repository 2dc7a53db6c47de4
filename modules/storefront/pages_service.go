package storefront

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// Page is one of a store's content pages (/pages/{handle}), as the
// dashboard shows it; PublishedAt is nil for a hidden page.
type Page struct {
	ID          int64
	Title       string
	Handle      string
	BodyHTML    string
	PublishedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PageInput creates or changes a page; nil fields stay as they are (on
// create: no handle is derived from the title, no body is empty, and no
// Published publishes). The rules are pages.json's.
type PageInput struct {
	Title     *string
	Handle    *string
	BodyHTML  *string
	Published *bool
}

func (r pageRow) toPage() Page {
	return Page{ID: r.ID, Title: r.Title, Handle: r.Handle, BodyHTML: r.BodyHTML, PublishedAt: r.PublishedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (in PageInput) toRequest() pageRequest {
	return pageRequest{Title: in.Title, Handle: in.Handle, BodyHTML: in.BodyHTML, Published: in.Published}
}

// Pages lists store t's pages in id order: a store keeps a handful, so
// the dashboard lists them all.
func (s *Pages) Pages(ctx context.Context, t *tenant.Tenant) ([]Page, error) {
	var rows []pageRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT ` + pageColumns + ` FROM pages ORDER BY id`).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	out := make([]Page, len(rows))
	for i, r := range rows {
		out[i] = r.toPage()
	}
	return out, nil
}

// Page returns store t's page id.
//
// Errors: NotFound.
func (s *Pages) Page(ctx context.Context, t *tenant.Tenant, id int64) (Page, error) {
	var rows []pageRow
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+pageColumns+` FROM pages WHERE id = ?`, id).Scan(&rows).Error
	})
	if err != nil {
		return Page{}, fmt.Errorf("find page: %w", err)
	}
	if len(rows) == 0 {
		return Page{}, ErrPageNotFound
	}
	return rows[0].toPage(), nil
}

// CreatePage adds a page to store t, with POST pages.json's rules: a title
// is needed, the handle defaults to the title's, and the page is published
// unless Published is false.
//
// Errors: Invalid (title, handle, body_html; a handle taken).
func (s *Pages) CreatePage(ctx context.Context, t *tenant.Tenant, in PageInput) (Page, error) {
	req := in.toRequest()
	if err := req.validate(true); err != nil {
		return Page{}, err
	}
	handle := catalog.Handleize(*req.Title)
	if req.Handle != nil && *req.Handle != "" {
		handle = *req.Handle
	}
	if handle == "" {
		return Page{}, &errs.Error{Kind: errs.Invalid, Message: "handle can't be blank", Fields: map[string][]string{"handle": {"can't be derived from the title; give one"}}}
	}
	body := ""
	if req.BodyHTML != nil {
		body = *req.BodyHTML
	}
	var published *time.Time
	if req.Published == nil || *req.Published {
		now := time.Now().UTC()
		published = &now
	}
	var rows []pageRow
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`INSERT INTO pages (title, handle, body_html, published_at) VALUES (?, ?, ?, ?) RETURNING `+pageColumns,
			*req.Title, handle, body, published).Scan(&rows).Error
	})
	if pg.Code(err) == pg.UniqueViolation {
		return Page{}, errPageHandleTaken
	}
	if err != nil {
		return Page{}, fmt.Errorf("insert page: %w", err)
	}
	return rows[0].toPage(), nil
}

// UpdatePage changes store t's page id, with PUT pages/{id}.json's rules:
// an empty handle keeps the one it has; publishing keeps the first
// publication date.
//
// Errors: NotFound, Invalid (title, handle, body_html; a handle taken).
func (s *Pages) UpdatePage(ctx context.Context, t *tenant.Tenant, id int64, in PageInput) (Page, error) {
	req := in.toRequest()
	if err := req.validate(false); err != nil {
		return Page{}, err
	}
	set, args := []string{"updated_at = now()"}, []any{}
	if req.Title != nil {
		set, args = append(set, "title = ?"), append(args, *req.Title)
	}
	if req.Handle != nil && *req.Handle != "" {
		set, args = append(set, "handle = ?"), append(args, *req.Handle)
	}
	if req.BodyHTML != nil {
		set, args = append(set, "body_html = ?"), append(args, *req.BodyHTML)
	}
	if req.Published != nil {
		if *req.Published {
			set = append(set, "published_at = coalesce(published_at, now())")
		} else {
			set = append(set, "published_at = NULL")
		}
	}
	var rows []pageRow
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`UPDATE pages SET `+strings.Join(set, ", ")+` WHERE id = ? RETURNING `+pageColumns, append(args, id)...).Scan(&rows).Error
	})
	if pg.Code(err) == pg.UniqueViolation {
		return Page{}, errPageHandleTaken
	}
	if err != nil {
		return Page{}, fmt.Errorf("update page: %w", err)
	}
	if len(rows) == 0 {
		return Page{}, ErrPageNotFound
	}
	return rows[0].toPage(), nil
}

// DeletePage deletes store t's page id.
//
// Errors: NotFound.
func (s *Pages) DeletePage(ctx context.Context, t *tenant.Tenant, id int64) error {
	var n int64
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM pages WHERE id = ?`, id)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("delete page: %w", err)
	}
	if n == 0 {
		return ErrPageNotFound
	}
	return nil
}
