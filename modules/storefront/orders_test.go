package storefront_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// register signs s up as a new customer of its store, leaves s logged in,
// and returns the customer's id.
func (s *shopper) register(st *tenant.Tenant, email string) int64 {
	s.f.t.Helper()
	const password = "tea-for-two-2026"
	r := s.postForm("/account", url.Values{"customer[email]": {email}, "customer[password]": {password},
		"customer[first_name]": {"Ann"}, "customer[last_name]": {"Lee"}})
	if r.status != 303 {
		s.f.t.Fatalf("POST /account (register %s) = %d %.300s, want 303", email, r.status, r.body)
	}
	cu, err := customers.NewService(s.f.db).Login(context.Background(), st, email, password)
	if err != nil {
		s.f.t.Fatalf("Login(%s) = %v", email, err)
	}
	return cu.ID
}

// placeOrder places an order of qty of p's first variant (4.50 each) with
// 5.00 shipping, for customer (nil: a guest), as checkout does.
func (f *fixture) placeOrder(st *tenant.Tenant, customer *int64, email string, p catalog.Product, qty int64) orders.Order {
	f.t.Helper()
	v := p.Variants[0]
	sub := v.Price * money.Amount(qty)
	n := orders.NewOrder{Email: email, CustomerID: customer, Currency: "USD",
		Lines: []orders.NewLine{{VariantID: &v.ID, ProductID: &p.ID, Title: p.Title, VariantTitle: v.Title(), SKU: v.SKU,
			Quantity: qty, Price: v.Price, RequiresShipping: true, Taxable: true, Tracked: true}},
		ShippingAddress: &orders.Address{FirstName: "<b>Ann</b>", LastName: "Lee", Address1: "1 Tea Road", City: "Leeds",
			Zip: "LS1 1AA", Country: "United Kingdom", CountryCode: "GB"},
		ShippingLines: []orders.ShippingLine{{Title: "Standard", Code: "std", Price: 500}},
		SubtotalPrice: sub, TotalShipping: 500, TotalPrice: sub + 500, Gateway: "manual", SourceName: "web",
		InventoryBehaviour: orders.InventoryBypass, Actor: "test"}
	var o orders.Order
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.PlaceIn(tx, n)
		return err
	})
	if err != nil {
		f.t.Fatalf("PlaceIn = %v", err)
	}
	return o
}

// useBuiltin makes built-in theme name st's published theme.
func (f *fixture) useBuiltin(st *tenant.Tenant, name string) {
	f.t.Helper()
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE themes SET builtin = ?, version = version + 1 WHERE role = 'main'`, name).Error
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func wantIn(t *testing.T, call string, r answer, status int, want, not []string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d, want %d:\n%.600s", call, r.status, status, r.body)
	}
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("%s lacks %q", call, w)
		}
	}
	for _, w := range not {
		if strings.Contains(r.body, w) {
			t.Errorf("%s shows %q", call, w)
		}
	}
}

// TestCustomerOrders walks a customer's order history in both built-in
// themes: the list on /account, one order at /account/orders/{token}, and
// nobody else's orders — not another customer's, not a guest's with the
// same email, not another store's.
func TestCustomerOrders(t *testing.T) {
	f := newFixture(t)
	for _, theme := range []string{"harbor", "monolith"} {
		t.Run(theme, func(t *testing.T) {
			st, other := f.store("front-orders-"+theme), f.store("front-orders-other-"+theme)
			f.useBuiltin(st, theme)
			p := f.product(st, "Sencha")
			ann := f.shopper(st)
			annID := ann.register(st, "ann@example.com")
			wantIn(t, "GET /account with no orders", ann.get("/account"), 200, []string{"placed any orders yet"}, []string{"orders-table"})

			o := f.placeOrder(st, &annID, "ann@example.com", p, 2)
			guest := f.placeOrder(st, nil, "ann@example.com", p, 1) // a guest order with Ann's email is not hers
			bob := f.shopper(st)
			bobID := bob.register(st, "bob@example.com")
			bobs := f.placeOrder(st, &bobID, "bob@example.com", p, 1)

			theirs := "/account/orders/" + o.Token
			wantIn(t, "GET /account", ann.get("/account"), 200,
				[]string{o.Name, `href="` + theirs + `"`, "$14.00", "Pending", "Unfulfilled"},
				[]string{guest.Name, bobs.Name, "placed any orders yet"})
			page := ann.get(theirs)
			if cc := page.header.Get("Cache-Control"); cc != "private, no-store" {
				t.Errorf("GET %s Cache-Control = %q, want private, no-store", theirs, cc)
			}
			wantIn(t, "GET "+theirs, page, 200,
				[]string{"Order " + o.Name, "Sencha", "Small", "Sencha-S", "$4.50", "$9.00", "$5.00", "Standard", "$14.00 USD",
					"Pending", "Unfulfilled", "&lt;b&gt;Ann&lt;/b&gt; Lee", "1 Tea Road", "Leeds",
					fmt.Sprintf(`href="/products/sencha?variant=%d"`, p.Variants[0].ID)},
				[]string{"<b>Ann</b>"})
			wantIn(t, "GET /account (bob)", bob.get("/account"), 200, []string{bobs.Name}, []string{o.Name + "<", guest.Name})

			// Nobody else sees it: another customer, a guest's order with the
			// same email, a made-up token, another store's customer.
			notFound := []string{"Page not found"}
			wantIn(t, "bob GET "+theirs, bob.get(theirs), 404, notFound, []string{"Sencha-S"})
			wantIn(t, "ann GET a guest order", ann.get("/account/orders/"+guest.Token), 404, notFound, nil)
			wantIn(t, "ann GET a made-up token", ann.get("/account/orders/"+strings.Repeat("0", 32)), 404, notFound, nil)
			elsewhere := f.shopper(other)
			elsewhere.register(other, "ann@example.com")
			wantIn(t, "another store's customer GET "+theirs+" on their store", elsewhere.get(theirs), 404, notFound, nil)
			// That customer's session cookie, sent to this store, is nobody's.
			from, _ := url.Parse("http://" + other.Slug + ".localhost/")
			to, _ := url.Parse("http://" + st.Slug + ".localhost/")
			elsewhere.c.Jar.SetCookies(to, elsewhere.c.Jar.Cookies(from))
			elsewhere.host = st.Slug + ".localhost"
			if r := elsewhere.get(theirs); r.status != 303 {
				t.Errorf("GET %s with another store's session = %d, want a redirect to log in", theirs, r.status)
			}

			// Logged out: sent to log in, for the list and for an order.
			for _, path := range []string{"/account", theirs} {
				r := f.shopper(st).get(path)
				if r.status != 303 || r.header.Get("Location") != "/account/login" {
					t.Errorf("GET %s logged out = %d %v, want 303 to /account/login", path, r.status, r.header.Get("Location"))
				}
			}

			// A cancelled order says so, with its reason.
			if _, err := orders.NewService(f.db).CancelOrder(context.Background(), st, o.ID, orders.CancelRequest{Reason: "inventory", Actor: "test"}); err != nil {
				t.Fatalf("CancelOrder = %v", err)
			}
			wantIn(t, "GET /account after a cancel", ann.get("/account"), 200, []string{o.Name, "Cancelled"}, nil)
			wantIn(t, "GET "+theirs+" after a cancel", ann.get(theirs), 200, []string{"This order was cancelled.", "Items unavailable"}, nil)
		})
	}
}

// TestCustomerOrdersPaginated checks customer.orders pages by 20, newest
// first, and the customer's counts a theme can show.
func TestCustomerOrdersPaginated(t *testing.T) {
	f := newFixture(t)
	st := f.store("front-orders-pages")
	p := f.product(st, "Sencha")
	ann := f.shopper(st)
	annID := ann.register(st, "ann@example.com")
	var placed []orders.Order
	for i := 0; i < 22; i++ {
		placed = append(placed, f.placeOrder(st, &annID, "ann@example.com", p, 1))
	}
	first, last := placed[0], placed[len(placed)-1]
	page1 := ann.get("/account")
	wantIn(t, "GET /account", page1, 200, []string{last.Name, "/account?page=2"}, []string{`"/account/orders/` + first.Token})
	if n := strings.Count(page1.body, `href="/account/orders/`); n != 20 {
		t.Errorf("GET /account links %d orders, want 20", n)
	}
	page2 := ann.get("/account?page=2")
	wantIn(t, "GET /account?page=2", page2, 200, []string{first.Name, placed[1].Name}, []string{last.Name})
	if n := strings.Count(page2.body, `href="/account/orders/`); n != 2 {
		t.Errorf("GET /account?page=2 links %d orders, want 2", n)
	}

	// A theme's own account page sees the counts and the last order.
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO theme_files (theme_id, key, value) SELECT id, 'templates/customers/account.liquid', ? FROM themes WHERE role = 'main'`,
			[]byte(`<main><h1>Account</h1><p>count={{ customer.orders_count }} spent={{ customer.total_spent | money }} last={{ customer.last_order.name }} `+
				`first_line={{ customer.last_order.line_items.first.title }}</p></main>`)).Error
		if err != nil {
			return err
		}
		return tx.Exec(`UPDATE themes SET version = version + 1 WHERE role = 'main'`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("count=22 spent=$%d.00 last=%s first_line=Sencha - Small", 22*95/10, last.Name)
	wantIn(t, "GET /account (custom theme)", ann.get("/account"), 200, []string{want}, nil)
}
