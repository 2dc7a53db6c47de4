package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// customersSeed adds a customer named first last with email to st, with
// one address.
func customersSeed(f *fixture, st *tenant.Tenant, first, last, email string) customers.Customer {
	f.t.Helper()
	city, addr1 := "Portland", "1 Leaf Road"
	c, err := customers.NewService(f.db).CreateCustomer(context.Background(), st, customers.CustomerInput{
		FirstName: &first, LastName: &last, Email: &email,
		Addresses: &[]customers.AddressInput{{FirstName: &first, LastName: &last, Address1: &addr1, City: &city}}})
	if err != nil {
		f.t.Fatalf("CreateCustomer(%s) = %v", email, err)
	}
	return c
}

// customersOrder places a manual order of qty teas at 12.50 by customer
// cu, as a logged-in checkout does.
func customersOrder(f *fixture, st *tenant.Tenant, cu customers.Customer, qty int64) orders.Order {
	f.t.Helper()
	var o orders.Order
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		sub := money.Amount(1250 * qty)
		var err error
		o, err = orders.PlaceIn(tx, orders.NewOrder{Email: cu.Email, CustomerID: &cu.ID, Currency: "USD",
			Lines:         []orders.NewLine{{Title: "Tea", Quantity: qty, Price: 1250}},
			SubtotalPrice: sub, TotalPrice: sub, Gateway: "manual", SourceName: "web",
			InventoryBehaviour: orders.InventoryBypass, Actor: "test"})
		return err
	})
	if err != nil {
		f.t.Fatalf("PlaceIn = %v", err)
	}
	return o
}

func customersGet(f *fixture, st *tenant.Tenant, id int64) customers.Customer {
	f.t.Helper()
	c, err := customers.NewService(f.db).Customer(context.Background(), st, id)
	if err != nil {
		f.t.Fatalf("Customer(%d) = %v", id, err)
	}
	return c
}

// TestCustomersList: the owner lists customers with their orders and
// spending, newest first, and searches them by name and email.
func TestCustomersList(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("cust-shop")
	ann := customersSeed(f, st, "Ann", "Lee", "ann@example.com")
	customersSeed(f, st, "Bob", "Stone", "bob@example.org")
	customersOrder(f, st, ann, 2)
	customersOrder(f, st, ann, 1)
	b := f.browser()
	b.mustLogin(acct.Email)

	if home := b.get("/store/cust-shop"); !strings.Contains(home.body, `href="/store/cust-shop/customers"`) {
		t.Errorf("the owner's menu has no Customers item")
	}
	list := b.get("/store/cust-shop/customers")
	if list.status != http.StatusOK {
		t.Fatalf("GET customers = %d %.300s", list.status, list.body)
	}
	for _, want := range []string{"Ann Lee", "Bob Stone", "ann@example.com", "bob@example.org", "37.50 USD", "0.00 USD",
		`<td class="num">2</td>`, "disabled", fmt.Sprintf(`href="/store/cust-shop/customers/%d"`, ann.ID), "2 customers"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the customers list lacks %q", want)
		}
	}
	if i, j := strings.Index(list.body, "Bob Stone"), strings.Index(list.body, "Ann Lee"); i > j {
		t.Errorf("customers are not newest first")
	}
	for _, tc := range []struct{ q, want, not string }{
		{"ann", "Ann Lee", "Bob Stone"},
		{"Stone", "Bob Stone", "Ann Lee"},
		{"example.org", "Bob Stone", "Ann Lee"},
		{"email:ann@", "Ann Lee", "Bob Stone"},
		{"Ann Lee", "Ann Lee", "Bob Stone"},
	} {
		r := b.get("/store/cust-shop/customers?q=" + url.QueryEscape(tc.q))
		if r.status != http.StatusOK || !strings.Contains(r.body, tc.want) || strings.Contains(r.body, tc.not) {
			t.Errorf("search %q = %d; want %s listed and not %s", tc.q, r.status, tc.want, tc.not)
		}
	}
	if r := b.get("/store/cust-shop/customers?q=nobody"); !strings.Contains(r.body, "No customers match") {
		t.Errorf("a search with no match does not say so")
	}
}

// TestCustomersPages: the list pages 25 at a time, newest first, keeping
// the search.
func TestCustomersPages(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("cust-pages")
	for i := 1; i <= 27; i++ {
		customersSeed(f, st, "Shopper", fmt.Sprintf("N%02d", i), fmt.Sprintf("n%02d@example.com", i))
	}
	b := f.browser()
	b.mustLogin(acct.Email)
	first := b.get("/store/cust-pages/customers?q=shopper")
	if !strings.Contains(first.body, "Shopper N27") || strings.Contains(first.body, "Shopper N02<") {
		t.Fatalf("page 1 should hold the newest customers")
	}
	next := regexp.MustCompile(`href="(\?[^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("page 1 has no link onwards")
	}
	second := b.get("/store/cust-pages/customers" + strings.ReplaceAll(next[1], "&amp;", "&"))
	if !strings.Contains(second.body, "Shopper N01<") || !strings.Contains(second.body, "Shopper N02<") ||
		strings.Contains(second.body, "Shopper N27") || !strings.Contains(second.body, `rel="prev"`) || !strings.Contains(next[1], "q=shopper") {
		t.Errorf("page 2 (%s) should hold the two oldest customers, a link back, and keep the search", next[1])
	}
}

// TestCustomerDetail: a customer's page shows their details, address and
// orders (linked), and the owner edits the note and tags; a bad note is
// shown on the page and changes nothing.
func TestCustomerDetail(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("cust-detail")
	ann := customersSeed(f, st, "Ann", "Lee", "ann@example.com")
	o := customersOrder(f, st, ann, 2)
	b := f.browser()
	b.mustLogin(acct.Email)
	path := fmt.Sprintf("/store/cust-detail/customers/%d", ann.ID)
	page := b.get(path)
	if page.status != http.StatusOK {
		t.Fatalf("GET %s = %d %.300s", path, page.status, page.body)
	}
	for _, want := range []string{"Ann Lee", "ann@example.com", "1 Leaf Road", "Portland", "#1001", "25.00 USD",
		fmt.Sprintf(`href="/store/cust-detail/orders/%d"`, o.ID), `name="note"`, `name="tags"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the customer page lacks %q", want)
		}
	}
	r := b.post(path, url.Values{"note": {"Prefers green tea"}, "tags": {"vip, wholesale, VIP, "}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=saved" {
		t.Fatalf("POST note and tags = %d %s %.300s, want 303 back", r.status, r.header.Get("Location"), r.body)
	}
	got := customersGet(f, st, ann.ID)
	if got.Note != "Prefers green tea" || strings.Join(got.Tags, ",") != "vip,wholesale" {
		t.Errorf("after saving, note %q tags %q; want the note and vip,wholesale", got.Note, got.Tags)
	}
	page = b.get(path + "?done=saved")
	if !strings.Contains(page.body, "Ann Lee is saved.") || !strings.Contains(page.body, "Prefers green tea") || !strings.Contains(page.body, `value="vip, wholesale"`) {
		t.Errorf("after saving, the page shows no notice or not the saved note and tags")
	}
	if tagged := b.get("/store/cust-detail/customers?q=tag:vip"); !strings.Contains(tagged.body, "Ann Lee") {
		t.Errorf("a search by tag:vip does not find the tagged customer")
	}

	long := strings.Repeat("x", 300)
	r = b.post(path, url.Values{"note": {long}, "tags": {"other"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "too long") || !strings.Contains(r.body, long) {
		t.Errorf("POST a 300-character note = %d, want 422 saying it is too long and keeping it", r.status)
	}
	if got := customersGet(f, st, ann.ID); got.Note != "Prefers green tea" || strings.Join(got.Tags, ",") != "vip,wholesale" {
		t.Errorf("a refused save changed the customer to %q %q", got.Note, got.Tags)
	}
}

// TestCustomersViewer: a viewer sees customers without the form, their
// post is refused with 403 and changes nothing; a post without a token is
// refused too.
func TestCustomersViewer(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("cust-viewer")
	ann := customersSeed(f, st, "Ann", "Lee", "ann@example.com")
	viewer := f.staff(st, tenant.RoleViewer)
	b := f.browser()
	b.mustLogin(viewer.Email)
	if list := b.get("/store/cust-viewer/customers"); list.status != http.StatusOK || !strings.Contains(list.body, "Ann Lee") {
		t.Fatalf("a viewer's GET customers = %d, want 200 listing Ann", list.status)
	}
	path := fmt.Sprintf("/store/cust-viewer/customers/%d", ann.ID)
	page := b.get(path)
	if page.status != http.StatusOK || strings.Contains(page.body, `name="note"`) {
		t.Errorf("a viewer's GET %s = %d; want 200 without the note form", path, page.status)
	}
	if r := b.post(path, url.Values{"note": {"hacked"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "viewer") {
		t.Errorf("a viewer's POST %s = %d, want 403 naming the role", path, r.status)
	}
	owner := f.browser()
	owner.mustLogin(acct.Email)
	owner.get(path)
	if r := owner.do(http.MethodPost, path, url.Values{"note": {"forged"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "Please try again") {
		t.Errorf("POST %s without a token = %d, want 403", path, r.status)
	}
	if got := customersGet(f, st, ann.ID); got.Note != "" {
		t.Errorf("after refused posts, the note is %q", got.Note)
	}
}

// TestCustomersCrossTenant: another store's customer, under this store's
// slug, is not found and never shown or changed.
func TestCustomersCrossTenant(t *testing.T) {
	f := newFixture(t)
	a, st := f.owner("cust-a")
	_, other := f.owner("cust-b")
	customersSeed(f, st, "Ann", "Lee", "ann@example.com")
	var theirs customers.Customer
	for i := range 3 { // more than store A has, so the id is not one of A's
		theirs = customersSeed(f, other, "Secret", fmt.Sprint(i), fmt.Sprintf("secret%d@example.com", i))
	}
	b := f.browser()
	b.mustLogin(a.Email)
	for _, path := range []string{
		fmt.Sprintf("/store/cust-a/customers/%d", theirs.ID),
		fmt.Sprintf("/store/cust-b/customers/%d", theirs.ID),
		"/store/cust-b/customers",
		"/store/cust-a/customers/nope",
	} {
		if r := b.get(path); r.status != http.StatusNotFound || strings.Contains(r.body, "secret") {
			t.Errorf("GET %s = %d, want 404 showing nothing of store B", path, r.status)
		}
	}
	if list := b.get("/store/cust-a/customers"); strings.Contains(list.body, "secret") {
		t.Errorf("store A's list shows store B's customers")
	}
	path := fmt.Sprintf("/store/cust-a/customers/%d", theirs.ID)
	if r := b.post(path, url.Values{"note": {"mine now"}}); r.status != http.StatusNotFound {
		t.Errorf("POST %s (store B's customer) = %d, want 404", path, r.status)
	}
	if got := customersGet(f, other, theirs.ID); got.Note != "" {
		t.Errorf("store B's customer changed: note %q", got.Note)
	}
}
