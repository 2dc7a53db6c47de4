package checkout

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// The checkout's pages are the platform's, not the theme's (as on other
// hosted platforms): the steps where money and addresses are entered look
// the same in every store and cannot be broken by a theme. They work
// without JavaScript; the only script is Stripe's, for card payments.

//go:embed pages/*.html
var pageFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"money": func(cur money.Currency, a money.Amount) string { return cur.Format(a) },
	"neg":   func(a money.Amount) money.Amount { return -a },
	"first": func(msgs []string) string {
		if len(msgs) == 0 {
			return ""
		}
		return msgs[0]
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	"lineTotal": func(l orders.LineItem) money.Amount { return l.Price * money.Amount(l.Quantity) },
	"country":   shipping.CountryName,
	"province":  shipping.ProvinceName,
}).ParseFS(pageFiles, "pages/*.html"))

// Routes mounts the checkout on a store's engine: /checkout starts one from
// the shopper's cart, /checkouts/{token} walks through its steps, and
// /orders/{token} is the order status page.
func (s *Service) Routes(r gin.IRouter) {
	r.GET("/checkout", s.start)
	r.GET("/checkouts/:token", s.show)
	r.POST("/checkouts/:token/contact", s.saveContact)
	r.POST("/checkouts/:token/shipping", s.saveShipping)
	r.POST("/checkouts/:token/discount", s.saveDiscount)
	r.POST("/checkouts/:token/complete", s.complete)
	r.GET("/orders/:token", s.status)
}

// The steps of a checkout, in order.
const (
	stepContact  = "contact"
	stepShipping = "shipping"
	stepPayment  = "payment"
)

// pageData is what a checkout page shows.
type pageData struct {
	Shop      shop.Shop
	Title     string
	Checkout  Checkout
	Quote     Quote
	Step      string
	Error     string              // what went wrong with the last post
	Fields    map[string][]string // per-field messages of the last post
	Form      url.Values          // what the shopper posted, to show again
	Countries []shipping.Country
	Provinces template.JS // provinces by country, for the form's script
	Methods   []billing.Method
	Order     orders.Order
	Shipments []orders.Fulfillment // on the status page
	Payment   *billing.Started
	PayError  string
}

// Value is the form's value for field name: what was posted, else saved.
func (p pageData) Value(name string) string {
	if v, ok := p.Form[name]; ok && len(v) > 0 {
		return v[0]
	}
	a := p.Checkout.ShippingAddress
	if a == nil {
		a = &shipping.Address{}
	}
	switch name {
	case "email":
		return p.Checkout.Email
	case "first_name":
		return a.FirstName
	case "last_name":
		return a.LastName
	case "company":
		return a.Company
	case "address1":
		return a.Address1
	case "address2":
		return a.Address2
	case "city":
		return a.City
	case "province":
		return a.ProvinceCode
	case "country":
		if a.CountryCode == "" {
			return "US"
		}
		return a.CountryCode
	case "zip":
		return a.Zip
	case "phone":
		return a.Phone
	case "shipping_rate":
		return p.Checkout.ShippingRate
	case "discount":
		return p.Checkout.DiscountCode
	}
	return ""
}

// start is GET /checkout: the checkout of the shopper's cart.
func (s *Service) start(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	cart, customer := s.shopper(c.Request, t)
	token, err := s.Begin(c.Request.Context(), t, cart, customer)
	if errs.Is(err, errs.Invalid) {
		c.Redirect(http.StatusSeeOther, "/cart")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/checkouts/"+token)
}

// show is GET /checkouts/{token}: the step asked for, or the first one
// not yet done.
func (s *Service) show(c *gin.Context) {
	s.render(c, http.StatusOK, c.Query("step"), nil, nil)
}

// render shows checkout token at step (or the first step not done), with
// the error of the last post and what was posted.
func (s *Service) render(c *gin.Context, status int, step string, postErr error, form url.Values) {
	ctx, t := c.Request.Context(), tenant.FromContext(c.Request.Context())
	co, q, err := s.View(ctx, t, c.Param("token"))
	if err != nil {
		s.fail(c, err)
		return
	}
	if co.OrderID != nil {
		o, err := s.orderOf(ctx, t, *co.OrderID)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, "/orders/"+o.Token)
		return
	}
	d := pageData{Checkout: co, Quote: q, Form: form}
	if d.Shop, err = s.shop(ctx, t); err != nil {
		s.fail(c, err)
		return
	}
	d.Step = reachable(step, co, q)
	if postErr != nil {
		d.Error, d.Fields = errs.MessageOf(postErr), errs.FieldsOf(postErr)
		var ch *ChangedError
		if errors.As(postErr, &ch) {
			d.Quote.Notices = append(d.Quote.Notices, ch.Notices...)
			d.Error = ""
		}
	}
	switch d.Step {
	case stepContact:
		d.Title = "Information"
		d.Countries = shipping.Countries()
		d.Provinces = provincesJS(d.Countries)
	case stepShipping:
		d.Title = "Shipping"
	case stepPayment:
		d.Title = "Payment"
		if d.Methods, err = s.pay.Methods(ctx, t); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.write(c, status, "checkout", d)
}

// reachable is the step to show: the one asked for if the steps before it
// are done, else the first one not done.
func reachable(step string, co Checkout, q Quote) string {
	first := stepPayment
	switch {
	case co.Email == "" || co.ShippingAddress == nil:
		first = stepContact
	case q.RequiresShipping && q.Rate == nil:
		first = stepShipping
	}
	order := map[string]int{stepContact: 0, stepShipping: 1, stepPayment: 2}
	if n, ok := order[step]; ok && n <= order[first] {
		if step == stepShipping && !q.RequiresShipping {
			return first
		}
		return step
	}
	return first
}

// saveContact is POST /checkouts/{token}/contact.
func (s *Service) saveContact(c *gin.Context) {
	form, ok := s.form(c)
	if !ok {
		return
	}
	t := tenant.FromContext(c.Request.Context())
	in := Contact{Email: form.Get("email"), AcceptsMarketing: form.Get("accepts_marketing") != "",
		Address: shipping.Address{FirstName: form.Get("first_name"), LastName: form.Get("last_name"), Company: form.Get("company"),
			Address1: form.Get("address1"), Address2: form.Get("address2"), City: form.Get("city"),
			ProvinceCode: form.Get("province"), CountryCode: form.Get("country"), Zip: form.Get("zip"), Phone: form.Get("phone")}}
	s.after(c, s.SetContact(c.Request.Context(), t, c.Param("token"), in), stepContact, stepShipping, form)
}

// saveShipping is POST /checkouts/{token}/shipping.
func (s *Service) saveShipping(c *gin.Context) {
	form, ok := s.form(c)
	if !ok {
		return
	}
	t := tenant.FromContext(c.Request.Context())
	s.after(c, s.SetShippingRate(c.Request.Context(), t, c.Param("token"), form.Get("shipping_rate")), stepShipping, stepPayment, form)
}

// saveDiscount is POST /checkouts/{token}/discount: apply or remove a code.
func (s *Service) saveDiscount(c *gin.Context) {
	form, ok := s.form(c)
	if !ok {
		return
	}
	t := tenant.FromContext(c.Request.Context())
	code := form.Get("discount")
	if form.Get("remove") != "" {
		code = ""
	}
	s.after(c, s.SetDiscountCode(c.Request.Context(), t, c.Param("token"), code), stepPayment, stepPayment, form)
}

// complete is POST /checkouts/{token}/complete: place the order, then show
// its status page (where a card payment is made).
func (s *Service) complete(c *gin.Context) {
	form, ok := s.form(c)
	if !ok {
		return
	}
	ctx, t := c.Request.Context(), tenant.FromContext(c.Request.Context())
	cur, err := s.currency(ctx, t)
	if err != nil {
		s.fail(c, err)
		return
	}
	seen, err := cur.Parse(form.Get("total"))
	if err != nil {
		s.render(c, http.StatusUnprocessableEntity, stepPayment, errs.E(errs.Invalid, "Please review your order and confirm it again."), form)
		return
	}
	o, err := s.Complete(ctx, t, c.Param("token"), Completion{Method: form.Get("payment_method"), TotalSeen: seen})
	if err != nil {
		s.after(c, err, stepPayment, "", form)
		return
	}
	c.Redirect(http.StatusSeeOther, "/orders/"+o.Token)
}

// after answers a step's post: on to next, or the step again with what
// was wrong (422 for the shopper's mistakes, 409 for what changed).
func (s *Service) after(c *gin.Context, err error, step, next string, form url.Values) {
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/checkouts/"+c.Param("token")+"?step="+next)
	case errs.Is(err, errs.Invalid):
		s.render(c, http.StatusUnprocessableEntity, step, err, form)
	case errs.Is(err, errs.Conflict):
		s.render(c, http.StatusConflict, stepPayment, err, form)
	default:
		s.fail(c, err)
	}
}

// status is GET /orders/{token}: the order status page. A card order not
// yet paid shows Stripe's payment form.
func (s *Service) status(c *gin.Context) {
	ctx, t := c.Request.Context(), tenant.FromContext(c.Request.Context())
	o, shipments, err := s.Order(ctx, t, c.Param("token"))
	if err != nil {
		s.fail(c, err)
		return
	}
	d := pageData{Order: o, Shipments: shipments, Title: "Order " + o.Name}
	if d.Shop, err = s.shop(ctx, t); err != nil {
		s.fail(c, err)
		return
	}
	d.Quote.Currency, err = money.ParseCurrency(o.Currency)
	if err != nil {
		s.fail(c, err)
		return
	}
	if o.FinancialStatus == orders.FinancialPending && o.CancelledAt == nil {
		methods, err := s.pay.Methods(ctx, t)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, m := range methods {
			if m.Name == o.PaymentMethod && m.Provider == o.Gateway {
				d.Methods = []billing.Method{m}
			}
		}
		if o.Gateway == "stripe" {
			started, err := s.pay.Start(ctx, t, billing.Payment{Method: "stripe", OrderID: o.ID, OrderName: o.Name,
				Key: o.CheckoutToken + o.Token, Attempt: 1, Amount: o.TotalPrice, Currency: d.Quote.Currency, Email: o.Email})
			if err != nil {
				// The order stands; the shopper can come back and pay.
				s.log.Error("start card payment", "order", o.ID, "err", err)
				d.PayError = "Card payments are not available right now. Please reload this page in a moment."
			} else {
				d.Payment = &started
			}
		}
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer") // the URL is the key to the page
	s.write(c, http.StatusOK, "status", d)
}

// form reads a posted form, answering 400 itself when it cannot.
func (s *Service) form(c *gin.Context) (url.Values, bool) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	if err := c.Request.ParseForm(); err != nil {
		s.fail(c, errs.E(errs.Malformed, "the form could not be read"))
		return nil, false
	}
	return c.Request.PostForm, true
}

func (s *Service) write(c *gin.Context, status int, name string, d pageData) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, d); err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", b.Bytes())
}

// fail shows an error page: not found for unknown tokens, the message for
// the shopper's mistakes, "internal error" (logged) for ours.
func (s *Service) fail(c *gin.Context, err error) {
	status := web.Status(errs.KindOf(err))
	msg := errs.MessageOf(err)
	if status >= 500 {
		s.log.ErrorContext(c.Request.Context(), "request failed", "err", err, "request_id", web.RequestID(c.Request.Context()))
		msg = "Something went wrong on our side. Please try again in a moment."
	}
	if errs.KindOf(err) == errs.NotFound {
		msg = "This page does not exist. Your cart is still where you left it."
	}
	var b bytes.Buffer
	pages.ExecuteTemplate(&b, "error", map[string]any{"Status": status, "Message": msg})
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", b.Bytes())
}

func (s *Service) shop(ctx context.Context, t *tenant.Tenant) (shop.Shop, error) {
	var sh shop.Shop
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		sh, err = shop.ShopIn(tx)
		return err
	})
	return sh, err
}

func (s *Service) currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var cur money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		cur, err = shop.CurrencyIn(tx)
		return err
	})
	return cur, err
}

func (s *Service) orderOf(ctx context.Context, t *tenant.Tenant, id int64) (orders.Order, error) {
	var o orders.Order
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		o, err = orders.OrderIn(tx, id)
		return err
	})
	return o, err
}

// provincesJS is each country's regions, for the form's script that fills
// the region select when the country changes.
func provincesJS(list []shipping.Country) template.JS {
	m := map[string][]shipping.Province{}
	for _, c := range list {
		if len(c.Provinces) > 0 {
			m[c.Code] = c.Provinces
		}
	}
	b, _ := json.Marshal(m)
	return template.JS(strings.ReplaceAll(string(b), "</", `<\/`))
}
