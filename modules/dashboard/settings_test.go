package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// settingsShop is store st's settings, read through the shop service.
func (f *fixture) settingsShop(st *tenant.Tenant) shop.Shop {
	f.t.Helper()
	sh, err := shop.NewService(f.db, tenant.URLs{Scheme: "http", Domain: "localhost"}).Shop(context.Background(), st)
	if err != nil {
		f.t.Fatalf("Shop = %v", err)
	}
	return sh
}

// settingsZones is store st's shipping zones.
func (f *fixture) settingsZones(st *tenant.Tenant) []shipping.Zone {
	f.t.Helper()
	zs, err := shipping.NewService(f.db).Zones(context.Background(), st)
	if err != nil {
		f.t.Fatalf("Zones = %v", err)
	}
	return zs
}

// settingsStoreForm is a complete store details form.
func settingsStoreForm(name, email string) url.Values {
	return url.Values{"name": {name}, "email": {email}, "currency": {"USD"}, "timezone": {"UTC"}}
}

// TestSettingsStore: the owner saves the store's details; a bad email is
// refused on the page with nothing changed; the currency is fixed once
// there are orders; staff and viewers may look but not save; a post
// without the page's token is refused.
func TestSettingsStore(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("settings-shop")
	b := f.browser()
	b.mustLogin(acct.Email)

	home := b.get("/store/settings-shop")
	if !strings.Contains(home.body, `href="/store/settings-shop/settings"`) {
		t.Errorf("the owner's menu has no Settings item")
	}
	index := b.get("/store/settings-shop/settings")
	for _, want := range []string{"Store details", "Shipping", "Taxes", "Payments", "Notifications"} {
		if !strings.Contains(index.body, want) {
			t.Errorf("the settings index lacks %q", want)
		}
	}

	path := "/store/settings-shop/settings/store"
	page := b.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, `value="Store settings-shop"`) {
		t.Fatalf("GET %s = %d, want 200 with the store's name", path, page.status)
	}
	form := settingsStoreForm("Leaf & Co", "hello@leaf.example")
	form.Set("currency", "EUR")
	form.Set("timezone", "Europe/Paris")
	form.Set("taxes_included", "1")
	r := b.post(path, form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=saved" {
		t.Fatalf("POST %s = %d %s %.300s, want 303 back", path, r.status, r.header.Get("Location"), r.body)
	}
	sh := f.settingsShop(st)
	if sh.Name != "Leaf & Co" || sh.Email != "hello@leaf.example" || sh.Currency != "EUR" || sh.Timezone != "Europe/Paris" ||
		!sh.TaxesIncluded || sh.TaxShipping {
		t.Errorf("after saving, the shop is %+v", sh)
	}
	if page := b.get(path + "?done=saved"); !strings.Contains(page.body, "Store details saved.") {
		t.Errorf("after saving, the page shows no notice")
	}
	// Back to USD, the currency of the orders placed below: allowed while
	// the store has none.
	form.Set("currency", "USD")
	if r := b.post(path, form); r.status != http.StatusSeeOther {
		t.Fatalf("POST back to USD = %d %.300s, want 303", r.status, r.body)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"bad email", settingsStoreForm("Other name", "not-an-email"), "Contact email"},
		{"blank name", settingsStoreForm("  ", "a@example.com"), "Store name must be 1 to 255 characters"},
		{"bad time zone", func() url.Values {
			v := settingsStoreForm("Other name", "a@example.com")
			v.Set("timezone", "Mars/Olympus")
			return v
		}(), "is not a time zone name"},
	} {
		b.get(path)
		r := b.post(path, tc.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, "Nothing was saved") {
			t.Errorf("%s: POST %s = %d, want 422 saying %q", tc.name, path, r.status, tc.want)
		}
		if got := f.settingsShop(st); got.Name != "Leaf & Co" || got.Email != "hello@leaf.example" {
			t.Errorf("%s: a refused form changed the shop to %+v", tc.name, got)
		}
	}

	// Once there is an order, the currency is fixed.
	f.placeOrder(st, "ann@example.com", 1)
	page = b.get(path)
	if !strings.Contains(page.body, "The currency cannot change") {
		t.Errorf("with orders, the page still offers to change the currency")
	}
	form = settingsStoreForm("Leaf & Co", "hello@leaf.example")
	form.Set("currency", "GBP")
	r = b.post(path, form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "the store has orders") {
		t.Errorf("POST a new currency with orders = %d, want 422 saying the store has orders", r.status)
	}
	if got := f.settingsShop(st); got.Currency != "USD" {
		t.Errorf("the currency changed to %s with orders", got.Currency)
	}

	// Staff and viewers see the details and cannot save them.
	for _, role := range []tenant.Role{tenant.RoleStaff, tenant.RoleViewer} {
		other := f.browser()
		other.mustLogin(f.staff(st, role).Email)
		page := other.get(path)
		if page.status != http.StatusOK || strings.Contains(page.body, "Save store details") {
			t.Errorf("%s: GET %s = %d, want 200 without a save button", role, path, page.status)
		}
		r := other.post(path, settingsStoreForm("Taken over", "x@example.com"))
		if r.status != http.StatusForbidden || !strings.Contains(r.body, string(role)) {
			t.Errorf("%s: POST %s = %d, want 403 naming the role", role, path, r.status)
		}
	}

	// No token: refused.
	if r := b.do(http.MethodPost, path, settingsStoreForm("Forged", "x@example.com")); r.status != http.StatusForbidden {
		t.Errorf("POST %s without a CSRF token = %d, want 403", path, r.status)
	}
	if got := f.settingsShop(st); got.Name != "Leaf & Co" {
		t.Errorf("a refused post renamed the store to %q", got.Name)
	}
}

// TestSettingsShipping: the owner adds a zone with a rate and sees it, a
// bad country code is refused on the page, rates are added and removed,
// another store's zone is not found, and a viewer cannot change zones.
func TestSettingsShipping(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("ship-shop")
	_, other := f.owner("ship-other")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/ship-shop/settings/shipping"

	b.get(base)
	r := b.post(base+"/zones", url.Values{"name": {"Domestic"}, "countries": {"us, CA-QC"}, "rate_name": {"Standard"}, "rate_price": {"5.00"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != base+"?done=created" {
		t.Fatalf("POST zones = %d %s %.300s, want 303 back", r.status, r.header.Get("Location"), r.body)
	}
	zs := f.settingsZones(st)
	if len(zs) != 1 || zs[0].Name != "Domestic" || len(zs[0].Countries) != 2 || len(zs[0].Rates) != 1 || zs[0].Rates[0].Price != 500 {
		t.Fatalf("after adding, zones are %+v", zs)
	}
	page := b.get(base + "?done=created")
	for _, want := range []string{"Zone added.", "Domestic", "United States", "Canada (QC)", "Standard", "5.00 USD", "every order"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the shipping page lacks %q", want)
		}
	}

	r = b.post(base+"/zones", url.Values{"name": {"Nowhere"}, "countries": {"XX"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `&#34;XX&#34; is not an ISO 3166-1 country code`) ||
		!strings.Contains(r.body, `value="Nowhere"`) {
		t.Errorf("POST a zone with country XX = %d, want 422 naming XX and keeping the name", r.status)
	}
	if n := len(f.settingsZones(st)); n != 1 {
		t.Errorf("a refused zone was added: %d zones", n)
	}

	zone := fmt.Sprintf("%s/zones/%d", base, zs[0].ID)
	b.get(zone)
	r = b.post(zone+"/rates", url.Values{"kind": {"weight"}, "rate_name": {"Heavy"}, "rate_price": {"12.50"}, "rate_min": {"2"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST a weight rate = %d %.300s, want 303", r.status, r.body)
	}
	r = b.post(zone+"/rates", url.Values{"kind": {"price"}, "rate_name": {"Free"}, "rate_price": {"0"}, "rate_min": {"abc"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Minimum order value: must be a decimal amount") {
		t.Errorf("POST a rate with a bad minimum = %d, want 422 naming the minimum", r.status)
	}
	z := f.settingsZones(st)[0]
	if len(z.Rates) != 2 {
		t.Fatalf("after adding a weight rate and a refused one, the zone has %d rates, want 2", len(z.Rates))
	}
	page = b.get(zone)
	if !strings.Contains(page.body, "parcels of 2 kg and more") || !strings.Contains(page.body, "12.50 USD") {
		t.Errorf("the zone page does not show the weight rate")
	}
	r = b.post(fmt.Sprintf("%s/rates/%d/delete", zone, z.Rates[0].ID), url.Values{})
	if r.status != http.StatusSeeOther {
		t.Errorf("POST delete rate = %d, want 303", r.status)
	}
	if z := f.settingsZones(st)[0]; len(z.Rates) != 1 || z.Rates[0].Name != "Heavy" {
		t.Errorf("after deleting Standard, the rates are %+v", z.Rates)
	}
	b.get(zone)
	r = b.post(zone, url.Values{"name": {"Home"}, "countries": {"US"}})
	if r.status != http.StatusSeeOther {
		t.Errorf("POST zone edit = %d %.300s, want 303", r.status, r.body)
	}
	if z := f.settingsZones(st)[0]; z.Name != "Home" || len(z.Countries) != 1 || len(z.Rates) != 1 {
		t.Errorf("after the edit, the zone is %+v (its rate must stay)", z)
	}

	// Another store's zone under this store's slug: not found.
	// Ids are per store: the other store's third zone has an id this store
	// has never used.
	var oz shipping.Zone
	for i := range 3 {
		var err error
		oz, err = shipping.NewService(f.db).CreateZone(context.Background(), other, shipping.ZoneInput{Name: "Secret zone",
			Countries: []shipping.ZoneCountryInput{{Code: []string{"DE", "FR", "IT"}[i]}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	foreign := fmt.Sprintf("%s/zones/%d", base, oz.ID)
	if r := b.get(foreign); r.status != http.StatusNotFound || strings.Contains(r.body, "Secret zone") {
		t.Errorf("GET %s (another store's zone) = %d, want 404", foreign, r.status)
	}
	b.get(base)
	for _, p := range []string{foreign, foreign + "/delete", foreign + "/rates"} {
		if r := b.post(p, url.Values{"name": {"Mine"}, "countries": {"FR"}, "rate_name": {"X"}, "rate_price": {"1"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", p, r.status)
		}
	}
	if z, _ := shipping.NewService(f.db).Zone(context.Background(), other, oz.ID); z.Name != "Secret zone" || len(z.Rates) != 0 {
		t.Errorf("the other store's zone changed: %+v", z)
	}

	// A viewer sees the zones but cannot change them.
	v := f.browser()
	v.mustLogin(f.staff(st, tenant.RoleViewer).Email)
	if page := v.get(base); page.status != http.StatusOK || !strings.Contains(page.body, "Home") || strings.Contains(page.body, "Add zone") {
		t.Errorf("a viewer's GET shipping = %d, want 200 listing Home without the add form", page.status)
	}
	if r := v.post(zone+"/delete", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("a viewer's POST delete zone = %d, want 403", r.status)
	}
	if n := len(f.settingsZones(st)); n != 1 {
		t.Errorf("after a viewer's post there are %d zones, want 1", n)
	}
	if r := b.do(http.MethodPost, zone+"/delete", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("POST delete zone without a CSRF token = %d, want 403", r.status)
	}
}

// TestSettingsTaxes: the owner adds a country's rate in percent, a bad
// percentage is refused, and a province's rate is saved.
func TestSettingsTaxes(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("tax-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/tax-shop/settings/taxes"
	b.get(base)
	if r := b.post(base, url.Values{"code": {"DE"}, "rate": {"120"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Rate: must be a percentage") {
		t.Errorf("POST a rate of 120 %% = %d, want 422 naming the rate", r.status)
	}
	r := b.post(base, url.Values{"code": {"DE"}, "rate": {"19"}, "tax_name": {"MwSt"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST DE 19 %% = %d %.300s, want 303", r.status, r.body)
	}
	r = b.post(base, url.Values{"code": {"US"}, "rate": {"0"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST US 0 %% = %d %.300s, want 303", r.status, r.body)
	}
	cs, err := shipping.NewService(f.db).TaxCountries(context.Background(), st)
	if err != nil || len(cs) != 2 || cs[0].Code != "DE" || cs[0].Tax != 190000 || cs[0].TaxName != "MwSt" {
		t.Fatalf("tax countries = %+v, %v", cs, err)
	}
	page := b.get(base)
	if !strings.Contains(page.body, "Germany") || !strings.Contains(page.body, "19 %") {
		t.Errorf("the taxes page does not list Germany at 19 %%")
	}
	us := cs[1]
	if len(us.Provinces) == 0 {
		t.Fatalf("US has no provinces")
	}
	p := us.Provinces[0]
	path := fmt.Sprintf("%s/%d/provinces/%d", base, us.ID, p.ID)
	b.get(fmt.Sprintf("%s/%d", base, us.ID))
	if r := b.post(path, url.Values{"rate": {"7.25"}, "tax_name": {""}, "tax_type": {""}}); r.status != http.StatusSeeOther {
		t.Errorf("POST a province rate = %d %.300s, want 303", r.status, r.body)
	}
	got, _ := shipping.NewService(f.db).TaxProvince(context.Background(), st, us.ID, p.ID)
	if got.Tax != 72500 {
		t.Errorf("the province's rate is %d ppm, want 72500", got.Tax)
	}
}

// TestSettingsPayments: the owner turns a manual method off and edits its
// instructions; without Stripe on the fleet the page says so and offers no
// button; a viewer cannot change a method.
func TestSettingsPayments(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("pay-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/pay-shop/settings/payments"
	page := b.get(base)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Bank transfer") || !strings.Contains(page.body, "Cash on delivery") {
		t.Fatalf("GET payments = %d %.3000s, want both manual methods", page.status, page.body)
	}
	if !strings.Contains(page.body, "need the platform's operator to configure Stripe") || strings.Contains(page.body, "Connect Stripe") {
		t.Errorf("without Stripe, the page should say the operator must configure it, with no button")
	}
	r := b.post(base+"/methods/bank_transfer", url.Values{"instructions": {"IBAN DE00 1234"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST bank_transfer off = %d %.300s, want 303", r.status, r.body)
	}
	pay := billing.NewService(f.db, billing.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ms, err := pay.ManualMethods(context.Background(), st)
	if err != nil || len(ms) != 2 || ms[0].Enabled || ms[0].Instructions != "IBAN DE00 1234" || !ms[1].Enabled {
		t.Fatalf("after turning bank transfer off, methods are %+v, %v", ms, err)
	}
	offered, err := pay.Methods(context.Background(), st)
	if err != nil || len(offered) != 1 || offered[0].Code != "manual:cash_on_delivery" {
		t.Errorf("the checkout offers %+v, want cash on delivery only", offered)
	}
	b.get(base)
	if r := b.post(base+"/methods/bank_transfer", url.Values{"enabled": {"1"}, "instructions": {strings.Repeat("x", 4001)}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Instructions: is too long") {
		t.Errorf("POST too long instructions = %d, want 422 naming them", r.status)
	}
	if r := b.post(base+"/methods/no_such", url.Values{"enabled": {"1"}}); r.status != http.StatusNotFound {
		t.Errorf("POST an unknown method = %d, want 404", r.status)
	}
	if r := b.post(base+"/stripe", url.Values{}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("POST connect Stripe without Stripe = %d, want 422", r.status)
	}
	v := f.browser()
	v.mustLogin(f.staff(st, tenant.RoleViewer).Email)
	v.get(base)
	if r := v.post(base+"/methods/cash_on_delivery", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("a viewer's POST = %d, want 403", r.status)
	}
	if ms, _ := pay.ManualMethods(context.Background(), st); !ms[1].Enabled {
		t.Errorf("a viewer's post turned cash on delivery off")
	}
}

// TestSettingsNotifications: the kinds are listed; a Liquid syntax error
// in the order confirmation is shown with nothing saved; a good template
// is previewed, saved, and reset to the default.
func TestSettingsNotifications(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("mail-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/mail-shop/settings/notifications"
	list := b.get(base)
	for _, want := range []string{"Order confirmation", "Shipping confirmation", "Sent to the customer when they place an order"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the notifications list lacks %q", want)
		}
	}
	path := base + "/order_confirmation"
	page := b.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Order confirmation") {
		t.Fatalf("GET %s = %d", path, page.status)
	}
	svc := notifications.NewService(f.db, tenant.URLs{Scheme: "http", Domain: "localhost"})
	r := b.post(path, url.Values{"action": {"save"}, "subject": {"Thanks {{ order.name }}"},
		"body_html": {"<p>Hi</p>\n{% if order %}unclosed"}, "body_text": {"Hi"}})
	if r.status != http.StatusUnprocessableEntity || !regexp.MustCompile(`HTML body: line \d+`).MatchString(r.body) ||
		!strings.Contains(r.body, "unclosed") {
		t.Errorf("POST a Liquid syntax error = %d %.2000s, want 422 naming the HTML body's line and keeping the text", r.status, r.body)
	}
	if tpl, _ := svc.Template(context.Background(), st, notifications.OrderConfirmation); tpl.Customized {
		t.Errorf("a refused template was saved")
	}
	good := url.Values{"subject": {"Thanks for order {{ order.name }}"}, "body_html": {"<p>Hello {{ shop.name }}</p>"}, "body_text": {"Hello {{ shop.name }}"}}
	good.Set("action", "preview")
	r = b.post(path, good)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Thanks for order #") || !strings.Contains(r.body, "Hello Store mail-shop") {
		t.Errorf("POST preview = %d, want 200 showing the rendered sample", r.status)
	}
	good.Set("action", "save")
	r = b.post(path, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=saved" {
		t.Fatalf("POST a good template = %d %s %.300s, want 303", r.status, r.header.Get("Location"), r.body)
	}
	tpl, _ := svc.Template(context.Background(), st, notifications.OrderConfirmation)
	if !tpl.Customized || tpl.Subject != "Thanks for order {{ order.name }}" {
		t.Errorf("after saving, the template is %+v", tpl)
	}
	page = b.get(path + "?done=saved")
	if !strings.Contains(page.body, "Template saved") || !strings.Contains(page.body, "Reset to the default") {
		t.Errorf("after saving, the page shows no notice or no reset button")
	}
	if r := b.post(path+"/reset", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("POST reset = %d, want 303", r.status)
	}
	if tpl, _ := svc.Template(context.Background(), st, notifications.OrderConfirmation); tpl.Customized {
		t.Errorf("after reset, the template is still the store's own")
	}
	if r := b.get(base + "/no_such_kind"); r.status != http.StatusNotFound {
		t.Errorf("GET an unknown kind = %d, want 404", r.status)
	}
	v := f.browser()
	v.mustLogin(f.staff(st, tenant.RoleStaff).Email)
	v.get(path)
	if r := v.post(path, good); r.status != http.StatusForbidden {
		t.Errorf("staff's POST of a template = %d, want 403", r.status)
	}
}

// settingsStripeFixture is newFixture's dashboard with card payments on:
// the billing service talks to stripe-mock with a test key, and the
// dashboard's Stripe flag is set, as cmd/storefleet does when the fleet
// has Stripe keys.
func settingsStripeFixture(t *testing.T) *fixture {
	t.Helper()
	pay := billing.Config{SecretKey: "sk_test_123", PublishableKey: "pk_test_123", WebhookSecret: "whsec_test_123",
		APIURL: testenv.StripeMock(t)}
	if err := pay.Validate(); err != nil {
		t.Fatalf("billing.Config.Validate() = %v", err)
	}
	return newFixtureWith(t, pay)
}

// TestSettingsStripe: with Stripe on the fleet, the payments page offers
// "Connect Stripe"; the post sends the owner (303) to the onboarding link
// billing.ConnectLink returns, and the page then shows the store's Stripe
// account and its status; a viewer sees the page without the button and
// cannot post; a post without the page's token is refused.
func TestSettingsStripe(t *testing.T) {
	f := settingsStripeFixture(t)
	acct, st := f.owner("stripe-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	base := "/store/stripe-shop/settings/payments"

	v := f.browser()
	v.mustLogin(f.staff(st, tenant.RoleViewer).Email)
	if page := v.get(base); page.status != http.StatusOK || strings.Contains(page.body, "Connect Stripe") {
		t.Errorf("a viewer's GET payments = %d, want 200 without the Connect button", page.status)
	}
	if r := v.post(base+"/stripe", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("a viewer's POST connect = %d, want 403", r.status)
	}
	if r := b.do(http.MethodPost, base+"/stripe", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("POST connect without a CSRF token = %d, want 403", r.status)
	}
	if _, err := f.db.StripeAccount(context.Background(), st.ID); err == nil {
		t.Fatalf("refused posts connected a Stripe account")
	}

	page := b.get(base)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Connect Stripe") ||
		strings.Contains(page.body, "need the platform's operator") {
		t.Fatalf("GET payments with Stripe = %d %.2000s, want the Connect Stripe button", page.status, page.body)
	}
	r := b.post(base+"/stripe", url.Values{})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "https://") {
		t.Fatalf("POST connect = %d to %q %.300s, want 303 to Stripe's onboarding link", r.status, loc, r.body)
	}
	a, err := f.db.StripeAccount(context.Background(), st.ID)
	if err != nil || !strings.HasPrefix(a.StripeAccount, "acct_") {
		t.Fatalf("after connecting, the store's Stripe account = %+v, %v", a, err)
	}

	page = b.get(base + "?stripe=return")
	if !strings.Contains(page.body, "Welcome back from Stripe") || !strings.Contains(page.body, "<strong>"+a.StripeAccount+"</strong>") {
		t.Errorf("back from Stripe, the page lacks the notice or the account %s", a.StripeAccount)
	}
	status := "set-up not finished"
	switch {
	case a.ChargesEnabled:
		status = "taking card payments"
	case a.DetailsSubmitted:
		status = "waiting for Stripe's review"
	}
	if !strings.Contains(page.body, status) {
		t.Errorf("the page does not show the account's status %q", status)
	}
	if !a.ChargesEnabled && !strings.Contains(page.body, "Finish setting up Stripe") {
		t.Errorf("an account that cannot charge yet is not offered to finish the set-up")
	}
	if page := b.get(base + "?stripe=refresh"); !strings.Contains(page.body, "Connect Stripe again") {
		t.Errorf("after an expired link, the page does not say to connect again")
	}
}

// TestSettingsStoreAddress: the owner gives the store's address and sender
// email on the store details form and sees them again; an unknown country
// or a half address is refused on the page with the reason and nothing
// changes; a viewer cannot save; another store's details are not found.
func TestSettingsStoreAddress(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("address-shop")
	f.owner("address-other")
	b := f.browser()
	b.mustLogin(acct.Email)
	path := "/store/address-shop/settings/store"
	page := b.get(path)
	for _, want := range []string{`<label for="address1">`, `<label for="country_code">`, `<option value="FR">France</option>`, `<label for="customer_email">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the store details form lacks %q", want)
		}
	}
	form := settingsStoreForm("Leaf", "owner@leaf.example")
	for k, v := range map[string]string{"customer_email": "hello@leaf.example", "address1": "1 Rue de la Paix", "city": "Paris",
		"zip": "75002", "country_code": "FR", "phone": "+33 1 23 45 67 89"} {
		form.Set(k, v)
	}
	if r := b.post(path, form); r.status != http.StatusSeeOther {
		t.Fatalf("POST %s with an address = %d %.500s, want 303", path, r.status, r.body)
	}
	want := shop.Address{Address1: "1 Rue de la Paix", City: "Paris", Zip: "75002", CountryCode: "FR", Phone: "+33 1 23 45 67 89"}
	if sh := f.settingsShop(st); sh.Address != want || sh.CustomerEmail != "hello@leaf.example" || sh.ReplyEmail() != "hello@leaf.example" {
		t.Fatalf("after saving, the shop is %+v, want address %+v and sender hello@leaf.example", sh, want)
	}
	page = b.get(path)
	for _, want := range []string{`value="1 Rue de la Paix"`, `value="Paris"`, `<option value="FR" selected>France</option>`, `value="hello@leaf.example"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after saving, the form lacks %q", want)
		}
	}

	for _, tc := range []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"unknown country", map[string]string{"country_code": "XX"}, "Country: &#34;XX&#34; is not an ISO 3166-1 country code"},
		{"no city", map[string]string{"city": ""}, "City: can&#39;t be blank"},
		{"bad sender email", map[string]string{"customer_email": "nope"}, "Sender email"},
	} {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		for k, v := range tc.change {
			bad.Set(k, v)
		}
		b.get(path)
		r := b.post(path, bad)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, "Nothing was saved") {
			t.Errorf("%s: POST %s = %d, want 422 saying %q\n%.300s", tc.name, path, r.status, tc.want, r.body)
		}
		if sh := f.settingsShop(st); sh.Address != want || sh.CustomerEmail != "hello@leaf.example" {
			t.Errorf("%s: a refused form changed the shop to %+v", tc.name, sh)
		}
	}

	v := f.browser()
	v.mustLogin(f.staff(st, tenant.RoleViewer).Email)
	if page := v.get(path); page.status != http.StatusOK || !strings.Contains(page.body, `value="Paris"`) {
		t.Errorf("a viewer's GET %s = %d, want 200 showing the address", path, page.status)
	}
	moved := url.Values{}
	for k, vs := range form {
		moved[k] = vs
	}
	moved.Set("city", "Lyon")
	if r := v.post(path, moved); r.status != http.StatusForbidden {
		t.Errorf("a viewer's POST %s = %d, want 403", path, r.status)
	}
	if r := b.do(http.MethodPost, path, moved); r.status != http.StatusForbidden {
		t.Errorf("POST %s without a CSRF token = %d, want 403", path, r.status)
	}
	if sh := f.settingsShop(st); sh.Address.City != "Paris" {
		t.Errorf("refused posts moved the store to %s", sh.Address.City)
	}
	if r := b.get("/store/address-other/settings/store"); r.status != http.StatusNotFound {
		t.Errorf("GET another store's details = %d, want 404", r.status)
	}
}
