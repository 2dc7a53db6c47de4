package storefront

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// Menus is the navigation menus' Admin API resource (menus.json), a
// Storefleet extension in Shopify's REST style, since Shopify offers menus
// through GraphQL only. A menu is what themes read as
// linklists[handle]: the main menu, the footer, others. Every change
// reaches shoppers at once: the menus tables announce storefront changes,
// which empty every server's page cache of the store.
type Menus struct {
	db *tenant.DB
}

// NewMenus returns the menus resource.
func NewMenus(db *tenant.DB) *Menus { return &Menus{db: db} }

// ErrMenuNotFound is for a menu the store does not have.
var ErrMenuNotFound = errs.E(errs.NotFound, "menu not found")

// maxMenuLinks bounds a menu; a navigation menu longer than this helps no
// shopper.
const maxMenuLinks = 100

// AdminRoutes mounts menus.json, menus/count.json and menus/{id}.json,
// with the content scopes.
func (s *Menus) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("content", rbac.Read), g.Require("content", rbac.Write)
	r.GET("/menus.json", read, g.Handle(s.list))
	r.POST("/menus.json", write, g.Handle(s.create))
	r.GET("/menus/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.count(c)
		}
		return s.get(c)
	}))
	r.PUT("/menus/:file", write, g.Handle(s.update))
	r.DELETE("/menus/:file", write, g.Handle(s.delete))
}

type menuJSON struct {
	ID     int64          `json:"id"`
	Handle string         `json:"handle"`
	Title  string         `json:"title"`
	Links  []menuLinkJSON `json:"links"`
}

type menuLinkJSON struct {
	Title    string `json:"title"`
	URL      string `json:"url"`
	Position int    `json:"position"`
}

type menuRow struct {
	ID     int64  `gorm:"column:id"`
	Handle string `gorm:"column:handle"`
	Title  string `gorm:"column:title"`
}

type menuLinkRow struct {
	MenuID   int64  `gorm:"column:menu_id"`
	Position int    `gorm:"column:position"`
	Title    string `gorm:"column:title"`
	URL      string `gorm:"column:url"`
}

type menuRequest struct {
	Title  *string            `json:"title"`
	Handle *string            `json:"handle"`
	Links  *[]menuLinkRequest `json:"links"`
}

type menuLinkRequest struct {
	Title    string `json:"title"`
	URL      string `json:"url"`
	Position *int   `json:"position"`
}

// validate trims the request and checks it; creating needs a title. Links
// come back in their order: by position where given, else as listed.
func (r *menuRequest) validate(creating bool) error {
	f := errs.Fields{}
	if r.Title != nil {
		t := strings.TrimSpace(*r.Title)
		r.Title = &t
	}
	switch {
	case creating && (r.Title == nil || *r.Title == ""), !creating && r.Title != nil && *r.Title == "":
		f.Add("title", "can't be blank")
	case r.Title != nil && utf8.RuneCountInString(*r.Title) > 255:
		f.Add("title", "is too long (maximum is 255 characters)")
	}
	if r.Handle != nil && *r.Handle != "" && catalog.Handleize(*r.Handle) != *r.Handle {
		f.Add("handle", "may hold only lowercase letters, digits and single hyphens (try %q)", catalog.Handleize(*r.Handle))
	}
	if r.Links != nil {
		links := *r.Links
		if len(links) > maxMenuLinks {
			f.Add("links", "are too many (maximum is %d)", maxMenuLinks)
		}
		seen := map[int]bool{}
		for i := range links {
			l := &links[i]
			l.Title, l.URL = strings.TrimSpace(l.Title), strings.TrimSpace(l.URL)
			switch {
			case l.Title == "":
				f.Add("links", "link %d: title can't be blank", i+1)
			case utf8.RuneCountInString(l.Title) > 255:
				f.Add("links", "link %d: title is too long (maximum is 255 characters)", i+1)
			}
			if msg := checkLinkURL(l.URL); msg != "" {
				f.Add("links", "link %d: url %s", i+1, msg)
			}
			if l.Position != nil {
				switch p := *l.Position; {
				case p < 1:
					f.Add("links", "link %d: position must be 1 or more", i+1)
				case seen[p]:
					f.Add("links", "link %d: position %d is given twice", i+1, p)
				default:
					seen[p] = true
				}
			}
		}
		key := func(i int) int {
			if p := links[i].Position; p != nil {
				return *p
			}
			return i + 1
		}
		order := make([]int, len(links))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return key(a) - key(b) })
		sorted := make([]menuLinkRequest, len(links))
		for i, j := range order {
			sorted[i] = links[j]
		}
		r.Links = &sorted
	}
	return f.Err()
}

// checkLinkURL says what is wrong with a menu link's URL, "" for nothing:
// a path of the store or a web address, nothing a browser would run.
func checkLinkURL(u string) string {
	switch {
	case u == "":
		return "can't be blank"
	case !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://"):
		return "must be a path of the store (starting with /) or a web address (http:// or https://)"
	case len(u) > 2048:
		return "is too long (maximum is 2048 characters)"
	case strings.IndexFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "may not contain spaces or control characters (percent-encode them)"
	}
	return ""
}

// toInput hands the request to the service, which validates it.
func (r menuRequest) toInput() MenuInput {
	in := MenuInput{Title: r.Title, Handle: r.Handle}
	if r.Links != nil {
		links := make([]MenuLinkInput, len(*r.Links))
		for i, l := range *r.Links {
			links[i] = MenuLinkInput{Title: l.Title, URL: l.URL, Position: l.Position}
		}
		in.Links = &links
	}
	return in
}

// toMenuJSON is the menu as menus.json shows it; links is [] for none.
func toMenuJSON(m Menu) menuJSON {
	out := menuJSON{ID: m.ID, Handle: m.Handle, Title: m.Title, Links: make([]menuLinkJSON, len(m.Links))}
	for i, l := range m.Links {
		out.Links[i] = menuLinkJSON{Title: l.Title, URL: l.URL, Position: l.Position}
	}
	return out
}

var errMenuHandleTaken = &errs.Error{Kind: errs.Invalid, Message: "handle has already been taken",
	Fields: map[string][]string{"handle": {"has already been taken"}}}

func menuID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrMenuNotFound
	}
	return apps.FileID(c.Param("file"), ErrMenuNotFound)
}

// findMenuRows loads the menus that where selects, with their links, in
// id order.
func findMenuRows(tx *gorm.DB, where string, args ...any) ([]menuJSON, error) {
	var menus []menuRow
	if err := tx.Raw(`SELECT id, handle, title FROM menus WHERE `+where+` ORDER BY id`, args...).Scan(&menus).Error; err != nil {
		return nil, fmt.Errorf("find menus: %w", err)
	}
	if len(menus) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(menus))
	out := make([]menuJSON, len(menus))
	index := map[int64]int{}
	for i, m := range menus {
		ids[i], index[m.ID] = m.ID, i
		out[i] = menuJSON{ID: m.ID, Handle: m.Handle, Title: m.Title, Links: []menuLinkJSON{}}
	}
	var links []menuLinkRow
	if err := tx.Raw(`SELECT menu_id, position, title, url FROM menu_links WHERE menu_id IN ? ORDER BY menu_id, position`, ids).Scan(&links).Error; err != nil {
		return nil, fmt.Errorf("find menu links: %w", err)
	}
	for _, l := range links {
		m := &out[index[l.MenuID]]
		m.Links = append(m.Links, menuLinkJSON{Title: l.Title, URL: l.URL, Position: l.Position})
	}
	return out, nil
}

// insertMenuLinks writes a menu's links at positions 1…n.
func insertMenuLinks(tx *gorm.DB, menu int64, links []menuLinkRequest) error {
	for i, l := range links {
		if err := tx.Exec(`INSERT INTO menu_links (menu_id, position, title, url) VALUES (?, ?, ?, ?)`, menu, i+1, l.Title, l.URL).Error; err != nil {
			return fmt.Errorf("insert menu link: %w", err)
		}
	}
	return nil
}

func (s *Menus) write(c *gin.Context, status int, one bool, ms []menuJSON) error {
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = apps.KeepFields(m, fields)
	}
	if one {
		c.JSON(status, gin.H{"menu": out[0]})
	} else {
		c.JSON(status, gin.H{"menus": out})
	}
	return nil
}

func (s *Menus) list(c *gin.Context) error {
	f := errs.Fields{}
	v := c.Request.URL.Query()
	limit := apps.ParseLimit(f, v)
	var since int64
	if sv := v.Get("since_id"); sv != "" {
		n, err := strconv.ParseInt(sv, 10, 64)
		if err != nil || n < 0 {
			f.Add("since_id", "must be a menu id")
		}
		since = n
	}
	if err := f.Err(); err != nil {
		return apps.Malformed(err)
	}
	where, args := "id > ?", []any{since}
	if h := v.Get("handle"); h != "" {
		where, args = where+" AND handle = ?", append(args, h)
	}
	var ms []menuJSON
	err := s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		var err error
		ms, err = findMenuRows(tx, "id IN (SELECT id FROM menus WHERE "+where+" ORDER BY id LIMIT ?)", append(args, limit)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("list menus: %w", err)
	}
	if ms == nil {
		ms = []menuJSON{}
	}
	return s.write(c, http.StatusOK, false, ms)
}

func (s *Menus) count(c *gin.Context) error {
	var n int64
	err := s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM menus`).Scan(&n).Error
	})
	if err != nil {
		return fmt.Errorf("count menus: %w", err)
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

// findMenu returns menu id with its links.
func findMenu(tx *gorm.DB, id int64) (menuJSON, error) {
	ms, err := findMenuRows(tx, "id = ?", id)
	if err != nil {
		return menuJSON{}, err
	}
	if len(ms) == 0 {
		return menuJSON{}, ErrMenuNotFound
	}
	return ms[0], nil
}

func (s *Menus) get(c *gin.Context) error {
	id, err := menuID(c)
	if err != nil {
		return err
	}
	m, err := s.Menu(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return s.write(c, http.StatusOK, true, []menuJSON{toMenuJSON(m)})
}

func (s *Menus) create(c *gin.Context) error {
	var req menuRequest
	if err := apps.DecodeEnvelope(c, "menu", &req); err != nil {
		return err
	}
	m, err := s.CreateMenu(c.Request.Context(), apps.PrincipalOf(c).Store, req.toInput())
	if err != nil {
		return err
	}
	return s.write(c, http.StatusCreated, true, []menuJSON{toMenuJSON(m)})
}

func (s *Menus) update(c *gin.Context) error {
	id, err := menuID(c)
	if err != nil {
		return err
	}
	var req menuRequest
	if err := apps.DecodeEnvelope(c, "menu", &req); err != nil {
		return err
	}
	m, err := s.UpdateMenu(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.toInput())
	if err != nil {
		return err
	}
	return s.write(c, http.StatusOK, true, []menuJSON{toMenuJSON(m)})
}

func (s *Menus) delete(c *gin.Context) error {
	id, err := menuID(c)
	if err != nil {
		return err
	}
	if err := s.DeleteMenu(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
