package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/catalog"
)

// productsPerPage is the products list's page size.
const productsPerPage = 25

// productStatuses are the statuses the list filters by, Shopify's.
var productStatuses = []string{"active", "draft", "archived"}

// productRow is a line of the products list.
type productRow struct {
	ID       int64
	Title    string
	Status   string
	Stock    string
	Vendor   string
	Thumb    string
	Variants int
}

// productsPage is the products list.
type productsPage struct {
	Search, Status string
	Statuses       []string
	Rows           []productRow
	Total          int64
	Prev, Next     string // page links; "" at either end
	CanWrite       bool
	Flash          string
}

// products lists the store's products, newest first, with a search by
// title, a status filter and cursor pagination.
func (d *Dashboard) products(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	page := productsPage{Search: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), Statuses: productStatuses}
	q := catalog.Query{Limit: productsPerPage, Search: page.Search}
	if !contains(productStatuses, page.Status) {
		page.Status = ""
	} else {
		q.Statuses = []string{page.Status}
	}
	at := readCursor(c)
	q.After, q.Before = at.bounds()
	ps, more, err := d.cfg.Catalog.Products(ctx, m.Store, q)
	if err != nil {
		d.failErr(c, err)
		return
	}
	count := q
	count.Limit, count.After, count.Before = 0, 0, 0
	if page.Total, err = d.cfg.Catalog.CountProducts(ctx, m.Store, count); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.Allowed(m, "products", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	if c.Query("done") == "deleted" {
		page.Flash = "The product is deleted."
	}
	// ps is in id order; the list shows the newest first.
	updated, _ := strconv.ParseInt(c.Query("updated"), 10, 64)
	for i := len(ps) - 1; i >= 0; i-- {
		page.Rows = append(page.Rows, d.productRow(m, ps[i]))
		if ps[i].ID == updated {
			page.Flash = fmt.Sprintf("%s is now %s.", ps[i].Title, ps[i].Status)
		}
	}
	keep := url.Values{}
	if page.Search != "" {
		keep.Set("q", page.Search)
	}
	if page.Status != "" {
		keep.Set("status", page.Status)
	}
	if n := len(page.Rows); n > 0 {
		page.Prev, page.Next = at.links(page.Rows[0].ID, page.Rows[n-1].ID, more, keep)
	}
	d.render(c, http.StatusOK, "products", "Products", page)
}

func (d *Dashboard) productRow(m Member, p catalog.Product) productRow {
	r := productRow{ID: p.ID, Title: p.Title, Status: p.Status, Vendor: p.Vendor, Variants: len(p.Variants)}
	if len(p.Images) > 0 {
		r.Thumb = d.cfg.Catalog.ImageURL(m.Store, p.Images[0].File) + "?width=96"
	}
	var stock int64
	tracked := false
	for _, v := range p.Variants {
		if v.InventoryManagement != nil && *v.InventoryManagement != "" {
			tracked = true
			stock += v.InventoryQuantity
		}
	}
	switch {
	case !tracked:
		r.Stock = "Not tracked"
	case len(p.Variants) > 1:
		r.Stock = fmt.Sprintf("%d in stock for %d variants", stock, len(p.Variants))
	default:
		r.Stock = fmt.Sprintf("%d in stock", stock)
	}
	return r
}

// setProductStatus changes a product's status (active, draft, archived)
// from the list, and comes back to it.
func (d *Dashboard) setProductStatus(c *gin.Context) {
	m := memberOf(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		d.notFound(c)
		return
	}
	status := c.PostForm("status")
	if !contains(productStatuses, status) {
		d.failErr(c, errs.E(errs.Invalid, "a product's status is active, draft or archived"))
		return
	}
	p, err := d.cfg.Catalog.UpdateProduct(c.Request.Context(), m.Store, id, catalog.ProductInput{Status: &status})
	if err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/products?updated=%d", m.Store.Slug, p.ID))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
