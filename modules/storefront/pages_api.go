package storefront

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// Pages is the content pages' Admin API resource (pages.json, Shopify's),
// for the pages /pages/{handle} shows.
type Pages struct {
	db *tenant.DB
}

// NewPages returns the pages resource.
func NewPages(db *tenant.DB) *Pages { return &Pages{db: db} }

// ErrPageNotFound is for a page the store does not have.
var ErrPageNotFound = errs.E(errs.NotFound, "page not found")

// AdminRoutes mounts pages.json, pages/count.json and pages/{id}.json.
func (s *Pages) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require("content", rbac.Read), g.Require("content", rbac.Write)
	r.GET("/pages.json", read, g.Handle(s.list))
	r.POST("/pages.json", write, g.Handle(s.create))
	r.GET("/pages/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.count(c)
		}
		return s.get(c)
	}))
	r.PUT("/pages/:file", write, g.Handle(s.update))
	r.DELETE("/pages/:file", write, g.Handle(s.delete))
}

type pageJSON struct {
	ID                int64      `json:"id"`
	Title             string     `json:"title"`
	ShopID            int64      `json:"shop_id"`
	Handle            string     `json:"handle"`
	BodyHTML          string     `json:"body_html"`
	Author            string     `json:"author"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	PublishedAt       *time.Time `json:"published_at"`
	TemplateSuffix    *string    `json:"template_suffix"`
	AdminGraphqlAPIID string     `json:"admin_graphql_api_id"`
}

type pageRow struct {
	ID          int64      `gorm:"column:id"`
	Title       string     `gorm:"column:title"`
	Handle      string     `gorm:"column:handle"`
	BodyHTML    string     `gorm:"column:body_html"`
	PublishedAt *time.Time `gorm:"column:published_at"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	UpdatedAt   time.Time  `gorm:"column:updated_at"`
}

const pageColumns = `id, title, handle, body_html, published_at, created_at, updated_at`

func toPageJSON(t *tenant.Tenant, p Page) pageJSON {
	return pageJSON{ID: p.ID, Title: p.Title, ShopID: int64(t.ID), Handle: p.Handle, BodyHTML: p.BodyHTML, Author: "Shop",
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, PublishedAt: p.PublishedAt, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/OnlineStorePage/%d", p.ID)}
}

type pageRequest struct {
	Title     *string `json:"title"`
	Handle    *string `json:"handle"`
	BodyHTML  *string `json:"body_html"`
	Published *bool   `json:"published"`
}

func (r *pageRequest) validate(creating bool) error {
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
	if r.BodyHTML != nil && len(*r.BodyHTML) > 512*1024 {
		f.Add("body_html", "is too long (maximum is 512 KiB)")
	}
	return f.Err()
}

// toInput hands the request to the service, which validates it.
func (r pageRequest) toInput() PageInput {
	return PageInput{Title: r.Title, Handle: r.Handle, BodyHTML: r.BodyHTML, Published: r.Published}
}

var errPageHandleTaken = &errs.Error{Kind: errs.Invalid, Message: "handle has already been taken",
	Fields: map[string][]string{"handle": {"has already been taken"}}}

func pageID(c *gin.Context) (int64, error) {
	f := c.Param("file")
	id, err := strconv.ParseInt(strings.TrimSuffix(f, ".json"), 10, 64)
	if err != nil || id <= 0 || !strings.HasSuffix(f, ".json") {
		return 0, ErrPageNotFound
	}
	return id, nil
}

func (s *Pages) write(c *gin.Context, status int, key string, ps []Page) error {
	t := apps.PrincipalOf(c).Store
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = apps.KeepFields(toPageJSON(t, p), fields)
	}
	if key == "page" {
		c.JSON(status, gin.H{"page": out[0]})
	} else {
		c.JSON(status, gin.H{"pages": out})
	}
	return nil
}

func (s *Pages) list(c *gin.Context) error {
	f := errs.Fields{}
	v := c.Request.URL.Query()
	limit := apps.ParseLimit(f, v)
	var since int64
	if sv := v.Get("since_id"); sv != "" {
		n, err := strconv.ParseInt(sv, 10, 64)
		if err != nil || n < 0 {
			f.Add("since_id", "must be a page id")
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
	if t := v.Get("title"); t != "" {
		where, args = where+" AND title ILIKE ?", append(args, "%"+pg.LikeEscape(t)+"%")
	}
	var rows []pageRow
	err := s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT `+pageColumns+` FROM pages WHERE `+where+` ORDER BY id LIMIT ?`, append(args, limit)...).Scan(&rows).Error
	})
	if err != nil {
		return fmt.Errorf("list pages: %w", err)
	}
	ps := make([]Page, len(rows))
	for i, r := range rows {
		ps[i] = r.toPage()
	}
	return s.write(c, http.StatusOK, "pages", ps)
}

func (s *Pages) count(c *gin.Context) error {
	var n int64
	err := s.db.ReadTx(c.Request.Context(), apps.PrincipalOf(c).Store, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM pages`).Scan(&n).Error
	})
	if err != nil {
		return fmt.Errorf("count pages: %w", err)
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

func (s *Pages) get(c *gin.Context) error {
	id, err := pageID(c)
	if err != nil {
		return err
	}
	p, err := s.Page(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return s.write(c, http.StatusOK, "page", []Page{p})
}

func (s *Pages) create(c *gin.Context) error {
	var req pageRequest
	if err := apps.DecodeEnvelope(c, "page", &req); err != nil {
		return err
	}
	p, err := s.CreatePage(c.Request.Context(), apps.PrincipalOf(c).Store, req.toInput())
	if err != nil {
		return err
	}
	return s.write(c, http.StatusCreated, "page", []Page{p})
}

func (s *Pages) update(c *gin.Context) error {
	id, err := pageID(c)
	if err != nil {
		return err
	}
	var req pageRequest
	if err := apps.DecodeEnvelope(c, "page", &req); err != nil {
		return err
	}
	p, err := s.UpdatePage(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.toInput())
	if err != nil {
		return err
	}
	return s.write(c, http.StatusOK, "page", []Page{p})
}

func (s *Pages) delete(c *gin.Context) error {
	id, err := pageID(c)
	if err != nil {
		return err
	}
	if err := s.DeletePage(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}
