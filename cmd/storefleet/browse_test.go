package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/browser"
	"github.com/storefleet/storefleet/internal/testenv"
)

// TestShopperBrowsesTheDemoStore walks the demo store in Chromium as a
// shopper would: home, a collection, a product, a variant chosen with the
// option pickers, added to the cart, the cart. Each page's screenshot is
// saved under .data/screenshots/TestShopperBrowsesTheDemoStore/.
func TestShopperBrowsesTheDemoStore(t *testing.T) {
	dbURL := testenv.Database(t)
	s := startServer(t, dbURL)
	_, port, _ := net.SplitHostPort(s.http.Listener.Addr().String())
	if err := s.deps.db.MigrateControl(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemo(context.Background(), s.deps, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("ensureDemo = %v", err)
	}
	home := "http://demo.localhost:" + port + "/"

	b := browser.New(t)
	b.Open(home, ".product-grid .product-card")
	if got := b.Text("h1"); got != "Demo Store" {
		t.Errorf("home page h1 = %q, want the store's name", got)
	}
	b.Screenshot("1-home")

	b.Click(`.site-nav a[href="/collections/all"]`)
	b.WaitVisible(".product-grid .product-card")
	if !strings.Contains(b.URL(), "/collections/all") {
		t.Errorf("after the Catalog link, URL = %s", b.URL())
	}
	b.Screenshot("2-collection")

	b.Open("http://demo.localhost:"+port+"/collections/green-tea", ".product-grid .product-card")
	b.Click(`.product-card__link[href="/products/gyokuro-asahi"]`)
	b.WaitVisible("#AddToCart")
	if got := b.Text("h1"); got != "Gyokuro Asahi" {
		t.Errorf("product page h1 = %q", got)
	}
	// Two option pickers drive the variant: 100 g, Reserve.
	b.Select("#Option1", "100 g")
	b.Select("#Option2", "Reserve")
	if !strings.Contains(b.URL(), "variant=") {
		t.Errorf("choosing options did not record the variant in the URL: %s", b.URL())
	}
	b.Screenshot("3-product")

	b.Click("#AddToCart")
	b.WaitVisible(".cart-table")
	if !strings.HasSuffix(b.URL(), "/cart") {
		t.Errorf("after Add to cart, URL = %s, want the cart", b.URL())
	}
	row := b.Text(".cart-item")
	if !strings.Contains(row, "Gyokuro Asahi") || !strings.Contains(row, "100 g / Reserve") {
		t.Errorf("cart row = %q, want Gyokuro Asahi, 100 g / Reserve", row)
	}
	if got := b.Text(".cart-count"); got != "1" {
		t.Errorf("header cart count = %q, want 1", got)
	}
	b.Screenshot("4-cart")
	b.ExpectNoErrors()

	m := browser.NewMobile(t)
	m.Open(home+"products/gyokuro-asahi", "#AddToCart")
	m.Screenshot("5-product-mobile")
	m.ExpectNoErrors()
}
