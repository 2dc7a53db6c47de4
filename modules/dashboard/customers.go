package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shop"
)

// customersPerPage is the customers list's page size.
const customersPerPage = 25

// customerOrdersShown is how many of a customer's orders their page lists,
// newest first; the count says how many there are in all.
const customerOrdersShown = 50

// customerRow is a line of the customers list.
type customerRow struct {
	ID                 int64
	Name, Email, State string
	Orders             int
	Spent              string
}

// customersPage is the customers list.
type customersPage struct {
	Search     string
	Rows       []customerRow
	Total      int64
	Prev, Next string // page links; "" at either end
}

// customerName is how the dashboard names a customer: their name, else
// their email, else their phone.
func customerName(c customers.Customer) string {
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		return n
	}
	if c.Email != "" {
		return c.Email
	}
	return c.Phone
}

// customerID is the :id of a customer page; ok is false for one that
// cannot be.
func customerID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// customers lists the store's customers, newest first, with the Admin API's
// customer search (customers/search.json's query: plain words match name,
// email or phone; email:, first_name:, last_name:, phone:, tag: narrow it)
// and cursor pagination. Each row has what the customer's orders add up
// to, as Shopify's orders_count and total_spent.
func (d *Dashboard) customers(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	page := customersPage{Search: strings.TrimSpace(c.Query("q"))}
	if len(page.Search) > 1000 { // as search.json refuses it; here, cut to size
		page.Search = page.Search[:1000]
	}
	q := customers.Query{Limit: customersPerPage, Terms: customers.ParseSearch(page.Search)}
	at := readCursor(c)
	q.After, q.Before = at.bounds()
	cs, more, err := d.cfg.Customers.Customers(ctx, m.Store, q)
	if err != nil {
		d.failErr(c, err)
		return
	}
	count := q
	count.Limit, count.After, count.Before = 0, 0, 0
	if page.Total, err = d.cfg.Customers.CountCustomers(ctx, m.Store, count); err != nil {
		d.failErr(c, err)
		return
	}
	cur, err := d.cfg.Customers.Currency(ctx, m.Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	for i := len(cs) - 1; i >= 0; i-- {
		cu := cs[i]
		page.Rows = append(page.Rows, customerRow{ID: cu.ID, Name: customerName(cu), Email: cu.Email, State: cu.State,
			Orders: int(cu.OrdersCount), Spent: cur.Format(cu.TotalSpent) + " " + cur.Code})
	}
	keep := url.Values{}
	if page.Search != "" {
		keep.Set("q", page.Search)
	}
	if n := len(page.Rows); n > 0 {
		page.Prev, page.Next = at.links(page.Rows[0].ID, page.Rows[n-1].ID, more, keep)
	}
	d.render(c, http.StatusOK, "customers", "Customers", page)
}

// customerOrder is a line of a customer's orders.
type customerOrder struct {
	ID                                int64
	Name, Date, Total                 string
	Financial, Fulfillment, Cancelled string
}

// customerPage is one customer's page.
type customerPage struct {
	Customer         customers.Customer
	Name             string
	Orders           []customerOrder
	OrdersCount      int
	Spent            string
	Since            string
	CanWrite         bool
	CanOrders        bool // links to the orders' pages, for a role that may read them
	Note, Tags       string
	Flash, Error     string
	Fields           map[string][]string
	MoreOrdersHidden int
}

// customer shows one of the store's customers: their details, addresses,
// orders, and (for a role that may change customers) the note and tags.
func (d *Dashboard) customer(c *gin.Context) {
	id, ok := customerID(c)
	if !ok {
		d.notFound(c)
		return
	}
	d.showCustomer(c, http.StatusOK, id, nil, nil)
}

// showCustomer renders customer id's page with status; form carries the
// note and tags sent back with formErr, an Invalid error the merchant can
// act on.
func (d *Dashboard) showCustomer(c *gin.Context, status int, id int64, form *customerPage, formErr error) {
	m := memberOf(c)
	ctx := c.Request.Context()
	cu, err := d.cfg.Customers.Customer(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := customerPage{Customer: cu, Name: customerName(cu), Since: cu.CreatedAt.Format("2 Jan 2006"),
		Note: cu.Note, Tags: strings.Join(cu.Tags, ", ")}
	if page.CanWrite, err = d.Allowed(m, "customers", rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanOrders, err = d.Allowed(m, "orders", rbac.Read); err != nil {
		d.failErr(c, err)
		return
	}
	var os []orders.Order
	var cur money.Currency
	err = d.cfg.DB.ReadTx(ctx, m.Store, func(tx *gorm.DB) error {
		var err error
		if cur, err = shop.CurrencyIn(tx); err != nil {
			return err
		}
		os, _, err = orders.CustomerOrdersIn(tx, id, customerOrdersShown, 0)
		return err
	})
	if err != nil {
		d.failErr(c, err)
		return
	}
	page.OrdersCount, page.Spent = int(cu.OrdersCount), cur.Format(cu.TotalSpent)+" "+cur.Code
	page.MoreOrdersHidden = max(page.OrdersCount-len(os), 0)
	for _, o := range os {
		co := customerOrder{ID: o.ID, Name: o.Name, Date: o.ProcessedAt.Format("2 Jan 2006"), Total: formatMoney(o.Currency, o.TotalPrice),
			Financial: o.FinancialStatus, Fulfillment: fulfillmentLabel(o)}
		if o.CancelledAt != nil {
			co.Cancelled = "cancelled"
		}
		page.Orders = append(page.Orders, co)
	}
	if form != nil {
		page.Note, page.Tags = form.Note, form.Tags
	}
	if formErr != nil {
		page.Error, page.Fields = errs.MessageOf(formErr), errs.FieldsOf(formErr)
	} else if c.Query("done") == "saved" {
		page.Flash = fmt.Sprintf("%s is saved.", page.Name)
	}
	d.render(c, status, "customer", page.Name, page)
}

// splitCustomerTags reads the tags field: comma-separated, trimmed, blanks
// and repeats (ignoring case) dropped, as Shopify reads a tags string.
func splitCustomerTags(s string) []string {
	tags := []string{}
	seen := map[string]bool{}
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		tags = append(tags, t)
	}
	return tags
}

// updateCustomer saves a customer's note and tags, as PUT
// customers/{id}.json with those two fields does.
func (d *Dashboard) updateCustomer(c *gin.Context) {
	m := memberOf(c)
	id, ok := customerID(c)
	if !ok {
		d.notFound(c)
		return
	}
	form := customerPage{Note: c.PostForm("note"), Tags: c.PostForm("tags")}
	note, tags := form.Note, splitCustomerTags(form.Tags)
	_, err := d.cfg.Customers.UpdateCustomer(c.Request.Context(), m.Store, id, customers.CustomerInput{Note: &note, Tags: &tags})
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/customers/%d?done=saved", m.Store.Slug, id))
	case errs.Is(err, errs.Invalid):
		d.showCustomer(c, http.StatusUnprocessableEntity, id, &form, err)
	default:
		d.failErr(c, err)
	}
}
