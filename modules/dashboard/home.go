package dashboard

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/themes"
)

// salesDays is how many days the home page's chart shows, today included.
const salesDays = 30

// step is an item of the onboarding checklist.
type step struct {
	Title string
	Text  string
	Done  bool
	Link  string // where to do it; "" when the role may not open it
	Label string
}

// recentOrder is a line of the home page's recent orders.
type recentOrder struct {
	Name, Customer, Total, Status, When, URL string
}

// homePage is the store's home.
type homePage struct {
	Welcome   bool
	StoreURL  string
	Steps     []step
	StepsDone int
	Chart     chart
	Recent    []recentOrder
	CanOrders bool
}

// home is the store's home: the onboarding checklist, the last 30 days of
// sales, and the latest orders.
func (d *Dashboard) home(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	page := homePage{Welcome: c.Query("welcome") == "1", StoreURL: d.cfg.URLs.Store(m.Store.Slug)}

	steps, err := d.checklist(c, m)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page.Steps = steps
	for _, s := range steps {
		if s.Done {
			page.StepsDone++
		}
	}

	if page.CanOrders, err = d.Allowed(m, "orders", rbac.Read); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanOrders {
		var sales []orders.DaySales
		var cur money.Currency
		err := d.cfg.DB.ReadTx(ctx, m.Store, func(tx *gorm.DB) error {
			sh, err := shop.ShopIn(tx)
			if err != nil {
				return err
			}
			if cur, err = money.ParseCurrency(sh.Currency); err != nil {
				return err
			}
			loc, err := time.LoadLocation(sh.Timezone)
			if err != nil || sh.Timezone == "" {
				loc = time.UTC
			}
			now := time.Now().In(loc)
			from := time.Date(now.Year(), now.Month(), now.Day()-(salesDays-1), 0, 0, 0, 0, loc)
			sales, err = orders.DailySalesIn(tx, from, now.Add(time.Second))
			return err
		})
		if err != nil {
			d.failErr(c, err)
			return
		}
		page.Chart = newChart(sales, cur)

		os, _, err := d.cfg.Orders.Orders(ctx, m.Store, orders.Query{Limit: 5, Before: math.MaxInt64, Status: "any"})
		if err != nil {
			d.failErr(c, err)
			return
		}
		slices.Reverse(os) // newest first
		for _, o := range os {
			r := recentOrder{Name: o.Name, Customer: o.Email, Status: o.FinancialStatus,
				When: o.ProcessedAt.Format("2 Jan 15:04"), URL: fmt.Sprintf("/store/%s/orders/%d", m.Store.Slug, o.ID)}
			if a := o.ShippingAddress; a != nil && a.Name() != "" {
				r.Customer = a.Name()
			}
			if oc, err := money.ParseCurrency(o.Currency); err == nil {
				r.Total = oc.Format(o.TotalPrice) + " " + oc.Code
			}
			page.Recent = append(page.Recent, r)
		}
	}
	d.render(c, http.StatusOK, "home", m.Store.Name, page)
}

// checklist is the onboarding checklist of m's store: what a new store
// still needs before it can sell. Each item reads the module that owns it.
func (d *Dashboard) checklist(c *gin.Context, m Member) ([]step, error) {
	ctx := c.Request.Context()
	base := "/store/" + m.Store.Slug

	n, err := d.cfg.Catalog.CountProducts(ctx, m.Store, catalog.Query{})
	if err != nil {
		return nil, err
	}
	// link is path when the member's role may open it, else no link.
	link := func(obj, path string) (string, error) {
		ok, err := d.Allowed(m, obj, "read")
		if !ok || err != nil {
			return "", err
		}
		return base + path, nil
	}
	products := step{Title: "Add a product", Done: n > 0, Label: "Add a product",
		Text: "Give shoppers something to buy: a title, a price, a photo."}
	if products.Link, err = link("products", "/products/new"); err != nil {
		return nil, err
	}
	if n > 0 {
		products.Text = "Your catalog has products."
	}

	ths, err := d.cfg.Themes.Themes(ctx, m.Store)
	if err != nil {
		return nil, err
	}
	theme := step{Title: "Choose a theme", Label: "Go to themes",
		Text: "Your store uses the default theme. Pick another, or make it yours with your colours and logo."}
	if theme.Link, err = link("themes", "/themes"); err != nil {
		return nil, err
	}
	if len(ths) > 0 && (ths[0].Builtin != defaultTheme() || ths[0].Version > 1) {
		theme.Done, theme.Text = true, "Your store has its own look: "+ths[0].Name+"."
	}

	methods, err := d.cfg.Payments.Methods(ctx, m.Store)
	if err != nil {
		return nil, err
	}
	zones, err := d.cfg.Shipping.Zones(ctx, m.Store)
	if err != nil {
		return nil, err
	}
	shipping := step{Title: "Set up shipping", Done: len(zones) > 0, Label: "Add a shipping zone",
		Text: "Say where you ship and what it costs: shoppers cannot check out until you do."}
	if shipping.Done {
		shipping.Text = "You ship to " + zones[0].Name + "."
		if len(zones) > 1 {
			shipping.Text = fmt.Sprintf("You ship to %d zones.", len(zones))
		}
	}
	if shipping.Link, err = link("shipping", "/settings/shipping"); err != nil {
		return nil, err
	}
	payments := step{Title: "Set up payments", Label: "Go to payments", Text: "Choose how shoppers pay you: bank transfer, cash on delivery."}
	if payments.Link, err = link("shop", "/settings/payments"); err != nil {
		return nil, err
	}
	var manual []string
	stripe := false
	for _, pm := range methods {
		switch pm.Provider {
		case billing.ProviderManual:
			manual = append(manual, pm.Name)
		case billing.ProviderStripe:
			stripe = true
		}
	}
	if len(manual) > 0 {
		payments.Done = true
		payments.Text = "Shoppers can pay by " + joinOr(manual) + "."
	}
	steps := []step{products, theme, shipping, payments}
	if d.cfg.Stripe {
		s := step{Title: "Connect Stripe", Done: stripe, Link: payments.Link, Label: "Connect Stripe",
			Text: "Take card payments: connect a Stripe account to receive payouts."}
		if stripe {
			s.Text = "Your store takes cards through Stripe."
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// defaultTheme is the built-in theme a new store starts with.
func defaultTheme() string {
	for _, b := range themes.Builtin() {
		if b.Role == "default" {
			return b.Name
		}
	}
	return ""
}

func joinOr(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	out := ""
	for i, x := range xs {
		switch {
		case i == 0:
			out = x
		case i == len(xs)-1:
			out += " or " + x
		default:
			out += ", " + x
		}
	}
	return out
}
