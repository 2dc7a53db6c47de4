package dashboard

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
)

// The settings screens (issue 7): an index, the store's details, shipping
// zones and rates, tax rates, payment methods and notification emails. Each
// calls the services the Admin API's handlers call, so the rules are the
// same; reading needs read on the section's casbin object ("shop", or
// "shipping" for zones and taxes, as shipping_zones.json), saving write.

// settingsSection is a card of the settings index.
type settingsSection struct {
	Title, Text, Path string
}

// settingsPage is the settings index.
type settingsPage struct {
	Sections []settingsSection
}

// settings lists the settings sections the member's role may see.
func (d *Dashboard) settings(c *gin.Context) {
	m := memberOf(c)
	base := "/store/" + m.Store.Slug + "/settings"
	all := []struct {
		obj string
		settingsSection
	}{
		{"shop", settingsSection{"Store details", "Name, emails, address, currency, time zone, and how prices include tax.", base + "/store"}},
		{"shipping", settingsSection{"Shipping", "Where you ship, and what each shipping method costs.", base + "/shipping"}},
		{"shipping", settingsSection{"Taxes", "Tax rates by country and province.", base + "/taxes"}},
		{"shop", settingsSection{"Payments", "Bank transfer, cash on delivery and card payments.", base + "/payments"}},
		{"shop", settingsSection{"Notifications", "The emails your customers receive, and their wording.", base + "/notifications"}},
	}
	var page settingsPage
	for _, s := range all {
		ok, err := d.Allowed(m, s.obj, rbac.Read)
		if err != nil {
			d.failErr(c, err)
			return
		}
		if ok {
			page.Sections = append(page.Sections, s.settingsSection)
		}
	}
	d.render(c, http.StatusOK, "settings", "Settings", page)
}

// settingsBase is the address of the settings of the member's store.
func settingsBase(c *gin.Context) string { return "/store/" + memberOf(c).Store.Slug + "/settings" }

// canWrite says whether the member may change obj; the pages show their
// forms' buttons only then (the routes refuse the posts all the same).
func (d *Dashboard) canWrite(c *gin.Context, obj string) (bool, error) {
	return d.Allowed(memberOf(c), obj, rbac.Write)
}

// fieldLabels name the service's fields as the settings forms label them.
var fieldLabels = map[string]string{
	"name": "Name", "email": "Contact email", "currency": "Currency", "timezone": "Time zone",
	"customer_email": "Sender email", "address1": "Address", "address2": "Apartment, suite, etc.", "city": "City",
	"province_code": "Province or state", "zip": "Postal code", "country_code": "Country", "phone": "Phone",
	"countries": "Countries", "code": "Country", "provinces": "Provinces", "price": "Price",
	"min_order_subtotal": "Minimum order value", "max_order_subtotal": "Maximum order value",
	"weight_low": "Minimum weight", "weight_high": "Maximum weight", "tax": "Rate", "tax_name": "Tax name",
	"tax_type": "Tax type", "instructions": "Instructions", "subject": "Subject", "body_html": "HTML body",
	"body_text": "Text body", "base": "",
}

// problems are an Invalid error's messages as sentences a merchant can act
// on ("Price: must be a decimal amount like 19.99"), sorted by field; its
// message alone when it names no fields.
func problems(err error) []string {
	fields := errs.FieldsOf(err)
	if len(fields) == 0 {
		return []string{errs.MessageOf(err)}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		name := k
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		label, ok := fieldLabels[name]
		if !ok {
			label = strings.ReplaceAll(name, "_", " ")
		}
		for _, msg := range fields[k] {
			if label == "" {
				out = append(out, msg)
			} else {
				out = append(out, label+": "+msg)
			}
		}
	}
	return out
}

// userError says whether err is one the merchant can act on, shown on the
// form with 422, rather than a page of its own.
func userError(err error) bool {
	return errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) || errs.Is(err, errs.Malformed)
}

// currencies are the currencies the store details offer: the common ones,
// each known to internal/money; a store's own is added when it is not here.
var currencies = []string{"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "INR", "JPY",
	"KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "USD", "ZAR"}

// storeForm is the store details page.
type storeForm struct {
	Name, Email, CustomerEmail, Currency, Timezone string
	TaxesIncluded, TaxShipping                     bool
	Address                                        shop.Address
	Currencies                                     []string
	Countries                                      []shipping.Country
	HasOrders, CanWrite                            bool
	Flash                                          string
	Problems                                       []string
	Errors                                         map[string][]string
}

// settingsStore shows the store's details.
func (d *Dashboard) settingsStore(c *gin.Context) {
	sh, err := d.cfg.Shop.Shop(c.Request.Context(), memberOf(c).Store)
	if err != nil {
		d.failErr(c, err)
		return
	}
	form := storeForm{Name: sh.Name, Email: sh.Email, CustomerEmail: sh.CustomerEmail, Currency: sh.Currency, Timezone: sh.Timezone,
		TaxesIncluded: sh.TaxesIncluded, TaxShipping: sh.TaxShipping, Address: sh.Address}
	if c.Query("done") == "saved" {
		form.Flash = "Store details saved."
	}
	d.showStore(c, http.StatusOK, form)
}

// showStore renders the store details form with status.
func (d *Dashboard) showStore(c *gin.Context, status int, form storeForm) {
	var err error
	if form.HasOrders, err = d.hasOrders(c); err != nil {
		d.failErr(c, err)
		return
	}
	if form.CanWrite, err = d.canWrite(c, "shop"); err != nil {
		d.failErr(c, err)
		return
	}
	form.Countries = shipping.Countries()
	form.Currencies = currencies
	if form.Currency != "" && !slices.Contains(currencies, form.Currency) {
		form.Currencies = append(slices.Clone(currencies), form.Currency)
		slices.SortFunc(form.Currencies, cmp.Compare)
	}
	d.render(c, status, "settings_store", "Store details", form)
}

// hasOrders says whether the store has any order, which fixes its currency:
// the form then shows the currency without offering to change it (the shop
// service refuses the change all the same).
func (d *Dashboard) hasOrders(c *gin.Context) (bool, error) {
	n, err := d.cfg.Orders.CountOrders(c.Request.Context(), memberOf(c).Store, orders.Query{Status: "any"})
	return n > 0, err
}

// saveStore saves the store's details with shop.UpdateSettings (shop.json's
// rules, plus the time zone and the currency); the service refuses a
// currency change once the store has orders, as their amounts are in the
// old one, and the form shows why.
func (d *Dashboard) saveStore(c *gin.Context) {
	form := storeForm{Name: c.PostForm("name"), Email: strings.TrimSpace(c.PostForm("email")),
		CustomerEmail: strings.TrimSpace(c.PostForm("customer_email")),
		Currency:      strings.ToUpper(strings.TrimSpace(c.PostForm("currency"))), Timezone: strings.TrimSpace(c.PostForm("timezone")),
		TaxesIncluded: c.PostForm("taxes_included") != "", TaxShipping: c.PostForm("tax_shipping") != "",
		Address: shop.Address{Address1: c.PostForm("address1"), Address2: c.PostForm("address2"), City: c.PostForm("city"),
			ProvinceCode: c.PostForm("province_code"), Zip: c.PostForm("zip"), CountryCode: c.PostForm("country_code"),
			Phone: c.PostForm("phone")}}
	a := &form.Address
	in := shop.Settings{Update: shop.Update{Name: &form.Name, Email: &form.Email, CustomerEmail: &form.CustomerEmail,
		TaxesIncluded: &form.TaxesIncluded, TaxShipping: &form.TaxShipping,
		Address: shop.AddressUpdate{Address1: &a.Address1, Address2: &a.Address2, City: &a.City, ProvinceCode: &a.ProvinceCode,
			Zip: &a.Zip, CountryCode: &a.CountryCode, Phone: &a.Phone}},
		Timezone: &form.Timezone}
	if form.Currency != "" {
		in.Currency = &form.Currency
	}
	if _, err := d.cfg.Shop.UpdateSettings(c.Request.Context(), memberOf(c).Store, in); err != nil {
		d.storeFailed(c, form, err)
		return
	}
	c.Redirect(http.StatusSeeOther, settingsBase(c)+"/store?done=saved")
}

// storeFailed shows the form again with what was typed and err, when the
// merchant can act on it.
func (d *Dashboard) storeFailed(c *gin.Context, form storeForm, err error) {
	if !userError(err) {
		d.failErr(c, err)
		return
	}
	form.Problems, form.Errors = problems(err), errs.FieldsOf(err)
	d.showStore(c, http.StatusUnprocessableEntity, form)
}
