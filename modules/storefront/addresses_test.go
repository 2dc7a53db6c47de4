package storefront_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/customers"
)

var addressForm = regexp.MustCompile(`id="address_form_(\d+)"`)

// addressIDs returns the ids of the addresses on the shopper's address
// book page, in the page's order.
func (s *shopper) addressIDs() []string {
	s.f.t.Helper()
	var ids []string
	for _, m := range addressForm.FindAllStringSubmatch(s.get("/account/addresses").body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestAddressBook walks the address book in both built-in themes: add,
// change, make default, refuse bad input with the form shown again, delete;
// a customer reaches only their own addresses.
func TestAddressBook(t *testing.T) {
	f := newFixture(t)
	for _, theme := range []string{"harbor", "monolith"} {
		t.Run(theme, func(t *testing.T) {
			st := f.store("book-" + theme)
			f.useBuiltin(st, theme)
			ann, bob := f.shopper(st), f.shopper(st)
			if r := ann.get("/account/addresses"); r.status != 303 || r.header.Get("Location") != "/account/login" {
				t.Errorf("GET /account/addresses logged out = %d %v, want 303 to /account/login", r.status, r.header.Get("Location"))
			}
			annID := ann.register(st, "ann-"+theme+"@example.com")
			bob.register(st, "bob-"+theme+"@example.com")

			wantIn(t, "GET /account/addresses (empty)", ann.get("/account/addresses"), 200,
				[]string{"You have no saved addresses yet.", `action="/account/addresses"`, `id="address_form_new"`, `name="authenticity_token"`,
					`name="address[address1]"`, `id="address_default_address_new"`},
				[]string{`name="_method"`})
			if r := ann.postForm("/account/addresses", url.Values{"address[first_name]": {"<script>alert(1)</script>"}, "address[address1]": {"1 Main St"},
				"address[city]": {"Portland"}, "address[zip]": {"97201"}, "address[country]": {"United States"}}); r.status != 303 || r.header.Get("Location") != "/account/addresses" {
				t.Fatalf("POST /account/addresses = %d %.300s, want 303 back to the book", r.status, r.body)
			}
			if r := ann.postForm("/account/addresses", url.Values{"address[address1]": {"2 Side St"}, "address[city]": {"Salem"}, "address[default]": {"1"}}); r.status != 303 {
				t.Fatalf("POST /account/addresses (second, default) = %d %.300s", r.status, r.body)
			}
			ids := ann.addressIDs()
			if len(ids) != 2 {
				t.Fatalf("the book lists address forms %v, want 2", ids)
			}
			first, second := ids[0], ids[1]
			book := ann.get("/account/addresses")
			wantIn(t, "GET /account/addresses", book, 200,
				[]string{"1 Main St", "2 Side St", "&lt;script&gt;alert(1)&lt;/script&gt;", `action="/account/addresses/` + first + `"`,
					`name="_method" value="put"`, `name="_method" value="delete"`, `id="address_default_address_` + first + `"`},
				[]string{"<script>alert(1)", `id="address_default_address_` + second + `"`, `id="DeleteAddress_` + second + `"`})
			def := func() string {
				t.Helper()
				as, err := customers.NewService(f.db).Addresses(context.Background(), st, annID)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range as {
					if a.Default {
						return fmt.Sprint(a.ID)
					}
				}
				return ""
			}
			if d := def(); d != second {
				t.Errorf("default address = %s, want the second (%s), added with address[default]", d, second)
			}

			// Change the first, then make it the default again.
			if r := ann.postForm("/account/addresses/"+first, url.Values{"_method": {"put"}, "address[city]": {"Eugene"}, "address[address1]": {"1 Main St"}}); r.status != 303 {
				t.Errorf("PUT address %s = %d %.300s, want 303", first, r.status, r.body)
			}
			if r := ann.postForm("/account/addresses/"+first, url.Values{"_method": {"put"}, "address[default]": {"1"}}); r.status != 303 {
				t.Errorf("make address %s the default = %d", first, r.status)
			}
			if d := def(); d != first {
				t.Errorf("default address = %s, want %s after setting it", d, first)
			}
			wantIn(t, "GET /account/addresses after changes", ann.get("/account/addresses"), 200, []string{"Eugene"}, []string{"Portland"})

			// Bad input shows the book again with the form's message and
			// what was typed.
			long := strings.Repeat("9", 300)
			r := ann.postForm("/account/addresses/"+second, url.Values{"_method": {"put"}, "address[zip]": {long}, "address[address1]": {"2 Side St"}})
			wantIn(t, "PUT a too-long zip", r, 422, []string{"is too long", `value="` + long + `"`}, nil)
			wantIn(t, "POST an address without a street", ann.postForm("/account/addresses", url.Values{"address[city]": {"Nowhere"}}), 422,
				[]string{"can&#39;t be blank", `value="Nowhere"`}, nil)
			if r := ann.postForm("/account/addresses/"+first, url.Values{"_method": {"delete"}}); r.status != 422 || !strings.Contains(r.body, "default address") {
				t.Errorf("DELETE the default address = %d, want 422 saying why", r.status)
			}

			// Another customer's address is not found, whatever is asked.
			for _, form := range []url.Values{{"_method": {"put"}, "address[city]": {"Stolen"}}, {"_method": {"delete"}}, {"_method": {"put"}, "address[default]": {"1"}}} {
				if r := bob.postForm("/account/addresses/"+second, form); r.status != 404 || strings.Contains(r.body, "Side St") {
					t.Errorf("bob POST /account/addresses/%s %v = %d, want 404 and nothing of ann's", second, form, r.status)
				}
			}
			if r := bob.postForm("/account/addresses/nope", url.Values{}); r.status != 404 {
				t.Errorf("POST /account/addresses/nope = %d, want 404", r.status)
			}
			wantIn(t, "bob's book", bob.get("/account/addresses"), 200, []string{"You have no saved addresses yet."}, []string{"Side St", "Eugene"})

			// Delete, as the theme's delete button posts (after the form's
			// own _method=put).
			if r := ann.postForm("/account/addresses/"+second, url.Values{"_method": {"put", "delete"}}); r.status != 303 {
				t.Errorf("DELETE address %s = %d %.300s, want 303", second, r.status, r.body)
			}
			if ids := ann.addressIDs(); len(ids) != 1 || ids[0] != first {
				t.Errorf("address forms after the delete = %v, want [%s]", ids, first)
			}
			wantIn(t, "GET /account", ann.get("/account"), 200, []string{`href="/account/addresses"`, "Manage 1 address"}, nil)
		})
	}
}
