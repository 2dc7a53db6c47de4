package storefront

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// Menu is one of a store's navigation menus (linklists[handle] in
// themes), with its links in order. Menus are one level deep.
type Menu struct {
	ID     int64
	Handle string
	Title  string
	Links  []MenuLink
}

// MenuLink is an entry of a menu; Position counts from 1.
type MenuLink struct {
	Title    string
	URL      string
	Position int
}

// MenuInput creates or changes a menu; nil fields stay as they are.
// Links, when given, replace the menu's links: ordered by Position where
// given, else as listed. The rules are menus.json's.
type MenuInput struct {
	Title  *string
	Handle *string
	Links  *[]MenuLinkInput
}

// MenuLinkInput is a link of a MenuInput.
type MenuLinkInput struct {
	Title    string
	URL      string
	Position *int
}

func (m menuJSON) toMenu() Menu {
	out := Menu{ID: m.ID, Handle: m.Handle, Title: m.Title, Links: make([]MenuLink, len(m.Links))}
	for i, l := range m.Links {
		out.Links[i] = MenuLink{Title: l.Title, URL: l.URL, Position: l.Position}
	}
	return out
}

func (in MenuInput) toRequest() menuRequest {
	r := menuRequest{Title: in.Title, Handle: in.Handle}
	if in.Links != nil {
		links := make([]menuLinkRequest, len(*in.Links))
		for i, l := range *in.Links {
			links[i] = menuLinkRequest{Title: l.Title, URL: l.URL, Position: l.Position}
		}
		r.Links = &links
	}
	return r
}

// Menus lists store t's menus with their links, in id order.
func (s *Menus) Menus(ctx context.Context, t *tenant.Tenant) ([]Menu, error) {
	var ms []menuJSON
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		ms, err = findMenuRows(tx, "true")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list menus: %w", err)
	}
	out := make([]Menu, len(ms))
	for i, m := range ms {
		out[i] = m.toMenu()
	}
	return out, nil
}

// Menu returns store t's menu id with its links.
//
// Errors: NotFound.
func (s *Menus) Menu(ctx context.Context, t *tenant.Tenant, id int64) (Menu, error) {
	var m menuJSON
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		m, err = findMenu(tx, id)
		return err
	})
	if err != nil {
		return Menu{}, err
	}
	return m.toMenu(), nil
}

// CreateMenu adds a menu to store t, with POST menus.json's rules: a title
// is needed, the handle defaults to the title's.
//
// Errors: Invalid (title, handle, links; a handle taken).
func (s *Menus) CreateMenu(ctx context.Context, t *tenant.Tenant, in MenuInput) (Menu, error) {
	req := in.toRequest()
	if err := req.validate(true); err != nil {
		return Menu{}, err
	}
	handle := catalog.Handleize(*req.Title)
	if req.Handle != nil && *req.Handle != "" {
		handle = *req.Handle
	}
	if handle == "" {
		return Menu{}, &errs.Error{Kind: errs.Invalid, Message: "handle can't be blank", Fields: map[string][]string{"handle": {"can't be derived from the title; give one"}}}
	}
	var m menuJSON
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var id int64
		if err := tx.Raw(`INSERT INTO menus (handle, title) VALUES (?, ?) RETURNING id`, handle, *req.Title).Scan(&id).Error; err != nil {
			return err
		}
		if req.Links != nil {
			if err := insertMenuLinks(tx, id, *req.Links); err != nil {
				return err
			}
		}
		var err error
		m, err = findMenu(tx, id)
		return err
	})
	if pg.Code(err) == pg.UniqueViolation {
		return Menu{}, errMenuHandleTaken
	}
	if err != nil {
		return Menu{}, fmt.Errorf("insert menu: %w", err)
	}
	return m.toMenu(), nil
}

// UpdateMenu changes store t's menu id, with PUT menus/{id}.json's rules;
// given links replace the menu's in one transaction, so shoppers see the
// old menu or the new one.
//
// Errors: NotFound, Invalid (title, handle, links; a handle taken).
func (s *Menus) UpdateMenu(ctx context.Context, t *tenant.Tenant, id int64, in MenuInput) (Menu, error) {
	req := in.toRequest()
	if err := req.validate(false); err != nil {
		return Menu{}, err
	}
	set, args := []string{"id = id"}, []any{}
	if req.Title != nil {
		set, args = append(set, "title = ?"), append(args, *req.Title)
	}
	if req.Handle != nil && *req.Handle != "" {
		set, args = append(set, "handle = ?"), append(args, *req.Handle)
	}
	var m menuJSON
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE menus SET `+strings.Join(set, ", ")+` WHERE id = ?`, append(args, id)...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrMenuNotFound
		}
		if req.Links != nil {
			if err := tx.Exec(`DELETE FROM menu_links WHERE menu_id = ?`, id).Error; err != nil {
				return fmt.Errorf("delete menu links: %w", err)
			}
			if err := insertMenuLinks(tx, id, *req.Links); err != nil {
				return err
			}
		}
		var err error
		m, err = findMenu(tx, id)
		return err
	})
	if pg.Code(err) == pg.UniqueViolation {
		return Menu{}, errMenuHandleTaken
	}
	if err != nil {
		return Menu{}, fmt.Errorf("update menu: %w", err)
	}
	return m.toMenu(), nil
}

// DeleteMenu deletes store t's menu id with its links.
//
// Errors: NotFound.
func (s *Menus) DeleteMenu(ctx context.Context, t *tenant.Tenant, id int64) error {
	var n int64
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		res := tx.Exec(`DELETE FROM menus WHERE id = ?`, id)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("delete menu: %w", err)
	}
	if n == 0 {
		return ErrMenuNotFound
	}
	return nil
}
