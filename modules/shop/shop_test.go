package shop_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

var testURLs = tenant.URLs{Scheme: "http", Domain: "localhost"}

// newShopHarness serves shop.json.
func newShopHarness(t *testing.T) *appstest.Harness {
	t.Helper()
	return appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{shop.NewService(db, testURLs)}
	})
}

func ptr[T any](v T) *T { return &v }

// TestUpdateShop: the owner (and admins) change the store's name and tax
// settings through PUT shop.json; staff, viewers and apps cannot; a bad
// email is refused and nothing changes; another store's owner gets nothing.
func TestUpdateShop(t *testing.T) {
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{shop.NewService(db, tenant.URLs{Scheme: "http", Domain: "localhost"})}
	})
	a, b := h.Store("shop-a"), h.Store("shop-b")
	owner := h.Staff(a, tenant.RoleOwner)

	r := h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"name": "  Tea & Co  ", "taxes_included": true, "tax_shipping": true}}`)
	if r.Status != 200 || !strings.Contains(r.Body, `"name":"Tea \u0026 Co"`) || !strings.Contains(r.Body, `"taxes_included":true`) ||
		!strings.Contains(r.Body, `"tax_shipping":true`) {
		t.Fatalf("PUT shop.json as owner = %d %s, want the new name and tax settings", r.Status, r.Body)
	}
	if r := h.Do(a, h.Token(a, "read_products"), "GET", "/shop.json", ""); !strings.Contains(r.Body, `"taxes_included":true`) {
		t.Errorf("GET shop.json after the change = %s", r.Body)
	}
	if r := h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"email": "not an email", "taxes_included": false}}`); r.Status != 422 || !strings.Contains(r.Body, "email") {
		t.Errorf("PUT a bad email = %d %s, want 422 naming the email", r.Status, r.Body)
	}
	if r := h.Do(a, owner, "GET", "/shop.json", ""); !strings.Contains(r.Body, `"taxes_included":true`) {
		t.Errorf("a refused PUT changed the shop: %s", r.Body)
	}
	for name, who := range map[string]string{
		"staff":  h.Staff(a, tenant.RoleStaff),
		"viewer": h.Staff(a, tenant.RoleViewer),
		"an app": h.Token(a, "write_products", "write_orders", "write_shipping"),
	} {
		if r := h.Do(a, who, "PUT", "/shop.json", `{"shop": {"taxes_included": false}}`); r.Status != 403 {
			t.Errorf("PUT shop.json as %s = %d, want 403", name, r.Status)
		}
	}
	if r := h.Do(b, owner, "PUT", "/shop.json", `{"shop": {"name": "Taken"}}`); r.Status != 401 && r.Status != 403 {
		t.Errorf("store A's owner PUT on store B = %d, want 401 or 403", r.Status)
	}
	if r := h.Do(b, h.Token(b, "read_products"), "GET", "/shop.json", ""); strings.Contains(r.Body, "Taken") || strings.Contains(r.Body, `"taxes_included":true`) {
		t.Errorf("store B changed: %s", r.Body)
	}
}

// TestShopAddress: the owner sets the store's address and sender email
// through PUT shop.json and reads them back with Shopify's names; a partial
// change keeps the other fields; an incomplete address, an unknown country
// or a bad sender email is refused with 422 naming the field, and nothing
// changes; another store shows none of it.
func TestShopAddress(t *testing.T) {
	h := newShopHarness(t)
	a, b := h.Store("addr-a"), h.Store("addr-b")
	owner := h.Staff(a, tenant.RoleOwner)

	r := h.Do(a, owner, "GET", "/shop.json", "")
	if r.Status != 200 || !strings.Contains(r.Body, `"address1":""`) || !strings.Contains(r.Body, `"country_code":""`) {
		t.Fatalf("GET shop.json of a new store = %d %s, want an empty address", r.Status, r.Body)
	}
	r = h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"address1": " 1 Rue de la Paix ", "city": "Paris", "zip": "75002",
		"country_code": "fr", "phone": "+33 1 23 45 67 89", "customer_email": " hello@leaf.example "}}`)
	if r.Status != 200 {
		t.Fatalf("PUT shop.json with an address = %d %s, want 200", r.Status, r.Body)
	}
	for _, want := range []string{`"address1":"1 Rue de la Paix"`, `"city":"Paris"`, `"zip":"75002"`, `"country_code":"FR"`,
		`"country_name":"France"`, `"phone":"+33 1 23 45 67 89"`, `"customer_email":"hello@leaf.example"`, `"province_code":""`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("PUT shop.json answered %s, want %s", r.Body, want)
		}
	}
	r = h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"address2": "2nd floor"}}`)
	if r.Status != 200 || !strings.Contains(r.Body, `"address2":"2nd floor"`) || !strings.Contains(r.Body, `"city":"Paris"`) {
		t.Errorf("PUT address2 alone = %d %s, want it set and the rest kept", r.Status, r.Body)
	}

	for _, tc := range []struct {
		name, body, field string
	}{
		{"blank city", `{"shop": {"city": " "}}`, "city"},
		{"unknown country", `{"shop": {"country_code": "XX"}}`, "country_code"},
		{"a region, not a country", `{"shop": {"country_code": "EU"}}`, "country_code"},
		{"three letters", `{"shop": {"country_code": "FRA"}}`, "country_code"},
		{"overlong province", `{"shop": {"province_code": "` + strings.Repeat("Q", 11) + `"}}`, "province_code"},
		{"bad sender email", `{"shop": {"customer_email": "not an email"}}`, "customer_email"},
	} {
		r := h.Do(a, owner, "PUT", "/shop.json", tc.body)
		if r.Status != 422 || !strings.Contains(r.Body, `"`+tc.field+`"`) {
			t.Errorf("%s: PUT %s = %d %s, want 422 naming %s", tc.name, tc.body, r.Status, r.Body, tc.field)
		}
	}
	r = h.Do(a, owner, "GET", "/shop.json", "")
	if !strings.Contains(r.Body, `"city":"Paris"`) || !strings.Contains(r.Body, `"country_code":"FR"`) ||
		!strings.Contains(r.Body, `"customer_email":"hello@leaf.example"`) {
		t.Errorf("refused PUTs changed the shop: %s", r.Body)
	}

	// A store that has no address yet cannot get half of one.
	ob := h.Staff(b, tenant.RoleOwner)
	if r := h.Do(b, ob, "PUT", "/shop.json", `{"shop": {"city": "Lyon"}}`); r.Status != 422 ||
		!strings.Contains(r.Body, "address1") || !strings.Contains(r.Body, "country_code") {
		t.Errorf("PUT a city alone on an empty address = %d %s, want 422 naming address1 and country_code", r.Status, r.Body)
	}
	if r := h.Do(b, h.Token(b, "read_products"), "GET", "/shop.json", ""); strings.Contains(r.Body, "Paris") ||
		strings.Contains(r.Body, "leaf.example") || strings.Contains(r.Body, "Lyon") {
		t.Errorf("store B shows another store's address or a refused one: %s", r.Body)
	}
	if r := h.Do(b, owner, "GET", "/shop.json", ""); r.Status != 401 && r.Status != 403 {
		t.Errorf("store A's owner GET on store B = %d, want 401 or 403", r.Status)
	}

	// The whole address can be removed; the sender email falls back to the
	// contact email.
	r = h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"email": "owner@leaf.example", "customer_email": "", "address1": "", "address2": "",
		"city": "", "zip": "", "country_code": "", "phone": ""}}`)
	if r.Status != 200 || !strings.Contains(r.Body, `"address1":""`) || !strings.Contains(r.Body, `"customer_email":"owner@leaf.example"`) {
		t.Errorf("PUT an empty address = %d %s, want it cleared and customer_email = email", r.Status, r.Body)
	}
}

// TestShopOpenAPI holds openapi.yaml's description of shop.json to real
// requests and responses.
func TestShopOpenAPI(t *testing.T) {
	h := newShopHarness(t)
	st := h.Store("shop-openapi")
	owner := h.Staff(st, tenant.RoleOwner)
	h.Checked(st, owner, "GET", "/shop.json", "", 200)
	h.Checked(st, owner, "PUT", "/shop.json", `{"shop": {"address1": "5 Main St", "city": "Springfield", "province_code": "IL",
		"zip": "62701", "country_code": "US", "customer_email": "help@example.com"}}`, 200)
	h.Checked(st, owner, "PUT", "/shop.json", `{"shop": {"country_code": "XX"}}`, 422)
	h.Checked(st, owner, "GET", "/shop.json", "", 200)
}

// placeTestOrder places an order of 12.50 in cur in tx.
func placeTestOrder(tx *gorm.DB, cur string) error {
	_, err := orders.PlaceIn(tx, orders.NewOrder{Email: "ann@example.com", Currency: cur,
		Lines:         []orders.NewLine{{Title: "Tea", Quantity: 1, Price: 1250}},
		SubtotalPrice: 1250, TotalPrice: 1250, Gateway: "manual", SourceName: "web",
		InventoryBehaviour: orders.InventoryBypass, Actor: "test"})
	return err
}

// TestCurrencyRule: the currency changes while the store has no order and
// is refused (Conflict, naming the currency) once it has one, the other
// settings still saving; an order being placed (its transaction holding
// the currency with LockCurrencyIn) makes a concurrent change wait for it,
// then refuse.
func TestCurrencyRule(t *testing.T) {
	h := newShopHarness(t)
	ctx := context.Background()
	svc := shop.NewService(h.DB, testURLs)
	st := h.Store("currency-rule")

	sh, err := svc.UpdateSettings(ctx, st, shop.Settings{Currency: ptr("eur")})
	if err != nil || sh.Currency != "EUR" {
		t.Fatalf("UpdateSettings(EUR) without orders = %+v, %v; want EUR", sh, err)
	}
	if _, err := svc.UpdateSettings(ctx, st, shop.Settings{Currency: ptr("EUX")}); !errs.Is(err, errs.Invalid) {
		t.Errorf("UpdateSettings(EUX) = %v, want Invalid", err)
	}

	// An order is being placed: it holds the currency. A change started
	// meanwhile waits, then sees the order and refuses.
	locked, release := make(chan struct{}), make(chan struct{})
	placed := make(chan error, 1)
	go func() {
		placed <- h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
			cur, err := shop.LockCurrencyIn(tx)
			if err != nil {
				return err
			}
			close(locked)
			<-release
			return placeTestOrder(tx, cur.Code)
		})
	}()
	<-locked
	changed := make(chan error, 1)
	go func() {
		_, err := svc.UpdateSettings(ctx, st, shop.Settings{Currency: ptr("USD")})
		changed <- err
	}()
	select {
	case err := <-changed:
		t.Fatalf("UpdateSettings(USD) returned %v while an order was being placed, want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-placed; err != nil {
		t.Fatalf("placing the order = %v", err)
	}
	err = <-changed
	if !errs.Is(err, errs.Conflict) || !strings.Contains(errs.FieldsOf(err)["currency"][0], "the store has orders") {
		t.Errorf("UpdateSettings(USD) after the order = %v (fields %v), want Conflict naming the currency", err, errs.FieldsOf(err))
	}
	if sh, _ := svc.Shop(ctx, st); sh.Currency != "EUR" {
		t.Errorf("with an order, the currency changed to %s", sh.Currency)
	}

	// The same currency, and the other settings, still save.
	sh, err = svc.UpdateSettings(ctx, st, shop.Settings{Update: shop.Update{Name: ptr("Renamed")}, Currency: ptr("EUR")})
	if err != nil || sh.Name != "Renamed" {
		t.Errorf("UpdateSettings(name, same currency) with orders = %+v, %v; want saved", sh, err)
	}
	if c, err := svc.Currency(ctx, st); err != nil || c != money.MustCurrency("EUR") {
		t.Errorf("Currency = %v, %v; want EUR", c, err)
	}
}

// TestEmailFooter: the default customer emails show the store's address
// in their footer (HTML and text) once it has one, and no address line
// before; the reply address is the sender email, else the contact email.
func TestEmailFooter(t *testing.T) {
	addr := shop.Address{Address1: "1 Rue de la Paix", City: "Paris", Zip: "75002", CountryCode: "FR"}
	if got, want := addr.Summary(), "1 Rue de la Paix, Paris 75002, France"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	for _, kind := range []notifications.Kind{notifications.PasswordReset, notifications.OrderConfirmation} {
		d := notifications.Data{Shop: notifications.Shop{Name: "Leaf", Email: "hello@leaf.example", URL: "http://leaf.localhost", Currency: "EUR"},
			Customer: notifications.Customer{FirstName: "Ann", Email: "ann@example.com"}, URL: "http://leaf.localhost/reset"}
		if kind == notifications.OrderConfirmation {
			d.Order = &orders.Order{Name: "#1001", Currency: "EUR", Email: "ann@example.com"}
		}
		bare, err := notifications.Default(kind).Render(context.Background(), d)
		if err != nil {
			t.Fatalf("%s: Render without an address = %v", kind, err)
		}
		if strings.Contains(bare.HTML, "font-size:.8rem") || strings.Contains(bare.Text, "France") {
			t.Errorf("%s: without an address, the footer has an address line:\n%s", kind, bare.Text)
		}
		d.Shop.Address = addr
		e, err := notifications.Default(kind).Render(context.Background(), d)
		if err != nil {
			t.Fatalf("%s: Render = %v", kind, err)
		}
		if !strings.Contains(e.HTML, "Leaf · 1 Rue de la Paix, Paris 75002, France") || !strings.Contains(e.Text, "Leaf\n1 Rue de la Paix, Paris 75002, France") {
			t.Errorf("%s: the footer lacks the address:\n%s\n%s", kind, e.HTML, e.Text)
		}
	}
	for _, tc := range []struct{ email, customer, want string }{
		{"owner@x.example", "", "owner@x.example"},
		{"owner@x.example", "help@x.example", "help@x.example"},
		{"", "", ""},
	} {
		if got := (shop.Shop{Email: tc.email, CustomerEmail: tc.customer}).ReplyEmail(); got != tc.want {
			t.Errorf("Shop{Email: %q, CustomerEmail: %q}.ReplyEmail() = %q, want %q", tc.email, tc.customer, got, tc.want)
		}
	}
}

// TestAddressCountries: every country the dashboard's form offers (the
// checkout's list, shipping.Countries) is one the shop service accepts.
func TestAddressCountries(t *testing.T) {
	h := newShopHarness(t)
	svc := shop.NewService(h.DB, testURLs)
	st := h.Store("countries")
	for _, c := range shipping.Countries() {
		in := shop.Update{Address: shop.AddressUpdate{Address1: ptr("1 Main St"), City: ptr("Town"), CountryCode: ptr(c.Code)}}
		if _, err := svc.UpdateShop(context.Background(), st, in); err != nil {
			t.Errorf("UpdateShop(country %s, %s) = %v", c.Code, c.Name, err)
		}
	}
}
