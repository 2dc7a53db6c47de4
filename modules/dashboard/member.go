package dashboard

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenant"
)

// Member is the merchant on a store page: the store in the URL and their
// role in it, as the member middleware found them. It is the dashboard's
// Principal: every check goes through Allowed, the Admin API's casbin check.
type Member struct {
	Account tenant.AccountID
	Store   *tenant.Tenant
	Role    tenant.Role
}

const ctxMember = "dashboard.member"

// memberOf is the member the member middleware admitted.
func memberOf(c *gin.Context) Member {
	m, _ := c.Get(ctxMember)
	return m.(Member)
}

// member admits a request to /store/:slug/… only from a member of that
// store: any other account, and an unknown slug, get the same 404, so a
// URL says nothing about stores one does not belong to.
func (d *Dashboard) member(c *gin.Context) {
	account := accountOf(c)
	t, err := d.cfg.DB.TenantBySlug(c.Request.Context(), c.Param("slug"))
	if err != nil && !errs.Is(err, errs.NotFound) {
		d.failErr(c, err)
		return
	}
	var role tenant.Role
	if err == nil {
		role, err = d.cfg.DB.RoleIn(c.Request.Context(), account, t)
	}
	switch {
	case errs.Is(err, errs.NotFound), errs.Is(err, errs.Unauthenticated):
		d.notFound(c)
		return
	case err != nil:
		d.failErr(c, err)
		return
	}
	web.AddLogAttrs(c.Request.Context(), slog.Int64("tenant", int64(t.ID)))
	c.Set(ctxMember, Member{Account: account, Store: t, Role: role})
	c.Next()
}

// Allowed says whether the member may do act ("read", "write") on obj
// ("products", "orders", "shop", …): the Admin API's casbin check, with the
// same objects and actions.
func (d *Dashboard) Allowed(m Member, obj, act string) (bool, error) {
	access, err := d.cfg.DB.Access()
	if err != nil {
		return false, err
	}
	return access.Allowed(rbac.Account(int64(m.Account)), rbac.Store(int64(m.Store.ID)), obj, act)
}

// allow lets a request through only if the member may do act on obj; a
// refusal is a 403 page that names the role, and nothing is done.
func (d *Dashboard) allow(obj, act string) gin.HandlerFunc {
	return func(c *gin.Context) {
		m := memberOf(c)
		ok, err := d.Allowed(m, obj, act)
		if err != nil {
			d.failErr(c, err)
			return
		}
		if !ok {
			verb := "change"
			if act == rbac.Read {
				verb = "see"
			}
			role, err := d.cfg.DB.RoleLabel(c.Request.Context(), m.Store, m.Role)
			if err != nil {
				role = string(m.Role)
			}
			d.fail(c, http.StatusForbidden, "Not allowed",
				fmt.Sprintf("Your role in %s (%s) does not let you %s %s. Ask the store's owner if you need to.", m.Store.Name, role, verb, obj))
			return
		}
		c.Next()
	}
}

// change lets a request through only if the member may write obj, as allow
// does, and names the change for the audit log ("Marked an order as
// paid"): every route that changes a store says what it does.
func (d *Dashboard) change(obj, action string) gin.HandlerFunc {
	allow := d.allow(obj, rbac.Write)
	return func(c *gin.Context) {
		c.Set(ctxAction, action)
		allow(c)
	}
}

// menuItem is an entry of a store's menu.
type menuItem struct {
	Label   string
	Path    string // under /store/<slug>
	Obj     string // the casbin object it needs read access to; "" for everyone
	Current bool
}

// menu is the store menu: only screens that exist are listed (a later
// screen adds its line here), and only those the role may see are shown.
var menu = []menuItem{
	{Label: "Home", Path: ""},
	{Label: "Orders", Path: "/orders", Obj: "orders"},
	{Label: "Products", Path: "/products", Obj: "products"},
	{Label: "Customers", Path: "/customers", Obj: "customers"},
	{Label: "Discounts", Path: "/discounts", Obj: "discounts"},
	{Label: "Online store", Path: "/themes", Obj: "themes"},
	{Label: "Pages", Path: "/pages", Obj: "content"},
	{Label: "Navigation", Path: "/menus", Obj: "content"},
	{Label: "Apps and API", Path: "/apps", Obj: appsObj},
	{Label: "Staff", Path: "/staff", Obj: "staff"},
	{Label: "Settings", Path: "/settings", Obj: "shop"},
}

// menuFor is the menu member m sees on the page at path.
func (d *Dashboard) menuFor(m Member, path string) ([]menuItem, error) {
	var out []menuItem
	for _, it := range menu {
		if it.Obj != "" {
			ok, err := d.Allowed(m, it.Obj, rbac.Read)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		home := it.Path == ""
		it.Path = "/store/" + m.Store.Slug + it.Path
		// A screen's own pages (an order, a setting) keep its entry lit.
		it.Current = path == it.Path || (!home && strings.HasPrefix(path, it.Path+"/"))
		out = append(out, it)
	}
	return out, nil
}

// root sends the merchant to their store when they have one, to the
// switcher otherwise.
func (d *Dashboard) root(c *gin.Context) {
	stores, err := d.cfg.DB.StoresOf(c.Request.Context(), accountOf(c))
	if err != nil {
		d.failErr(c, err)
		return
	}
	if len(stores) == 1 {
		c.Redirect(http.StatusSeeOther, "/store/"+stores[0].Tenant.Slug)
		return
	}
	d.render(c, http.StatusOK, "stores", "Your stores", nil)
}

// stores is the store switcher as a page: each store with the role held.
func (d *Dashboard) stores(c *gin.Context) {
	d.render(c, http.StatusOK, "stores", "Your stores", nil)
}
