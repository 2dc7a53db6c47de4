package storefront

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// menu is a navigation menu: the main menu, the footer, others the merchant
// makes.
type menu struct {
	ID     int64  `gorm:"column:id"`
	Handle string `gorm:"column:handle"`
	Title  string `gorm:"column:title"`
	Links  []menuLink
}

type menuLink struct {
	MenuID int64  `gorm:"column:menu_id"`
	Title  string `gorm:"column:title"`
	URL    string `gorm:"column:url"`
}

// findMenus loads every menu with its links, in order.
func findMenus(tx *gorm.DB) ([]menu, error) {
	var menus []menu
	if err := tx.Raw(`SELECT id, handle, title FROM menus ORDER BY id`).Scan(&menus).Error; err != nil {
		return nil, fmt.Errorf("find menus: %w", err)
	}
	var links []menuLink
	if err := tx.Raw(`SELECT menu_id, title, url FROM menu_links ORDER BY menu_id, position`).Scan(&links).Error; err != nil {
		return nil, fmt.Errorf("find menu links: %w", err)
	}
	index := map[int64]int{}
	for i, m := range menus {
		index[m.ID] = i
	}
	for _, l := range links {
		if i, ok := index[l.MenuID]; ok {
			menus[i].Links = append(menus[i].Links, l)
		}
	}
	return menus, nil
}

// contentPage is a page the merchant wrote: about us, shipping, contact.
type contentPage struct {
	ID          int64      `gorm:"column:id"`
	Title       string     `gorm:"column:title"`
	Handle      string     `gorm:"column:handle"`
	BodyHTML    string     `gorm:"column:body_html"`
	PublishedAt *time.Time `gorm:"column:published_at"`
}

// findPage returns the published page with handle, if there is one.
func findPage(tx *gorm.DB, handle string) (*contentPage, error) {
	var rows []contentPage
	err := tx.Raw(`SELECT id, title, handle, body_html, published_at FROM pages
		WHERE handle = ? AND published_at IS NOT NULL AND published_at <= now()`, handle).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find page %q: %w", handle, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// findPageHandles lists the published pages' handles, for the sitemap.
func findPageHandles(tx *gorm.DB) ([]string, error) {
	var hs []string
	if err := tx.Raw(`SELECT handle FROM pages WHERE published_at IS NOT NULL ORDER BY id LIMIT 5000`).Scan(&hs).Error; err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	return hs, nil
}

func toPageObject(p contentPage) map[string]any {
	return map[string]any{"id": p.ID, "title": p.Title, "handle": p.Handle, "url": "/pages/" + p.Handle,
		"content": p.BodyHTML, "published_at": p.PublishedAt, "object_type": "page"}
}

// findRedirect returns where path has moved (a product or collection whose
// handle changed), or "".
func findRedirect(tx *gorm.DB, path string) (string, error) {
	var targets []string
	if err := tx.Raw(`SELECT target FROM redirects WHERE path = ?`, path).Scan(&targets).Error; err != nil {
		return "", fmt.Errorf("find redirect: %w", err)
	}
	if len(targets) == 0 {
		return "", nil
	}
	return targets[0], nil
}
