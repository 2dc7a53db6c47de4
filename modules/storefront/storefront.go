// Package storefront is the shopper-facing surface of a store: pages
// rendered from the store's published Liquid theme (package themes) with
// Shopify's routes, the cart (in the store's schema, behind a signed cookie,
// so any server of the fleet serves it) with Shopify's AJAX cart API, theme
// assets and product images under cacheable URLs, the sitemap and
// robots.txt.
package storefront

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// Handler serves stores' storefronts; the store comes from the request's
// context, put there by host resolution.
type Handler struct {
	db      *tenant.DB
	catalog *catalog.Service
	urls    tenant.URLs
	cartKey []byte
	themes  *themeCache
	pages   *pageCache
	log     *slog.Logger
}

// Config is what the storefront needs beyond the stores' data.
type Config struct {
	URLs    tenant.URLs
	CartKey []byte // signs cart cookies; the same on every server
}

// New returns the storefront handler.
func New(db *tenant.DB, cat *catalog.Service, cfg Config, log *slog.Logger) *Handler {
	return &Handler{db: db, catalog: cat, urls: cfg.URLs, cartKey: cfg.CartKey, themes: newThemeCache(1024),
		pages: newPageCache(4096, 5*time.Minute), log: log}
}

// Routes mounts the storefront's routes on r, Shopify's paths; every other
// path is the theme's 404 page.
func (h *Handler) Routes(r gin.IRouter) {
	r.GET("/", h.page(h.index))
	r.GET("/collections", h.page(h.listCollections))
	r.GET("/collections/:handle", h.page(h.collection))
	r.GET("/products/:handle", h.productRoute)
	r.GET("/search", h.page(h.search))
	r.GET("/pages/:handle", h.page(h.contentPage))
	r.GET("/cart", h.cartPage)
	r.GET("/cart.js", h.cartJS)
	r.GET("/cart.json", h.cartJS)
	for _, p := range []string{"/cart/add", "/cart/change", "/cart/update", "/cart/clear"} {
		r.POST(p, h.cartWrite)
		r.POST(p+".js", h.cartWrite)
	}
	r.POST("/cart", h.cartWrite)       // the cart form: updates[], note, attributes
	r.POST("/checkout", h.cartWrite)   // the cart form's checkout button: save, then on to GET /checkout
	r.GET("/cart/change", h.cartWrite) // remove links: /cart/change?line=1&quantity=0
	r.GET("/cart/clear", h.cartWrite)
	h.accountRoutes(r)
	h.activationRoutes(r)
	r.GET("/robots.txt", h.robots)
	r.GET("/favicon.ico", h.favicon)
	r.GET("/sitemap.xml", h.sitemap)
	r.GET("/cdn/shop/t/:theme/assets/:file", h.asset)
	r.GET("/cdn/shop/products/:file", h.image)
}

// NotFound renders the theme's 404 page, for paths no route takes.
func (h *Handler) NotFound(c *gin.Context) {
	h.page(func(*gin.Context, *view) error { return errNotFound })(c)
}

var errNotFound = errs.E(errs.NotFound, "page not found")

// view is one page being rendered: its store, data, template and options.
type view struct {
	tx       *gorm.DB
	store    *tenant.Tenant
	theme    *themes.Theme
	themeRow themeRow
	shop     shop.Shop
	currency money.Currency
	vars     map[string]any
	template string
	status   int
	opts     themes.RenderOptions
	cart     *cart
}

// cacheable says whether a request sees what every anonymous shopper sees:
// a GET with no cookie (no cart, no session, no preview) and a short URL.
func cacheable(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Cookie") == "" && len(r.URL.RequestURI()) <= maxCachedURI &&
		r.URL.Query().Get("preview_theme_id") == ""
}

// page runs fill in a read transaction of the request's store, then
// renders the template it chose with the theme; fill returning NotFound
// renders the theme's 404 page instead. Anonymous views are served from,
// and kept in, the page cache.
func (h *Handler) page(fill func(*gin.Context, *view) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		t := tenant.FromContext(c.Request.Context())
		cache := cacheable(c.Request)
		var key pageKey
		if cache {
			// Read before the data is: see pageCache.
			key = h.pages.key(t.ID, c.Request.URL.RequestURI())
			if p, ok := h.pages.get(key); ok {
				writePage(c, p.status, p.body, "hit")
				return
			}
		}
		var out []byte
		status := http.StatusOK
		err := h.db.ReadTx(c.Request.Context(), t, func(tx *gorm.DB) error {
			v, err := h.newView(c, tx, t)
			if err != nil {
				return err
			}
			if err := fill(c, v); err != nil {
				if !errs.Is(err, errs.NotFound) {
					return err
				}
				// A moved product or collection: 301 to where it is now.
				target, err := findRedirect(tx, c.Request.URL.Path)
				if err != nil {
					return err
				}
				if target != "" {
					if q := c.Request.URL.RawQuery; q != "" {
						target += "?" + q
					}
					c.Redirect(http.StatusMovedPermanently, target)
					return errRedirected
				}
				v.template, v.status = "404", http.StatusNotFound
				v.vars["page_title"] = "Page not found"
				v.vars["request"].(map[string]any)["page_type"] = "404"
			}
			status = v.status
			out, err = v.theme.Render(c.Request.Context(), v.template, v.vars, v.opts)
			return err
		})
		if errors.Is(err, errRedirected) {
			return // the page answered with a redirect
		}
		if err != nil {
			h.fail(c, err)
			return
		}
		if !cache {
			writePage(c, status, out, "")
			return
		}
		h.pages.put(key, status, out)
		writePage(c, status, out, "miss")
	}
}

// writePage sends a rendered page; cache says how the page cache served it
// (hit, miss, or "" for a page it does not keep).
func writePage(c *gin.Context, status int, body []byte, cache string) {
	w := c.Writer.Header()
	w.Set("Content-Type", "text/html; charset=utf-8")
	w.Set("X-Content-Type-Options", "nosniff")
	if cache != "" {
		w.Set("X-Cache", cache)
	}
	c.Writer.WriteHeader(status)
	c.Writer.Write(body)
}

// fail answers a page that could not be made. A theme that broke its own
// limits or syntax gets a plain page naming nothing of its internals; the
// error is logged with the request id.
func (h *Handler) fail(c *gin.Context, err error) {
	var terr *themes.Error
	if errors.As(err, &terr) || errors.Is(err, themes.ErrTimeout) || errors.Is(err, themes.ErrOutputTooLarge) {
		h.log.ErrorContext(c.Request.Context(), "theme failed", "err", err)
		c.Data(http.StatusInternalServerError, "text/html; charset=utf-8", []byte(errorPage))
		return
	}
	web.WriteError(c.Writer, c.Request, h.log, err)
}

const errorPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Something went wrong</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><main><h1>Something went wrong</h1><p>This page could not be shown. Please try again in a moment, or go back to the <a href="/">home page</a>.</p></main></body></html>`

// newView loads what every page shows: the shop, the theme, menus, the
// cart's count, the request.
func (h *Handler) newView(c *gin.Context, tx *gorm.DB, t *tenant.Tenant) (*view, error) {
	sh, err := shop.ShopIn(tx)
	if err != nil {
		return nil, err
	}
	cur, err := money.ParseCurrency(sh.Currency)
	if err != nil {
		return nil, err
	}
	row, err := h.themeFor(c, tx)
	if err != nil {
		return nil, err
	}
	th, err := h.themes.load(tx, t, row)
	if err != nil {
		return nil, err
	}
	menus, err := findMenus(tx)
	if err != nil {
		return nil, err
	}
	crt, err := findCart(tx, h.cartFromCookie(c.Request))
	if err != nil {
		return nil, err
	}
	var customer map[string]any
	if id := h.customerFromCookie(c.Request, t); id != 0 {
		cu, err := customers.CustomerIn(tx, id)
		if err == nil {
			customer = toCustomerObject(cu)
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	path := c.Request.URL.Path
	linklists := map[string]any{}
	for _, m := range menus {
		linklists[m.Handle] = toMenuObject(m, path)
	}
	base := h.urls.Store(t.Slug)
	v := &view{tx: tx, store: t, theme: th, themeRow: row, shop: sh, currency: cur, status: http.StatusOK, cart: crt}
	v.vars = map[string]any{
		"shop":          toShopObject(sh, base),
		"linklists":     linklists,
		"cart":          toCartObject(crt, cur),
		"request":       map[string]any{"host": c.Request.Host, "path": path, "page_type": "", "locale": map[string]any{"iso_code": "en"}},
		"canonical_url": base + path,
		"page_title":    sh.Name,
	}
	if customer != nil {
		v.vars["customer"] = customer
	}
	page, _ := strconv.Atoi(c.Query("page"))
	v.opts = themes.RenderOptions{
		Page: page,
		AssetURL: func(name string) string {
			return fmt.Sprintf("/cdn/shop/t/%d/assets/%s?v=%d", row.ID, url.PathEscape(name), row.Version)
		},
		ImageURL:         imageURL,
		PageURL:          pageURL(c.Request.URL),
		ContentForHeader: contentForHeader(base+path, sh.Name),
	}
	return v, nil
}

// imageURL asks for an image at a size; the catalog serves a resized copy,
// made once and kept (see catalog.Service.ServeImage).
func imageURL(src string, width, height int) string {
	if width == 0 && height == 0 {
		return src
	}
	q := url.Values{}
	if width > 0 {
		q.Set("width", strconv.Itoa(width))
	}
	if height > 0 {
		q.Set("height", strconv.Itoa(height))
	}
	return src + "?" + q.Encode()
}

// pageURL keeps a list's other parameters (sort_by, q) in its page links.
func pageURL(u *url.URL) func(int) string {
	return func(n int) string {
		q := u.Query()
		q.Set("page", strconv.Itoa(n))
		return u.Path + "?" + q.Encode()
	}
}

// contentForHeader is the storefront's own head: the canonical link and a
// generator tag. Theme CSS and scripts come from the theme.
func contentForHeader(canonical, name string) string {
	return `<link rel="canonical" href="` + html.EscapeString(canonical) + `">` + "\n" +
		`<meta property="og:site_name" content="` + html.EscapeString(name) + `">` + "\n" +
		`<meta name="generator" content="Storefleet">`
}

func (h *Handler) index(c *gin.Context, v *view) error {
	cols, err := catalog.ShelfCollectionsIn(v.tx)
	if err != nil {
		return err
	}
	list := make([]any, len(cols))
	for i, col := range cols {
		o := toCollectionObject(col, 0, col.ShelfSort())
		o["products"] = &shelfPager{ctx: c.Request.Context(), tx: v.tx, listing: catalog.Listing{CollectionID: col.ID, Sort: col.ShelfSort()}}
		list[i] = o
	}
	v.template = "index"
	v.vars["collections"] = list
	v.vars["request"].(map[string]any)["page_type"] = "index"
	return nil
}

func (h *Handler) listCollections(c *gin.Context, v *view) error {
	cols, err := catalog.ShelfCollectionsIn(v.tx)
	if err != nil {
		return err
	}
	list := make([]any, len(cols))
	for i, col := range cols {
		o := toCollectionObject(col, 0, col.ShelfSort())
		o["products"] = &shelfPager{ctx: c.Request.Context(), tx: v.tx, listing: catalog.Listing{CollectionID: col.ID, Sort: col.ShelfSort()}}
		list[i] = o
	}
	v.template = "list-collections"
	v.vars["collections"] = list
	v.vars["page_title"] = "Collections – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "list-collections"
	return nil
}

func (h *Handler) collection(c *gin.Context, v *view) error {
	handle := c.Param("handle")
	var col catalog.Collection
	if handle == "all" {
		col = catalog.Collection{Title: "Products", Handle: "all", SortOrder: "alpha-asc"}
	} else {
		cols, err := catalog.ShelfCollectionsIn(v.tx, handle)
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			return errNotFound
		}
		col = cols[0]
	}
	sortBy := c.Query("sort_by")
	if !contains(catalog.ShelfSorts, sortBy) {
		sortBy = col.ShelfSort()
	}
	pager := &shelfPager{ctx: c.Request.Context(), tx: v.tx, listing: catalog.Listing{CollectionID: col.ID, Sort: sortBy}}
	if err := pager.count(); err != nil {
		return err
	}
	o := toCollectionObject(col, pager.total, sortBy)
	o["products"] = pager
	v.template = "collection"
	v.vars["collection"] = o
	v.vars["page_title"] = col.Title + " – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "collection"
	return nil
}

func (h *Handler) search(c *gin.Context, v *view) error {
	terms := strings.TrimSpace(c.Query("q"))
	if len(terms) > 200 {
		terms = terms[:200]
	}
	s := map[string]any{"terms": untrusted(terms), "performed": terms != "", "results": []any{}, "results_count": 0}
	if terms != "" {
		pager := &shelfPager{ctx: c.Request.Context(), tx: v.tx, listing: catalog.Listing{Search: terms, Sort: "title-ascending"}}
		if err := pager.count(); err != nil {
			return err
		}
		s["results"], s["results_count"] = pager, pager.total
	}
	v.template = "search"
	v.vars["search"] = s
	v.vars["page_title"] = "Search – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "search"
	return nil
}

func (h *Handler) contentPage(c *gin.Context, v *view) error {
	p, err := findPage(v.tx, c.Param("handle"))
	if err != nil {
		return err
	}
	if p == nil {
		return errNotFound
	}
	v.template = "page"
	v.vars["page"] = toPageObject(*p)
	v.vars["page_title"] = p.Title + " – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "page"
	return nil
}

// productRoute serves /products/{handle} as a page, and
// /products/{handle}.js (and .json) as the AJAX API's product.
func (h *Handler) productRoute(c *gin.Context) {
	handle := c.Param("handle")
	if base, ok := strings.CutSuffix(handle, ".js"); ok {
		h.productJS(c, base)
		return
	}
	h.page(h.product)(c)
}

func (h *Handler) product(c *gin.Context, v *view) error {
	p, err := catalog.ShelfProductIn(v.tx, c.Param("handle"))
	if errs.Is(err, errs.NotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	selected, _ := strconv.ParseInt(c.Query("variant"), 10, 64)
	o := toProductObject(p, selected)
	v.template = "product"
	v.vars["product"] = o
	v.vars["page_title"] = p.Title + " – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "product"
	v.opts.ContentForHeader += productHead(v, p, o)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// shelfPager is a list of shelf products fetched a page at a time, inside
// the page's transaction.
type shelfPager struct {
	ctx     context.Context
	tx      *gorm.DB
	listing catalog.Listing
	total   int
	counted bool
}

func (p *shelfPager) count() error {
	if p.counted {
		return nil
	}
	l := p.listing
	l.Limit = 0
	_, total, err := catalog.ShelfIn(p.tx, l)
	p.total, p.counted = total, err == nil
	return err
}

// Count is the number of products the listing selects.
func (p *shelfPager) Count() int {
	if err := p.count(); err != nil {
		return 0
	}
	return p.total
}

// Page returns the products at [offset, offset+limit).
func (p *shelfPager) Page(_ context.Context, offset, limit int) ([]any, error) {
	l := p.listing
	l.Offset, l.Limit = offset, min(limit, 250)
	ps, total, err := catalog.ShelfIn(p.tx, l)
	if err != nil {
		return nil, err
	}
	p.total, p.counted = total, true
	out := make([]any, len(ps))
	for i, pr := range ps {
		out[i] = toProductObject(pr, 0)
	}
	return out, nil
}
