package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/browser"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// TestMerchantJourney is the dashboard's whole story in Chromium, as the
// merchant, their shopper and their staff live it: sign up, the store is
// made; add a product with two variants, stock and a picture; ship to the
// US; a shopper buys it on the storefront with the manual provider; the
// order appears in the dashboard and is fulfilled with tracking; the
// shopper's status page shows it shipped with the tracking link. Then a
// viewer is invited by email, accepts, sees the orders, and every change
// they try is refused. Last, the owner tours every screen of the menu.
// Screenshots are saved under .data/screenshots/TestMerchantJourney/.
func TestMerchantJourney(t *testing.T) {
	dbURL := testenv.Database(t)
	s, port := startServerAtBaseURL(t, dbURL)
	ctx := context.Background()
	if err := s.deps.db.MigrateControl(ctx); err != nil {
		t.Fatal(err)
	}
	dash := "http://app.localhost:" + port

	// Sign up: the store is provisioned and its checklist shown.
	b := browser.New(t)
	b.Open(dash+"/signup", "#store_name")
	b.Fill("#email", "grace@example.com")
	b.Fill("#password", "clay-and-glaze-2026")
	b.Fill("#store_name", "Grace Pottery")
	b.WaitText("#slug-status", "Available")
	b.Click(`form[action="/signup"] button[type="submit"]`)
	b.WaitVisible(".checklist")
	store := "/store/grace-pottery"
	if !strings.Contains(b.URL(), store) {
		t.Fatalf("after sign-up, URL = %s, want the new store's home", b.URL())
	}
	b.Screenshot("01-home-new-store")

	// A product with two variants, a price, stock and a picture.
	b.Click(`.checklist a[href="` + store + `/products/new"]`)
	b.WaitVisible("#title")
	b.Fill("#title", "Ceramic Mug")
	b.Fill("#body_html", "<p>Wheel-thrown stoneware, 350 ml.</p>")
	b.Select("#status", "active")
	b.Fill("#option1_name", "Colour")
	b.Fill("#option1_values", "Celadon, Tenmoku")
	b.Fill("#price", "24.00")
	b.Screenshot("02-product-new")
	b.Click(`form[action="` + store + `/products/new"] button[type="submit"]`)
	b.WaitVisible("#stock")
	var variants int
	b.Eval(`document.querySelectorAll('input[name="variant_price"]').length`, &variants)
	if variants != 2 {
		t.Fatalf("the new product has %d variants, want 2 (Celadon, Tenmoku)", variants)
	}
	var stockFields []string
	b.Eval(`[...document.querySelectorAll('#stock input[inputmode="numeric"]')].map(e => e.id)`, &stockFields)
	if len(stockFields) != 2 {
		t.Fatalf("the stock form has fields %v, want one per variant at the one location", stockFields)
	}
	for _, id := range stockFields {
		b.Fill("#"+id, "5")
	}
	b.Click(`#stock button[type="submit"]`)
	b.WaitText(".notice", "stock is saved")
	b.Do("choose a picture", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{mugPicture(t)}))
	b.Fill("#alt", "A celadon mug on a wooden table")
	b.Click(`form[action$="/images"] button[type="submit"]`)
	b.WaitVisible(`img[alt="A celadon mug on a wooden table"]`)
	b.Screenshot("03-product-saved")
	b.Click(`nav.menu a[href="` + store + `/products"]`)
	b.WaitVisible("table")
	if got := b.Text("main table"); !strings.Contains(got, "10 in stock for 2 variants") {
		t.Errorf("the products list says of the mug's stock:\n%s", got)
	}

	// Shipping to the US, so shoppers can check out.
	b.Open(dash+store+"/settings/shipping", "#zone-name")
	b.Fill("#zone-name", "United States")
	b.Fill("#zone-countries", "US")
	b.Fill("#zone-rate-name", "Standard")
	b.Fill("#zone-rate-price", "6.00")
	b.Click(`form[action="` + store + `/settings/shipping/zones"] button[type="submit"]`)
	b.WaitText(".notice", "Zone added")
	b.Screenshot("04-shipping")

	// The shopper buys a Tenmoku mug with a bank transfer.
	shopper := browser.New(t)
	front := "http://grace-pottery.localhost:" + port
	shopper.Open(front+"/products/ceramic-mug", "#AddToCart")
	shopper.Select("#Option1", "Tenmoku")
	shopper.Screenshot("05-storefront-product")
	shopper.Click("#AddToCart")
	shopper.WaitVisible(".cart-table")
	shopper.Click(`button[name="checkout"]`)
	shopper.WaitVisible("#email")
	shopper.Fill("#email", "lin@example.com")
	shopper.Fill("#first_name", "Lin")
	shopper.Fill("#last_name", "Okafor")
	shopper.Fill("#address1", "4 Kiln Street")
	shopper.Fill("#city", "Springfield")
	shopper.Select("#country", "US")
	shopper.Select("#province", "IL")
	shopper.Fill("#zip", "62701")
	shopper.Click(`form[action$="/contact"] button[type="submit"]`)
	shopper.WaitVisible(`input[name="shipping_rate"]`)
	shopper.Click(`form[action$="/shipping"] button[type="submit"]`)
	shopper.WaitVisible(`form[action$="/complete"]`)
	shopper.Click(`form[action$="/complete"] button[type="submit"]`)
	shopper.WaitVisible(".ok")
	statusPage := shopper.URL()
	if got := shopper.Text("main"); !strings.Contains(got, "How to pay: Bank transfer") || !strings.Contains(got, "Preparing your order") {
		t.Errorf("the new order's status page says:\n%s", got)
	}
	shopper.Screenshot("06-order-status-placed")
	shopper.ExpectNoErrors()

	// The order in the dashboard: paid, then fulfilled with tracking.
	b.Click(`nav.menu a[href="` + store + `/orders"]`)
	b.WaitVisible("table")
	if got := b.Text("main"); !strings.Contains(got, "#1001") || !strings.Contains(got, "lin@example.com") {
		t.Fatalf("the orders list does not show the shopper's order:\n%s", got)
	}
	b.Screenshot("07-orders")
	b.Click(`main a[href*="/orders/"]`)
	b.WaitVisible("ol.timeline")
	b.Click(`form[action$="/paid"] button[type="submit"]`)
	b.WaitText(".notice", "marked as paid")
	b.Fill("#tracking_number", "1Z999AA10123456784")
	b.Fill("#tracking_company", "UPS")
	b.Fill("#tracking_url", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
	b.Click(`form[action$="/fulfil"] button[type="submit"]`)
	b.WaitText(".notice", "is fulfilled")
	if got := b.Text("main"); !strings.Contains(got, "1Z999AA10123456784") {
		t.Errorf("the fulfilled order's page does not show its tracking:\n%s", got)
	}
	orderPage, _, _ := strings.Cut(b.URL(), "?")
	b.Screenshot("08-order-fulfilled")

	// The shopper's status page: shipped, with the tracking link.
	shopper.Open(statusPage, ".review")
	if got := shopper.Text(".review"); !strings.Contains(got, "Shipped") || !strings.Contains(got, "with UPS") {
		t.Errorf("the status page after fulfilment says:\n%s", got)
	}
	var href string
	shopper.Eval(`document.querySelector('.review a[href*="ups.com"]').getAttribute("href")`, &href)
	if href != "https://www.ups.com/track?tracknum=1Z999AA10123456784" {
		t.Errorf("the tracking link = %q", href)
	}
	shopper.Screenshot("09-order-status-shipped")
	b.Open(dash+store+"/products", "table")
	if got := b.Text("main table"); !strings.Contains(got, "9 in stock for 2 variants") {
		t.Errorf("after the sale, the products list says of the mug's stock:\n%s", got)
	}

	// A viewer is invited, accepts by the emailed link, and can only look.
	b.Click(`nav.menu a[href="` + store + `/staff"]`)
	b.WaitVisible("#invite-email")
	b.Fill("#invite-email", "sam@example.com")
	b.Select("#invite-role", "viewer")
	b.Click(`form[action="` + store + `/staff/invitations"] button[type="submit"]`)
	b.WaitText("main", "sam@example.com")
	b.Screenshot("10-staff-invited")
	link := invitationLink(t, dbURL, "sam@example.com")

	v := browser.New(t)
	v.Open(link, "#inv-password")
	v.Fill("#inv-name", "Sam Reyes")
	v.Fill("#inv-password", "viewer-only-2026")
	v.Screenshot("11-invitation")
	v.Click(`form.stack button[type="submit"]`)
	v.WaitVisible("nav.menu")
	v.Open(orderPage, "ol.timeline")
	if got := v.Text("main"); !strings.Contains(got, "1Z999AA10123456784") {
		t.Errorf("the viewer does not see the order:\n%s", got)
	}
	var forms int
	v.Eval(`document.querySelectorAll('main form[method="post"]').length`, &forms)
	if forms != 0 {
		t.Errorf("the viewer's order page offers %d forms, want none", forms)
	}
	v.Screenshot("12-viewer-order")
	// A forged post from the viewer's own page, with its CSRF token: 403.
	var status int
	v.Eval(fmt.Sprintf(`(async () => {
		const token = document.querySelector('input[name="csrf_token"]').value;
		const r = await fetch(%q + "/cancel", {method: "POST", body: new URLSearchParams({csrf_token: token, reason: "other", restock: "on"})});
		return r.status;
	})()`, strings.TrimPrefix(orderPage, dash)), &status)
	if status != 403 {
		t.Errorf("the viewer's forged cancel = %d, want 403", status)
	}
	st, err := s.deps.db.TenantBySlug(ctx, "grace-pottery")
	if err != nil {
		t.Fatal(err)
	}
	err = s.deps.db.ReadTx(ctx, st, func(tx *gorm.DB) error {
		o, err := orders.OrderByTokenIn(tx, statusPage[strings.LastIndexByte(statusPage, '/')+1:])
		if err == nil && o.CancelledAt != nil {
			t.Errorf("the viewer's refused cancel cancelled the order")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The owner's tour of every screen of the menu, for the screenshots.
	var menu []string
	b.Eval(`[...document.querySelectorAll("nav.menu a")].map(a => a.getAttribute("href"))`, &menu)
	for i, path := range menu {
		b.Open(dash+path, "main h1")
		name := strings.Trim(strings.TrimPrefix(path, store), "/")
		if name == "" {
			name = "home"
		}
		b.Screenshot(fmt.Sprintf("%02d-menu-%s", 13+i, name))
	}
	b.Open(dash+store+"/staff/audit", "main h1")
	if got := b.Text("main"); !strings.Contains(got, "sam@example.com") {
		t.Errorf("the audit log does not show the invitation:\n%s", got)
	}
	b.Screenshot(fmt.Sprintf("%02d-audit", 13+len(menu)))
	b.ExpectNoErrors()

	// The same screens on a phone.
	m := browser.NewMobile(t)
	m.Open(dash+"/login", `form[action="/login"]`)
	m.Fill("#email", "grace@example.com")
	m.Fill("#password", "clay-and-glaze-2026")
	m.Click(`form[action="/login"] button[type="submit"]`)
	m.WaitVisible(".checklist")
	m.Open(orderPage, "ol.timeline")
	m.Screenshot("30-order-mobile")
	m.Open(dash+store+"/products", "table")
	m.Click(`main table a[href*="/products/"]`)
	m.WaitVisible("#stock")
	m.Screenshot("31-product-mobile")
	m.ExpectNoErrors()
	for _, e := range v.Errors() {
		if !strings.Contains(e, "/cancel: 403") { // the forged post, on purpose
			t.Errorf("browser: the viewer's page reported: %s", e)
		}
	}
}

// mugPicture writes a small PNG for the product's picture and returns its
// path.
func mugPicture(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for x := range 64 {
		for y := range 64 {
			img.Set(x, y, color.RGBA{R: uint8(90 + x), G: uint8(140 + y/2), B: 120, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mug.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// invitationLink is the accept link of the invitation to email, as the
// email carries it: read from the staff/invited event in the outbox (the
// worker's email of it is tested in workers).
func invitationLink(t *testing.T, dbURL, email string) string {
	t.Helper()
	rows, err := testenv.SQL(t, dbURL).Query(`SELECT payload::text FROM outbox.events WHERE topic = $1 ORDER BY created_at`, tenant.TopicStaffInvited)
	if err != nil {
		t.Fatalf("read the invitation events: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var inv tenant.InvitationEmail
		if err := rows.Scan(&p); err == nil && json.Unmarshal([]byte(p), &inv) == nil && inv.Email == email {
			return inv.URL
		}
	}
	t.Fatalf("no staff/invited event for %s (%v)", email, rows.Err())
	return ""
}
